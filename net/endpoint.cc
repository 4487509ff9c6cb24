#include "net/endpoint.h"

#include <boost/asio/ip/address.hpp>

namespace chorus::net {

Result<Endpoint> parse_endpoint(const std::string& text) {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        return Status::invalid_argument("'" + text + "' is not HOST:PORT");
    }
    Endpoint e;
    e.host = text.substr(0, colon);
    // An IP literal only: Asio would take "::1%anything" (a scope id) and
    // keep bytes that are not text, which then travel in memberships and
    // logs. Bytes outside printable ASCII are shown as '?'.
    if (e.host.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos) {
        std::string shown;
        for (const char c : e.host) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
        return Status::invalid_argument("'" + shown +
                                        "' is not an IP address (digits, hex letters, '.' and "
                                        "':' only; no names, no scope ids)");
    }
    boost::system::error_code ec;
    boost::asio::ip::make_address(e.host, ec);
    if (ec)
        return Status::invalid_argument("'" + e.host + "' in '" + text + "' is not an IP address");
    const std::string port = text.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) == 0 ||
        std::stoul(port) > 65535) {
        return Status::invalid_argument("'" + port + "' in '" + text + "' is not a port (1-65535)");
    }
    e.port = static_cast<uint16_t>(std::stoul(port));
    return e;
}

}  // namespace chorus::net
