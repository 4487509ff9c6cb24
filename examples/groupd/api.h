// GroupApi: groupd's HTTP API (routes.h) on the session service of this
// server, in process. Every server of the ensemble serves it; writes made
// on a follower go to the leader through the node.
//
// A member is a session owned by the server it joined through, plus an
// ephemeral node /groups/<group>/members/<member> holding its metadata
// (session/groups.h). A heartbeat (HEAD) finds the member's session from
// that node and heartbeats it here; a member that heartbeats through
// another server moves its session there first (one logged revalidation),
// so a member can use any server, and keeps its session when one dies.
//
// Status codes: 200; 400 bad input; 404 no such member or group; 405 wrong
// method; 409 a join lost a race for the name twice; 413 body too large;
// 503 this server is not serving (no quorum, catching up) or the outcome of
// a write is unknown — try again, or another server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "net/http_server.h"

namespace chorus {
class Node;
namespace session {
class SessionService;
}
}  // namespace chorus

namespace chorus::groupd {

// groupd speaks HTTP with net's server.
using net::HttpCounts;
using net::HttpHandler;
using net::HttpReply;
using net::HttpRequest;
using net::HttpServer;
using net::HttpServerOptions;
using net::Respond;

// `reply` with the x-group-version header: the group's version it shows.
inline HttpReply with_group_version(HttpReply reply, int64_t version) {
    reply.headers.emplace_back("x-group-version", std::to_string(version));
    return reply;
}

struct ApiOptions {
    uint64_t server_id = 0;
    std::string http_address;         // recorded in the replicated state for "endpoints"
    uint64_t default_timeout_s = 10;  // a join without ?timeout=
    uint64_t long_poll_ms = 30000;    // GET /{group}?wait-version=N waits at most this long
};

class GroupApi {
 public:
    GroupApi(ApiOptions options, session::SessionService& service, Node& node);
    ~GroupApi();

    // Answers one request (any thread; `respond` is called once, from the
    // node's core thread or this one).
    void handle(HttpRequest request, Respond respond);

    // Writes this server's HTTP address to the replicated state if it is
    // serving and the address is not there yet. Call now and then.
    void record_endpoint();

    // Where /metrics gets the HTTP server's counts.
    void set_http_counts(std::function<HttpCounts()> counts);

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chorus::groupd
