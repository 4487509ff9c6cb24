#include "session/server/client_listener.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <string_view>

#include "net/framed_connection.h"
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
    std::atomic<bool> stopping{false};  // stop(): requests are refused, those taken answered

    class Connection;

    Impl(ListenerOptions o, SessionService& s)
        : options(std::move(o)),
          service(s),
          listener("clients", options.endpoint, options.max_connections) {}
};

// One client connection: the frames' reading and writing are
// net::FramedConnection's; what they mean is here. Lives while a read, a
// write or an unanswered request holds it.
class ClientListener::Impl::Connection : public net::FramedConnection {
 public:
    Connection(std::shared_ptr<Impl> listener, tcp::socket socket)
        : FramedConnection(
              listener, listener->listener, std::move(socket),
              net::FrameLimits{.max_frame_bytes = listener->options.max_frame_bytes,
                               .max_inflight = listener->options.max_inflight_per_connection,
                               .max_queued_bytes = listener->options.max_queued_bytes},
              "client"),
          listener_(listener.get()) {}

 private:
    std::string too_large_frame(uint32_t size) override {
        ++listener_->bad_frames;
        cpb::Response r;
        r.set_code(cpb::TOO_LARGE);
        r.set_message("a frame of " + std::to_string(size) + " bytes; the limit is " +
                      std::to_string(limits().max_frame_bytes));
        return net::frame_of(r);
    }

    // The server stops (docs/client-protocol.md, "Stopping"): a frame of
    // id 0, NOT_SERVING, says so; requests that come after it are refused.
    void on_draining() override {
        cpb::Response r;
        r.set_id(0);
        r.set_code(cpb::NOT_SERVING);
        r.set_message("this server is stopping: requests it took are answered, others refused");
        send(net::frame_of(r), false);
    }
    // The last frame of a drained connection (id 0, OK): every request this
    // connection carried that it has not answered was never taken, and
    // nothing more is read — the client may send those elsewhere. Without
    // it (the drain timed out, the process died, a reset lost it) they stay
    // uncertain.
    std::string drained_frame() override {
        cpb::Response r;
        r.set_id(0);
        r.set_code(cpb::OK);
        r.set_message("drained: every request taken here was answered; closing");
        return net::frame_of(r);
    }

    void on_frame(std::string_view body) override {
        cpb::Request request;
        if (!request.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
            ++listener_->bad_frames;
            spdlog::warn("client {}: a frame that does not parse as a request", peer());
            cpb::Response r;
            r.set_code(cpb::BAD_REQUEST);
            r.set_message("the frame does not parse as a chorus.client.pb.Request");
            send(net::frame_of(r), false);
            return;
        }
        // Who asks is this server's to say, never the client's: chorus's own
        // protocol has no authentication yet, so its clients are anonymous.
        request.clear_requester();
        if (listener_->stopping.load()) {
            // Not applied: the client library sends it again, elsewhere
            // once this connection closes (it closes when the requests it
            // had taken are answered).
            cpb::Response r;
            r.set_id(request.id());
            r.set_code(cpb::NOT_SERVING);
            r.set_message("this server is stopping");
            send(net::frame_of(r), false);
            return;
        }
        request_started();
        const bool is_stats = request.op_case() == cpb::Request::kStats;
        // Weak: an answer that comes after the listener or the connection is
        // gone is dropped.
        std::weak_ptr<Connection> weak = std::static_pointer_cast<Connection>(shared_from_this());
        std::weak_ptr<Impl> weak_listener = listener_->shared_from_this();
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
                if (!self || self->closed()) return;
                self->send(std::move(frame), false);
                self->request_answered();
            });
        });
    }

    Impl* listener_;  // kept alive by the base's owner
};

ClientListener::ClientListener(ListenerOptions options, SessionService& service)
    : impl_(std::make_shared<Impl>(std::move(options), service)) {}

ClientListener::~ClientListener() { stop(); }

Status ClientListener::start() {
    return impl_->listener.start(net::Listener::making<Impl::Connection>(impl_));
}

void ClientListener::stop() {
    // A stop that leaves no request uncertain: what was taken is answered
    // (the node still runs: front ends stop before it), what comes is
    // refused as not serving, and each connection closes once idle.
    if (!impl_->stopping.exchange(true) &&
        !impl_->listener.drain(impl_->options.drain_timeout_ms)) {
        spdlog::warn("clients: requests still unanswered after {} ms; closing their connections",
                     impl_->options.drain_timeout_ms);
    }
    impl_->listener.stop();
}

std::string ClientListener::describe() const {
    const uint16_t bound = port();
    return "the client protocol on " + impl_->options.endpoint.host + ":" +
           std::to_string(bound != 0 ? bound : impl_->options.endpoint.port);
}

uint16_t ClientListener::port() const { return impl_->listener.port(); }

}  // namespace chorus::session
