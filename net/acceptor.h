// open_acceptor: a listening TCP socket on an endpoint, with address reuse,
// shared by the servers that take client connections (chorus-server's
// ClientListener, groupd's HttpServer). Include from .cc files only: it
// brings Asio.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string>

#include "base/status.h"
#include "net/endpoint.h"

namespace chorus::net {

// Opens, binds and listens. kInvalidArgument for an address that does not
// parse, kIoError if it cannot be bound; `what` names the listener in the
// message ("clients", "HTTP"). On error the acceptor is left closed.
Status open_acceptor(boost::asio::ip::tcp::acceptor& acceptor, const Endpoint& endpoint,
                     const std::string& what);

}  // namespace chorus::net
