// registry-master: one master of an HBase-style cluster whose masters are
// their own quorum (issue 16, docs/registry.md). It embeds a chorus replica
// (the masters form the ensemble), runs for active master, and answers
// lookups from its cache of /hbase.
//
//   registry-master --id 1 --peers 1=127.0.0.1:7001,2=...,3=...
//       --data-dir /var/lib/registry/1 --registry 127.0.0.1:16000
//       --http 127.0.0.1:16010 --client 127.0.0.1:9001 [--zookeeper 127.0.0.1:2181]
//       [--bootstrap] [--config FILE]
//
// --registry serves the binary lookups (RegistryClient, registry-admin),
// --http the same as JSON (curl) with /health, /ready and /metrics;
// --client serves chorus's client protocol, through which region servers
// (registry-server) register; --zookeeper serves the same tree to zkCli and
// other ZooKeeper clients. SIGTERM/SIGINT: the master resigns (its session
// closes, so a standby takes over at once), then stops.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "cli/membership_admin.h"
#include "cli/node_flags.h"
#include "cli/stop_signals.h"
#include "cli/zookeeper_flags.h"
#include "cli/zookeeper_reconfig.h"
#include "examples/registry/master_front_end.h"
#include "session/server/client_listener.h"
#include "session/server/server.h"
#include "session/zookeeper/front_end.h"

namespace {

int fail(const std::string& message, int status = 2) {
    std::fprintf(stderr, "registry-master: %s\n", message.c_str());
    return status;
}

// A new cluster id, as HBase makes one: a random UUID (version 4).
std::string new_cluster_id() {
    std::random_device device;
    std::mt19937_64 random(
        (static_cast<uint64_t>(device()) << 32) ^ device() ^
        static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()));
    const uint64_t high = (random() & ~uint64_t{0xF000}) | 0x4000;
    const uint64_t low = (random() & ~(uint64_t{3} << 62)) | (uint64_t{2} << 62);
    char text[40];
    std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx",
                  static_cast<unsigned>(high >> 32), static_cast<unsigned>((high >> 16) & 0xFFFF),
                  static_cast<unsigned>(high & 0xFFFF), static_cast<unsigned>(low >> 48),
                  static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFull));
    return text;
}

// The flag's value, else the config file's key.
std::string flag_or_config(const std::string& flag, const std::string& config_file,
                           const std::string& key) {
    return flag.empty() ? chorus::config_string(config_file, key) : flag;
}

}  // namespace

int main(int argc, char** argv) {
    chorus::block_stop_signals();  // before any thread starts (cli/stop_signals.h)
    CLI::App app{"registry-master: an HBase-style master; the masters are their own quorum"};
    chorus::NodeFlags flags;
    flags.extra_config_keys = {"registry", "http", "client", "advertise", "zookeeper"};
    chorus::add_node_flags(app, flags);
    std::string registry, http, client, advertise;
    chorus::session::ServerOptions options;
    chorus::registry::MasterOptions master;
    // A killed active master is replaced once its session expires: keep it
    // short (the failover is about that long), and let the minimum allow it
    // (it must stay at least twice the election timeout).
    master.session_timeout_ms = 800;
    options.service.min_session_timeout_ms = 500;
    app.add_option("--registry", registry,
                   "HOST:PORT to serve the binary lookups on (or registry = \"...\" in --config)");
    app.add_option("--http", http, "HOST:PORT to serve the lookups as JSON, /health and /metrics");
    app.add_option("--client", client,
                   "HOST:PORT for chorus's client protocol, through which region servers register");
    app.add_option("--advertise", advertise,
                   "HOST:PORT clients reach the binary lookups at: this master's name (default: "
                   "--registry; set it when --registry is 0.0.0.0)");
    chorus::ZooKeeperFlags zookeeper_flags;
    chorus::add_zookeeper_flags(app, zookeeper_flags);
    app.add_option("--master-session-timeout-ms", master.session_timeout_ms,
                   "the master's own session: a killed active master is replaced within it")
        ->capture_default_str()
        ->check(CLI::Range(uint64_t{100}, uint64_t{600000}));
    app.add_option("--min-session-timeout-ms", options.service.min_session_timeout_ms,
                   "shortest session timeout granted (masters and region servers)")
        ->capture_default_str();
    app.add_option("--max-session-timeout-ms", options.service.max_session_timeout_ms,
                   "longest session timeout granted")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    auto node_options = chorus::finish_node_options(app, flags);
    if (!node_options.is_ok()) return fail(node_options.status().message());
    options.node = std::move(node_options).value();
    registry = flag_or_config(registry, flags.config_file, "registry");
    http = flag_or_config(http, flags.config_file, "http");
    client = flag_or_config(client, flags.config_file, "client");
    advertise = flag_or_config(advertise, flags.config_file, "advertise");
    if (registry.empty()) return fail("--registry is missing (HOST:PORT for the lookups)");
    if (http.empty()) return fail("--http is missing (HOST:PORT for JSON and /health)");
    auto registry_endpoint = chorus::parse_endpoint(registry);
    if (!registry_endpoint.is_ok())
        return fail("--registry: " + registry_endpoint.status().message());
    auto http_endpoint = chorus::parse_endpoint(http);
    if (!http_endpoint.is_ok()) return fail("--http: " + http_endpoint.status().message());
    auto name_endpoint = chorus::parse_endpoint(advertise.empty() ? registry : advertise);
    if (!name_endpoint.is_ok()) return fail("--advertise: " + name_endpoint.status().message());
    if (name_endpoint->port == 0 || name_endpoint->host == "0.0.0.0" || name_endpoint->host == "::")
        return fail("the master's name needs a reachable HOST:PORT: set --advertise");
    std::optional<chorus::net::Endpoint> client_endpoint;
    if (!client.empty()) {
        auto endpoint = chorus::parse_endpoint(client);
        if (!endpoint.is_ok()) return fail("--client: " + endpoint.status().message());
        client_endpoint = endpoint.value();
    }
    auto zookeeper = chorus::finish_zookeeper_flags(zookeeper_flags, flags.config_file,
                                                    options.node, options.service);
    if (!zookeeper.is_ok()) return fail(zookeeper.status().message());
    if (chorus::Status s = chorus::session::check_server_options(options); !s.is_ok())
        return fail(s.message());
    if (master.session_timeout_ms < options.service.min_session_timeout_ms ||
        master.session_timeout_ms > options.service.max_session_timeout_ms)
        return fail("--master-session-timeout-ms " + std::to_string(master.session_timeout_ms) +
                    " is outside --min-session-timeout-ms .. --max-session-timeout-ms (" +
                    std::to_string(options.service.min_session_timeout_ms) + ".." +
                    std::to_string(options.service.max_session_timeout_ms) + ")");

    master.self = chorus::registry::ServerName{
        .host = name_endpoint->host,
        .port = name_endpoint->port,
        .start_code = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count())};
    master.new_cluster_id = new_cluster_id();
    master.lookups.endpoint = registry_endpoint.value();
    master.http.endpoint = http_endpoint.value();
    master.http.server_name = "registry-master";
    spdlog::set_pattern("[%H:%M:%S.%e] [master " + std::to_string(options.node.id) + "] %v");

    chorus::session::Server server(options);
    if (client_endpoint) {
        server.add_front_end(std::make_unique<chorus::session::ClientListener>(
            chorus::session::ListenerOptions{.endpoint = *client_endpoint}, server.service()));
    }
    // The membership routes on --http (chorusctl --servers HOST:HTTP), and
    // ZooKeeper's reconfig; made before the node starts (a tick hook).
    chorus::MembershipAdmin membership(server.node(), options.node.id);
    master.membership = &membership;
    if (zookeeper.value()) {
        chorus::zookeeper::FrontEndOptions zk = *zookeeper.value();
        zk.reconfig = chorus::zookeeper_reconfig_through(membership, server.node());
        server.add_front_end(
            std::make_unique<chorus::zookeeper::ZooKeeperFrontEnd>(zk, server.service()));
    }
    // Added last, so it stops first: it resigns while the others still serve.
    server.add_front_end(std::make_unique<chorus::registry::MasterFrontEnd>(master, server));
    if (chorus::Status s = server.start(); !s.is_ok()) return fail(s.str(), 1);
    return chorus::wait_for_stop_signal([&] { server.stop(); });
}
