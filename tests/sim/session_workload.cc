#include "tests/sim/session_workload.h"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "base/assert.h"
#include "session/session.pb.h"
#include "tests/sim/session_checker.h"
#include "tests/sim/session_replica.h"

namespace chorus::sim {
namespace {

using session::kTrackerType;
namespace pb = session::pb;

constexpr size_t kExpiryBudget = 4;  // sessions a leader newly expires per tick
constexpr int kClientsPerServer = 2;
// Not multiples of the tick, so deadlines fall between a leader's ticks.
constexpr uint64_t kTimeoutsMs[] = {830, 1000, 1470, 2050, 2990};
constexpr int64_t kMinHeartbeatMs = 100;
constexpr int64_t kMaxHeartbeatMs = 300;
constexpr int kMaxNodesPerSession = 3;

// The path a client's heartbeats take to the leader, while it works:
// client -> owner (the server the client talks to) -> leader. Any change of
// any part — another owner or leader, a restart of either, a new epoch, the
// owner's link to the leader breaking or coming back — is a new path.
struct Path {
    uint64_t session;
    ServerId owner;
    uint64_t owner_incarnation;
    ServerId leader;
    uint64_t leader_incarnation;
    uint64_t epoch;
    uint64_t link_generation;  // 0 when the owner is the leader
    friend bool operator==(const Path&, const Path&) = default;
};

struct Client {
    enum class State : uint8_t { kIdle, kOpening, kLive, kSilent };
    int slot = 0;
    State state = State::kIdle;
    uint64_t life = 0;  // sessions this client opened: names its nodes
    bool mover = false;
    int64_t heartbeat_ms = kMinHeartbeatMs;
    uint64_t timeout_ms = 0;
    ServerId server = 0;  // the server it talks to (and heartbeats to)
    uint64_t session = 0;
    Zxid opened_at;
    uint64_t request = 0;  // the open or revalidation awaiting its outcome
    int64_t request_at = 0;
    bool revalidate = false;  // it moved: tell the ensemble its new owner
    bool moved_after_crash = false;
    int unusable_wakes = 0;
    int64_t silent_since = 0;
    std::vector<std::string> nodes;
    int next_node = 0;
    std::optional<Path> path;  // working now, and since when
    int64_t working_since = 0;
};

class SessionWorkload final : public Workload, private SessionReplica::Events {
 public:
    SessionWorkload(uint64_t seed, SessionMutation mutation)
        : rng_(seed * 0x9E3779B97F4A7C15ull + 0x5E55), mutation_(mutation) {}

    // Workload.
    void begin(SimControl& sim) override;
    StateMachine& start(ServerId id) override;
    void restored(ServerId id, Zxid zxid) override;
    void crashed(ServerId id) override;
    void tick(ServerId id) override;
    void paused(ServerId id, int64_t until) override { checker_->stalled(id, until - sim_->now()); }
    void completed(ServerId id, const zab::Completion& completion) override;
    void wake(uint64_t token) override;
    void observe() override;
    void check_end() override;
    const std::string& failure() const override { return checker_->failure(); }  // after begin()
    std::map<std::string, uint64_t> counts() const override;

 private:
    // SessionReplica::Events.
    void expiry_decided(ServerId leader, uint64_t session, uint64_t timeout_ms) override;
    void heartbeat_absorbed(ServerId leader, uint64_t session) override;
    void committed(const pb::TrackerTxn& change, Zxid zxid, size_t ephemerals_expired) override;
    void unseen_term(ServerId) override { ++counts_["leader terms without a role change between"]; }

    uint64_t rand(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
    bool chance(double p) { return static_cast<double>(rng_() % 1000000) < p * 1000000.0; }
    void trace(const std::string& line) { sim_->trace(line); }
    SessionReplica* replica(ServerId id) {
        auto it = replicas_.find(id);
        return it == replicas_.end() ? nullptr : it->second.get();
    }
    std::string client_name(const Client& c) const { return "client " + std::to_string(c.slot); }

    // Drivers.
    void forward_heartbeats(ServerId id);
    void expire_due(ServerId id);
    std::optional<uint64_t> submit(ServerId id, const pb::TrackerRequest& r);

    // Clients.
    void live_wake(Client& c, bool quiet);
    void open(Client& c);
    void move(Client& c, bool owner_down);
    void create_node(Client& c);
    void delete_node(Client& c);
    void leave(Client& c, const std::string& why);
    bool session_gone(const Client& c);
    std::optional<Path> working_path(const Client& c) const;
    void update_path(Client& c);
    static std::string describe(const Path& p);

    std::mt19937_64 rng_;
    SessionMutation mutation_;
    SimControl* sim_ = nullptr;
    std::unique_ptr<SessionChecker> checker_;
    std::map<ServerId, std::unique_ptr<SessionReplica>> replicas_;  // servers that are up
    std::map<ServerId, std::set<uint64_t>> batches_;  // heartbeats an owner received this tick
    std::vector<Client> clients_;
    std::map<uint64_t, int> requests_;        // open or revalidation -> client slot
    std::map<uint64_t, int64_t> abandoned_;   // session -> when its client left it
    std::set<uint64_t> carried_;              // sessions heartbeated under a later leader
    std::map<std::string, uint64_t> counts_;  // for the summary
};

void SessionWorkload::begin(SimControl& sim) {
    sim_ = &sim;
    const int64_t tick = sim.tick_time();
    checker_ = std::make_unique<SessionChecker>(tick, kExpiryBudget, sim.election_timeout());
    // The client side of check (b) relies on this: a heartbeat sent in
    // [T - timeout + 2 ticks, T - 1 tick - max message delay) reaches the
    // leader before T and moves its deadline past T (session_checker.cc), and
    // a client heartbeating every kMaxHeartbeatMs sends one in any such window.
    for (uint64_t timeout : kTimeoutsMs) {
        CHORUS_ASSERT(
            static_cast<int64_t>(timeout) - 3 * tick - sim.max_message_delay() > kMaxHeartbeatMs,
            "session timeouts too short for the heartbeat interval");
    }
    clients_.resize(sim.members().size() * kClientsPerServer);
    for (size_t i = 0; i < clients_.size(); ++i) {
        clients_[i].slot = static_cast<int>(i);
        sim.wake_at(1 + static_cast<int64_t>(rand(300)), i);
    }
}

StateMachine& SessionWorkload::start(ServerId id) {
    // Per-replica bugs hit the last server, whenever it follows.
    const bool victim = id == sim_->members().back();
    auto& r = replicas_[id];
    SessionReplica::Events& events = *this;
    r = std::make_unique<SessionReplica>(id, mutation_, victim, *sim_, *checker_, events);
    return *r;
}

void SessionWorkload::restored(ServerId id, Zxid zxid) {
    SessionReplica* r = replica(id);
    r->restored(zxid);
    if (!zxid.is_zero() && !r->tracker().sessions().empty())
        ++counts_["snapshots holding sessions"];
}

void SessionWorkload::crashed(ServerId id) {
    if (SessionReplica* r = replica(id)) r->crashed();
    replicas_.erase(id);
    batches_.erase(id);  // the heartbeats it had not forwarded are lost with it
}

std::optional<uint64_t> SessionWorkload::submit(ServerId id, const pb::TrackerRequest& r) {
    zab::Request request;
    request.type = kTrackerType;
    request.data = r.SerializeAsString();
    if (!sim_->submit(id, request).is_ok()) return std::nullopt;
    return request.id;
}

void SessionWorkload::tick(ServerId id) {
    replica(id)->set_clock(sim_->now());
    forward_heartbeats(id);
    expire_due(id);
}

void SessionWorkload::forward_heartbeats(ServerId id) {
    auto it = batches_.find(id);
    if (it == batches_.end() || it->second.empty()) return;
    pb::TrackerRequest r;
    for (uint64_t session : it->second) {
        r.mutable_heartbeats()->add_session_ids(session);
        if (mutation_ == SessionMutation::kBatchKeepsFirst) break;
    }
    it->second.clear();
    ++counts_["heartbeat batches"];
    // Refused while the owner has no serving leader: the heartbeats are lost.
    if (!submit(id, r)) ++counts_["heartbeat batches refused"];
}

void SessionWorkload::expire_due(ServerId id) {
    const zab::Core* core = sim_->core(id);
    if (core->role() != zab::Role::kLeading || !core->serving()) return;
    // As SessionService does: the tracker itself stops offering a session
    // once its expiry is proposed, so nothing here remembers what is in flight.
    const std::vector<uint64_t> due = replica(id)->due_for_expiry(kExpiryBudget);
    if (due.empty()) return;
    if (due.size() == kExpiryBudget) ++counts_["expiry rounds at the budget"];
    pb::TrackerRequest request;
    for (uint64_t s : due) request.mutable_expire()->add_session_ids(s);
    (void)submit(id, request);
}

void SessionWorkload::expiry_decided(ServerId leader, uint64_t session, uint64_t timeout_ms) {
    ++counts_["expiry decisions"];
    SessionChecker::ClientView view;
    for (Client& c : clients_) {
        if (c.state != Client::State::kLive || c.session != session) continue;
        update_path(c);
        view.who = client_name(c);
        if (c.path && c.path->leader == leader) {
            view.working_since = c.working_since;
            view.path = describe(*c.path);
        }
    }
    trace("leader " + std::to_string(leader) + " expires session " + session_name(session) +
          (view.who.empty() ? "" : " of " + view.who) +
          (view.working_since ? ", whose path works since " + std::to_string(*view.working_since)
                              : ""));
    checker_->expiry_decided(leader, session, timeout_ms, sim_->now(), view);
}

void SessionWorkload::heartbeat_absorbed(ServerId leader, uint64_t session) {
    const zab::Core* core = sim_->core(leader);
    if (core && (session >> 40) < core->current_epoch()) carried_.insert(session);
}

void SessionWorkload::committed(const pb::TrackerTxn& change, Zxid zxid,
                                size_t ephemerals_expired) {
    if (change.has_opened()) ++counts_["sessions opened"];
    if (change.has_closed()) ++counts_["sessions closed"];
    if (change.has_revalidated()) ++counts_["revalidations"];
    for (uint64_t s : change.expired().session_ids()) {
        if (checker_->closed_at(s) != zxid) continue;  // already gone
        ++counts_["sessions expired"];
        bool heartbeating = false;
        for (const Client& c : clients_) {
            heartbeating |= c.state == Client::State::kLive && c.session == s;
        }
        ++counts_[heartbeating ? "sessions expired while their path failed"
                               : "silent sessions expired"];
    }
    if (ephemerals_expired > 0) counts_["ephemerals deleted by expiry"] += ephemerals_expired;
}

void SessionWorkload::completed(ServerId id, const zab::Completion& completion) {
    auto it = requests_.find(completion.request_id);
    if (it == requests_.end()) return;
    Client& c = clients_[static_cast<size_t>(it->second)];
    requests_.erase(it);
    if (c.request != completion.request_id) return;  // given up on
    c.request = 0;
    const bool committed = completion.outcome == zab::Completion::Outcome::kCommitted;
    if (c.state == Client::State::kOpening) {
        if (!committed) {
            c.state = Client::State::kIdle;
            return;
        }
        c.state = Client::State::kLive;
        c.session = session::session_id_of(completion.zxid);
        c.opened_at = completion.zxid;
        c.nodes.clear();
        c.path.reset();
        trace(client_name(c) + " opened session " + session_name(c.session) + " at server " +
              std::to_string(id) + " (timeout " + std::to_string(c.timeout_ms) + " ms" +
              (c.mover ? ", moves" : ", loyal") + ")");
    } else if (c.state == Client::State::kLive && c.revalidate) {
        if (!committed) {  // absorbed: the leader no longer has the session
            leave(c, "revalidation refused");
            return;
        }
        c.revalidate = false;
        const SessionReplica* r = replica(id);
        auto s = r->tracker().sessions().find(c.session);
        if (c.moved_after_crash && s != r->tracker().sessions().end() && s->second.owner == id) {
            ++counts_["revalidations after an owner crash"];
        }
    }
}

void SessionWorkload::wake(uint64_t token) {
    Client& c = clients_[token];
    const int64_t now = sim_->now();
    // Near the end nothing new is written, so the run can quiesce; the
    // clients that are live keep heartbeating.
    const bool quiet = now >= sim_->quiet_time() - 20 * sim_->tick_time();
    switch (c.state) {
        case Client::State::kIdle:
            if (!quiet && chance(0.3)) open(c);
            break;
        case Client::State::kOpening:
            if (now - c.request_at > 30 * sim_->tick_time()) {
                c.state = Client::State::kIdle;  // the session may exist: an orphan
                c.request = 0;
            }
            break;
        case Client::State::kSilent:
            if (now - c.silent_since > static_cast<int64_t>(c.timeout_ms) + 10 * sim_->tick_time())
                c.state = Client::State::kIdle;
            break;
        case Client::State::kLive:
            live_wake(c, quiet);
            break;
    }
    sim_->wake_at(now + c.heartbeat_ms, token);
}

void SessionWorkload::open(Client& c) {
    std::vector<ServerId> up;
    for (ServerId id : sim_->members()) {
        if (sim_->core(id)) up.push_back(id);
    }
    if (up.empty()) return;
    const ServerId server = up[rand(up.size())];
    ++c.life;
    c.mover = chance(0.6);
    c.heartbeat_ms =
        kMinHeartbeatMs + static_cast<int64_t>(rand(kMaxHeartbeatMs - kMinHeartbeatMs + 1));
    c.timeout_ms = kTimeoutsMs[rand(std::size(kTimeoutsMs))];
    c.server = server;
    c.revalidate = false;
    c.moved_after_crash = false;
    c.unusable_wakes = 0;
    pb::TrackerRequest r;
    r.mutable_open()->set_owner(server);
    r.mutable_open()->set_timeout_ms(c.timeout_ms);
    std::optional<uint64_t> id = submit(server, r);
    if (!id) return;
    c.state = Client::State::kOpening;
    c.request = *id;
    c.request_at = sim_->now();
    requests_[*id] = c.slot;
}

bool SessionWorkload::session_gone(const Client& c) {
    // The server the client talks to knows, once it has delivered past the open.
    const zab::Core* core = sim_->core(c.server);
    if (!core || core->delivered_zxid() < c.opened_at) return false;
    return !replica(c.server)->tracker().sessions().count(c.session);
}

void SessionWorkload::leave(Client& c, const std::string& why) {
    trace(client_name(c) + " leaves session " + session_name(c.session) + ": " + why);
    abandoned_.emplace(c.session, sim_->now());
    c.state = Client::State::kIdle;
    c.request = 0;
    c.path.reset();
}

void SessionWorkload::live_wake(Client& c, bool quiet) {
    if (session_gone(c)) {
        ++counts_["clients told their session ended"];
        leave(c, "the session is gone");
        return;
    }
    const zab::Core* core = sim_->core(c.server);
    if (c.mover) {
        if (!core) {
            move(c, true);
        } else if (!core->serving()) {
            if (++c.unusable_wakes >= 3) move(c, false);
        } else {
            c.unusable_wakes = 0;
        }
    }
    const int64_t now = sim_->now();
    if (!quiet && c.revalidate && (c.request == 0 || now - c.request_at > 20 * sim_->tick_time())) {
        pb::TrackerRequest r;
        r.mutable_revalidate()->set_session_id(c.session);
        r.mutable_revalidate()->set_owner(c.server);
        if (std::optional<uint64_t> id = submit(c.server, r)) {
            c.request = *id;
            c.request_at = now;
            requests_[*id] = c.slot;
        }
    }
    // The heartbeat: it reaches the server only while that server is up.
    if (sim_->core(c.server)) batches_[c.server].insert(c.session);
    if (quiet) return;
    const uint64_t r = rand(1000);
    if (r < 80 && c.nodes.size() < kMaxNodesPerSession) {
        create_node(c);
    } else if (r < 110 && !c.nodes.empty()) {
        delete_node(c);
    } else if (r < 116) {
        c.silent_since = now;
        leave(c, "goes silent");
        c.state = Client::State::kSilent;
    } else if (r < 120) {
        pb::TrackerRequest close;
        close.mutable_close()->set_session_id(c.session);
        (void)submit(c.server, close);
        leave(c, "closes it");
    }
}

void SessionWorkload::move(Client& c, bool owner_down) {
    std::vector<ServerId> serving, up;
    for (ServerId id : sim_->members()) {
        const zab::Core* core = sim_->core(id);
        if (id == c.server || !core) continue;
        up.push_back(id);
        if (core->serving()) serving.push_back(id);
    }
    const std::vector<ServerId>& choice = serving.empty() ? up : serving;
    if (choice.empty()) return;
    const ServerId to = choice[rand(choice.size())];
    trace(client_name(c) + " moves session " + session_name(c.session) + " from server " +
          std::to_string(c.server) + (owner_down ? " (down)" : " (not serving)") + " to server " +
          std::to_string(to));
    c.server = to;
    c.revalidate = true;
    c.moved_after_crash = owner_down;
    c.request = 0;
    c.unusable_wakes = 0;
}

void SessionWorkload::create_node(Client& c) {
    const std::string path = "/e" + std::to_string(c.slot) + "." + std::to_string(c.life) + "." +
                             std::to_string(c.next_node++);
    pb::TrackerRequest r;
    pb::NodeOp* op = r.mutable_nodes()->add_ops();
    op->set_kind(pb::NodeOp::CREATE);
    op->set_path(path);
    op->set_data("x");
    op->set_expected_version(-1);
    op->set_ephemeral_owner(c.session);
    if (submit(c.server, r)) c.nodes.push_back(path);
}

void SessionWorkload::delete_node(Client& c) {
    const size_t i = rand(c.nodes.size());
    pb::TrackerRequest r;
    pb::NodeOp* op = r.mutable_nodes()->add_ops();
    op->set_kind(pb::NodeOp::DELETE);
    op->set_path(c.nodes[i]);
    op->set_expected_version(-1);
    if (submit(c.server, r)) c.nodes.erase(c.nodes.begin() + static_cast<std::ptrdiff_t>(i));
}

// "Working", for the client side of check (b). Conservative: every part of
// the heartbeats' way must be up, and stay the same (Path), for the whole
// window the check looks at.
//   - the client is live (heartbeating every heartbeat_ms to c.server);
//   - its server (the owner) is up and serving: the leader if it leads, or
//     a follower that got UPTODATE from that leader, in the leader's epoch;
//   - the leader is up, leads, serves, and has a quorum: with itself, a
//     majority of the members serve as its followers in its epoch over
//     links that are up;
//   - the owner's link to the leader is up (unless they are the same).
// Then each heartbeat goes into the owner's batch at once, leaves with the
// owner's next tick (the owner serves, so submit forwards it) and reaches
// the leader in the same epoch within max_message_delay, where preprocess
// absorbs it on arrival.
std::optional<Path> SessionWorkload::working_path(const Client& c) const {
    if (c.state != Client::State::kLive) return std::nullopt;
    const zab::Core* owner = sim_->core(c.server);
    if (!owner || !owner->serving()) return std::nullopt;
    const ServerId leader_id = owner->role() == zab::Role::kLeading ? c.server : owner->leader();
    const zab::Core* leader = sim_->core(leader_id);
    if (!leader || leader->role() != zab::Role::kLeading || !leader->serving()) return std::nullopt;
    const uint64_t epoch = leader->current_epoch();
    if (owner->current_epoch() != epoch) return std::nullopt;
    if (leader_id != c.server && !sim_->link_up(c.server, leader_id)) return std::nullopt;
    size_t quorum = 1;
    for (ServerId id : sim_->members()) {
        const zab::Core* f = sim_->core(id);
        if (id == leader_id || !f || !f->serving() || f->role() != zab::Role::kFollowing) continue;
        if (f->leader() == leader_id && f->current_epoch() == epoch && sim_->link_up(id, leader_id))
            ++quorum;
    }
    if (quorum < leader->config().quorum()) return std::nullopt;
    return Path{c.session,
                c.server,
                sim_->incarnation(c.server),
                leader_id,
                sim_->incarnation(leader_id),
                epoch,
                leader_id == c.server ? 0 : sim_->link_generation(c.server, leader_id)};
}

void SessionWorkload::update_path(Client& c) {
    std::optional<Path> path = working_path(c);
    if (!path) {
        c.path.reset();
    } else if (!c.path || !(*c.path == *path)) {
        c.path = path;
        c.working_since = sim_->now();
    }
}

std::string SessionWorkload::describe(const Path& p) {
    return "owner " + std::to_string(p.owner) +
           (p.owner == p.leader ? " is the leader"
                                : " follows leader " + std::to_string(p.leader)) +
           " in epoch " + std::to_string(p.epoch);
}

void SessionWorkload::observe() {
    for (Client& c : clients_) update_path(c);
    for (const auto& [id, r] : replicas_) {
        const zab::Core* core = sim_->core(id);
        if (core && core->role() == zab::Role::kLeading && core->serving()) {
            checker_->check_timely(id, r->tracker().sessions(), sim_->now());
        }
    }
}

void SessionWorkload::check_end() {
    // Every server is up and has delivered the whole log (the simulator's
    // liveness check passed): no session without a live client is left.
    // (A server whose disk stayed stuck could not catch up: left out.)
    for (const auto& [id, r] : replicas_) {
        if (sim_->sick(id)) continue;
        for (const auto& [s, info] : r->tracker().sessions()) {
            bool live = false;
            for (const Client& c : clients_) {
                live |= c.state == Client::State::kLive && c.session == s;
            }
            if (live) continue;
            auto a = abandoned_.find(s);
            checker_->fail("sessions (c) liveness: at the end of the run server " +
                           std::to_string(id) + " still holds session " + session_name(s) +
                           " (timeout " + std::to_string(info.timeout_ms) + " ms), " +
                           (a == abandoned_.end()
                                ? "which no client ever learned of"
                                : "which its client left at " + std::to_string(a->second) + " ms"));
            return;
        }
    }
}

std::map<std::string, uint64_t> SessionWorkload::counts() const {
    std::map<std::string, uint64_t> counts = counts_;
    counts["sessions kept across a leader change"] = carried_.size();
    counts["max expiry lateness ms"] =
        static_cast<uint64_t>(std::max<int64_t>(checker_->max_lateness_ms(), 0));
    counts["max ms from leading to serving"] = static_cast<uint64_t>(checker_->max_takeover_ms());
    counts["sessions lost at a failover"] = checker_->failover_losses();
    counts["sessions lost at a failover, timeout >= 2 election timeouts"] =
        checker_->failover_losses_long_timeout();
    counts.try_emplace("leader terms without a role change between", 0);
    return counts;
}

}  // namespace

std::unique_ptr<Workload> make_session_workload(uint64_t seed, SessionMutation mutation) {
    return std::make_unique<SessionWorkload>(seed, mutation);
}

}  // namespace chorus::sim
