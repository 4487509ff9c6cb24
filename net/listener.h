// Listener: a TCP port served on an I/O thread of its own — what every front
// door (the client protocol, HTTP, and the ZooKeeper protocol to come)
// shares. It binds, accepts, refuses connections over a cap (with a log
// line), pauses 100 ms after an accept error (out of file descriptors, say)
// instead of spinning, and hands each socket to the front door's factory.
// At stop it closes the acceptor and every connection still open, and joins
// its thread.
//
// Lifetime: a front door owns its Listener inside the state its
// connections share (a shared_ptr), so the io_context outlives every
// connection, and an answer posted from another thread after stop() finds a
// stopped context, not a destroyed one.
//
// Threads: start/stop/port/connections from any one owner thread; the
// factory and every Connection::close run on the I/O thread. Include from
// .cc files only: it brings Asio.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "net/endpoint.h"

namespace chorus::net {

class Listener {
 public:
    // What the listener keeps track of, to close at stop (on the I/O thread).
    class Connection {
     public:
        virtual ~Connection() = default;
        virtual void close() = 0;
        // At drain(): close once every request taken is answered and its
        // answer written. The default closes at once.
        virtual void close_when_idle() { close(); }
    };
    // Makes (and starts) the connection for an accepted socket. Let go of at
    // stop(), so it may hold the state that holds this listener.
    using Make = std::function<std::shared_ptr<Connection>(boost::asio::ip::tcp::socket)>;

    // The usual Make: a C(shared, socket), started. C derives from
    // Connection and has a start().
    template <typename C, typename Shared>
    static Make making(std::shared_ptr<Shared> shared) {
        return [shared = std::move(shared)](boost::asio::ip::tcp::socket socket) {
            auto c = std::make_shared<C>(shared, std::move(socket));
            c->start();
            return c;
        };
    }

    // `name` starts its log lines and error messages ("clients", "HTTP").
    Listener(std::string name, Endpoint endpoint, uint64_t max_connections);
    ~Listener();  // stops

    // Binds and starts accepting. kInvalidArgument for an address that does
    // not parse, kIoError if it cannot be bound (nothing runs then).
    Status start(Make make);
    // Idempotent; returns once the I/O thread has ended.
    void stop();
    // Before stop(), for a stop that leaves no request unanswered: accepts
    // no more connections and has each close once idle
    // (Connection::close_when_idle), then waits for them, at most
    // `timeout_ms`. True if every connection closed in time (stop() closes
    // the rest).
    bool drain(uint64_t timeout_ms);

    boost::asio::io_context& io() { return io_; }
    uint16_t port() const { return bound_port_; }  // the one bound (useful with port 0)
    // Connections accepted and not yet closed; each connection calls
    // connection_closed() exactly once (any thread).
    uint64_t connections() const { return connections_.load(); }
    void connection_closed() { --connections_; }

 private:
    void accept();

    const std::string name_;
    const Endpoint endpoint_;
    const uint64_t max_connections_;
    Make make_;
    boost::asio::io_context io_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
    std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
    std::thread thread_;
    uint16_t bound_port_ = 0;
    std::atomic<uint64_t> connections_{0};
    std::vector<std::weak_ptr<Connection>> open_;  // I/O thread
};

}  // namespace chorus::net
