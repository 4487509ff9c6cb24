// groupd's front end: the HTTP API (GroupApi on an HttpServer) as a
// session::FrontEnd of a session::Server. It also keeps this server's HTTP
// address recorded in the replicated state (for the group documents'
// "endpoints"), checking twice a second from the server's tick. The same
// port serves the membership routes (cli/membership_admin.h).
#pragma once

#include <memory>
#include <string>

#include "cli/membership_admin.h"
#include "examples/groupd/api.h"
#include "net/http_server.h"
#include "session/server/front_end.h"

namespace chorus::session {
class Server;
}

namespace chorus::groupd {

class GroupdFrontEnd final : public session::FrontEnd {
 public:
    // `server` must outlive the front end.
    GroupdFrontEnd(ApiOptions api_options, HttpServerOptions http_options, session::Server& server);
    ~GroupdFrontEnd() override;

    std::string describe() const override;  // "HTTP on HOST:PORT"
    Status start() override;
    void stop() override;
    void tick(uint64_t now_ms) override;  // records the endpoint now and then
    // The membership routes it serves (for ZooKeeper's reconfig too).
    MembershipAdmin& membership() { return membership_; }

 private:
    HttpServerOptions http_options_;
    MembershipAdmin membership_;
    GroupApi api_;
    HttpServer http_;
    uint64_t next_record_ms_ = 0;
};

}  // namespace chorus::groupd
