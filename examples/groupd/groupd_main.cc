// groupd: group membership over HTTP, one server of an ensemble.
//
//   groupd --id 1 --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003
//          --data-dir /var/lib/groupd/1 --http 127.0.0.1:8001 [--bootstrap]
//          [--client 127.0.0.1:9001] [--zookeeper 127.0.0.1:2181]
//
// Every server serves the same API (docs/groupd.md); the session tracker
// runs in process, on a chorus::Node. With --client and --zookeeper the same
// groups are also served to chorus::Client and to ZooKeeper clients. SIGTERM/SIGINT stop it
// cleanly.
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cstdio>

#include "cli/node_flags.h"
#include "cli/stop_signals.h"
#include "cli/zookeeper_flags.h"
#include "cli/zookeeper_reconfig.h"
#include "examples/groupd/front_end.h"
#include "session/server/client_listener.h"
#include "session/server/server.h"
#include "session/zookeeper/front_end.h"

namespace {

int fail(const std::string& message, int status = 2) {
    std::fprintf(stderr, "groupd: %s\n", message.c_str());
    return status;
}

// As many connections as the file-descriptor limit leaves room for (the
// soft limit raised to the hard one first), keeping some for the log,
// snapshots and peers.
size_t connection_budget(size_t wanted) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
        ::getrlimit(RLIMIT_NOFILE, &limit);
    }
    constexpr rlim_t kReserved = 256;
    if (limit.rlim_cur == RLIM_INFINITY) return wanted;
    const size_t room =
        limit.rlim_cur > 2 * kReserved ? limit.rlim_cur - kReserved : limit.rlim_cur / 2;
    return std::min(wanted, room);
}

}  // namespace

int main(int argc, char** argv) {
    chorus::block_stop_signals();  // before any thread starts (cli/stop_signals.h)
    CLI::App app{"groupd: group membership over HTTP (join, heartbeat, leave, watch), replicated"};
    chorus::NodeFlags flags;
    flags.extra_config_keys = {"http", "zookeeper"};  // read with config_string
    chorus::add_node_flags(app, flags);
    std::string http, advertise, client;
    chorus::session::ServerOptions options;
    chorus::session::ServiceOptions& service_options = options.service;
    service_options.max_session_timeout_ms = 3600 * 1000;
    chorus::groupd::ApiOptions api_options;
    chorus::groupd::HttpServerOptions http_options;
    http_options.server_name = "groupd";
    app.add_option("--http", http,
                   "HOST:PORT to serve the HTTP API on (or http = \"...\" in --config)");
    app.add_option("--advertise", advertise,
                   "HOST:PORT clients should use for this server's HTTP API, listed in every "
                   "group document's endpoints (default: --http; set it when --http is 0.0.0.0)");
    app.add_option("--client", client,
                   "HOST:PORT to also serve the binary client protocol on (chorus::Client)");
    chorus::ZooKeeperFlags zookeeper_flags;
    chorus::add_zookeeper_flags(app, zookeeper_flags);
    app.add_option("--min-session-timeout-ms", service_options.min_session_timeout_ms,
                   "shortest member timeout granted")
        ->capture_default_str();
    app.add_option("--max-session-timeout-ms", service_options.max_session_timeout_ms,
                   "longest member timeout granted")
        ->capture_default_str();
    app.add_option("--default-timeout-s", api_options.default_timeout_s,
                   "a join's timeout when it names none")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    app.add_option("--long-poll-ms", api_options.long_poll_ms,
                   "GET /{group}?wait-version=N waits at most this long")
        ->capture_default_str()
        ->check(CLI::Range(1, 600000));
    app.add_option("--expiries-per-second", service_options.expiries_per_second,
                   "at most this many members expire per second (no storm after a failover)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 10000000u));
    app.add_option("--max-body-bytes", http_options.max_body_bytes,
                   "largest request body (member metadata or config)")
        ->capture_default_str()
        ->check(CLI::Range(size_t{1}, size_t{1} << 20));
    app.add_option("--http-request-timeout-ms", http_options.request_timeout_ms,
                   "a connection that sends no whole request within this long is closed")
        ->capture_default_str()
        ->check(CLI::Range(100, 3600000));
    CLI11_PARSE(app, argc, argv);

    auto node_options = chorus::finish_node_options(app, flags);
    if (!node_options.is_ok()) return fail(node_options.status().message());
    options.node = std::move(node_options).value();
    if (http.empty()) http = chorus::config_string(flags.config_file, "http");
    if (http.empty()) return fail("--http is missing (HOST:PORT for the HTTP API)");
    auto http_endpoint = chorus::parse_endpoint(http);
    if (!http_endpoint.is_ok()) return fail("--http: " + http_endpoint.status().message());
    std::optional<chorus::net::Endpoint> client_endpoint;
    if (!client.empty()) {
        auto endpoint = chorus::parse_endpoint(client);
        if (!endpoint.is_ok()) return fail("--client: " + endpoint.status().message());
        client_endpoint = endpoint.value();
    }
    auto zookeeper = chorus::finish_zookeeper_flags(zookeeper_flags, flags.config_file,
                                                    options.node, service_options);
    if (!zookeeper.is_ok()) return fail(zookeeper.status().message());
    if (chorus::Status s = chorus::session::check_server_options(options); !s.is_ok())
        return fail(s.message());
    // Bodies are stored normalised, which can make one a little longer
    // ("1e2" becomes "100.0").
    service_options.max_value_bytes = 2 * http_options.max_body_bytes;
    service_options.max_watch_ms = std::max<uint64_t>(api_options.long_poll_ms, 1000);
    api_options.server_id = options.node.id;
    if (advertise.empty()) {
        advertise = http_endpoint->str();
    } else if (auto a = chorus::parse_endpoint(advertise); !a.is_ok()) {
        return fail("--advertise: " + a.status().message());
    }
    api_options.http_address = advertise;
    http_options.endpoint = http_endpoint.value();
    http_options.max_connections = connection_budget(http_options.max_connections);
    spdlog::set_pattern("[%H:%M:%S.%e] [groupd " + std::to_string(options.node.id) + "] %v");

    chorus::session::Server server(options);
    auto groupd =
        std::make_unique<chorus::groupd::GroupdFrontEnd>(api_options, http_options, server);
    chorus::MembershipAdmin& membership = groupd->membership();
    server.add_front_end(std::move(groupd));
    if (client_endpoint) {
        server.add_front_end(std::make_unique<chorus::session::ClientListener>(
            chorus::session::ListenerOptions{.endpoint = *client_endpoint}, server.service()));
    }
    if (zookeeper.value()) {
        chorus::zookeeper::FrontEndOptions zk = *zookeeper.value();
        zk.reconfig = chorus::zookeeper_reconfig_through(membership, server.node());
        server.add_front_end(
            std::make_unique<chorus::zookeeper::ZooKeeperFrontEnd>(zk, server.service()));
    }
    if (chorus::Status s = server.start(); !s.is_ok()) return fail(s.str(), 1);
    return chorus::wait_for_stop_signal([&] { server.stop(); });
}
