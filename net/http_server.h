// HttpServer: HTTP/1.1 on Boost.Beast, handing each request to a handler
// and writing its answer. Keep-alive and pipelined requests (answered one
// after another, in order). Knows nothing of what it serves: groupd's API,
// chorus-server's admin port (session/server/admin_front_end.h).
//
// Bad or slow clients never hold the server:
// - a request that does not parse: 400, then the connection closes;
// - headers over max_header_bytes: 431; a body over max_body_bytes: 413
//   (then the connection closes: the rest of the request is read and
//   dropped for up to a second, so the client sees the answer, not a reset);
//   the server's own answers have a JSON body {"error": "..."};
// - a client that goes away while its request waits (a long poll): the
//   connection is closed at once, not when the answer comes;
// - a client that does not send a whole request within request_timeout_ms
//   (idle keep-alive time included) or does not read an answer within
//   write_timeout_ms: the connection is closed;
// - connections over max_connections are closed as they are accepted.
// "Expect: 100-continue" is answered, so curl sends bodies at once.
//
// Threads: one I/O thread of its own. The handler runs on it and may answer
// from any thread; the first answer counts, answers to connections already
// gone are dropped. A handler that throws gets a 500.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "net/endpoint.h"

namespace chorus::net {

struct HttpRequest {
    std::string method;  // "GET", "PUT", ...
    std::string target;  // "/web/host-1?timeout=5"
    std::string body;
};

struct HttpReply {
    HttpReply() = default;
    HttpReply(int status_, std::string body_ = {}, std::string content_type_ = "application/json")
        : status(status_), body(std::move(body_)), content_type(std::move(content_type_)) {}

    int status = 200;
    std::string body;  // JSON unless content_type says otherwise
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;  // more header fields
    // When set, makes the body on the HTTP thread (so a big document is
    // not built on the node's core thread).
    std::function<std::string()> render;
};

using Respond = std::function<void(HttpReply)>;
using HttpHandler = std::function<void(HttpRequest, Respond)>;

// What an HttpServer has answered, for /metrics.
struct HttpCounts {
    std::map<int, uint64_t> by_status;     // answers sent, by HTTP status
    uint64_t connections = 0;              // open now
    uint64_t connections_closed_slow = 0;  // closed for not sending a request in time
};

// {"error": message}, the body of an error answer.
std::string json_error(std::string_view message);

struct HttpServerOptions {
    net::Endpoint endpoint;
    std::string server_name = "chorus";  // the Server header field
    size_t max_body_bytes = 64 << 10;
    size_t max_header_bytes = 8 << 10;
    uint64_t request_timeout_ms = 30000;
    uint64_t write_timeout_ms = 10000;
    size_t max_connections = 10000;
};

class HttpServer {
 public:
    HttpServer(HttpServerOptions options, HttpHandler handler);
    ~HttpServer();  // stops

    // Binds and starts serving. kIoError if the address cannot be bound.
    Status start();
    void stop();
    uint16_t port() const;
    // Answers sent by status, open connections (any thread).
    HttpCounts counts() const;

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chorus::net
