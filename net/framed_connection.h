// FramedConnection: one client connection of a protocol of length-prefixed
// frames, accepted by a net::Listener. It does what such a front door
// always needs, so the front door writes only what its frames mean:
// - reads what has arrived (often many frames at once) and hands each whole
//   frame to on_frame();
// - stops reading while max_inflight requests are unanswered (a client that
//   sends faster than it reads holds no more than that);
// - answers a frame announced over max_frame_bytes with too_large_frame()
//   and closes (there is no safe way to skip it);
// - sends frames queued while a write is under way together, and closes a
//   connection that leaves more than max_queued_bytes of answers unread.
//
// Used by chorus's client protocol (session/server/client_listener.cc) and
// the registry's lookups (examples/registry/lookup_listener.cc).
//
// Threads: everything on the listener's I/O thread. An answer made on
// another thread is posted there (hold the connection weakly meanwhile),
// then given to send() after request_answered(). Include from .cc files
// only: it brings Asio.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/frame_io.h"
#include "net/listener.h"

namespace chorus::net {

struct FrameLimits {
    size_t max_frame_bytes = 4 << 20;
    size_t max_inflight = 4096;
    size_t max_queued_bytes = 64 << 20;
};

class FramedConnection : public Listener::Connection,
                         public std::enable_shared_from_this<FramedConnection> {
 public:
    // `owner` keeps `listener` alive as long as the connection lives (the
    // front door's shared state that holds it). `what` starts log lines
    // ("client", "registry client").
    FramedConnection(std::shared_ptr<void> owner, Listener& listener,
                     boost::asio::ip::tcp::socket socket, FrameLimits limits, std::string what);
    ~FramedConnection() override;  // tells the listener it closed

    void start();  // begins reading
    void close() override;
    // Closes once every request taken is answered and written; frames that
    // arrive meanwhile still reach on_frame(), which should refuse them.
    // on_draining() comes first; drained_frame(), if any, is the last frame
    // sent (nothing is read after it).
    void close_when_idle() override;

 protected:
    // A whole frame (the view lasts until this returns). Call
    // request_started() for each frame whose answer will come later.
    virtual void on_frame(std::string_view body) = 0;
    // The listener drains (close_when_idle): e.g. send() a frame that tells
    // the peer so. By default nothing.
    virtual void on_draining() {}
    // The drain is done (every request taken answered and written): the
    // frame to send last, before the close, if the protocol has one ("").
    virtual std::string drained_frame() { return {}; }
    // The frame to send before closing, for a frame of `length` bytes over
    // the limit.
    virtual std::string too_large_frame(uint32_t length) = 0;

    void request_started() { ++inflight_; }
    // An answer is ready (reading resumes if it was paused); send it next.
    void request_answered();
    // Queues `frame`; with `then_close`, nothing more is read or sent and
    // the connection closes once it is written.
    void send(std::string frame, bool then_close);

    bool closed() const { return closed_; }
    const std::string& peer() const { return peer_; }  // "address:port"
    const FrameLimits& limits() const { return limits_; }

 private:
    void read_more();
    bool take_frames();
    void write_next();
    void close_if_drained();
    void linger_close();
    void linger_read();

    std::shared_ptr<void> owner_;
    Listener& listener_;
    boost::asio::ip::tcp::socket socket_;
    const FrameLimits limits_;
    const std::string what_;
    std::string peer_;
    FrameReader reader_;
    FrameWriter writer_;
    size_t inflight_ = 0;
    bool reading_ = false;
    bool closing_ = false;  // the last frame is queued: close once it is written
    bool closed_ = false;
    bool draining_ = false;   // close_when_idle()
    bool lingering_ = false;  // the drained frame is queued: linger_close() once written
    std::weak_ptr<boost::asio::steady_timer> linger_timer_;
    std::shared_ptr<FramedConnection> paused_self_;  // while reading is paused
};

}  // namespace chorus::net
