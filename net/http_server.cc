#include "net/http_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "net/listener.h"

namespace chorus::net {

std::string json_error(std::string_view message) {
    std::string out = "{\"error\":\"";
    for (const char c : message) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", u);
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"}";
}

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
    HttpServerOptions options;
    HttpHandler handler;
    // Connections keep the Impl (and so the io_context) alive: an answer
    // posted from another thread after stop() finds a stopped context, not
    // a destroyed one.
    net::Listener listener;
    std::atomic<uint64_t> timed_out{0};
    mutable std::mutex counts_mutex;
    std::map<int, uint64_t> by_status;

    class Connection;

    Impl(HttpServerOptions o, HttpHandler h)
        : options(std::move(o)),
          handler(std::move(h)),
          listener("HTTP", options.endpoint, options.max_connections) {}
    void count(int status) {
        std::lock_guard lock(counts_mutex);
        ++by_status[status];
    }
};

// One client connection: read a request, hand it over, write the answer,
// read the next. Lives while an operation or an unanswered request holds it.
class HttpServer::Impl::Connection : public net::Listener::Connection,
                                     public std::enable_shared_from_this<Connection> {
 public:
    Connection(std::shared_ptr<Impl> server, tcp::socket socket)
        : server_(std::move(server)), stream_(std::move(socket)) {}
    ~Connection() override {
        if (!closed_) server_->listener.connection_closed();
    }

    void start() { read_header(); }
    void close() override {
        if (closed_) return;
        closed_ = true;
        server_->listener.connection_closed();  // now: an answer may hold this object a while
        error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

 private:
    void read_header() {
        parser_.emplace();
        parser_->body_limit(server_->options.max_body_bytes);
        parser_->header_limit(static_cast<uint32_t>(server_->options.max_header_bytes));
        // The whole request, idle time before it included, must arrive in time.
        stream_.expires_after(std::chrono::milliseconds(server_->options.request_timeout_ms));
        http::async_read_header(stream_, buffer_, *parser_,
                                [self = shared_from_this()](error_code ec, size_t) {
                                    if (ec) return self->read_failed(ec);
                                    self->on_header();
                                });
    }

    void on_header() {
        const auto& req = parser_->get();
        if (req.version() >= 11 && beast::iequals(req[http::field::expect], "100-continue") &&
            !parser_->is_done()) {
            auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                           req.version());
            http::async_write(stream_, *cont,
                              [self = shared_from_this(), cont](error_code ec, size_t) {
                                  if (ec) return self->close();
                                  self->read_body();
                              });
            return;
        }
        read_body();
    }

    void read_body() {
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](error_code ec, size_t) {
                             if (ec) return self->read_failed(ec);
                             self->on_request();
                         });
    }

    void read_failed(error_code ec) {
        if (closed_) return;
        if (ec == beast::error::timeout) {
            ++server_->timed_out;
            return close();
        }
        if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
            ec.category() != http::make_error_code(http::error::body_limit).category())
            return close();  // the client went away (or the socket failed)
        // The request is malformed; the stream cannot be trusted past it.
        keep_alive_ = false;
        drain_ = true;
        head_ = false;
        if (ec == http::error::body_limit) {
            return send(
                {413, json_error("the body is over " +
                                 std::to_string(server_->options.max_body_bytes) + " bytes")});
        }
        if (ec == http::error::header_limit) {
            return send(
                {431, json_error("the headers are over " +
                                 std::to_string(server_->options.max_header_bytes) + " bytes")});
        }
        send({400, json_error("a malformed HTTP request: " + ec.message())});
    }

    void on_request() {
        stream_.expires_never();  // while the handler works (a long poll waits)
        http::request<http::string_body> req = parser_->release();
        keep_alive_ = req.keep_alive();
        version_ = req.version();
        head_ = req.method() == http::verb::head;
        HttpRequest request{std::string(req.method_string()), std::string(req.target()),
                            std::move(req.body())};
        auto answered = std::make_shared<std::atomic<bool>>(false);
        Respond respond = [self = shared_from_this(), answered](HttpReply reply) {
            if (answered->exchange(true)) return;  // the first answer counts
            asio::post(self->server_->listener.io(), [self, reply = std::move(reply)]() mutable {
                self->send(std::move(reply));
            });
        };
        try {
            server_->handler(std::move(request), respond);
        } catch (const std::exception& e) {
            spdlog::error("http: the handler failed: {}", e.what());
            respond({500, json_error("the server failed to handle the request")});
        }
        watch_for_hangup();
    }

    // While the request waits (a long poll, say), notice a client that
    // goes away: it would otherwise hold its socket until the answer.
    void watch_for_hangup() {
        waiting_ = true;
        stream_.socket().async_wait(
            tcp::socket::wait_read, [self = shared_from_this()](error_code ec) {
                if (ec || !self->waiting_ || self->closed_) return;
                char byte;
                const ssize_t n = ::recv(self->stream_.socket().native_handle(), &byte, 1,
                                         MSG_PEEK | MSG_DONTWAIT);
                // n > 0: a pipelined request is waiting; it is read in turn.
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) self->close();
            });
    }

    void send(HttpReply reply) {
        if (closed_) return;
        if (waiting_) {
            waiting_ = false;
            error_code ignored;
            stream_.socket().cancel(ignored);  // the hang-up watch
        }
        if (reply.render) {
            try {
                reply.body = reply.render();
            } catch (const std::exception& e) {
                spdlog::error("http: making an answer failed: {}", e.what());
                reply = HttpReply{500, json_error("the server failed to make the answer")};
            }
        }
        server_->count(reply.status);
        auto res = std::make_shared<http::response<http::string_body>>(
            static_cast<http::status>(reply.status), version_);
        res->set(http::field::server, server_->options.server_name);
        res->set(http::field::content_type, reply.content_type);
        for (const auto& [field, value] : reply.headers) res->set(field, value);
        res->keep_alive(keep_alive_);
        if (head_) {
            res->content_length(0);
        } else {
            res->body() = std::move(reply.body);
            res->prepare_payload();
        }
        stream_.expires_after(std::chrono::milliseconds(server_->options.write_timeout_ms));
        http::async_write(stream_, *res, [self = shared_from_this(), res](error_code ec, size_t) {
            if (ec) return self->close();
            if (self->drain_) return self->drain();
            if (!self->keep_alive_) return self->close();
            self->read_header();
        });
    }

    // After refusing a request whose rest is still coming: stop sending,
    // read and drop what comes for up to a second, then close. (Closing
    // with unread data would reset the connection, and the client might
    // never see the answer.)
    void drain() {
        error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(std::chrono::seconds(1));
        buffer_.consume(buffer_.size());
        stream_.async_read_some(buffer_.prepare(64 << 10),
                                [self = shared_from_this()](error_code ec, size_t) {
                                    if (ec) return self->close();
                                    self->drain();
                                });
    }

    std::shared_ptr<Impl> server_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    unsigned version_ = 11;
    bool keep_alive_ = true;
    bool head_ = false;
    bool drain_ = false;    // close after the answer, reading what still comes
    bool waiting_ = false;  // the handler has the request; watching for a hang-up
    bool closed_ = false;
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
    return impl_->listener.start(net::Listener::making<Impl::Connection>(impl_));
}

void HttpServer::stop() { impl_->listener.stop(); }

uint16_t HttpServer::port() const { return impl_->listener.port(); }

HttpCounts HttpServer::counts() const {
    HttpCounts c;
    {
        std::lock_guard lock(impl_->counts_mutex);
        c.by_status = impl_->by_status;
    }
    c.connections = impl_->listener.connections();
    c.connections_closed_slow = impl_->timed_out.load();
    return c;
}

}  // namespace chorus::net
