// AdminFrontEnd: a server's operations port, HTTP (net/http_server.h):
//   GET /health   200 {"status":"up"} while the process serves HTTP at all
//                 (a liveness probe: restart it if this fails);
//   GET /ready    200 {"ready":true,"role":"following"} while the server is
//                 part of a working quorum and caught up, else 503 with
//                 "ready":false (a readiness probe: send it clients or not);
//   GET /metrics  Prometheus text: the server's figures
//                 (session/server/metrics.h) and this port's own.
// Routes a program adds (set_more_routes: chorus-server's membership
// routes, cli/membership_admin.h) are tried first. Anything else is 404, a
// method other than GET or HEAD 405. chorus-server serves it with --admin
// HOST:PORT (docs/operations.md).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "net/endpoint.h"
#include "net/http_server.h"
#include "session/server/front_end.h"

namespace chorus::session {

class SessionService;

class AdminFrontEnd final : public FrontEnd {
 public:
    // `service` must outlive the front end.
    AdminFrontEnd(net::Endpoint endpoint, SessionService& service);
    ~AdminFrontEnd() override;

    std::string describe() const override;  // "the admin port (HTTP) on HOST:PORT"
    Status start() override;
    void stop() override;
    uint16_t port() const;  // the one bound (useful with port 0)
    // Before start(): `routes` answers the requests it returns true for
    // (on the HTTP thread; it may answer later from any thread).
    using MoreRoutes = std::function<bool(const net::HttpRequest&, const net::Respond&)>;
    void set_more_routes(MoreRoutes routes);

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chorus::session
