// SessionService: runs the session tracker on a chorus::Node and answers
// the client protocol (session/client.proto) for the clients of this server.
//
//   chorus::session::SessionService service(options);
//   chorus::Node node(node_options, service);   // the service is the state machine
//   service.attach(node);                       // before node.start()
//   node.start();
//   ... service.handle(request, reply) for every client request ...
//   service.stop(); node.stop();
//
// session::Server (server.h) does all of this, with the front ends and the
// option checks; use SessionService alone only to wire it differently.
//
// What it adds to the pure Tracker:
// - ownership: sessions opened or revalidated here are owned by this server;
// - heartbeat batching: heartbeats from this server's clients are gathered
//   and submitted to the leader once per tick, as one request the leader
//   absorbs (nothing logged);
// - the expiry driver: while this server leads, once per tick it submits
//   the sessions whose deadline passed, at most `expiries_per_second`
//   spread over the ticks, so a failover never causes an expiry storm;
// - watches: a request that waits until a node's or group's version
//   exceeds N, answered when this replica delivers it.
//
// Threads: handle() may be called from any thread; `reply` is called on the
// node's core thread, exactly once. The periodic work runs in the node's
// tick hook (Node::on_tick), on the core thread, which passes the steady
// clock in: the Tracker stays pure and the service has no thread of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "session/tracker.h"
#include "zab/runtime/node.h"

namespace chorus::client::pb {
class Request;
class Response;
}  // namespace chorus::client::pb

namespace chorus::session {

struct ServiceOptions {
    ServerId id = 0;
    uint32_t tick_ms = 10;
    uint64_t min_session_timeout_ms = 1000;
    uint64_t max_session_timeout_ms = 60000;
    uint32_t expiries_per_second = 1000;  // the expiry rate budget
    uint32_t max_expiries_per_txn = 1000;
    size_t max_value_bytes = 1 << 20;
    size_t max_ops_per_write = 1000;
    uint64_t max_watch_ms = 60000;
    size_t max_watches = 100000;
    // The leader keeps /zookeeper, /zookeeper/config and /zookeeper/quota,
    // as ZooKeeper's clients expect (set when the ZooKeeper front end runs).
    bool zookeeper_system_nodes = false;
};

class SessionService final : public StateMachine {
 public:
    explicit SessionService(ServiceOptions options);
    ~SessionService() override;

    // Once, before node.start(): the node this service runs on (the one it
    // is the state machine of). Registers the service's tick hook.
    void attach(Node& node);
    // Before node.stop(), while the node runs (any thread but the core
    // thread; it waits up to 2 s for it): pending watches end with
    // NOT_SERVING, and the periodic work stops. Does nothing if the node is
    // not running. Idempotent; the destructor calls it.
    void stop();
    // Once the node has stopped and before it is destroyed, when the
    // service outlives it (their lifetimes cross: the node holds the service
    // as its state machine, the service holds the node): stop() if not done
    // yet, then forget the node, so that the destructor does not touch it.
    // After it, handle() must not be called.
    void detach();

    using Reply = std::function<void(client::pb::Response)>;
    // Answers one client request (any thread, after attach()). `reply` runs
    // once, on the core thread; a request made while this server is not
    // serving gets NOT_SERVING. If the node is not running, the request
    // waits in the node's queue (Node::post) and may never be answered:
    // front ends stop before the node does.
    void handle(client::pb::Request request, Reply reply);

    // A heartbeat of `session_id` that says when the leader has taken it:
    // it goes to the leader at the next tick, in a request of its own, and
    // `done(true)` runs (core thread) once the leader absorbed it — the
    // session's deadline was then moved to at least a full timeout after
    // this call, if the leader still had the session (it says nothing of
    // unknown ones: check the replica after a Node::sync). done(false): not
    // taken (no leader, the service stops). For a holder of a lease on its
    // session, as the registry's masters are. Any thread.
    void heartbeat_confirmed(uint64_t session_id, std::function<void(bool)> done);

    // Persistent watches, as ZooKeeper's addWatch sets them: they stay set,
    // and every change they cover is handed to their owner's sink, one
    // WatchEvent per change (an owner's watches that cover one change give
    // it one event), from the first transaction delivered after they are
    // set until they are changed, cancelled (CancelWatches of their owner
    // ends these too) or the service stops.
    // (ZooKeeper keeps a persistent watch as a data watch and a child
    // watch of its path, and a recursive one too; each can be removed
    // alone. A recursive watch's child half hears of deletions only.)
    enum PersistentMode : uint8_t {
        kNodeData = 1,        // the node's creation, deletion and data changes
        kNodeChildren = 2,    // its children changed, and its deletion
        kSubtree = 4,         // creation, deletion and data changes at or under it
        kSubtreeDeletes = 8,  // deletions at or under it
    };
    struct WatchEvent {
        NodeEventKind kind = NodeEventKind::kCreated;
        std::string path;
        Zxid zxid;
        // Changes may have been missed (the state was replaced by a
        // snapshot, or the service stops): the owner must start again, as
        // a ZooKeeper client does after its connection is lost.
        bool lost = false;
    };
    using EventSink = std::function<void(const WatchEvent&)>;
    // Sets `owner`'s watch on `path` to `modes` (0 removes it), and the
    // owner's sink to `sink` (the sink of all its watches). `done(true)`
    // runs on the core thread once it is in effect; done(false) if it was
    // refused (the server holds max_watches, or it stops). Any thread.
    // `who`: the owner, told only of changes to nodes it may read.
    void set_persistent_watch(uint64_t owner, std::string path, uint8_t modes, EventSink sink,
                              Requester who, std::function<void(bool)> done);

    // StateMachine: delegates to the tracker.
    std::optional<Txn> preprocess(const Request& request) override;
    void deliver(const Txn& txn) override;
    std::string save() override;
    std::function<std::string()> snapshot() override;
    void snapshot_done() override;
    void restore(const std::string& snapshot) override;
    void role_changed(zab::Role role, zab::ServerId leader, uint64_t epoch) override;

    // Core thread only (from node.post or a reply): the tracker itself.
    const Tracker& tracker() const;

 private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chorus::session
