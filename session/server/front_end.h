// session::FrontEnd: one way for clients into a session::Server — chorus's
// binary client protocol (ClientListener), groupd's HTTP API, and next
// ZooKeeper's protocol. docs/architecture.md, "Adding a front end", says
// how to write one.
//
// A front end turns its clients' requests into SessionService::handle()
// calls (or Node::submit/sync for a state machine of its own) and their
// answers back into its protocol. The Server owns it and drives its life:
//
//   start()  once, after the node and the service run; binds and serves.
//   tick()   on the node's core thread, once per tick, while it serves.
//   stop()   once, after the service has ended its waiting watches and
//            while the node still runs, so answers in flight still leave.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace chorus::session {

class FrontEnd {
 public:
    virtual ~FrontEnd() = default;

    // What it serves and where, for log lines and errors: "the client
    // protocol on 127.0.0.1:9001". Valid once start() succeeded (the port
    // actually bound), and before it (the port asked for).
    virtual std::string describe() const = 0;
    // Binds and starts serving (its own threads, if any). An error (say
    // kIoError, the address in use) makes Server::start fail and undo.
    virtual Status start() = 0;
    // Stops accepting, closes its connections, joins its threads. Called
    // at most once, and only after a successful start().
    virtual void stop() = 0;
    // Periodic work of its own, on the core thread (must not block). Most
    // front ends need none.
    virtual void tick(uint64_t /*now_ms*/) {}
};

}  // namespace chorus::session
