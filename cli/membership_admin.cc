#include "cli/membership_admin.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "net/endpoint.h"

namespace chorus {

namespace {

using nlohmann::ordered_json;

constexpr uint64_t kRetryMs = 200;
constexpr uint64_t kDefaultTimeoutS = 60;
constexpr uint64_t kMaxTimeoutS = 3600;

// "a%3Ab" -> "a:b"; nullopt for a malformed escape.
std::optional<std::string> percent_decode(const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(text[i + 2])))
            return std::nullopt;
        out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
        i += 2;
    }
    return out;
}

// "/a/b?x=1&y=2" -> path "/a/b", {x: 1, y: 2}; false for a malformed escape.
bool split_target(const std::string& target, std::string* path,
                  std::map<std::string, std::string>* query) {
    const size_t q = target.find('?');
    *path = target.substr(0, q);
    if (q == std::string::npos) return true;
    const std::string rest = target.substr(q + 1);
    size_t start = 0;
    while (start <= rest.size()) {
        const size_t amp = std::min(rest.find('&', start), rest.size());
        const std::string item = rest.substr(start, amp - start);
        start = amp + 1;
        if (item.empty()) continue;
        const size_t eq = item.find('=');
        auto key = percent_decode(item.substr(0, eq));
        auto value = percent_decode(eq == std::string::npos ? "" : item.substr(eq + 1));
        if (!key || !value) return false;
        (*query)[*key] = *value;
    }
    return true;
}

std::optional<uint64_t> parse_number(const std::string& text) {
    if (text.empty() || text.size() > 18 ||
        text.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return std::stoull(text);
}

net::HttpReply error_reply(int status, const std::string& message) {
    return net::HttpReply{status, net::json_error(message)};
}

ordered_json servers_json(const std::map<ServerId, std::string>& servers) {
    ordered_json out = ordered_json::array();
    for (const auto& [id, address] : servers) out.push_back({{"id", id}, {"address", address}});
    return out;
}

}  // namespace

std::string membership_json(const zab::Membership& m, const NodeStatus& status, ServerId self) {
    ordered_json doc;
    doc["this"] = self;
    doc["role"] = role_name(status.role);
    doc["leader"] = status.leader;
    doc["committed"] = m.version <= status.committed;
    doc["version"] = {{"epoch", m.version.epoch}, {"counter", m.version.counter}};
    doc["voters"] = servers_json(m.voters);
    doc["observers"] = servers_json(m.observers);
    return doc.dump();
}

Result<zab::Membership> parse_membership_json(const std::string& body) {
    const ordered_json doc = ordered_json::parse(body, nullptr, false);
    auto bad = [](const std::string& why) {
        return Status::invalid_argument("not a membership answer: " + why);
    };
    if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
    zab::Membership m;
    try {
        m.version = Zxid{doc.at("version").at("epoch").get<uint64_t>(),
                         doc.at("version").at("counter").get<uint64_t>()};
        for (const auto& v : doc.at("voters"))
            m.voters[v.at("id").get<uint64_t>()] = v.at("address").get<std::string>();
        for (const auto& o : doc.at("observers"))
            m.observers[o.at("id").get<uint64_t>()] = o.at("address").get<std::string>();
    } catch (const std::exception& e) {
        return bad(e.what());
    }
    if (Status s = zab::check_servers(m); !s.is_ok()) return bad(s.message());
    return m;
}

// One change asked for, made step by step from the core thread's ticks.
struct Change {
    // kLeader: leadership handed to `id` (0: to any other voter).
    enum class Want : uint8_t { kVoter, kObserver, kAbsent, kLeader } want;
    ServerId id = 0;
    std::string address;  // kVoter, kObserver
    uint64_t timeout_ms = 0;
    uint64_t deadline_ms = 0;  // set at the first tick
    uint64_t next_try_ms = 0;
    bool in_flight = false;
    std::string last_reason;
    std::string last_proposed;  // logged once, not at every retry
    uint64_t started_ms = 0;
    ServerId first_leader = 0;  // kLeader: who led when we began
    net::Respond respond;

    std::string goal() const {
        const std::string s = "server " + std::to_string(id);
        switch (want) {
            case Want::kVoter:
                return s + " a voter at " + address;
            case Want::kObserver:
                return s + " an observer at " + address;
            case Want::kAbsent:
                return s + " out of the membership";
            case Want::kLeader:
                return id == 0 ? std::string("another voter the leader") : s + " the leader";
        }
        return s;
    }
};

struct MembershipAdmin::State : std::enable_shared_from_this<MembershipAdmin::State> {
    State(Node& n, ServerId self) : node(n), self_id(self) {}

    Node& node;
    const ServerId self_id;
    std::mutex mutex;
    std::deque<std::shared_ptr<Change>> incoming;  // under mutex, from handle()
    std::shared_ptr<Change> current;               // the core thread's (tick, callbacks)
    bool busy = false;                             // under mutex: a change is being made

    // The core thread: one step of the change in hand.
    void tick(uint64_t now_ms) {
        if (!current) {
            std::lock_guard lock(mutex);
            if (incoming.empty()) return;
            current = incoming.front();
            incoming.pop_front();
            current->deadline_ms = now_ms + current->timeout_ms;
            current->started_ms = now_ms;
            spdlog::info("server {}: membership: asked to make {}", self_id, current->goal());
        }
        Change& c = *current;
        if (c.want == Change::Want::kLeader) return transfer_step(c, now_ms);
        if (c.in_flight || now_ms < c.next_try_ms) return;
        const zab::Membership m = node.membership();
        const NodeStatus status = node.status();
        if (m.version > status.committed) {
            // A change (ours or another's) is in force but not committed
            // yet: the leader refuses the next one until it is (R3).
            return wait(now_ms, "membership " + m.version.str() + " has not committed yet");
        }
        std::optional<zab::Membership> next = next_step(c, m);
        if (!next) return finish(200, "done: " + c.goal(), m, status);
        if (now_ms >= c.deadline_ms) {
            return finish(503, "gave up after " + std::to_string(c.timeout_ms / 1000) +
                                   " s making " + c.goal() + ": " + c.last_reason);
        }
        if (!m.contains(self_id) && status.role == Role::kLooking) {
            // A server not (yet) in the membership follows no leader, so it
            // has no one to forward the change to.
            return finish(409, "server " + std::to_string(self_id) + " is not in the membership (" +
                                   m.str() +
                                   "), so it cannot forward changes: ask a member's port");
        }
        c.in_flight = true;
        std::weak_ptr<State> weak = weak_from_this();
        if (c.want == Change::Want::kAbsent && m.is_voter(c.id) && status.leader == c.id &&
            status.serving) {
            // A leader does not remove itself (R7): it hands over first, and
            // the next step asks the new leader.
            spdlog::info("server {}: membership: server {} leads: handing leadership over first",
                         self_id, c.id);
            node.transfer_leadership(0, [weak, now_ms](Status s, Completion) {
                auto self = weak.lock();
                if (!self || !self->current) return;
                self->answered(s, now_ms);
            });
            return;
        }
        if (next->str() != c.last_proposed) {
            spdlog::info("server {}: membership: proposing {} (now {})", self_id, next->str(),
                         m.str());
            c.last_proposed = next->str();
        }
        node.reconfigure(*next, [weak, now_ms](Status s, Completion) {
            auto self = weak.lock();
            if (!self || !self->current) return;
            self->answered(s, now_ms);
        });
    }

    // A transfer: asked once a leader serves, then done once the target
    // (or, for any, a server other than the first leader) leads and serves.
    void transfer_step(Change& c, uint64_t now_ms) {
        const NodeStatus status = node.status();
        if (status.serving && status.leader != 0) {
            if (c.first_leader == 0) c.first_leader = status.leader;
            const bool done = c.id != 0 ? status.leader == c.id : status.leader != c.first_leader;
            if (done && !c.in_flight) {
                return finish(200,
                              "server " + std::to_string(status.leader) + " leads (it was server " +
                                  std::to_string(c.first_leader) + "; " +
                                  std::to_string(now_ms - c.started_ms) + " ms)",
                              node.membership(), status);
            }
        }
        if (c.in_flight || now_ms < c.next_try_ms) return;
        if (now_ms >= c.deadline_ms) {
            return finish(503, "gave up after " + std::to_string(c.timeout_ms / 1000) +
                                   " s making " + c.goal() + ": " + c.last_reason);
        }
        if (!status.serving || status.leader == 0) {
            return wait(now_ms, "no leader serves now");
        }
        c.in_flight = true;
        std::weak_ptr<State> weak = weak_from_this();
        node.transfer_leadership(c.id, [weak, now_ms](Status s, Completion) {
            auto self = weak.lock();
            if (!self || !self->current) return;
            self->answered(s, now_ms);
        });
    }

    // What to propose next towards c's goal from `m`, or nullopt once it holds.
    static std::optional<zab::Membership> next_step(const Change& c, const zab::Membership& m) {
        zab::Membership next = m;
        switch (c.want) {
            case Change::Want::kVoter:
                if (m.is_voter(c.id)) return std::nullopt;
                if (m.is_observer(c.id)) {
                    // R8: promoted once caught up (the leader judges).
                    next.observers.erase(c.id);
                    next.voters[c.id] = c.address;
                } else {
                    next.observers[c.id] = c.address;  // a learner first
                }
                return next;
            case Change::Want::kObserver:
                if (m.is_observer(c.id)) return std::nullopt;
                next.voters.erase(c.id);
                next.observers[c.id] = c.address;
                return next;
            case Change::Want::kAbsent:
                if (!m.contains(c.id)) return std::nullopt;
                next.voters.erase(c.id);
                next.observers.erase(c.id);
                return next;
            case Change::Want::kLeader:
                return std::nullopt;  // transfer_step
        }
        return std::nullopt;
    }

    void answered(Status s, uint64_t asked_ms) {
        Change& c = *current;
        c.in_flight = false;
        if (s.is_ok()) {
            // The next step at the next tick; after a handover, not before
            // the election has had a round trip or two.
            c.next_try_ms = c.want == Change::Want::kLeader ? asked_ms + kRetryMs : 0;
            return;
        }
        switch (s.code()) {
            case Code::kBusy:
            case Code::kNotLeader:
            case Code::kUnknownOutcome:
            case Code::kTimeout:
                // Worth another try: a voter catching up, an election, a
                // leader change (the next step re-reads the membership).
                c.last_reason = s.message();
                c.next_try_ms = asked_ms + kRetryMs;
                return;
            default:
                return finish(409, s.message());
        }
    }

    void wait(uint64_t now_ms, std::string reason) {
        Change& c = *current;
        if (now_ms >= c.deadline_ms) {
            return finish(503, "gave up after " + std::to_string(c.timeout_ms / 1000) +
                                   " s making " + c.goal() + ": " + reason);
        }
        c.last_reason = std::move(reason);
        c.next_try_ms = now_ms + kRetryMs;
    }

    void finish(int status, const std::string& message,
                std::optional<zab::Membership> m = std::nullopt,
                std::optional<NodeStatus> node_status = std::nullopt) {
        std::shared_ptr<Change> c = std::move(current);
        current.reset();
        {
            std::lock_guard lock(mutex);
            busy = !incoming.empty();
        }
        if (status == 200) {
            spdlog::info("server {}: membership: {}", self_id, message);
            ordered_json doc;
            doc["result"] = message;
            doc["membership"] = ordered_json::parse(membership_json(*m, *node_status, self_id));
            c->respond(net::HttpReply{200, doc.dump()});
        } else {
            spdlog::warn("server {}: membership: {}", self_id, message);
            c->respond(error_reply(status, message));
        }
    }
};

MembershipAdmin::MembershipAdmin(Node& node, ServerId self)
    : state_(std::make_shared<State>(node, self)) {
    std::weak_ptr<State> weak = state_;
    node.on_tick([weak](uint64_t now_ms) {
        if (auto state = weak.lock()) state->tick(now_ms);
    });
}

MembershipAdmin::~MembershipAdmin() = default;

bool MembershipAdmin::handle(const net::HttpRequest& request, const net::Respond& respond) {
    std::string path;
    std::map<std::string, std::string> query;
    const bool well_formed = split_target(request.target, &path, &query);
    if (path != "/membership" && path.rfind("/membership/", 0) != 0) return false;
    if (!well_formed) {
        respond(error_reply(400, "a malformed %-escape in the query"));
        return true;
    }
    State& s = *state_;
    if (path == "/membership") {
        if (request.method != "GET" && request.method != "HEAD") {
            net::HttpReply reply = error_reply(405,
                                               "GET /membership; changes are POST "
                                               "/membership/add and /membership/remove");
            reply.headers.emplace_back("allow", "GET, HEAD");
            respond(std::move(reply));
            return true;
        }
        const zab::Membership m = s.node.membership();
        if (m.voters.empty()) {
            respond(error_reply(503, "this server has not started yet"));
            return true;
        }
        respond(net::HttpReply{200, membership_json(m, s.node.status(), s.self_id)});
        return true;
    }
    if (path != "/membership/add" && path != "/membership/remove" &&
        path != "/membership/transfer-leader") {
        respond(error_reply(404,
                            "no such page: /membership, /membership/add, /membership/remove "
                            "and /membership/transfer-leader are here"));
        return true;
    }
    if (request.method != "POST") {
        net::HttpReply reply = error_reply(405, "only POST here");
        reply.headers.emplace_back("allow", "POST");
        respond(std::move(reply));
        return true;
    }
    auto change = std::make_shared<Change>();
    const bool transfer = path == "/membership/transfer-leader";
    const std::optional<uint64_t> id =
        transfer && !query.count("id") ? std::optional<uint64_t>(0) : parse_number(query["id"]);
    if (!id || (*id == 0 && !transfer)) {
        respond(error_reply(400, transfer ? "id= must be a server id (or leave it out: any voter)"
                                          : "id= must be a server id, 1 or more"));
        return true;
    }
    change->id = *id;
    uint64_t timeout_s = kDefaultTimeoutS;
    if (query.count("timeout_s")) {
        const std::optional<uint64_t> t = parse_number(query["timeout_s"]);
        if (!t || *t == 0 || *t > kMaxTimeoutS) {
            respond(error_reply(400, "timeout_s= must be 1.." + std::to_string(kMaxTimeoutS)));
            return true;
        }
        timeout_s = *t;
    }
    change->timeout_ms = timeout_s * 1000;
    if (path == "/membership/add") {
        const std::string as = query.count("as") ? query["as"] : "voter";
        if (as != "voter" && as != "observer") {
            respond(error_reply(400, "as= must be voter or observer"));
            return true;
        }
        change->want = as == "voter" ? Change::Want::kVoter : Change::Want::kObserver;
        Result<net::Endpoint> endpoint = net::parse_endpoint(query["address"]);
        if (!endpoint.is_ok()) {
            respond(error_reply(400, "address= must be the server's peer address HOST:PORT: " +
                                         endpoint.status().message()));
            return true;
        }
        change->address = endpoint->str();
        const zab::Membership m = s.node.membership();
        if (std::optional<std::string> at = m.address(change->id); at && *at != change->address) {
            respond(error_reply(409, "server " + std::to_string(change->id) +
                                         " is in the "
                                         "membership at " +
                                         *at + ", not " + change->address +
                                         ": remove it first to move it"));
            return true;
        }
    } else if (transfer) {
        change->want = Change::Want::kLeader;
        const zab::Membership m = s.node.membership();
        if (change->id != 0 && !m.is_voter(change->id)) {
            respond(error_reply(409, "server " + std::to_string(change->id) +
                                         " is not a voter of " + m.str() +
                                         ": only a voter can lead"));
            return true;
        }
    } else {
        change->want = Change::Want::kAbsent;
    }
    change->respond = respond;
    {
        std::lock_guard lock(s.mutex);
        if (s.busy) {
            respond(error_reply(409,
                                "another membership change asked of this server is still "
                                "being made: one at a time; retry once it has answered"));
            return true;
        }
        s.busy = true;
        s.incoming.push_back(std::move(change));
    }
    return true;
}

}  // namespace chorus
