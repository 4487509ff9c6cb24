#include "net/http_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <optional>

namespace chorus::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

int64_t HttpResult::number(const std::string& header) const {
    auto it = headers.find(header);
    if (it == headers.end()) return -1;
    int64_t v = -1;
    std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    return v;
}

struct HttpClient::Impl {
    std::string address;
    std::string host;
    std::string port;
    int timeout_ms;
    asio::io_context io;
    std::optional<beast::tcp_stream> stream;
    beast::flat_buffer buffer;

    // Runs the io_context until `done` or the timeout.
    bool run(const bool& done) {
        io.restart();
        io.run_for(std::chrono::milliseconds(timeout_ms));
        if (!done) {
            stream.reset();  // cancels what is pending
            io.restart();
            io.poll();
        }
        return done;
    }

    std::string connect() {
        stream.emplace(io);
        buffer.clear();
        error_code result;
        bool done = false;
        tcp::resolver resolver(io);
        error_code ec;
        auto endpoints = resolver.resolve(host, port, ec);
        if (ec) return "cannot resolve " + address + ": " + ec.message();
        stream->expires_after(std::chrono::milliseconds(timeout_ms));
        stream->async_connect(endpoints, [&](error_code e, const tcp::endpoint&) {
            result = e;
            done = true;
        });
        if (!run(done)) return "connecting to " + address + " timed out";
        if (result) {
            stream.reset();
            return "cannot connect to " + address + ": " + result.message();
        }
        return "";
    }

    HttpResult once(std::string_view method, std::string_view target, std::string_view body) {
        HttpResult out;
        const beast::string_view verb(method.data(), method.size());
        http::request<http::string_body> req;
        req.version(11);
        req.target(beast::string_view(target.data(), target.size()));
        req.method_string(verb);
        req.set(http::field::host, address);
        req.keep_alive(true);
        if (!body.empty()) req.set(http::field::content_type, "application/json");
        req.body() = std::string(body);
        req.prepare_payload();
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 << 20);
        parser.skip(req.method() == http::verb::head);
        error_code result;
        bool done = false;
        stream->expires_after(std::chrono::milliseconds(timeout_ms));
        http::async_write(*stream, req, [&](error_code e, size_t) {
            if (e || !stream) {  // (no stream: timed out, and reset)
                result = e;
                done = true;
                return;
            }
            http::async_read(*stream, buffer, parser, [&](error_code e, size_t) {
                result = e;
                done = true;
            });
        });
        if (!run(done)) {
            out.error =
                "no answer from " + address + " within " + std::to_string(timeout_ms) + " ms";
            return out;
        }
        if (result) {
            stream.reset();
            out.error = "talking to " + address + ": " + result.message();
            return out;
        }
        auto res = parser.release();
        out.status = static_cast<int>(res.result_int());
        for (const auto& field : res) {
            std::string name(field.name_string());
            std::transform(name.begin(), name.end(), name.begin(),
                           [](unsigned char c) { return std::tolower(c); });
            out.headers[name] = std::string(field.value());
        }
        out.body = std::move(res.body());
        if (!res.keep_alive()) stream.reset();
        return out;
    }
};

namespace {
HttpResult failed(std::string error) {
    HttpResult r;
    r.error = std::move(error);
    return r;
}
}  // namespace

HttpClient::HttpClient(std::string address, int timeout_ms) : impl_(std::make_unique<Impl>()) {
    impl_->address = address;
    const size_t colon = address.rfind(':');
    impl_->host = address.substr(0, colon);
    impl_->port = colon == std::string::npos ? "80" : address.substr(colon + 1);
    impl_->timeout_ms = timeout_ms;
}

HttpClient::~HttpClient() = default;

HttpResult HttpClient::request(std::string_view method, std::string_view target,
                               std::string_view body) {
    const bool reused = impl_->stream.has_value();
    if (!reused) {
        if (std::string e = impl_->connect(); !e.empty()) return failed(e);
    }
    HttpResult r = impl_->once(method, target, body);
    if (!r.answered() && reused && r.error.find("within") == std::string::npos) {
        // The server closed the kept-alive connection meanwhile: once more.
        if (std::string e = impl_->connect(); !e.empty()) return failed(e);
        r = impl_->once(method, target, body);
    }
    return r;
}

}  // namespace chorus::net
