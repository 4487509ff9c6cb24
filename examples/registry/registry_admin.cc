// registry-admin: the master registry from a shell (issue 16,
// docs/registry.md). Asks the masters' lookup ports (RegistryClient) and
// prints a table.
//
//   registry-admin --masters 127.0.0.1:16000,127.0.0.1:16001 COMMAND
//     list-servers        the live region servers and their metadata
//     list-masters        the active master and the backups
//     active-master       the active master's name
//     meta-location       where meta is, and its version
//     cluster-id          the cluster id
//     set-meta NAME --expected-version N   (N = -1: none set yet)
//     check-health        every master listed, and every region server's
//                         /health; exits 1 if anything is unhealthy
//     watch [--interval-ms N] [--duration-s N] [--json]
//                         look up without end (until SIGINT/SIGTERM or the
//                         duration), print each change and failure, then a
//                         summary; exits 1 if any lookup failed
//
// Exit status: 0 done; 1 a lookup failed, or check-health found a problem;
// 2 bad usage; 4 set-meta refused (the version was not the one expected).
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "examples/common/table.h"
#include "examples/registry/region_server_config.h"
#include "examples/registry/registry_client.h"
#include "examples/registry/registry_watch.h"
#include "net/http_client.h"

namespace {

using chorus::examples::print_table;

using chorus::registry::RegistryClient;
using chorus::registry::RegistryClientOptions;
using json = nlohmann::json;

int lookup_failed(const chorus::Status& status) {
    std::fprintf(stderr, "registry-admin: %s\n", status.str().c_str());
    return 1;
}

std::string http_of(const std::string& metadata) {
    const json m = json::parse(metadata, nullptr, false);
    if (m.is_object() && m.contains("http") && m["http"].is_string()) return m["http"];
    return "";
}

// One master alone: is it reachable, and serving?
std::vector<std::string> master_health(const std::string& address, uint64_t timeout_ms,
                                       bool* healthy) {
    RegistryClient one({.masters = {address},
                        .timeout_ms = timeout_ms,
                        .attempt_timeout_ms = timeout_ms,
                        .cache_ttl_ms = 0});
    auto masters = one.masters();
    if (!masters.is_ok()) {
        *healthy = false;
        return {"master", address, "UNHEALTHY", masters.status().message()};
    }
    const auto& m = masters.value();
    return {"master", address, "ok",
            m.active ? "sees active " + m.active->str() : std::string("sees no active master")};
}

std::atomic<bool> watch_stop{false};
extern "C" void stop_watching(int) { watch_stop = true; }

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"registry-admin: look at and check an HBase-style master registry"};
    app.require_subcommand(1);
    std::string masters_text;
    RegistryClientOptions options;
    app.add_option("--masters", masters_text, "the masters' lookup ports, HOST:PORT,...")
        ->required();
    app.add_option("--hedge", options.hedge, "ask this many masters at once")
        ->capture_default_str();
    app.add_option("--timeout-ms", options.timeout_ms, "the whole lookup")->capture_default_str();
    auto* list_servers = app.add_subcommand("list-servers", "the live region servers");
    auto* list_masters = app.add_subcommand("list-masters", "the active and backup masters");
    auto* active = app.add_subcommand("active-master", "the active master");
    auto* meta = app.add_subcommand("meta-location", "where meta is");
    auto* cluster = app.add_subcommand("cluster-id", "the cluster id");
    auto* check = app.add_subcommand("check-health", "every master and region server");
    auto* set_meta = app.add_subcommand("set-meta", "set the meta location, by version");
    std::string meta_name;
    int64_t expected_version = 0;
    set_meta->add_option("NAME", meta_name, "host,port,startcode")->required();
    set_meta->add_option("--expected-version", expected_version, "-1: none set yet")->required();
    auto* watch = app.add_subcommand("watch", "look up without end; print changes, failures");
    chorus::registry::WatchOptions watch_options;
    uint64_t duration_s = 0;
    watch->add_option("--interval-ms", watch_options.interval_ms, "between rounds of lookups")
        ->capture_default_str();
    watch->add_option("--duration-s", duration_s, "stop after this long (0: at SIGINT/SIGTERM)")
        ->capture_default_str();
    watch->add_flag("--json", watch_options.json, "JSON lines, for scripts");
    CLI11_PARSE(app, argc, argv);

    options.masters = chorus::registry::split_list(masters_text);
    options.cache_ttl_ms = 0;
    options.attempt_timeout_ms = std::min<uint64_t>(options.attempt_timeout_ms, options.timeout_ms);
    if (options.masters.empty()) {
        std::fprintf(stderr, "registry-admin: --masters lists no master\n");
        return 2;
    }
    RegistryClient client(options);

    if (*watch) {
        watch_options.duration_ms = duration_s * 1000;
        std::signal(SIGINT, stop_watching);
        std::signal(SIGTERM, stop_watching);
        return chorus::registry::watch_registry(client, watch_options, watch_stop);
    }

    if (*list_servers) {
        auto servers = client.region_servers();
        if (!servers.is_ok()) return lookup_failed(servers.status());
        std::vector<std::vector<std::string>> rows = {{"REGION SERVER", "HTTP", "METADATA"}};
        for (const auto& s : servers.value())
            rows.push_back({s.name.str(), http_of(s.metadata), s.metadata});
        print_table(rows);
        std::printf("%zu region server(s)\n", servers.value().size());
    } else if (*list_masters) {
        auto masters = client.masters();
        if (!masters.is_ok()) return lookup_failed(masters.status());
        std::vector<std::vector<std::string>> rows = {{"ROLE", "MASTER", "LOOKUPS AT"}};
        const auto row = [](const char* role, const chorus::registry::ServerName& n) {
            return std::vector<std::string>{role, n.str(), n.host + ":" + std::to_string(n.port)};
        };
        if (masters.value().active) rows.push_back(row("active", *masters.value().active));
        for (const auto& b : masters.value().backups) rows.push_back(row("backup", b));
        print_table(rows);
    } else if (*active) {
        auto a = client.active_master();
        if (!a.is_ok()) return lookup_failed(a.status());
        std::printf("%s\n", a.value().str().c_str());
    } else if (*meta) {
        auto m = client.meta_location();
        if (!m.is_ok()) return lookup_failed(m.status());
        print_table({{"META LOCATION", "VERSION"},
                     {m.value().server.str(), std::to_string(m.value().version)}});
    } else if (*cluster) {
        auto id = client.cluster_id();
        if (!id.is_ok()) return lookup_failed(id.status());
        std::printf("%s\n", id.value().c_str());
    } else if (*set_meta) {
        auto name = chorus::registry::ServerName::parse(meta_name);
        if (!name) {
            std::fprintf(stderr, "registry-admin: '%s' is not host,port,startcode\n",
                         meta_name.c_str());
            return 2;
        }
        auto w = client.set_meta_location(*name, expected_version);
        if (!w.is_ok()) return lookup_failed(w.status());
        if (!w.value().applied) {
            const std::string why = expected_version == -1
                                        ? std::string("a meta location is set already")
                                        : "the version is not " + std::to_string(expected_version);
            std::fprintf(stderr, "registry-admin: refused: %s (now: %s)\n", why.c_str(),
                         w.value().now ? (w.value().now->server.str() + " at version " +
                                          std::to_string(w.value().now->version))
                                             .c_str()
                                       : "none set");
            return 4;
        }
        std::printf("meta location %s, version %lld\n", name->str().c_str(),
                    static_cast<long long>(w.value().now ? w.value().now->version : -1));
    } else if (*check) {
        bool healthy = true;
        std::vector<std::vector<std::string>> rows = {{"KIND", "ADDRESS", "STATUS", "DETAIL"}};
        for (const std::string& m : options.masters)
            rows.push_back(master_health(m, options.timeout_ms, &healthy));
        auto active_master = client.active_master();
        if (!active_master.is_ok()) {
            healthy = false;
            rows.push_back({"cluster", "-", "UNHEALTHY",
                            "no active master: " + active_master.status().message()});
        }
        auto servers = client.region_servers();
        if (!servers.is_ok()) {
            healthy = false;
            rows.push_back({"cluster", "-", "UNHEALTHY",
                            "region servers unknown: " + servers.status().message()});
        } else {
            for (const auto& s : servers.value()) {
                const std::string http = http_of(s.metadata);
                if (http.empty()) {
                    rows.push_back({"region server", s.name.str(), "?", "no http in its metadata"});
                    continue;
                }
                chorus::net::HttpClient probe(http, static_cast<int>(options.timeout_ms));
                auto r = probe.request("GET", "/health");
                const bool ok = r.status == 200;
                healthy = healthy && ok;
                const json body = json::parse(r.body, nullptr, false);
                std::string detail = !r.answered() ? r.error
                                     : body.is_object() && body.contains("session")
                                         ? "session " + body["session"].get<std::string>()
                                         : "HTTP " + std::to_string(r.status);
                rows.push_back({"region server", s.name.str() + " (" + http + ")",
                                ok ? "ok" : "UNHEALTHY", detail});
            }
        }
        print_table(rows);
        std::printf("%s\n", healthy ? "healthy" : "UNHEALTHY");
        return healthy ? 0 : 1;
    }
    return 0;
}
