#include "examples/registry/lookup_listener.h"

#include <atomic>
#include <boost/asio/post.hpp>

#include "net/framed_connection.h"

namespace chorus::registry {

namespace asio = boost::asio;
using asio::ip::tcp;

// Answers a client does not read past this many bytes close its connection.
constexpr size_t kMaxUnreadBytes = 16 << 20;

struct LookupListener::Impl {
    Impl(LookupListenerOptions o, LookupHandler h)
        : options(std::move(o)),
          handler(std::move(h)),
          listener("registry lookups", options.endpoint, options.max_connections) {}

    const LookupListenerOptions options;
    const LookupHandler handler;
    net::Listener listener;
    std::atomic<uint64_t> bad_frames{0};

    class Connection;
};

// One client: what its frames mean (net::FramedConnection reads and writes
// them).
class LookupListener::Impl::Connection : public net::FramedConnection {
 public:
    Connection(std::shared_ptr<Impl> shared, tcp::socket socket)
        : FramedConnection(shared, shared->listener, std::move(socket),
                           net::FrameLimits{.max_frame_bytes = shared->options.max_frame_bytes,
                                            .max_inflight = shared->options.max_inflight,
                                            .max_queued_bytes = kMaxUnreadBytes},
                           "registry client"),
          shared_(std::move(shared)) {}

 private:
    std::string too_large_frame(uint32_t length) override {
        ++shared_->bad_frames;
        pb::RegistryResponse r;
        r.set_code(pb::TOO_LARGE);
        r.set_message("a frame of " + std::to_string(length) + " bytes; the limit is " +
                      std::to_string(limits().max_frame_bytes));
        return net::frame_of(r);
    }

    void on_frame(std::string_view body) override {
        pb::RegistryRequest request;
        if (!request.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
            ++shared_->bad_frames;
            pb::RegistryResponse r;
            r.set_code(pb::BAD_REQUEST);
            r.set_message("the frame does not parse as a chorus.registry.pb.RegistryRequest");
            return send(net::frame_of(r), false);
        }
        request_started();
        std::weak_ptr<Connection> weak = std::static_pointer_cast<Connection>(shared_from_this());
        // The shared state stays (so its I/O context does) while an answer
        // is on its way; the connection may go.
        shared_->handler(std::move(request), [weak, shared = shared_](pb::RegistryResponse r) {
            asio::post(shared->listener.io(), [weak, frame = net::frame_of(r)]() mutable {
                auto self = weak.lock();
                if (!self || self->closed()) return;
                self->send(std::move(frame), false);
                self->request_answered();
            });
        });
    }

    std::shared_ptr<Impl> shared_;
};

LookupListener::LookupListener(LookupListenerOptions options, LookupHandler handler)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(handler))) {}

LookupListener::~LookupListener() { stop(); }

Status LookupListener::start() {
    return impl_->listener.start(net::Listener::making<Impl::Connection>(impl_));
}

void LookupListener::stop() { impl_->listener.stop(); }

uint16_t LookupListener::port() const { return impl_->listener.port(); }

uint64_t LookupListener::bad_frames() const { return impl_->bad_frames.load(); }

uint64_t LookupListener::connections() const { return impl_->listener.connections(); }

}  // namespace chorus::registry
