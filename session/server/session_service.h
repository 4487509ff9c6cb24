// SessionService: runs the session tracker on a chorus::Node and answers
// the client protocol (session/client.proto) for the clients of this server.
//
//   chorus::session::SessionService service(options);
//   chorus::Node node(node_options, service);   // the service is the state machine
//   service.attach(node);
//   node.start(); service.start();
//   ... service.handle(request, reply) for every client request ...
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
// node's core thread, exactly once. The service reads the steady clock in
// its own ticker thread and passes it in; the Tracker stays pure.
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
};

class SessionService final : public StateMachine {
 public:
    explicit SessionService(ServiceOptions options);
    ~SessionService() override;

    // Before node.start(): the node this service runs on.
    void attach(Node& node);
    // After node.start(): starts the ticker (heartbeat flushes, expiry,
    // watch timeouts). stop() before node.stop(); pending watches end with
    // NOT_SERVING.
    void start();
    void stop();

    using Reply = std::function<void(client::pb::Response)>;
    void handle(client::pb::Request request, Reply reply);

    // StateMachine: delegates to the tracker.
    std::optional<zab::Txn> preprocess(const zab::Request& request) override;
    void deliver(const zab::Txn& txn) override;
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
