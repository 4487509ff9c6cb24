#include "session/server/client_listener.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <string_view>

#include "net/frame_io.h"
#include "net/listener.h"
#include "session/client.pb.h"
#include "session/server/session_service.h"

namespace chorus::session {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
namespace cpb = chorus::client::pb;

struct ClientListener::Impl : std::enable_shared_from_this<ClientListener::Impl> {
    ListenerOptions options;
    SessionService& service;
    net::Listener listener;  // its io_context lives as long as any connection (they hold us)
    std::atomic<uint64_t> bad_frames{0};

    class Connection;

    Impl(ListenerOptions o, SessionService& s)
        : options(std::move(o)),
          service(s),
          listener("clients", options.endpoint, options.max_connections) {}
};

// One client connection. Lives while a read, a write or an unanswered
// request holds it.
class ClientListener::Impl::Connection : public net::Listener::Connection,
                                         public std::enable_shared_from_this<Connection> {
 public:
    Connection(std::shared_ptr<Impl> listener, tcp::socket socket)
        : listener_(std::move(listener)), socket_(std::move(socket)) {
        error_code ec;
        const auto remote = socket_.remote_endpoint(ec);
        peer_ = ec ? std::string("?")
                   : remote.address().to_string() + ":" + std::to_string(remote.port());
    }

    ~Connection() override { listener_->listener.connection_closed(); }

    void start() { read_more(); }
    void close() override {
        if (closed_) return;
        closed_ = true;
        paused_self_.reset();
        error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

 private:
    // Reads what has arrived (often many requests at once) and handles the
    // whole frames, pausing at max_inflight_per_connection unanswered.
    void read_more() {
        if (closed_ || reading_ || closing_) return;
        if (!take_frames()) return;
        reading_ = true;
        socket_.async_read_some(reader_.prepare(),
                                [self = shared_from_this()](error_code ec, size_t n) {
                                    self->reading_ = false;
                                    if (self->closed_) return;
                                    if (ec) return self->close();
                                    self->reader_.commit(n);
                                    self->read_more();
                                });
    }

    // Handles the whole frames held; false when reading must wait (paused,
    // or the connection is ending).
    bool take_frames() {
        uint32_t size = 0;
        while (!closed_ && !closing_) {
            if (inflight_ >= listener_->options.max_inflight_per_connection) {
                // Paused until an answer goes out; nothing else may hold us
                // meanwhile (the answers hold only weak references).
                paused_self_ = shared_from_this();
                return false;
            }
            paused_self_.reset();
            if (!reader_.next_length(&size)) return true;
            if (size > listener_->options.max_frame_bytes) {
                ++listener_->bad_frames;
                spdlog::warn("client {}: a frame of {} bytes is over the limit of {}; closing",
                             peer_, size, listener_->options.max_frame_bytes);
                cpb::Response r;
                r.set_code(cpb::TOO_LARGE);
                r.set_message("a frame of " + std::to_string(size) + " bytes; the limit is " +
                              std::to_string(listener_->options.max_frame_bytes));
                send(net::frame_of(r), /*then_close=*/true);
                return false;
            }
            std::string_view body;
            if (!reader_.next(&body)) return true;
            on_frame(body);
        }
        return false;
    }

    void on_frame(std::string_view body) {
        cpb::Request request;
        if (!request.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
            ++listener_->bad_frames;
            spdlog::warn("client {}: a frame that does not parse as a request", peer_);
            cpb::Response r;
            r.set_code(cpb::BAD_REQUEST);
            r.set_message("the frame does not parse as a chorus.client.pb.Request");
            send(net::frame_of(r), false);
            return;
        }
        // Who asks is this server's to say, never the client's: chorus's own
        // protocol has no authentication yet, so its clients are anonymous.
        request.clear_requester();
        ++inflight_;
        const bool is_stats = request.op_case() == cpb::Request::kStats;
        // Weak: an answer that comes after the listener or the connection is
        // gone is dropped.
        std::weak_ptr<Connection> weak = shared_from_this();
        std::weak_ptr<Impl> weak_listener = listener_;
        listener_->service.handle(std::move(request), [weak, weak_listener,
                                                       is_stats](cpb::Response response) {
            auto listener = weak_listener.lock();
            if (!listener) return;
            if (is_stats && response.has_stats()) {
                response.mutable_stats()->set_connections(listener->listener.connections());
                response.mutable_stats()->set_bad_frames(listener->bad_frames.load());
            }
            asio::post(listener->listener.io(), [weak, frame = net::frame_of(response)]() mutable {
                auto self = weak.lock();
                if (!self || self->closed_) return;
                --self->inflight_;
                self->send(std::move(frame), false);
                self->read_more();
            });
        });
    }

    // With `then_close`, nothing is read or sent after this frame, and the
    // connection closes once it is written.
    void send(std::string frame, bool then_close) {
        if (closing_) return;
        writer_.push(std::move(frame));
        if (writer_.queued_bytes() > listener_->options.max_queued_bytes) {
            spdlog::warn("client {}: {} bytes of answers unread; closing the connection", peer_,
                         writer_.queued_bytes());
            return close();
        }
        closing_ = then_close;
        if (!writer_.writing()) write_next();
    }

    // Everything queued leaves in one write (up to a limit).
    void write_next() {
        if (closed_) return;
        if (writer_.empty()) {
            if (closing_) close();
            return;
        }
        asio::async_write(socket_, writer_.start_write(),
                          [self = shared_from_this()](error_code ec, size_t) {
                              self->writer_.finish_write();
                              if (self->closed_) return;
                              if (ec) return self->close();
                              self->write_next();
                          });
    }

    std::shared_ptr<Impl> listener_;
    tcp::socket socket_;
    std::string peer_;
    net::FrameReader reader_;
    net::FrameWriter writer_;
    size_t inflight_ = 0;
    bool reading_ = false;
    bool closing_ = false;  // the last frame is queued: close once it is written
    bool closed_ = false;
    std::shared_ptr<Connection> paused_self_;  // while reading is paused
};

ClientListener::ClientListener(ListenerOptions options, SessionService& service)
    : impl_(std::make_shared<Impl>(std::move(options), service)) {}

ClientListener::~ClientListener() { stop(); }

Status ClientListener::start() {
    return impl_->listener.start(net::Listener::making<Impl::Connection>(impl_));
}

void ClientListener::stop() { impl_->listener.stop(); }

std::string ClientListener::describe() const {
    const uint16_t bound = port();
    return "the client protocol on " + impl_->options.endpoint.host + ":" +
           std::to_string(bound != 0 ? bound : impl_->options.endpoint.port);
}

uint16_t ClientListener::port() const { return impl_->listener.port(); }

}  // namespace chorus::session
