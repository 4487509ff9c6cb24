#include "session/server/admin_front_end.h"

#include <fmt/format.h>

#include "net/http_server.h"
#include "session/client.pb.h"
#include "session/server/metrics.h"
#include "session/server/session_service.h"

namespace chorus::session {

namespace cpb = chorus::client::pb;

namespace {

// "/metrics?x=1" -> "/metrics".
std::string path_of(const std::string& target) { return target.substr(0, target.find('?')); }

}  // namespace

struct AdminFrontEnd::Impl : std::enable_shared_from_this<AdminFrontEnd::Impl> {
    net::Endpoint endpoint;
    SessionService& service;
    std::unique_ptr<net::HttpServer> http;
    MoreRoutes more_routes;

    Impl(net::Endpoint e, SessionService& s) : endpoint(std::move(e)), service(s) {}

    void handle(net::HttpRequest request, net::Respond respond) {
        if (more_routes && more_routes(request, respond)) return;
        const std::string path = path_of(request.target);
        if (path != "/health" && path != "/ready" && path != "/metrics") {
            return respond(net::HttpReply{
                404, net::json_error("no such page: the admin port has /health, /ready and "
                                     "/metrics")});
        }
        if (request.method != "GET" && request.method != "HEAD") {
            net::HttpReply reply{405, net::json_error("only GET here")};
            reply.headers.emplace_back("allow", "GET, HEAD");
            return respond(std::move(reply));
        }
        if (path == "/health") return respond(net::HttpReply{200, R"({"status":"up"})"});
        cpb::Request stats;
        stats.mutable_stats();
        // Answered on the core thread; the HTTP server takes answers from
        // any thread. (An answer after the front end is gone is dropped.)
        std::weak_ptr<Impl> weak = shared_from_this();
        service.handle(std::move(stats), [weak, path, respond](cpb::Response r) {
            auto self = weak.lock();
            if (!self) return;
            const cpb::StatsReply& s = r.stats();
            if (path == "/ready") {
                const bool ready = s.serving();
                return respond(net::HttpReply{ready ? 200 : 503,
                                              fmt::format(R"({{"ready":{},"role":"{}"}})",
                                                          ready ? "true" : "false", s.role())});
            }
            std::string out;
            append_server_metrics(s, &out);
            const net::HttpCounts counts = self->http->counts();
            append_metric_header(&out, "chorus_admin_http_requests_total", "counter",
                                 "Answers of the admin port, by HTTP status.");
            for (const auto& [status, count] : counts.by_status) {
                out += fmt::format("chorus_admin_http_requests_total{{code=\"{}\"}} {}\n", status,
                                   count);
            }
            respond(net::HttpReply{200, std::move(out), "text/plain; version=0.0.4"});
        });
    }
};

AdminFrontEnd::AdminFrontEnd(net::Endpoint endpoint, SessionService& service)
    : impl_(std::make_shared<Impl>(std::move(endpoint), service)) {
    net::HttpServerOptions options;
    options.endpoint = impl_->endpoint;
    options.max_body_bytes = 4 << 10;  // nothing here takes a body (changes use the query)
    options.max_connections = 100;
    impl_->http = std::make_unique<net::HttpServer>(
        options,
        [weak = std::weak_ptr<Impl>(impl_)](net::HttpRequest request, net::Respond respond) {
            if (auto impl = weak.lock()) impl->handle(std::move(request), std::move(respond));
        });
}

AdminFrontEnd::~AdminFrontEnd() { stop(); }

std::string AdminFrontEnd::describe() const {
    const uint16_t bound = port();
    return "the admin port (HTTP) on " + impl_->endpoint.host + ":" +
           std::to_string(bound != 0 ? bound : impl_->endpoint.port);
}

Status AdminFrontEnd::start() { return impl_->http->start(); }

void AdminFrontEnd::stop() { impl_->http->stop(); }

uint16_t AdminFrontEnd::port() const { return impl_->http->port(); }

void AdminFrontEnd::set_more_routes(MoreRoutes routes) { impl_->more_routes = std::move(routes); }

}  // namespace chorus::session
