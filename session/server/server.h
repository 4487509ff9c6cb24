// session::Server: one server of a session-tracker ensemble, as a program
// runs it — a chorus::Node whose state machine is the SessionService, the
// front ends that let clients in, and the checks the options must pass
// together. chorus-server and groupd are short programs built on it.
//
//   chorus::session::ServerOptions options{.node = ..., .service = ...};
//   chorus::session::Server server(options);
//   server.add_front_end(std::make_unique<chorus::session::ClientListener>(
//       chorus::session::ListenerOptions{.endpoint = ...}, server.service()));
//   if (Status s = server.start(); !s.is_ok()) { ... }
//   ... server.stop();   // or chorus::wait_for_stop_signal (cli/stop_signals.h)
//
// Threads: start() and stop() from one thread, not the core thread.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "base/status.h"
#include "session/server/front_end.h"
#include "session/server/session_service.h"
#include "zab/runtime/node.h"

namespace chorus::session {

struct ServerOptions {
    NodeOptions node;
    // Its id and tick_ms are taken from `node`.
    ServiceOptions service;
};

// What the node's and the service's options must satisfy together, as one
// kInvalidArgument naming the flag to change:
// - 0 < min session timeout ≤ max session timeout;
// - the min session timeout is at least twice the election timeout (a
//   failover must not expire sessions whose clients did nothing wrong).
Status check_server_options(const ServerOptions& options);

class Server {
 public:
    explicit Server(ServerOptions options);
    ~Server();  // stop()

    // Before start(). Front ends start in the order added and stop in the
    // reverse order.
    void add_front_end(std::unique_ptr<FrontEnd> front_end);

    // Checks the options, starts the node (its data read, its peer port
    // bound), then each front end. On an error, stops what had started and
    // returns it: kInvalidArgument for options, the node's error, or a
    // front end's (its describe() in the message). Call once.
    Status start();
    // The clean stop, clients first while the node still runs: waiting
    // watches end (NOT_SERVING), the front ends stop (reverse order), then
    // the node (a leader says goodbye). Idempotent.
    void stop();

    Node& node();
    SessionService& service();
    // The options as the server runs them (service.id and tick_ms filled).
    const ServerOptions& options() const;

 private:
    ServerOptions options_;
    SessionService service_;
    Node node_;
    std::vector<std::unique_ptr<FrontEnd>> front_ends_;
    size_t started_front_ends_ = 0;               // start()/stop()'s thread
    std::atomic<size_t> ticking_front_ends_ = 0;  // read by the tick hook
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace chorus::session
