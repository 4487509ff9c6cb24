#include "zab/runtime/transport.h"

#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <string_view>

#include "net/frame_io.h"
#include "zab/core/wire.h"

namespace chorus::runtime {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

// One TCP connection to one peer. Owned by shared_ptr so pending handlers
// keep it alive; `closed_` stops everything once it is down.
class Transport::Link : public std::enable_shared_from_this<Transport::Link> {
 public:
    Link(Transport& transport, tcp::socket socket)
        : transport_(transport), socket_(std::move(socket)) {}

    zab::ServerId peer = 0;

    void start_reading() { read_more(); }

    void send_frame(std::string frame) {
        if (closed_) return;
        writer_.push(std::move(frame));
        if (writer_.queued_bytes() > transport_.options_.max_queued_bytes) {
            spdlog::warn("link to server {}: more than {} bytes waiting to be sent; closing it",
                         peer, transport_.options_.max_queued_bytes);
            close();
            return;
        }
        if (!writer_.writing()) write_next();
    }

    // Closes the socket. The transport hears of it later, from the event
    // loop, never from inside a send: callers may be in the middle of
    // handing out a Ready.
    void close() {
        if (closed_) return;
        closed_ = true;
        error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
        if (peer == 0) return;
        auto self = shared_from_this();
        asio::post(transport_.io_, [self] {
            if (self->peer != 0) self->transport_.link_down(self->peer, self.get());
        });
    }

    bool closed() const { return closed_; }

 private:
    // Reads what has arrived (often many frames at once) and hands out the
    // whole frames.
    void read_more() {
        auto self = shared_from_this();
        socket_.async_read_some(reader_.prepare(), [self](error_code ec, size_t n) {
            if (self->closed_) return;
            if (ec) {
                self->close();
                return;
            }
            self->reader_.commit(n);
            if (self->take_frames()) self->read_more();
        });
    }

    // False once the link is closed.
    bool take_frames() {
        uint32_t size = 0;
        while (!closed_ && reader_.next_length(&size)) {
            if (size > transport_.options_.max_frame_bytes) {
                ++transport_.stats_.bad_frames;
                spdlog::warn(
                    "link to server {}: a frame of {} bytes is over the limit of {}; closing the "
                    "link",
                    peer, size, transport_.options_.max_frame_bytes);
                close();
                return false;
            }
            std::string_view body;
            if (!reader_.next(&body)) break;
            on_frame(body);
        }
        return !closed_;
    }

    void on_frame(std::string_view body) {
        zab::pb::PeerMessage message;
        if (!message.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
            ++transport_.stats_.bad_frames;
            spdlog::warn("link to server {}: a frame that does not parse; closing the link", peer);
            close();
            return;
        }
        transport_.stats_.frames_in++;
        transport_.stats_.bytes_in += body.size() + net::kFrameHeaderBytes;
        if (peer == 0) {
            // The first frame must say who is calling.
            const auto& peers = transport_.options_.peers;
            const zab::ServerId caller = message.has_hello() ? message.hello().server_id() : 0;
            if (caller == 0 || !peers.count(caller) || caller >= transport_.options_.self) {
                spdlog::warn(
                    "a connection that did not introduce itself as a lower-numbered member; "
                    "closing it");
                close();
                return;
            }
            peer = caller;
            transport_.link_up(caller, shared_from_this());
        } else {
            transport_.deliver(peer, message);
        }
    }

    // Everything queued leaves in one write (up to a limit).
    void write_next() {
        if (writer_.empty() || closed_) return;
        auto self = shared_from_this();
        asio::async_write(socket_, writer_.start_write(), [self](error_code ec, size_t) {
            const auto [frames, bytes] = self->writer_.finish_write();
            if (self->closed_) return;
            if (ec) {
                self->close();
                return;
            }
            self->transport_.stats_.bytes_out += bytes;
            self->transport_.stats_.frames_out += frames;
            self->transport_.wrote_to(self->peer);
            self->write_next();
        });
    }

    Transport& transport_;
    tcp::socket socket_;
    net::FrameReader reader_;
    net::FrameWriter writer_;
    bool closed_ = false;
};

struct Transport::State {
    explicit State(asio::io_context& io) : acceptor(io) {}
    tcp::acceptor acceptor;
    std::map<zab::ServerId, std::shared_ptr<Link>> links;
    std::map<zab::ServerId, std::unique_ptr<asio::steady_timer>> retry_timers;
    std::map<zab::ServerId, std::chrono::milliseconds> backoff;
    bool stopped = false;
};

Transport::Transport(asio::io_context& io, TransportOptions options, Callbacks callbacks)
    : io_(io),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      state_(std::make_unique<State>(io)) {}

Transport::~Transport() { stop(); }

Status Transport::start() {
    const net::Endpoint& me = options_.peers.at(options_.self);
    error_code ec;
    const auto address = asio::ip::make_address(me.host, ec);
    if (ec)
        return Status::invalid_argument("cannot parse the address " + me.host + ": " +
                                        ec.message());
    tcp::endpoint endpoint(address, me.port);
    state_->acceptor.open(endpoint.protocol(), ec);
    if (!ec) state_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) state_->acceptor.bind(endpoint, ec);
    if (!ec) state_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::io_error("cannot listen on " + me.str() + " for peers: " + ec.message());
    accept();
    for (const auto& [id, endpoint_] : options_.peers) {
        if (id > options_.self) dial(id);
    }
    return Status::ok();
}

void Transport::stop() {
    if (state_->stopped) return;
    state_->stopped = true;
    error_code ignored;
    state_->acceptor.close(ignored);
    for (auto& [id, timer] : state_->retry_timers) timer->cancel();
    auto links = std::move(state_->links);
    state_->links.clear();
    for (auto& [id, link] : links) {
        link->peer = 0;  // no callbacks
        link->close();
    }
}

void Transport::accept() {
    state_->acceptor.async_accept([this](error_code ec, tcp::socket socket) {
        if (state_->stopped) return;
        if (!ec) {
            socket.set_option(tcp::no_delay(true), ec);
            auto link = std::make_shared<Link>(*this, std::move(socket));
            link->start_reading();  // waits for the Hello
        }
        accept();
    });
}

void Transport::dial(zab::ServerId peer) {
    if (state_->stopped) return;
    const net::Endpoint& target = options_.peers.at(peer);
    auto socket = std::make_shared<tcp::socket>(io_);
    error_code ec;
    const auto address = asio::ip::make_address(target.host, ec);
    if (ec) {
        spdlog::error("cannot parse the address of server {}: {}", peer, target.host);
        return;
    }
    socket->async_connect(tcp::endpoint(address, target.port), [this, peer, socket](error_code ec) {
        if (state_->stopped) return;
        if (ec) {
            auto& backoff = state_->backoff[peer];
            backoff = backoff.count() == 0 ? std::chrono::milliseconds(100)
                                           : std::min(backoff * 2, std::chrono::milliseconds(2000));
            auto& timer = state_->retry_timers[peer];
            if (!timer) timer = std::make_unique<asio::steady_timer>(io_);
            timer->expires_after(backoff);
            timer->async_wait([this, peer](error_code e) {
                if (!e) dial(peer);
            });
            return;
        }
        state_->backoff[peer] = std::chrono::milliseconds(0);
        socket->set_option(tcp::no_delay(true), ec);
        auto link = std::make_shared<Link>(*this, std::move(*socket));
        link->peer = peer;
        zab::pb::PeerMessage hello;
        hello.mutable_hello()->set_server_id(options_.self);
        link->send_frame(net::frame_of(hello));
        link->start_reading();
        link_up(peer, link);
    });
}

void Transport::link_up(zab::ServerId peer, std::shared_ptr<Link> link) {
    auto old = state_->links.find(peer);
    if (old != state_->links.end()) {
        auto previous = old->second;
        state_->links.erase(old);
        previous->peer = 0;  // replaced: its end is not news
        previous->close();
        if (callbacks_.on_disconnected) callbacks_.on_disconnected(peer);
    }
    state_->links[peer] = std::move(link);
    spdlog::info("link to server {} is up", peer);
    if (callbacks_.on_connected) callbacks_.on_connected(peer);
}

void Transport::link_down(zab::ServerId peer, Link* link) {
    auto it = state_->links.find(peer);
    if (it == state_->links.end() || it->second.get() != link) return;
    state_->links.erase(it);
    spdlog::info("link to server {} is down", peer);
    if (callbacks_.on_disconnected) callbacks_.on_disconnected(peer);
    if (peer > options_.self && !state_->stopped) {
        auto& timer = state_->retry_timers[peer];
        if (!timer) timer = std::make_unique<asio::steady_timer>(io_);
        timer->expires_after(std::chrono::milliseconds(50));
        timer->async_wait([this, peer](error_code e) {
            if (!e) dial(peer);
        });
    }
}

void Transport::add_peer(zab::ServerId peer, const net::Endpoint& endpoint) {
    if (peer == options_.self || state_->stopped) return;
    auto known = options_.peers.find(peer);
    if (known != options_.peers.end() && known->second == endpoint) return;
    const bool moved = known != options_.peers.end();
    options_.peers[peer] = endpoint;
    spdlog::info("server {} {} {}", peer, moved ? "has moved to" : "is a new peer, at",
                 endpoint.str());
    if (moved) {
        reset(peer);  // the dialing side (below) redials, at the new address
        return;
    }
    if (peer > options_.self && !state_->links.count(peer)) dial(peer);
}

void Transport::wrote_to(zab::ServerId peer) {
    if (callbacks_.on_written) callbacks_.on_written(peer);
}

void Transport::reset(zab::ServerId peer) {
    auto it = state_->links.find(peer);
    if (it != state_->links.end()) it->second->close();
}

void Transport::send(zab::ServerId to, const zab::pb::PeerMessage& message) {
    auto it = state_->links.find(to);
    if (it == state_->links.end() || it->second->closed()) return;
    it->second->send_frame(net::frame_of(message));
}

void Transport::deliver(zab::ServerId from, zab::pb::PeerMessage& message) {
    if (callbacks_.on_message) callbacks_.on_message(from, message);
}

}  // namespace chorus::runtime
