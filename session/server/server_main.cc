// chorus-server: one server of a session-tracker ensemble, serving the
// client protocol (session/client.proto) to chorus::Client.
//
//   chorus-server --id 1 --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003
//                 --data-dir /var/lib/chorus/1 --client 127.0.0.1:9001 [--bootstrap]
//
// SIGTERM/SIGINT stop it cleanly. See docs/sessions.md.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/node_flags.h"
#include "cli/stop_signals.h"
#include "session/server/client_listener.h"
#include "session/server/session_service.h"

int main(int argc, char** argv) {
    chorus::block_stop_signals();  // before any thread starts (cli/stop_signals.h)
    CLI::App app{"chorus-server: a session tracker server (sessions, ephemeral nodes, groups)"};
    chorus::NodeFlags flags;
    chorus::add_node_flags(app, flags);
    std::string client;
    chorus::session::ServiceOptions service_options;
    app.add_option("--client", client, "HOST:PORT to serve the client protocol on")->required();
    app.add_option("--min-session-timeout-ms", service_options.min_session_timeout_ms,
                   "shortest session timeout granted")
        ->capture_default_str();
    app.add_option("--max-session-timeout-ms", service_options.max_session_timeout_ms,
                   "longest session timeout granted")
        ->capture_default_str();
    app.add_option("--expiries-per-second", service_options.expiries_per_second,
                   "at most this many sessions expire per second (no storm after a failover)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 10000000u));
    app.add_option("--max-value-bytes", service_options.max_value_bytes,
                   "largest node value accepted")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    auto options = chorus::finish_node_options(app, flags);
    if (!options.is_ok()) {
        std::fprintf(stderr, "chorus-server: %s\n", options.status().message().c_str());
        return 2;
    }
    auto endpoint = chorus::parse_endpoint(client);
    if (!endpoint.is_ok()) {
        std::fprintf(stderr, "chorus-server: --client: %s\n", endpoint.status().message().c_str());
        return 2;
    }
    if (service_options.min_session_timeout_ms == 0 ||
        service_options.min_session_timeout_ms > service_options.max_session_timeout_ms) {
        std::fprintf(stderr,
                     "chorus-server: --min-session-timeout-ms must be above 0 and not above "
                     "--max-session-timeout-ms\n");
        return 2;
    }
    const uint64_t election_ms = uint64_t{options->tick_ms} * options->election_timeout_ticks;
    if (service_options.min_session_timeout_ms < 2 * election_ms) {
        std::fprintf(stderr,
                     "chorus-server: --min-session-timeout-ms (%llu) should be at least twice the "
                     "election timeout (%llu ms), or sessions expire during a failover\n",
                     static_cast<unsigned long long>(service_options.min_session_timeout_ms),
                     static_cast<unsigned long long>(election_ms));
        return 2;
    }
    service_options.id = options->id;
    service_options.tick_ms = options->tick_ms;
    spdlog::set_pattern("[%H:%M:%S.%e] [server " + std::to_string(options->id) + "] %v");

    chorus::session::SessionService service(service_options);
    chorus::Node node(options.value(), service);
    service.attach(node);
    if (chorus::Status s = node.start(); !s.is_ok()) {
        std::fprintf(stderr, "chorus-server: %s\n", s.str().c_str());
        return 1;
    }
    service.start();
    chorus::session::ClientListener listener({.endpoint = endpoint.value()}, service);
    if (chorus::Status s = listener.start(); !s.is_ok()) {
        std::fprintf(stderr, "chorus-server: %s\n", s.str().c_str());
        service.stop();
        node.stop();
        return 1;
    }
    spdlog::info("serving clients on {}:{}", endpoint->host, listener.port());
    // Clients first, while the node still runs: waiting watches get an answer.
    return chorus::wait_for_stop_signal(node, [&] {
        service.stop();
        listener.stop();
    });
}
