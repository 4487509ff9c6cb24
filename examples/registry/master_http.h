// The registry master's HTTP/JSON lookups (pure): which RegistryRequest an
// HTTP request asks for, and the JSON answer of a RegistryResponse. The
// routes are listed in master_front_end.h.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "examples/registry/registry.pb.h"
#include "net/http_server.h"

namespace chorus::registry {

// What an HTTP request asks for: a registry request, one of the operations
// pages, or an error to send back (400, 404 or 405).
struct HttpOperations {
    enum class Page : uint8_t { kHealth, kReady, kMetrics } page;
};
using HttpRoute = std::variant<pb::RegistryRequest, HttpOperations, net::HttpReply>;
HttpRoute route_of(const net::HttpRequest& request);

// The HTTP status of an answer's code: OK 200, NOT_FOUND 404, BAD_REQUEST
// and TOO_LARGE 400, BAD_VERSION 409, NOT_SERVING and UNCERTAIN 503.
int http_status_of(pb::Code code);

// The answer as JSON, holding what `op` asked for, the generation and who
// served it; an error's body is {"error": message, "code": "NOT_FOUND"}.
// Server names are HBase's "host,port,startcode".
net::HttpReply http_reply_of(pb::RegistryRequest::OpCase op, const pb::RegistryResponse& response);

// "host,port,startcode" of a name in the protocol.
std::string name_text(const pb::ServerName& name);

}  // namespace chorus::registry
