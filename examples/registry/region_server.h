// RegionServer: the stand-in region server that registry-server runs
// (issue 16, docs/registry.md). It registers itself through any master as
// the ephemeral /hbase/rs/<host,port,startcode>, holding its metadata, and
// keeps that registration alive:
//
// - The node belongs to a session of chorus::Client (which heartbeats it
//   and moves between masters by itself). When the ensemble expires the
//   session (the server was cut off too long), the server registers again,
//   with exponential backoff and jitter between failed tries; after
//   max_failures failures in a row it gives up (on_give_up), so that its
//   orchestrator restarts it.
// - It serves HTTP: /health (status, uptime, session state, connections),
//   /ready (registered and not draining), /metrics (Prometheus), and
//   POST /work?ms=N, a stand-in for a client request that takes N ms.
// - shutdown(), the SIGTERM path: deregister first (the node deleted and
//   the session closed, so every master drops it at once), then drain: wait
//   for the work in flight, at most drain_timeout_ms, refusing new work with
//   503; then stop.
//
// Threads: start() and shutdown() from one thread; a control thread of its
// own registers; HTTP and the client have their own.
#pragma once

#include <functional>
#include <memory>

#include "base/status.h"
#include "examples/registry/region_server_config.h"
#include "examples/registry/registry_cache.h"

namespace chorus::registry {

class RegionServer {
 public:
    // `name`'s start code makes a restarted server a new name.
    RegionServer(RegionServerConfig config, ServerName name);
    ~RegionServer();  // shutdown()

    // Runs from the control thread, once, when max_failures registrations
    // in a row have failed. Set before start().
    void on_give_up(std::function<void()> handler);

    // Binds the HTTP port and starts registering. kIoError if it cannot
    // bind.
    Status start();
    // Deregisters, drains, stops. Idempotent.
    void shutdown();

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chorus::registry
