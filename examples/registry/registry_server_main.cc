// registry-server: a stand-in HBase region server for the master registry
// (issue 16, docs/registry.md). It registers as the ephemeral
// /hbase/rs/<host,port,startcode> through any master and keeps that
// registration alive; it serves /health, /ready, /metrics and POST /work.
//
//   registry-server --masters 127.0.0.1:9001,127.0.0.1:9002,127.0.0.1:9003
//       --host 127.0.0.1 --port 16020 --http 127.0.0.1:16030 [--config FILE]
//
// The config file (TOML) holds the same keys as the flags, with
// underscores (session_timeout_ms); flags given win. SIGTERM/SIGINT:
// deregister, drain, exit 0. Exit 2: a bad configuration; 1: the HTTP port
// cannot be bound; 3: registering failed --max-failures times in a row.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>

#include "cli/stop_signals.h"
#include "examples/registry/region_server.h"

namespace {

int fail(const std::string& message, int status = 2) {
    std::fprintf(stderr, "registry-server: %s\n", message.c_str());
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    chorus::block_stop_signals();  // before any thread starts (cli/stop_signals.h)
    CLI::App app{"registry-server: a stand-in region server that registers with the masters"};
    std::string config_file, masters;
    chorus::registry::RegionServerConfig flags;
    app.add_option("--config", config_file, "a TOML file of the same keys (flags win)");
    app.add_option("--masters", masters,
                   "the masters' chorus client ports, HOST:PORT,... (any one will do)");
    app.add_option("--host", flags.host, "the host of this server's name")->capture_default_str();
    app.add_option("--port", flags.port, "the port of this server's name");
    app.add_option("--http", flags.http, "HOST:PORT for /health, /ready, /metrics, POST /work");
    app.add_option("--session-timeout-ms", flags.session_timeout_ms,
                   "a crashed server leaves every master's cache within this")
        ->capture_default_str();
    app.add_option("--max-failures", flags.max_failures,
                   "registrations failed in a row before it exits (status 3)")
        ->capture_default_str();
    app.add_option("--backoff-initial-ms", flags.backoff_initial_ms,
                   "the wait after a first failure (it doubles, with jitter)")
        ->capture_default_str();
    app.add_option("--backoff-max-ms", flags.backoff_max_ms, "the longest wait")
        ->capture_default_str();
    app.add_option("--drain-timeout-ms", flags.drain_timeout_ms,
                   "at SIGTERM, in-flight work is waited for this long")
        ->capture_default_str();
    app.add_option("--metadata", flags.metadata, "a JSON object registered with the server")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    // The file first, then every flag given on top of it.
    chorus::registry::RegionServerConfig config;
    if (!config_file.empty()) {
        if (chorus::Status s = chorus::registry::read_region_server_config(config_file, &config);
            !s.is_ok())
            return fail(s.message());
    }
    const auto given = [&](const char* flag) { return app.count(flag) > 0; };
    if (given("--masters")) config.masters = chorus::registry::split_list(masters);
    if (given("--host")) config.host = flags.host;
    if (given("--port")) config.port = flags.port;
    if (given("--http")) config.http = flags.http;
    if (given("--session-timeout-ms")) config.session_timeout_ms = flags.session_timeout_ms;
    if (given("--max-failures")) config.max_failures = flags.max_failures;
    if (given("--backoff-initial-ms")) config.backoff_initial_ms = flags.backoff_initial_ms;
    if (given("--backoff-max-ms")) config.backoff_max_ms = flags.backoff_max_ms;
    if (given("--drain-timeout-ms")) config.drain_timeout_ms = flags.drain_timeout_ms;
    if (given("--metadata")) config.metadata = flags.metadata;
    if (chorus::Status s = chorus::registry::check_region_server_config(config); !s.is_ok())
        return fail(s.message());

    const chorus::registry::ServerName name{
        .host = config.host,
        .port = static_cast<uint16_t>(config.port),
        .start_code = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count())};
    spdlog::set_pattern("[%H:%M:%S.%e] [rs " + std::to_string(config.port) + "] %v");
    chorus::registry::RegionServer server(config, name);
    std::atomic<bool> gave_up{false};
    server.on_give_up([&gave_up] {
        gave_up = true;
        ::kill(::getpid(), SIGTERM);  // wakes wait_for_stop_signal
    });
    if (chorus::Status s = server.start(); !s.is_ok()) return fail(s.str(), 1);
    chorus::wait_for_stop_signal([&] { server.shutdown(); });
    return gave_up ? 3 : 0;
}
