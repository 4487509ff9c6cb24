// Endpoint: a host and a port, as the servers' flags and config files name
// them ("127.0.0.1:2181"). A plain value with no networking library behind
// it, so public headers (node.h) can name addresses without bringing Asio.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace chorus::net {

struct Endpoint {
    std::string host;  // an IP address (v4 or v6); listeners refuse names
    uint16_t port = 0;
    std::string str() const { return host + ":" + std::to_string(port); }
    bool operator==(const Endpoint&) const = default;
};

// "HOST:PORT" with HOST an IP address and PORT 1-65535; kInvalidArgument
// saying which part is wrong otherwise.
Result<Endpoint> parse_endpoint(const std::string& text);

}  // namespace chorus::net
