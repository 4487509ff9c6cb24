#include "net/acceptor.h"

namespace chorus::net {

namespace asio = boost::asio;
using asio::ip::tcp;

Status open_acceptor(tcp::acceptor& acceptor, const Endpoint& endpoint, const std::string& what) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(endpoint.host, ec);
    if (ec) {
        return Status(Code::kInvalidArgument,
                      what + " address " + endpoint.str() + ": " + ec.message());
    }
    const tcp::endpoint at(address, endpoint.port);
    acceptor.open(at.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(at, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        boost::system::error_code ignored;
        acceptor.close(ignored);
        return Status(Code::kIoError,
                      "cannot listen for " + what + " on " + endpoint.str() + ": " + ec.message());
    }
    return Status::ok();
}

}  // namespace chorus::net
