// chorus-server: one server of a session-tracker ensemble, serving the
// client protocol (session/client.proto) to chorus::Client, and with
// --zookeeper ZooKeeper's client protocol (docs/zookeeper.md) over the same
// tree, and with --admin an HTTP port for /health, /ready and /metrics.
//
//   chorus-server --id 1 --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003
//                 --data-dir /var/lib/chorus/1 --client 127.0.0.1:9001
//                 [--zookeeper 127.0.0.1:2181] [--admin 127.0.0.1:8080] [--bootstrap]
//
// SIGTERM/SIGINT stop it cleanly. See docs/sessions.md.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/membership_admin.h"
#include "cli/node_flags.h"
#include "cli/stop_signals.h"
#include "cli/zookeeper_flags.h"
#include "cli/zookeeper_reconfig.h"
#include "session/server/admin_front_end.h"
#include "session/server/client_listener.h"
#include "session/server/server.h"
#include "session/zookeeper/front_end.h"

namespace {

int fail(int status, const std::string& message) {
    std::fprintf(stderr, "chorus-server: %s\n", message.c_str());
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    chorus::block_stop_signals();  // before any thread starts (cli/stop_signals.h)
    CLI::App app{"chorus-server: a session tracker server (sessions, ephemeral nodes, groups)"};
    chorus::NodeFlags flags;
    flags.extra_config_keys = {"zookeeper", "admin"};  // read with config_string
    chorus::add_node_flags(app, flags);
    std::string client, admin;
    chorus::ZooKeeperFlags zookeeper_flags;
    chorus::add_zookeeper_flags(app, zookeeper_flags);
    chorus::session::ServerOptions options;
    chorus::session::ServiceOptions& service = options.service;
    app.add_option("--client", client, "HOST:PORT to serve the client protocol on")->required();
    app.add_option("--admin", admin,
                   "HOST:PORT to serve /health, /ready and /metrics (Prometheus) on, over HTTP "
                   "(or admin = \"...\" in --config)");
    app.add_option("--min-session-timeout-ms", service.min_session_timeout_ms,
                   "shortest session timeout granted")
        ->capture_default_str();
    app.add_option("--max-session-timeout-ms", service.max_session_timeout_ms,
                   "longest session timeout granted")
        ->capture_default_str();
    app.add_option("--expiries-per-second", service.expiries_per_second,
                   "at most this many sessions expire per second (no storm after a failover)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 10000000u));
    app.add_option("--max-value-bytes", service.max_value_bytes, "largest node value accepted")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    auto node_options = chorus::finish_node_options(app, flags);
    if (!node_options.is_ok()) return fail(2, node_options.status().message());
    options.node = std::move(node_options).value();
    auto endpoint = chorus::parse_endpoint(client);
    if (!endpoint.is_ok()) return fail(2, "--client: " + endpoint.status().message());
    auto zookeeper =
        chorus::finish_zookeeper_flags(zookeeper_flags, flags.config_file, options.node, service);
    if (!zookeeper.is_ok()) return fail(2, zookeeper.status().message());
    if (admin.empty()) admin = chorus::config_string(flags.config_file, "admin");
    chorus::net::Endpoint admin_endpoint;
    if (!admin.empty()) {
        auto a = chorus::parse_endpoint(admin);
        if (!a.is_ok()) return fail(2, "--admin: " + a.status().message());
        admin_endpoint = a.value();
    }
    if (chorus::Status s = chorus::session::check_server_options(options); !s.is_ok())
        return fail(2, s.message());
    spdlog::set_pattern("[%H:%M:%S.%e] [server " + std::to_string(options.node.id) + "] %v");

    chorus::session::Server server(options);
    server.add_front_end(std::make_unique<chorus::session::ClientListener>(
        chorus::session::ListenerOptions{.endpoint = endpoint.value()}, server.service()));
    // The membership routes (GET /membership, POST /membership/add|remove)
    // on the admin port, and ZooKeeper's reconfig; made before the node
    // starts (a tick hook).
    chorus::MembershipAdmin membership(server.node(), options.node.id);
    if (zookeeper.value()) {
        chorus::zookeeper::FrontEndOptions zk = *zookeeper.value();
        zk.reconfig = chorus::zookeeper_reconfig_through(membership, server.node());
        server.add_front_end(
            std::make_unique<chorus::zookeeper::ZooKeeperFrontEnd>(zk, server.service()));
    }
    if (!admin.empty()) {
        auto admin_front_end =
            std::make_unique<chorus::session::AdminFrontEnd>(admin_endpoint, server.service());
        admin_front_end->set_more_routes([&membership](const chorus::net::HttpRequest& request,
                                                       const chorus::net::Respond& respond) {
            return membership.handle(request, respond);
        });
        server.add_front_end(std::move(admin_front_end));
    }
    if (chorus::Status s = server.start(); !s.is_ok()) return fail(1, s.str());
    return chorus::wait_for_stop_signal([&] { server.stop(); });
}
