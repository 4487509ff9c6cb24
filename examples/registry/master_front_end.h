// MasterFrontEnd: what makes a chorus server a registry master (issue 16,
// docs/registry.md). A session::FrontEnd of the master's session::Server:
//
//   - a RegistryFeed keeps the master's cache of /hbase current;
//   - a MasterElection runs it for active master (the others stand by);
//   - a LookupListener serves lookups over the binary protocol
//     (registry.proto), and an HttpServer the same lookups as JSON, with
//     /health, /ready and /metrics.
//
// Every master, active or standby, answers lookups from its own cache.
// SetMetaLocation (PUT /meta-location) is written to the tree with a
// version check, through the ensemble's leader.
//
// HTTP routes (GET unless said):
//   /cluster-id  /active-master  /meta-location  /region-servers  /masters
//   PUT /meta-location?expected-version=N   body "host,port,startcode"
//       (N = -1: only if none is set yet)
//   /health   200 {"status":"ok",...} while serving with a session, else 503
//   /ready    200 once serving, the cache read and the run for active begun
//   /metrics  Prometheus text: the server's chorus_* and registry_*
//   /membership...  the server's membership routes, when MasterOptions
//       names them (cli/membership_admin.h: GET /membership, POST
//       /membership/add|remove|transfer-leader; chorusctl uses them)
// Status: 200; 400 bad input; 404 nothing there yet; 409 a version that
// did not match; 503 not serving, or a write's outcome unknown.
#pragma once

#include <memory>
#include <string>

#include "examples/registry/lookup_listener.h"
#include "examples/registry/registry_cache.h"
#include "net/http_server.h"
#include "session/server/front_end.h"

namespace chorus {
class MembershipAdmin;
}

namespace chorus::session {
class Server;
}

namespace chorus::registry {

struct MasterOptions {
    ServerName self;  // its name: where its lookups are served, and when it started
    uint64_t session_timeout_ms = 3000;
    std::string new_cluster_id;  // /hbase/hbaseid if no master made one yet
    LookupListenerOptions lookups;
    net::HttpServerOptions http;
    // The membership routes served on `http` too; null: none. It must
    // outlive the front end.
    MembershipAdmin* membership = nullptr;
};

class MasterFrontEnd final : public session::FrontEnd {
 public:
    // `server` must outlive the front end.
    MasterFrontEnd(MasterOptions options, session::Server& server);
    ~MasterFrontEnd() override;

    // "registry lookups on HOST:PORT and HTTP on HOST:PORT".
    std::string describe() const override;
    Status start() override;
    // Resigns first (the session closed, so a standby takes over at once),
    // then stops serving lookups.
    void stop() override;
    void tick(uint64_t now_ms) override;

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chorus::registry
