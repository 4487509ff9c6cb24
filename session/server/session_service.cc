// SessionService's public face: the StateMachine (the tracker), the
// dispatch of client requests, and the tick that drives the periodic work.
// The concerns themselves live in service_*.cc (service_impl.h says which).
#include "session/server/session_service.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <future>

#include "base/assert.h"
#include "session/server/service_impl.h"

namespace chorus::session {

cpb::Response error_response(uint64_t id, cpb::Code code, std::string message) {
    cpb::Response r;
    r.set_id(id);
    r.set_code(code);
    r.set_message(std::move(message));
    return r;
}

void set_zxid(cpb::Zxid* out, Zxid z) {
    out->set_epoch(z.epoch);
    out->set_counter(z.counter);
}

void set_stat(cpb::Stat* out, const NodeStat& s) {
    set_zxid(out->mutable_czxid(), s.czxid);
    set_zxid(out->mutable_mzxid(), s.mzxid);
    set_zxid(out->mutable_pzxid(), s.pzxid);
    out->set_ctime_ms(s.ctime_ms);
    out->set_mtime_ms(s.mtime_ms);
    out->set_version(s.version);
    out->set_cversion(s.cversion);
    out->set_ephemeral_owner(s.ephemeral_owner);
    out->set_data_length(s.data_length);
    out->set_num_children(s.num_children);
    out->set_container(s.container);
    out->set_aversion(s.aversion);
}

Request tracker_request(const pb::TrackerRequest& r) {
    Request request;
    request.type = kTrackerType;
    request.data = r.SerializeAsString();
    return request;
}

uint64_t SessionService::Impl::clock_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

SessionService::SessionService(ServiceOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = options;
    impl_->tracker.set_listener(ChangeListener{
        .group_changed = [this](const std::string& group,
                                int64_t) { impl_->wake_watchers("g" + group); },
        .restored =
            [this] {
                impl_->wake_all_watchers();
                impl_->persistent_watches_lost(/*forget=*/false);
            },
        // Change by change, so that watches fire in the order of the
        // transaction's ops, as ZooKeeper's do.
        .node_event =
            [this](NodeEventKind kind, const std::string& path, Zxid zxid, const AclList* acl) {
                if (impl_->watchers.empty()) {
                    // Nothing waits: no keys to make.
                } else if (kind == NodeEventKind::kChildrenChanged) {
                    impl_->wake_watchers("c" + path, /*children=*/true, acl);
                } else {
                    impl_->wake_watchers("n" + path, false, acl);
                    // A child watch ends when its node is deleted, too.
                    impl_->wake_watchers("c" + path, /*children=*/false, acl);
                }
                impl_->persistent_event(kind, path, zxid, acl);
            },
    });
}

SessionService::~SessionService() { stop(); }

void SessionService::attach(Node& node) {
    CHORUS_ASSERT(impl_->node == nullptr, "SessionService::attach called twice");
    impl_->node = &node;
    impl_->now_ms = Impl::clock_ms();
    node.on_tick([&m = *impl_](uint64_t now) { m.tick(now); });
}

void SessionService::stop() {
    Impl& m = *impl_;
    // Once only; and never after detach(): the node may be gone.
    if (m.node == nullptr || m.stop_requested.exchange(true)) return;
    // The node not running (never started, or stopping already): there is
    // no core thread to end the watches on.
    if (!m.node->running()) return;
    // Waiting watches end now, not when their timeout passes (the node
    // still runs: stop() comes before node.stop()).
    auto ended = std::make_shared<std::promise<void>>();
    m.node->post([&m, ended] {
        m.stopped = true;
        m.end_all_watches();
        ended->set_value();
    });
    if (ended->get_future().wait_for(std::chrono::seconds(2)) != std::future_status::ready)
        spdlog::warn("server {}: watches not ended at stop (the node had stopped)", m.options.id);
}

void SessionService::detach() {
    stop();
    impl_->node = nullptr;
}

const Tracker& SessionService::tracker() const { return impl_->tracker; }

std::optional<Txn> SessionService::preprocess(const Request& request) {
    // The wall clock, read here (the tracker reads none): what the leader
    // stamps on a node transaction as its nodes' ctime/mtime.
    impl_->tracker.set_wall_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
    // And the steady clock now, not only at the last tick: a heartbeat's new
    // deadline counts from the moment the leader takes it, however long
    // since its last tick (the registry's masters hold leases on that).
    impl_->tracker.set_now_ms(std::max(impl_->now_ms, Impl::clock_ms()));
    return impl_->tracker.preprocess(request);
}
void SessionService::deliver(const Txn& txn) { impl_->tracker.deliver(txn); }
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
    CHORUS_ASSERT(m.node != nullptr, "SessionService::handle before attach()");
    m.node->post([&m, request = std::move(request), reply = std::move(reply)]() mutable {
        m.execute(std::move(request), std::move(reply));
    });
}

void SessionService::Impl::tick(uint64_t now) {
    if (stopped) return;
    const uint64_t elapsed = last_tick_ms == 0 ? 0 : now - last_tick_ms;
    last_tick_ms = now;
    now_ms = now;
    tracker.set_now_ms(now);
    flush_heartbeats();
    expire_watches();
    drive_expiry(elapsed);
    housekeeping(elapsed);
}

void SessionService::Impl::execute(cpb::Request request, Reply reply) {
    if (request.op_case() != cpb::Request::kStats && !serving()) {
        return reply(error_response(request.id(), cpb::NOT_SERVING,
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
        case cpb::Request::kCancelWatches:
            return cancel_watches(request, std::move(reply));
        case cpb::Request::kWatch:
            return watch(request, std::move(reply));
        case cpb::Request::kStats:
            return stats(request, std::move(reply));
        default:
            return reply(error_response(request.id(), cpb::BAD_REQUEST,
                                        "a request with no known operation"));
    }
}

}  // namespace chorus::session
