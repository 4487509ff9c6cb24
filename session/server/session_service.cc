#include "session/server/session_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "session/client.pb.h"
#include "session/groups.h"
#include "session/session.pb.h"
#include "zab/runtime/heap.h"

namespace chorus::session {

namespace cpb = chorus::client::pb;

namespace {

cpb::Code code_of(NodeResult result) {
    switch (result) {
        case NodeResult::kOk:
            return cpb::OK;
        case NodeResult::kNoNode:
            return cpb::NO_NODE;
        case NodeResult::kNodeExists:
            return cpb::NODE_EXISTS;
        case NodeResult::kBadVersion:
            return cpb::BAD_VERSION;
        case NodeResult::kNoParent:
            return cpb::NO_PARENT;
        case NodeResult::kNoSession:
            return cpb::NO_SESSION;
        case NodeResult::kNotEmpty:
            return cpb::NOT_EMPTY;
        case NodeResult::kBadPath:
            return cpb::BAD_PATH;
    }
    return cpb::BAD_REQUEST;
}

void set_zxid(cpb::Zxid* out, Zxid z) {
    out->set_epoch(z.epoch);
    out->set_counter(z.counter);
}

cpb::Response error(uint64_t id, cpb::Code code, std::string message) {
    cpb::Response r;
    r.set_id(id);
    r.set_code(code);
    r.set_message(std::move(message));
    return r;
}

zab::Request tracker_request(const pb::TrackerRequest& r) {
    zab::Request request;
    request.type = kTrackerType;
    request.data = r.SerializeAsString();
    return request;
}

constexpr size_t kHeartbeatsPerRequest = 10000;

// A waiting Watch request.
struct Watcher {
    uint64_t deadline_ms;
    int64_t version;
    SessionService::Reply reply;
    uint64_t request_id;
};

}  // namespace

struct SessionService::Impl {
    ServiceOptions options;
    uint64_t last_tick_ms = clock_ms();  // core thread
    Tracker tracker;
    Node* node = nullptr;

    // Core thread.
    zab::Role role = zab::Role::kLooking;
    uint64_t now_ms = 0;
    // Heartbeats received since the last flush (a session may appear twice;
    // the leader does not mind).
    std::vector<uint64_t> pending_heartbeats;
    double expiry_credit = 0;
    uint64_t expiring_since_log = 0;
    uint64_t last_expiry_log_ms = 0;
    uint64_t heartbeats_received = 0;
    // Watches by key ("n" + path or "g" + group).
    using WatchMap = std::multimap<std::string, Watcher>;
    using WatchIt = WatchMap::iterator;
    WatchMap watchers;
    // The same watches by deadline, so timing them out costs what times out.
    struct ByDeadline {
        bool operator()(const std::pair<uint64_t, WatchIt>& a,
                        const std::pair<uint64_t, WatchIt>& b) const {
            return a.first != b.first ? a.first < b.first : &*a.second < &*b.second;
        }
    };
    std::set<std::pair<uint64_t, WatchIt>, ByDeadline> watch_deadlines;
    // Answers a watch and forgets it.
    WatchIt end_watch(WatchIt it, cpb::Response response);

    // Ticker thread.
    std::thread ticker;
    std::mutex mutex;
    std::condition_variable wake;
    bool stopping = false;
    // A tick waits on the core thread: do not queue another. (A core thread
    // slower than the ticker must not drown the node's own timers under a
    // growing backlog of ticks.)
    std::atomic<bool> tick_queued{false};

    static uint64_t clock_ms() {
        return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now().time_since_epoch())
                                         .count());
    }

    bool serving() const { return node->status().serving; }

    void on_tick(uint64_t now);
    void flush_heartbeats();
    void drive_expiry(uint64_t elapsed_ms);
    void expire_watches();
    void wake_watchers(const std::string& key);
    // The state a watch on `key` sees: (version, exists).
    std::pair<int64_t, bool> watched_state(const std::string& key) const;

    void execute(cpb::Request request, Reply reply);
    void open(const cpb::Request& request, Reply reply);
    void revalidate(const cpb::Request& request, Reply reply);
    void close(const cpb::Request& request, Reply reply);
    void heartbeat(const cpb::Request& request, Reply reply);
    void check_heartbeats(std::shared_ptr<std::vector<uint64_t>> ids, size_t from,
                          std::shared_ptr<cpb::Response> r, Reply reply);
    void write(const cpb::Request& request, Reply reply);
    void read(const cpb::Request& request, Reply reply);
    void watch(const cpb::Request& request, Reply reply);
    void stats(const cpb::Request& request, Reply reply);
    // Runs `then` after a read barrier if `sync`, at once otherwise.
    void maybe_sync(uint64_t id, bool sync, Reply reply, std::function<void(Reply)> then);
};

SessionService::SessionService(ServiceOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = options;
    impl_->tracker.set_listener(ChangeListener{
        .node_changed = [this](const std::string& path) { impl_->wake_watchers("n" + path); },
        .group_changed = [this](const std::string& group,
                                int64_t) { impl_->wake_watchers("g" + group); },
        .restored =
            [this] {
                std::set<std::string> keys;
                for (const auto& [key, w] : impl_->watchers) keys.insert(key);
                for (const std::string& key : keys) impl_->wake_watchers(key);
            },
    });
}

SessionService::~SessionService() { stop(); }

void SessionService::attach(Node& node) { impl_->node = &node; }

void SessionService::start() {
    Impl& m = *impl_;
    m.ticker = std::thread([&m] {
        std::unique_lock lock(m.mutex);
        while (!m.stopping) {
            m.wake.wait_for(lock, std::chrono::milliseconds(m.options.tick_ms));
            if (m.stopping) break;
            if (m.tick_queued.exchange(true)) continue;
            m.node->post([&m] {
                m.tick_queued = false;
                const uint64_t now = Impl::clock_ms();
                const uint64_t elapsed = now - m.last_tick_ms;
                m.last_tick_ms = now;
                m.on_tick(now);
                m.drive_expiry(elapsed);
            });
        }
    });
}

void SessionService::stop() {
    Impl& m = *impl_;
    if (!m.ticker.joinable()) return;  // never started, or stopped already
    {
        std::lock_guard lock(m.mutex);
        m.stopping = true;
    }
    m.wake.notify_all();
    m.ticker.join();
    // Waiting watches end now, not when their timeout passes (the node
    // still runs: stop() comes before node.stop()).
    auto ended = std::make_shared<std::promise<void>>();
    m.node->post([&m, ended] {
        while (!m.watchers.empty()) {
            const uint64_t id = m.watchers.begin()->second.request_id;
            m.end_watch(m.watchers.begin(),
                        error(id, cpb::NOT_SERVING, "the server is stopping; try another"));
        }
        ended->set_value();
    });
    if (ended->get_future().wait_for(std::chrono::seconds(2)) != std::future_status::ready)
        spdlog::warn("server {}: watches not ended at stop (the node had stopped)", m.options.id);
}

const Tracker& SessionService::tracker() const { return impl_->tracker; }

std::optional<zab::Txn> SessionService::preprocess(const zab::Request& request) {
    return impl_->tracker.preprocess(request);
}
void SessionService::deliver(const zab::Txn& txn) { impl_->tracker.deliver(txn); }
std::string SessionService::save() { return impl_->tracker.save(); }
std::function<std::string()> SessionService::snapshot() { return impl_->tracker.snapshot(); }
void SessionService::snapshot_done() { impl_->tracker.snapshot_done(); }
void SessionService::restore(const std::string& snapshot) { impl_->tracker.restore(snapshot); }
void SessionService::role_changed(zab::Role role, zab::ServerId leader, uint64_t epoch) {
    impl_->role = role;
    impl_->tracker.set_now_ms(Impl::clock_ms());
    impl_->tracker.role_changed(role, leader, epoch);
    impl_->expiry_credit = 0;
}

void SessionService::handle(cpb::Request request, Reply reply) {
    Impl& m = *impl_;
    m.node->post([&m, request = std::move(request), reply = std::move(reply)]() mutable {
        m.execute(std::move(request), std::move(reply));
    });
}

// ---- ticks ------------------------------------------------------------------

void SessionService::Impl::on_tick(uint64_t now) {
    now_ms = now;
    tracker.set_now_ms(now);
    flush_heartbeats();
    expire_watches();
}

void SessionService::Impl::flush_heartbeats() {
    // In requests of a bounded size: the leader absorbs each in a few
    // milliseconds, so its pings never wait behind a million heartbeats.
    for (size_t start = 0; start < pending_heartbeats.size(); start += kHeartbeatsPerRequest) {
        const size_t end = std::min(pending_heartbeats.size(), start + kHeartbeatsPerRequest);
        pb::TrackerRequest r;
        r.mutable_heartbeats()->mutable_session_ids()->Add(pending_heartbeats.begin() + start,
                                                           pending_heartbeats.begin() + end);
        // A lost batch is not an error: the clients heartbeat again within
        // a third of their timeout.
        node->submit(tracker_request(r), [](Status, zab::Completion) {});
    }
    pending_heartbeats.clear();
}

void SessionService::Impl::drive_expiry(uint64_t elapsed_ms) {
    if (role != zab::Role::kLeading || !serving()) return;
    const double rate = options.expiries_per_second;
    // Credit accrues with time and is capped at one second's worth.
    expiry_credit = std::min(rate, expiry_credit + rate * static_cast<double>(elapsed_ms) / 1000.0);
    const size_t budget =
        std::min<size_t>(static_cast<size_t>(expiry_credit), options.max_expiries_per_txn);
    if (budget == 0) return;
    std::vector<uint64_t> due = tracker.due_for_expiry(budget);
    if (due.empty()) return;
    expiry_credit -= static_cast<double>(due.size());
    pb::TrackerRequest r;
    for (uint64_t id : due) r.mutable_expire()->add_session_ids(id);
    node->submit(tracker_request(r), [](Status, zab::Completion) {});
    // One line a second at most, however many expiry transactions.
    expiring_since_log += due.size();
    if (now_ms >= last_expiry_log_ms + 1000) {
        spdlog::info("server {}: expiring {} session(s) whose deadline passed", options.id,
                     expiring_since_log);
        expiring_since_log = 0;
        last_expiry_log_ms = now_ms;
    }
}

// ---- watches ----------------------------------------------------------------

std::pair<int64_t, bool> SessionService::Impl::watched_state(const std::string& key) const {
    if (key[0] == 'g') {
        const std::string group = key.substr(1);
        return {tracker.group_version(group), tracker.node(group_path(group)) != nullptr};
    }
    const NodeInfo* n = tracker.node(key.substr(1));
    return n ? std::pair<int64_t, bool>{n->version, true} : std::pair<int64_t, bool>{-1, false};
}

void SessionService::Impl::wake_watchers(const std::string& key) {
    auto [begin, end] = watchers.equal_range(key);
    if (begin == end) return;
    const auto [version, exists] = watched_state(key);
    const bool is_node = key[0] == 'n';
    for (auto it = begin; it != end;) {
        // A node's watch also ends when the node goes away.
        if (version > it->second.version || (is_node && !exists && it->second.version >= 0)) {
            cpb::Response r;
            r.set_id(it->second.request_id);
            r.mutable_watch()->set_version(version);
            r.mutable_watch()->set_exists(exists);
            set_zxid(r.mutable_zxid(), node->status().delivered);
            it = end_watch(it, std::move(r));
        } else {
            ++it;
        }
    }
}

SessionService::Impl::WatchIt SessionService::Impl::end_watch(WatchIt it, cpb::Response response) {
    watch_deadlines.erase({it->second.deadline_ms, it});
    Reply reply = std::move(it->second.reply);
    WatchIt next = watchers.erase(it);
    reply(std::move(response));
    return next;
}

void SessionService::Impl::expire_watches() {
    while (!watch_deadlines.empty() && watch_deadlines.begin()->first <= now_ms) {
        const WatchIt it = watch_deadlines.begin()->second;
        const auto [version, exists] = watched_state(it->first);
        cpb::Response r = error(it->second.request_id, cpb::TIMEOUT,
                                "the watched version did not change within the timeout");
        r.mutable_watch()->set_version(version);
        r.mutable_watch()->set_exists(exists);
        end_watch(it, std::move(r));
    }
}

void SessionService::Impl::watch(const cpb::Request& request, Reply reply) {
    const cpb::Watch& w = request.watch();
    std::string key;
    if (w.target_case() == cpb::Watch::kGroup) {
        if (!valid_name(w.group()))
            return reply(error(request.id(), cpb::BAD_REQUEST, "invalid group name"));
        key = "g" + w.group();
    } else if (w.target_case() == cpb::Watch::kPath) {
        key = "n" + w.path();
    } else {
        return reply(error(request.id(), cpb::BAD_REQUEST, "a watch needs a path or a group"));
    }
    if (watchers.size() >= options.max_watches)
        return reply(error(request.id(), cpb::BUSY, "too many watches on this server"));
    const uint64_t wait =
        std::min(w.timeout_ms() == 0 ? options.max_watch_ms : w.timeout_ms(), options.max_watch_ms);
    const WatchIt it =
        watchers.emplace(key, Watcher{now_ms + wait, w.version(), std::move(reply), request.id()});
    watch_deadlines.insert({now_ms + wait, it});
    wake_watchers(key);  // already past it?
}

// ---- requests ---------------------------------------------------------------

void SessionService::Impl::execute(cpb::Request request, Reply reply) {
    if (request.op_case() != cpb::Request::kStats && !serving()) {
        return reply(error(request.id(), cpb::NOT_SERVING,
                           "this server is not part of a working quorum; try another"));
    }
    switch (request.op_case()) {
        case cpb::Request::kOpen:
            return open(request, std::move(reply));
        case cpb::Request::kRevalidate:
            return revalidate(request, std::move(reply));
        case cpb::Request::kClose:
            return close(request, std::move(reply));
        case cpb::Request::kHeartbeat:
            return heartbeat(request, std::move(reply));
        case cpb::Request::kWrite:
            return write(request, std::move(reply));
        case cpb::Request::kRead:
        case cpb::Request::kList:
        case cpb::Request::kGetGroup:
        case cpb::Request::kSync:
            return read(request, std::move(reply));
        case cpb::Request::kWatch:
            return watch(request, std::move(reply));
        case cpb::Request::kStats:
            return stats(request, std::move(reply));
        default:
            return reply(
                error(request.id(), cpb::BAD_REQUEST, "a request with no known operation"));
    }
}

void SessionService::Impl::open(const cpb::Request& request, Reply reply) {
    const uint64_t timeout =
        std::clamp<uint64_t>(request.open().timeout_ms(), options.min_session_timeout_ms,
                             options.max_session_timeout_ms);
    pb::TrackerRequest r;
    r.mutable_open()->set_owner(options.id);
    r.mutable_open()->set_timeout_ms(timeout);
    node->submit(tracker_request(r), [id = request.id(), timeout, reply = std::move(reply)](
                                         Status s, zab::Completion c) {
        if (!s.is_ok()) {
            // A session opened by a lost request expires by itself.
            return reply(
                error(id, s.code() == Code::kBusy ? cpb::BUSY : cpb::NOT_SERVING, s.message()));
        }
        cpb::Response r;
        r.set_id(id);
        r.mutable_session()->set_session_id(session_id_of(c.zxid));
        r.mutable_session()->set_timeout_ms(timeout);
        set_zxid(r.mutable_zxid(), c.zxid);
        reply(std::move(r));
    });
}

void SessionService::Impl::revalidate(const cpb::Request& request, Reply reply) {
    const uint64_t session = request.revalidate().session_id();
    // The session may have been opened moments ago through another server:
    // look only after a read barrier.
    node->sync(
        [this, id = request.id(), session, reply = std::move(reply)](Status s, Zxid) mutable {
            if (!s.is_ok()) return reply(error(id, cpb::NOT_SERVING, s.message()));
            auto known = tracker.sessions().find(session);
            if (known == tracker.sessions().end())
                return reply(error(id, cpb::NO_SESSION, "no such session (expired or closed)"));
            const uint64_t timeout = known->second.timeout_ms;
            if (known->second.owner == options.id) {
                pending_heartbeats.push_back(session);
                cpb::Response r;
                r.set_id(id);
                r.mutable_session()->set_session_id(session);
                r.mutable_session()->set_timeout_ms(timeout);
                return reply(std::move(r));
            }
            pb::TrackerRequest t;
            t.mutable_revalidate()->set_session_id(session);
            t.mutable_revalidate()->set_owner(options.id);
            node->submit(tracker_request(t), [this, id, session, timeout, reply = std::move(reply)](
                                                 Status s, zab::Completion c) {
                if (!s.is_ok()) return reply(error(id, cpb::NOT_SERVING, s.message()));
                auto now = tracker.sessions().find(session);
                if (now == tracker.sessions().end() || now->second.owner != options.id)
                    return reply(error(id, cpb::NO_SESSION, "the session expired before it moved"));
                cpb::Response r;
                r.set_id(id);
                r.mutable_session()->set_session_id(session);
                r.mutable_session()->set_timeout_ms(timeout);
                set_zxid(r.mutable_zxid(), c.zxid);
                reply(std::move(r));
            });
        });
}

void SessionService::Impl::close(const cpb::Request& request, Reply reply) {
    const uint64_t session = request.close().session_id();
    if (!tracker.sessions().count(session))
        return reply(error(request.id(), cpb::NO_SESSION, "no such session"));
    pb::TrackerRequest r;
    r.mutable_close()->set_session_id(session);
    node->submit(tracker_request(r),
                 [id = request.id(), reply = std::move(reply)](Status s, zab::Completion c) {
                     if (!s.is_ok()) return reply(error(id, cpb::UNCERTAIN, s.message()));
                     cpb::Response r;
                     r.set_id(id);
                     set_zxid(r.mutable_zxid(), c.zxid);
                     reply(std::move(r));
                 });
}

void SessionService::Impl::heartbeat(const cpb::Request& request, Reply reply) {
    auto r = std::make_shared<cpb::Response>();
    r->set_id(request.id());
    r->mutable_heartbeat();
    auto ids = std::make_shared<std::vector<uint64_t>>(request.heartbeat().session_ids().begin(),
                                                       request.heartbeat().session_ids().end());
    check_heartbeats(std::move(ids), 0, std::move(r), std::move(reply));
}

void SessionService::Impl::check_heartbeats(std::shared_ptr<std::vector<uint64_t>> ids, size_t from,
                                            std::shared_ptr<cpb::Response> r, Reply reply) {
    // A slice at a time, going to the back of the core thread's queue in
    // between: a frame with a million sessions must not hold the core
    // thread past an election timeout.
    const size_t end = std::min(ids->size(), from + kHeartbeatsPerRequest);
    auto* out = r->mutable_heartbeat();
    for (size_t i = from; i < end; ++i) {
        const uint64_t session = (*ids)[i];
        auto s = tracker.sessions().find(session);
        if (s == tracker.sessions().end()) {
            out->add_unknown(session);
        } else if (s->second.owner != options.id) {
            out->add_not_owned(session);
        } else {
            pending_heartbeats.push_back(session);
            ++heartbeats_received;
        }
    }
    if (end == ids->size()) return reply(std::move(*r));
    node->post(
        [this, ids = std::move(ids), end, r = std::move(r), reply = std::move(reply)]() mutable {
            check_heartbeats(std::move(ids), end, std::move(r), std::move(reply));
        });
}

void SessionService::Impl::write(const cpb::Request& request, Reply reply) {
    const cpb::Write& w = request.write();
    if (w.ops_size() == 0)
        return reply(error(request.id(), cpb::BAD_REQUEST, "a write with no ops"));
    if (static_cast<size_t>(w.ops_size()) > options.max_ops_per_write) {
        return reply(error(request.id(), cpb::TOO_LARGE,
                           "a write with " + std::to_string(w.ops_size()) + " ops; the limit is " +
                               std::to_string(options.max_ops_per_write)));
    }
    pb::TrackerRequest r;
    for (const cpb::Op& op : w.ops()) {
        if (op.data().size() > options.max_value_bytes) {
            return reply(error(request.id(), cpb::TOO_LARGE,
                               "a value of " + std::to_string(op.data().size()) +
                                   " bytes; the limit is " +
                                   std::to_string(options.max_value_bytes)));
        }
        if (op.path().size() > 1024)
            return reply(error(request.id(), cpb::BAD_PATH, "a path over 1024 bytes"));
        if (op.ephemeral() && !tracker.sessions().count(w.session_id()))
            return reply(
                error(request.id(), cpb::NO_SESSION, "an ephemeral node needs a live session"));
        pb::NodeOp* out = r.mutable_nodes()->add_ops();
        switch (op.kind()) {
            case cpb::Op::CREATE:
                out->set_kind(pb::NodeOp::CREATE);
                break;
            case cpb::Op::DELETE:
                out->set_kind(pb::NodeOp::DELETE);
                break;
            case cpb::Op::SET:
                out->set_kind(pb::NodeOp::SET);
                break;
            case cpb::Op::CHECK:
                out->set_kind(pb::NodeOp::CHECK);
                break;
            case cpb::Op::PUT:
                out->set_kind(pb::NodeOp::PUT);
                break;
            default:
                return reply(error(request.id(), cpb::BAD_REQUEST, "an unknown op kind"));
        }
        out->set_path(op.path());
        out->set_data(op.data());
        out->set_expected_version(op.has_expected_version() ? op.expected_version() : -1);
        out->set_ephemeral_owner(op.ephemeral() ? w.session_id() : 0);
        out->set_make_parents(op.make_parents());
    }
    node->submit(tracker_request(r),
                 [this, id = request.id(), reply = std::move(reply)](Status s, zab::Completion c) {
                     if (!s.is_ok()) {
                         // kBusy here means no outcome in time: it may yet apply.
                         const cpb::Code code =
                             s.code() == Code::kInvalidArgument ? cpb::TOO_LARGE : cpb::UNCERTAIN;
                         return reply(error(id, code, s.message()));
                     }
                     std::optional<NodeResult> result = tracker.node_result(c.zxid);
                     cpb::Response r;
                     r.set_id(id);
                     set_zxid(r.mutable_zxid(), c.zxid);
                     r.set_code(result ? code_of(*result) : cpb::UNCERTAIN);
                     if (result && *result != NodeResult::kOk)
                         r.set_message(node_result_name(*result));
                     reply(std::move(r));
                 });
}

void SessionService::Impl::maybe_sync(uint64_t id, bool sync, Reply reply,
                                      std::function<void(Reply)> then) {
    if (!sync) return then(std::move(reply));
    node->sync([id, reply = std::move(reply), then = std::move(then)](Status s, Zxid) mutable {
        if (!s.is_ok()) return reply(error(id, cpb::NOT_SERVING, s.message()));
        then(std::move(reply));
    });
}

void SessionService::Impl::read(const cpb::Request& request, Reply reply) {
    const uint64_t id = request.id();
    auto respond = [this, request](Reply reply) {
        cpb::Response r;
        r.set_id(request.id());
        set_zxid(r.mutable_zxid(), node->status().delivered);
        switch (request.op_case()) {
            case cpb::Request::kRead: {
                auto* out = r.mutable_node();
                if (const NodeInfo* n = tracker.node(request.read().path())) {
                    out->set_exists(true);
                    out->set_data(n->data.str());
                    out->set_version(n->version);
                    out->set_ephemeral_owner(n->ephemeral_owner);
                } else {
                    out->set_version(-1);
                }
                break;
            }
            case cpb::Request::kList:
                for (std::string& name : tracker.children(request.list().path()))
                    r.mutable_list()->add_names(std::move(name));
                break;
            case cpb::Request::kGetGroup: {
                if (!valid_name(request.get_group().group())) {
                    return reply(error(request.id(), cpb::BAD_REQUEST, "invalid group name"));
                }
                GroupView view = read_group(tracker, request.get_group().group());
                auto* out = r.mutable_group();
                out->set_exists(view.exists);
                out->set_version(view.version);
                if (view.config) out->set_config(*view.config);
                auto copy = [](const GroupMember& m, cpb::Member* to) {
                    to->set_name(m.name);
                    if (m.metadata) to->set_metadata(*m.metadata);
                    if (m.config) to->set_config(*m.config);
                    to->set_session_id(m.session_id);
                };
                for (const GroupMember& m : view.active) copy(m, out->add_active());
                for (const GroupMember& m : view.inactive) copy(m, out->add_inactive());
                break;
            }
            default:  // kSync
                break;
        }
        reply(std::move(r));
    };
    const bool sync = request.op_case() == cpb::Request::kSync ||
                      (request.op_case() == cpb::Request::kRead && request.read().sync()) ||
                      (request.op_case() == cpb::Request::kList && request.list().sync()) ||
                      (request.op_case() == cpb::Request::kGetGroup && request.get_group().sync());
    maybe_sync(id, sync, std::move(reply), std::move(respond));
}

void SessionService::Impl::stats(const cpb::Request& request, Reply reply) {
    const NodeStatus status = node->status();
    cpb::Response r;
    r.set_id(request.id());
    auto* out = r.mutable_stats();
    out->set_server_id(options.id);
    out->set_role(zab::role_name(status.role));
    out->set_leader(status.leader);
    out->set_epoch(status.epoch);
    set_zxid(out->mutable_last_zxid(), status.last_zxid);
    set_zxid(out->mutable_delivered(), status.delivered);
    out->set_serving(status.serving);
    out->set_sessions(tracker.sessions().size());
    out->set_nodes(tracker.nodes().size());
    const Tracker::Counters& c = tracker.counters();
    out->set_heartbeats_absorbed(c.heartbeats_absorbed);
    out->set_heartbeats_received(heartbeats_received);
    out->set_sessions_expired(c.sessions_expired);
    for (size_t k = 0; k < static_cast<size_t>(TxnKind::kCount); ++k) {
        auto* log = out->add_log();
        log->set_kind(txn_kind_name(static_cast<TxnKind>(k)));
        log->set_records(c.log_records[k]);
        log->set_bytes(c.log_bytes[k]);
    }
    out->set_log_records_appended(status.log_records_appended);
    out->set_log_bytes_appended(status.log_bytes_appended);
    out->set_heap_bytes(runtime::heap_bytes_in_use());
    out->set_watches(watchers.size());
    reply(std::move(r));
}

}  // namespace chorus::session
