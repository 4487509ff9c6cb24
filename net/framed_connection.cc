#include "net/framed_connection.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

namespace chorus::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

FramedConnection::FramedConnection(std::shared_ptr<void> owner, Listener& listener,
                                   tcp::socket socket, FrameLimits limits, std::string what)
    : owner_(std::move(owner)),
      listener_(listener),
      socket_(std::move(socket)),
      limits_(limits),
      what_(std::move(what)) {
    error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    peer_ =
        ec ? std::string("?") : remote.address().to_string() + ":" + std::to_string(remote.port());
}

FramedConnection::~FramedConnection() { listener_.connection_closed(); }

void FramedConnection::start() { read_more(); }

void FramedConnection::close() {
    if (closed_) return;
    closed_ = true;
    if (auto timer = linger_timer_.lock()) timer->cancel();
    paused_self_.reset();
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

void FramedConnection::request_answered() {
    --inflight_;
    read_more();
    close_if_drained();
}

void FramedConnection::close_when_idle() {
    if (closed_) return;
    draining_ = true;
    on_draining();
    close_if_drained();
}

void FramedConnection::close_if_drained() {
    if (!draining_ || closing_ || closed_ || inflight_ != 0 || writer_.writing() ||
        !writer_.empty())
        return;
    std::string last = drained_frame();
    if (last.empty()) return close();
    lingering_ = true;            // once it is written: linger_close()
    send(std::move(last), true);  // closing_: nothing more is taken
}

// After the drained frame: our side is shut, and what the peer still sends
// is read and dropped until it closes (at most a second). A close() with
// unread input would send a reset, which can destroy the frames just
// written — the drained frame among them (the review of 157976b).
void FramedConnection::linger_close() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    auto timer =
        std::make_shared<asio::steady_timer>(socket_.get_executor(), std::chrono::seconds(1));
    timer->async_wait([self = shared_from_this(), timer](error_code) { self->close(); });
    linger_timer_ = timer;
    read_more();
}

void FramedConnection::linger_read() {
    reading_ = true;
    auto scratch = std::make_shared<std::array<char, 4096>>();
    socket_.async_read_some(asio::buffer(*scratch),
                            [self = shared_from_this(), scratch](error_code ec, size_t) {
                                self->reading_ = false;
                                if (self->closed_) return;
                                if (ec) return self->close();  // the peer closed: done
                                self->linger_read();
                            });
}

// Reads what has arrived (often many requests at once) and handles the
// whole frames, pausing at max_inflight unanswered.
void FramedConnection::read_more() {
    if (closed_ || reading_) return;
    if (closing_) {
        if (lingering_ && linger_timer_.lock()) linger_read();  // drop what comes
        return;
    }
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

// Handles the whole frames held; false when reading must wait (paused, or
// the connection is ending).
bool FramedConnection::take_frames() {
    uint32_t size = 0;
    while (!closed_ && !closing_) {
        if (inflight_ >= limits_.max_inflight) {
            // Paused until an answer goes out; nothing else may hold us
            // meanwhile (the answers hold only weak references).
            paused_self_ = shared_from_this();
            return false;
        }
        paused_self_.reset();
        if (!reader_.next_length(&size)) return true;
        if (size > limits_.max_frame_bytes) {
            spdlog::warn("{} {}: a frame of {} bytes is over the limit of {}; closing", what_,
                         peer_, size, limits_.max_frame_bytes);
            send(too_large_frame(size), /*then_close=*/true);
            return false;
        }
        std::string_view body;
        if (!reader_.next(&body)) return true;
        on_frame(body);
    }
    return false;
}

void FramedConnection::send(std::string frame, bool then_close) {
    if (closing_ || closed_) return;
    writer_.push(std::move(frame));
    if (writer_.queued_bytes() > limits_.max_queued_bytes) {
        spdlog::warn("{} {}: {} bytes of answers unread; closing the connection", what_, peer_,
                     writer_.queued_bytes());
        return close();
    }
    closing_ = then_close;
    if (!writer_.writing()) write_next();
}

// Everything queued leaves in one write (up to a limit).
void FramedConnection::write_next() {
    if (closed_) return;
    if (writer_.empty()) {
        if (closing_) return lingering_ ? linger_close() : close();
        close_if_drained();
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

}  // namespace chorus::net
