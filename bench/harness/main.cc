// chorus-bench: starts real ensembles on this machine — chorus and, when it
// is installed, Apache ZooKeeper 3.8 — drives them with the same workloads
// in the same run, and prints how they compare. docs/benchmarks.md.
//
//   chorus-bench --quick
//       3 servers; 100-byte writes at windows 1 and 256; one failover
//   chorus-bench
//       the full run: writes at windows 1, 32, 256 x 100 B and 1 KiB, reads,
//       churn, sessions (1,000 / 4,000 / 10,000 / 100,000; ZooKeeper up to
//       4,000), 5 failovers, recovery of a follower holding 1 GiB
//   chorus-bench --json out.json --plot out.png
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <thread>

#include "bench/harness/driver.h"
#include "bench/harness/ensemble.h"
#include "bench/harness/recovery.h"
#include "bench/harness/session_holder.h"
#include "bench/harness/workloads.h"

namespace {

// ZooKeeper sessions per holder process: three file descriptors each.
constexpr int kZooKeeperSessionsPerProcess = 4000;

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using namespace chorus::bench;

const auto kStart = std::chrono::steady_clock::now();

void phase(const std::string& text) {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - kStart).count();
    std::printf("[%6.1fs] %s\n", s, text.c_str());
    std::fflush(stdout);
}

ordered_json machine() {
    ordered_json m;
    m["cores"] = std::thread::hardware_concurrency();
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("model name", 0) == 0) {
            m["cpu"] = line.substr(line.find(':') + 2);
            break;
        }
    }
    utsname u{};
    if (::uname(&u) == 0) m["kernel"] = std::string(u.sysname) + " " + u.release;
    m["memory_gib"] = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) *
                      static_cast<double>(::sysconf(_SC_PAGE_SIZE)) / (1 << 30);
    return m;
}

struct Options {
    bool quick = false;
    std::vector<std::string> systems;
    int servers = 3;
    int connections = 4;
    std::vector<int> windows;
    std::vector<int> payloads;
    std::vector<int> sessions;
    bool reads = false;
    bool churn = false;
    int zookeeper_max_sessions = 4000;
    int session_timeout_ms = 6000;
    double seconds = 0;
    double warmup = 1;
    double system_warmup = -1;
    int kills = -1;
    // How the failover workload stops the leader: "kill" (SIGKILL), "term"
    // (SIGTERM: a chorus leader hands over first) or "both".
    std::string failover_stop = "kill";
    std::vector<std::string> server_args;  // appended to every chorus-server
    uint64_t recovery_bytes = 0;           // the recovery workload's data directory size; 0: none
    int recovery_catch_up = 1024;          // values written while the follower is down
    std::string json_file;
    std::string plot_file;
    std::string chorus_server;
    std::string workdir;
};

double mean(const std::vector<double>& v) {
    return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

std::string fmt(double v, int decimals) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
    return b;
}

// Whether a system is driven by ZooKeeper's C client: ZooKeeper, and chorus
// through its ZooKeeper front end ("chorus-zk").
bool speaks_zookeeper(const std::string& system) { return system != "chorus"; }

// Runs every workload against one system; its results as JSON objects.
std::vector<ordered_json> measure(const std::string& system, const Options& o,
                                  const ordered_json& host) {
    std::vector<ordered_json> rows;
    // Every result starts with what it measured and ends with the machine.
    auto new_row = [&](const std::string& workload, int window) {
        ordered_json row;
        row["system"] = system;
        row["workload"] = workload;
        row["servers"] = o.servers;
        row["window"] = window;
        return row;
    };
    auto add_row = [&](ordered_json row) {
        row["machine"] = host;
        rows.push_back(std::move(row));
    };
    const std::string dir = o.workdir + "/" + system;
    fs::create_directories(dir);
    std::unique_ptr<Ensemble> ensemble =
        system == "zookeeper" ? zookeeper_ensemble(dir, o.servers)
                              : chorus_ensemble(o.chorus_server, dir, o.servers,
                                                system == "chorus-zk", o.server_args);
    phase(system + ": starting " + std::to_string(o.servers) +
          " server(s) on 127.0.0.1 (fsync on)");
    if (!ensemble->start_all(60000)) {
        phase(system + ": " + ensemble->error() + "; its last log lines:\n" +
              ensemble->log_tail(1));
        ensemble->stop_all();
        return rows;
    }
    phase(system + ": serving; leader is server " + std::to_string(ensemble->leader()));

    auto make_driver = [&](int tag) {
        return speaks_zookeeper(system) ? zookeeper_driver(ensemble->driver_addresses(), tag)
                                        : chorus_driver(ensemble->driver_addresses(), tag);
    };
    std::vector<std::unique_ptr<Driver>> drivers;
    const int max_window = *std::max_element(o.windows.begin(), o.windows.end());
    for (int c = 0; c < o.connections; ++c) {
        auto d = make_driver(c);
        std::string error;
        if (!d->connect(30000, &error) ||
            !d->prepare(std::max(1, max_window / o.connections + 1),
                        std::string(static_cast<size_t>(o.payloads[0]), 'v'), &error)) {
            phase(system + ": client " + std::to_string(c) + ": " + error);
            ensemble->stop_all();
            return rows;
        }
        drivers.push_back(std::move(d));
    }
    std::vector<Driver*> raw;
    for (auto& d : drivers) raw.push_back(d.get());

    // Warm up first (unmeasured): the JVM compiles ZooKeeper's hot paths
    // in its first seconds, and RocksDB and the page cache warm too. Every
    // system gets the same.
    if (o.system_warmup > 0) {
        phase(system + ": warming up for " + fmt(o.system_warmup, 0) +
              " s (window 32, not measured)");
        run_ops(raw, Op::kWrite, 32, std::string(static_cast<size_t>(o.payloads[0]), 'v'), 0,
                o.system_warmup);
    }
    // Writes at every payload, then (full mode) reads of what the last
    // writes left: local, and after a read barrier.
    std::vector<std::pair<Op, int>> points;
    for (int payload : o.payloads) points.emplace_back(Op::kWrite, payload);
    if (o.reads) {
        points.emplace_back(Op::kRead, o.payloads.back());
        points.emplace_back(Op::kSyncRead, o.payloads.back());
    }
    if (o.churn) {
        bool ready = true;
        for (Driver* d : raw) {
            std::string error;
            if (!d->prepare_group(&error)) {
                phase(system + ": churn left out: " + error);
                ready = false;
                break;
            }
        }
        if (ready) points.emplace_back(Op::kChurn, 0);
    }
    for (const auto& [op, payload] : points) {
        const std::string value(static_cast<size_t>(payload), 'v');
        for (int window : o.windows) {
            // Window 1 is one connection; wider windows spread over all.
            std::vector<Driver*> use(raw.begin(),
                                     raw.begin() + std::min<size_t>(raw.size(), window));
            WriteResult r = run_ops(use, op, window, value, o.warmup, o.seconds);
            char line[200];
            std::snprintf(line, sizeof line,
                          "%s: %s %d B, window %d: %.0f ops/s, p50 %.2f ms, p99 %.2f ms, "
                          "p99.9 %.2f ms, max %.0f ms%s",
                          system.c_str(), op_name(op), payload, window, r.ops_per_s,
                          r.latency.p50_ms, r.latency.p99_ms, r.latency.p999_ms, r.latency.max_ms,
                          r.failed ? (", " + std::to_string(r.failed) + " failed").c_str() : "");
            phase(line);
            if (op == Op::kChurn) {
                phase(system + ": churn: each of " + std::to_string(raw.size()) + " watchers got " +
                      fmt(static_cast<double>(r.notifications) / r.seconds /
                              static_cast<double>(raw.size()),
                          0) +
                      " change notifications/s");
            }
            ordered_json row = new_row(op_name(op), window);
            row["connections"] = use.size();
            row["payload_bytes"] = payload;
            row["ops_per_s"] = r.ops_per_s;
            row["p50_ms"] = r.latency.p50_ms;
            row["p99_ms"] = r.latency.p99_ms;
            row["p999_ms"] = r.latency.p999_ms;
            row["max_ms"] = r.latency.max_ms;
            row["failed"] = r.failed;
            if (op == Op::kChurn) {
                row["watchers"] = raw.size();
                row["notifications_per_s_per_watcher"] = static_cast<double>(r.notifications) /
                                                         r.seconds /
                                                         static_cast<double>(raw.size());
            }
            row["seconds"] = r.seconds;
            add_row(std::move(row));
        }
    }

    for (int count : o.sessions) {
        if (speaks_zookeeper(system) && count > o.zookeeper_max_sessions) {
            phase(system + ": sessions: " + std::to_string(count) +
                  " left out (one client handle "
                  "and two threads per ZooKeeper session; --zookeeper-max-sessions " +
                  std::to_string(o.zookeeper_max_sessions) + ")");
            continue;
        }
        phase(system + ": sessions: " + std::to_string(count) + ", timeout " +
              std::to_string(o.session_timeout_ms) + " ms, opened by a client process");
        std::string servers;
        for (const auto& a : ensemble->driver_addresses())
            servers += (servers.empty() ? "" : ",") + a;
        // chorus::Client carries any number of sessions on one connection;
        // ZooKeeper's C client takes a handle (a socket, a pipe, two
        // threads) per session, so its sessions are spread over processes
        // to stay within the file-descriptor limit.
        const int per_holder = speaks_zookeeper(system) ? kZooKeeperSessionsPerProcess : count;
        std::vector<SessionHolder> holders;
        for (int opened = 0; opened < count; opened += per_holder) {
            const int n = std::min(per_holder, count - opened);
            holders.push_back(
                SessionHolder{{fs::read_symlink("/proc/self/exe").string(), "hold-sessions",
                               speaks_zookeeper(system) ? "zookeeper" : "chorus", std::to_string(n),
                               std::to_string(o.session_timeout_ms), servers},
                              dir + "/holder-" + std::to_string(count) + "-" +
                                  std::to_string(holders.size()) + ".log"});
        }
        SessionResult r = run_sessions(*ensemble, holders, count, o.session_timeout_ms,
                                       [&](const std::string& s) { phase(system + ": " + s); });
        if (!r.error.empty()) {
            phase(system + ": sessions: " + r.error);
            continue;
        }
        char line[300];
        std::snprintf(line, sizeof line,
                      "%s: %d sessions: %.0f creates/s; log bytes per create %.1f, per expire "
                      "%.1f, per heartbeat %.3f; leader memory %.0f B per session (%s)",
                      system.c_str(), count, r.creates_per_s, r.log_bytes_per_create,
                      r.log_bytes_per_expire, r.log_bytes_per_heartbeat, r.leader_bytes_per_session,
                      r.memory_measure.c_str());
        phase(line);
        // The window of a sessions row: opens in flight.
        ordered_json row = new_row("sessions", system == "chorus" ? 256 : count);
        row["payload_bytes"] = 0;
        row["sessions"] = count;
        row["ops_per_s"] = r.creates_per_s;  // session creates
        row["p50_ms"] = nullptr;
        row["p99_ms"] = nullptr;
        row["p999_ms"] = nullptr;
        row["session_timeout_ms"] = o.session_timeout_ms;
        row["log_bytes_per_create"] = r.log_bytes_per_create;
        row["log_bytes_per_expire"] = r.log_bytes_per_expire;
        row["log_bytes_per_heartbeat"] = r.log_bytes_per_heartbeat;
        row["leader_bytes_per_session"] = r.leader_bytes_per_session;
        row["memory_measure"] = r.memory_measure;
        add_row(std::move(row));
    }

    if (o.kills > 0 && o.servers == 1) {
        phase(system + ": failover left out: with 1 server there is no one to take over");
    } else if (o.kills > 0) {
        for (const bool graceful : {false, true}) {
            if (graceful ? o.failover_stop == "kill" : o.failover_stop == "term") continue;
            phase(system + ": failover: window-1 writes, the leader " +
                  (graceful ? "SIGTERMed " : "SIGKILLed ") + std::to_string(o.kills) + " time(s)");
            auto d = make_driver(1000);
            std::string error;
            FailoverResult f;
            if (!d->connect(30000, &error) ||
                !d->prepare(1, std::string(static_cast<size_t>(o.payloads[0]), 'v'), &error)) {
                f.error = error;
            } else {
                f = run_failover(
                    *ensemble, *d, std::string(static_cast<size_t>(o.payloads[0]), 'v'), o.kills,
                    [&](const std::string& s) { phase(system + ": " + s); }, graceful);
            }
            if (!f.error.empty()) phase(system + ": failover stopped: " + f.error);
            if (!f.unavailable_ms.empty()) {
                ordered_json row = new_row(graceful ? "failover-sigterm" : "failover", 1);
                row["payload_bytes"] = o.payloads[0];
                row["kills"] = f.unavailable_ms.size();
                row["unavailable_ms"] = mean(f.unavailable_ms);
                row["unavailable_ms_max"] =
                    *std::max_element(f.unavailable_ms.begin(), f.unavailable_ms.end());
                row["first_write_ms"] = mean(f.first_write_ms);
                row["unavailable_ms_each"] = f.unavailable_ms;
                add_row(std::move(row));
            }
        }
    }
    if (o.recovery_bytes > 0 && system == "chorus-zk") {
        phase(system + ": recovery left out: the same servers as chorus's, whose row it is");
    } else if (o.recovery_bytes > 0 && o.servers == 1) {
        phase(system + ": recovery left out: it restarts a follower, and 1 server has none");
    } else if (o.recovery_bytes > 0) {
        RecoveryOptions ro;
        ro.data_dir_bytes = o.recovery_bytes;
        ro.catch_up_values = o.recovery_catch_up;
        RecoveryResult r = run_recovery(
            *ensemble,
            [&](const std::vector<std::string>& servers, int tag) {
                return system == "chorus" ? chorus_driver(servers, tag)
                                          : zookeeper_driver(servers, tag);
            },
            ro, [&](const std::string& s) { phase(system + ": " + s); });
        if (!r.error.empty()) phase(system + ": recovery stopped: " + r.error);
        ordered_json row = new_row("recovery", ro.window);
        row["connections"] = 1;
        row["payload_bytes"] = ro.value_bytes;
        row["ops_per_s"] = r.fill_values_per_s;  // writes while filling
        row["p50_ms"] = nullptr;
        row["p99_ms"] = nullptr;
        row["p999_ms"] = nullptr;
        row["failed"] = r.failed;
        row["recovery_bytes"] = o.recovery_bytes;  // asked for
        row["catch_up_values"] = ro.catch_up_values;
        row["server"] = r.server;
        row["keys"] = r.keys;
        row["state_bytes"] = r.state_bytes;
        row["values_written"] = r.values_written;
        row["fill_seconds"] = r.fill_seconds;
        row["data_dir_bytes"] = r.data_dir_bytes;
        // null: not measured (see "error").
        row["recovery_ms"] = r.recovery_ms > 0 ? ordered_json(r.recovery_ms) : nullptr;
        row["first_read_ms"] = r.first_read_ms > 0 ? ordered_json(r.first_read_ms) : nullptr;
        if (!r.error.empty()) row["error"] = r.error;
        add_row(std::move(row));
    }
    drivers.clear();
    phase(system + ": stopping its servers");
    ensemble->stop_all();
    return rows;
}

const ordered_json* find(const std::vector<ordered_json>& rows, const std::string& system,
                         const std::string& workload, int window, int payload) {
    for (const auto& r : rows) {
        if (r["system"] == system && r["workload"] == workload && r["window"] == window &&
            r["payload_bytes"] == payload)
            return &r;
    }
    return nullptr;
}

bool measured(const Options& o, const std::string& system) {
    return std::find(o.systems.begin(), o.systems.end(), system) != o.systems.end();
}

void print_table(const std::vector<ordered_json>& rows, const Options& o) {
    // Each other system against ZooKeeper, when ZooKeeper was measured.
    std::vector<std::string> compared;
    if (measured(o, "zookeeper")) {
        for (const auto& s : o.systems) {
            if (s != "zookeeper") compared.push_back(s);
        }
    }
    std::vector<std::vector<std::string>> t;
    std::vector<std::string> head = {"workload", "payload", "window"};
    for (const auto& s : o.systems) {
        for (const char* col : {" ops/s", " p50 ms", " p99 ms", " p99.9 ms"})
            head.push_back(s + col);
    }
    for (const auto& s : compared) {
        // With chorus alone against ZooKeeper, the columns keep their names.
        const std::string prefix = compared.size() == 1 ? "" : s + " ";
        head.push_back(prefix + "ops ratio");
        head.push_back(prefix + "p99 ratio");
    }
    t.push_back(head);
    std::vector<std::pair<std::string, int>> kinds;
    for (int payload : o.payloads) kinds.emplace_back("write", payload);
    if (o.reads) {
        kinds.emplace_back("read", o.payloads.back());
        kinds.emplace_back("sync_read", o.payloads.back());
    }
    if (o.churn) kinds.emplace_back("churn", 0);
    for (const auto& [kind, payload] : kinds) {
        for (int window : o.windows) {
            std::vector<std::string> row = {kind, std::to_string(payload) + " B",
                                            std::to_string(window)};
            for (const auto& s : o.systems) {
                const ordered_json* r = find(rows, s, kind, window, payload);
                if (!r) {
                    row.insert(row.end(), {"-", "-", "-", "-"});
                    continue;
                }
                row.push_back(fmt((*r)["ops_per_s"], 0));
                row.push_back(fmt((*r)["p50_ms"], 2));
                row.push_back(fmt((*r)["p99_ms"], 2));
                row.push_back(fmt((*r)["p999_ms"], 2));
            }
            const ordered_json* z = find(rows, "zookeeper", kind, window, payload);
            for (const auto& s : compared) {
                const ordered_json* c = find(rows, s, kind, window, payload);
                if (!c || !z) {
                    row.insert(row.end(), {"-", "-"});
                    continue;
                }
                row.push_back(fmt((*c)["ops_per_s"].get<double>() /
                                      std::max(1.0, (*z)["ops_per_s"].get<double>()),
                                  2) +
                              "x");
                row.push_back(
                    fmt((*c)["p99_ms"].get<double>() / std::max(1e-9, (*z)["p99_ms"].get<double>()),
                        2) +
                    "x");
            }
            t.push_back(row);
        }
    }
    std::vector<size_t> width;
    for (const auto& r : t) {
        width.resize(std::max(width.size(), r.size()));
        for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    }
    std::printf("\n");
    for (const auto& r : t) {
        std::string line;
        for (size_t i = 0; i < r.size(); ++i)
            line += std::string(width[i] - r[i].size() + (i ? 2 : 0), ' ') + r[i];
        std::printf("%s\n", line.c_str());
    }
    for (const auto& s : o.systems) {
        for (const auto& r : rows) {
            if (r["system"] == s &&
                (r["workload"] == "failover" || r["workload"] == "failover-sigterm")) {
                const bool term = r["workload"] == "failover-sigterm";
                std::printf(
                    "failover %-9s  %zu %s: writes stopped for %.0f ms on average "
                    "(%.0f ms at most); first write %.0f ms after the signal\n",
                    s.c_str(), r["kills"].get<size_t>(), term ? "SIGTERM(s)" : "kill(s)",
                    r["unavailable_ms"].get<double>(), r["unavailable_ms_max"].get<double>(),
                    r["first_write_ms"].get<double>());
            }
        }
    }
}

void print_sessions(const std::vector<ordered_json>& rows) {
    bool header = false;
    for (const auto& r : rows) {
        if (r["workload"] != "sessions") continue;
        if (!header) {
            std::printf("\n%-10s %9s %12s %16s %16s %19s %22s\n", "sessions", "count", "creates/s",
                        "log B/create", "log B/expire", "log B/heartbeat", "leader B/session");
            header = true;
        }
        std::printf("%-10s %9d %12.0f %16.1f %16.1f %19.3f %22.0f\n",
                    r["system"].get<std::string>().c_str(), r["sessions"].get<int>(),
                    r["ops_per_s"].get<double>(), r["log_bytes_per_create"].get<double>(),
                    r["log_bytes_per_expire"].get<double>(),
                    r["log_bytes_per_heartbeat"].get<double>(),
                    r["leader_bytes_per_session"].get<double>());
    }
}

void print_recovery(const std::vector<ordered_json>& rows) {
    const ordered_json *c = nullptr, *z = nullptr;
    bool header = false;
    for (const auto& r : rows) {
        if (r["workload"] != "recovery") continue;
        if (!header) {
            std::printf("\n%-10s %8s %14s %11s %8s %12s %17s %15s\n", "recovery", "server",
                        "data dir MiB", "state MiB", "values", "fill MiB/s", "back in quorum ms",
                        "first read ms");
            header = true;
        }
        auto ms = [&](const char* key) {
            return r[key].is_null() ? std::string("-") : fmt(r[key].get<double>(), 0);
        };
        const double mib = 1 << 20;
        std::printf(
            "%-10s %8d %14.0f %11.0f %8llu %12.1f %17s %15s%s\n",
            r["system"].get<std::string>().c_str(), r["server"].get<int>(),
            r["data_dir_bytes"].get<double>() / mib, r["state_bytes"].get<double>() / mib,
            static_cast<unsigned long long>(r["values_written"].get<uint64_t>()),
            r["ops_per_s"].get<double>() * r["payload_bytes"].get<double>() / mib,
            ms("recovery_ms").c_str(), ms("first_read_ms").c_str(),
            r.contains("error") ? ("  (" + r["error"].get<std::string>() + ")").c_str() : "");
        if (!r.contains("error") && r["system"] == "chorus") c = &r;
        if (!r.contains("error") && r["system"] == "zookeeper") z = &r;
    }
    if (c && z) {
        std::printf("%-10s %8s %14s %11s %8s %12s %16.2fx %14.2fx\n", "ratio", "", "", "", "", "",
                    (*c)["recovery_ms"].get<double>() / (*z)["recovery_ms"].get<double>(),
                    (*c)["first_read_ms"].get<double>() / (*z)["first_read_ms"].get<double>());
    }
}

// The goals of docs/benchmarks.md that this run can judge, plainly.
void print_goals(const std::vector<ordered_json>& rows, const Options& o) {
    if (!measured(o, "chorus") || !measured(o, "zookeeper")) return;
    const int p = 100;
    std::printf("\ngoals (chorus vs ZooKeeper, %d server%s, %d-byte writes):\n", o.servers,
                o.servers == 1 ? "" : "s", p);
    auto judge = [](bool met) { return met ? "met" : "NOT met"; };
    const auto* c256 = find(rows, "chorus", "write", 256, p);
    const auto* z256 = find(rows, "zookeeper", "write", 256, p);
    if (c256 && z256) {
        const double ratio =
            (*c256)["ops_per_s"].get<double>() / std::max(1.0, (*z256)["ops_per_s"].get<double>());
        std::printf("  write throughput at window 256 >= 5x ZooKeeper's: %.2fx — %s\n", ratio,
                    judge(ratio >= 5));
    }
    const auto* c1 = find(rows, "chorus", "write", 1, p);
    const auto* z1 = find(rows, "zookeeper", "write", 1, p);
    if (c1 && z1) {
        const double ratio =
            (*c1)["p99_ms"].get<double>() / std::max(1e-9, (*z1)["p99_ms"].get<double>());
        std::printf("  p99 latency at window 1 <= half of ZooKeeper's: %.2fx — %s\n", ratio,
                    judge(ratio <= 0.5));
    }
    const ordered_json *cf = nullptr, *zf = nullptr;
    for (const auto& r : rows) {
        if (r["workload"] == "failover" && r["system"] == "chorus") cf = &r;
        if (r["workload"] == "failover" && r["system"] == "zookeeper") zf = &r;
    }
    // Sessions: the largest count both systems ran.
    const ordered_json *cs = nullptr, *zs = nullptr;
    for (const auto& r : rows) {
        if (r["workload"] != "sessions") continue;
        for (const auto& q : rows) {
            if (q["workload"] == "sessions" && q["system"] == "zookeeper" &&
                q["sessions"] == r["sessions"] && r["system"] == "chorus" &&
                (!cs || r["sessions"].get<int>() > (*cs)["sessions"].get<int>())) {
                cs = &r;
                zs = &q;
            }
        }
    }
    if (cs && zs) {
        const int n = (*cs)["sessions"];
        const double creates =
            (*cs)["ops_per_s"].get<double>() / std::max(1.0, (*zs)["ops_per_s"].get<double>());
        std::printf("  session creates per second >= 10x ZooKeeper's (%d sessions): %.2fx — %s\n",
                    n, creates, judge(creates >= 10));
        const double c_bytes = (*cs)["log_bytes_per_create"].get<double>() +
                               (*cs)["log_bytes_per_expire"].get<double>();
        const double z_bytes = (*zs)["log_bytes_per_create"].get<double>() +
                               (*zs)["log_bytes_per_expire"].get<double>();
        std::printf("  log bytes per session create + expire <= ZooKeeper's: %.1f vs %.1f — %s\n",
                    c_bytes, z_bytes, judge(c_bytes <= z_bytes));
        const double hb = (*cs)["log_bytes_per_heartbeat"].get<double>();
        std::printf("  zero log bytes per heartbeat: %.3f — %s\n", hb, judge(hb == 0));
        const double c_mem = (*cs)["leader_bytes_per_session"].get<double>();
        const double z_mem = (*zs)["leader_bytes_per_session"].get<double>();
        if (c_mem > 0 && z_mem > 0) {
            std::printf("  sessions per GiB of leader memory >= 5x ZooKeeper's: %.2fx — %s\n",
                        z_mem / c_mem, judge(z_mem / c_mem >= 5));
        }
    }
    if (cf && zf) {
        const double ratio = (*cf)["unavailable_ms"].get<double>() /
                             std::max(1e-9, (*zf)["unavailable_ms"].get<double>());
        std::printf("  failover unavailability <= 1/5 of ZooKeeper's: %.2fx — %s\n", ratio,
                    judge(ratio <= 0.2));
    }
}

void plot(const std::vector<ordered_json>& rows, const Options& o) {
    if (o.plot_file.empty()) return;
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        phase("gnuplot is not installed (Debian package gnuplot-nox): no plot");
        return;
    }
    const std::string data = o.workdir + "/plot.dat", script = o.workdir + "/plot.gp";
    std::ofstream d(data);
    for (const auto& s : o.systems) {
        d << "# " << s << "\n";
        for (const auto& r : rows) {
            if (r["system"] == s && r["workload"] == "write" && r["payload_bytes"] == o.payloads[0])
                d << r["ops_per_s"].get<double>() << " " << r["p99_ms"].get<double>() << " "
                  << r["window"].get<int>() << "\n";
        }
        d << "\n\n";
    }
    d.close();
    const bool svg = o.plot_file.size() > 4 && o.plot_file.substr(o.plot_file.size() - 4) == ".svg";
    std::ofstream g(script);
    g << "set terminal " << (svg ? "svg size 800,500" : "pngcairo size 800,500") << "\n"
      << "set output '" << o.plot_file << "'\n"
      << "set title 'writes of " << o.payloads[0] << " B, " << o.servers
      << " servers: throughput against p99 latency (labels: window)'\n"
      << "set xlabel 'writes/s'\nset ylabel 'p99 latency (ms)'\nset logscale y\nset grid\n"
      << "set key top left\nplot ";
    for (size_t i = 0; i < o.systems.size(); ++i) {
        g << (i ? ", " : "") << "'" << data << "' index " << i
          << " using 1:2 with linespoints title '" << o.systems[i] << "', '' index " << i
          << " using 1:2:3 with labels offset 1,1 notitle";
    }
    g << "\n";
    g.close();
    if (std::system(("gnuplot " + script).c_str()) == 0) phase("plot written to " + o.plot_file);
}

}  // namespace

int main(int argc, char** argv) {
    // The sessions workload's client process (see session_holder.h).
    if (argc == 6 && std::string(argv[1]) == "hold-sessions") {
        std::vector<std::string> servers;
        std::stringstream in(argv[5]);
        for (std::string s; std::getline(in, s, ',');) servers.push_back(s);
        return hold_sessions(argv[2], std::stoi(argv[3]), std::stoi(argv[4]), servers);
    }
    CLI::App app{
        "chorus-bench: chorus and ZooKeeper side by side, on real ensembles on this machine"};
    Options o;
    // By default chorus, chorus through its ZooKeeper front end (driven by
    // ZooKeeper's C client, as ZooKeeper is) and ZooKeeper; --quick leaves
    // out the middle one.
    std::string systems = "chorus,chorus-zk,zookeeper";
    std::string windows, payloads;
    bool keep = false;
    app.add_flag(
        "--quick", o.quick,
        "a short run: 100-byte writes at windows 1 and 256, one failover (under 2 minutes)");
    app.add_option("--systems", systems,
                   "which systems to measure: chorus, chorus-zk (chorus via ZooKeeper's protocol, "
                   "driven by ZooKeeper's C client), zookeeper (default without --quick: all "
                   "three)")
        ->capture_default_str();
    app.add_option("--servers", o.servers, "servers per ensemble")
        ->capture_default_str()
        ->check(CLI::IsMember({1, 3, 5}));
    app.add_option("--connections", o.connections, "client connections for windows above 1")
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
    app.add_option("--windows", windows, "writes in flight, e.g. 1,32,256 (default by mode)");
    app.add_option("--payloads", payloads, "value sizes in bytes, e.g. 100,1024 (default by mode)");
    app.add_option("--seconds", o.seconds, "measured seconds per point (default by mode)");
    app.add_option("--warmup", o.warmup, "unmeasured seconds before each point")
        ->capture_default_str();
    app.add_option("--system-warmup", o.system_warmup,
                   "unmeasured seconds of writes before a system's first point (default by mode)");
    std::string reads_flag;
    app.add_option("--reads", reads_flag,
                   "read and sync+read workloads: on or off (default: on, "
                   "off with --quick)")
        ->check(CLI::IsMember({"on", "off"}));
    std::string churn_flag;
    app.add_option("--churn", churn_flag,
                   "ephemeral churn (members joining and leaving a group, every connection "
                   "watching it): on or off (default: on, off with --quick)")
        ->check(CLI::IsMember({"on", "off"}));
    std::string sessions;
    app.add_option("--sessions", sessions,
                   "session counts for the sessions workload, e.g. 1000,10000 (default by mode; "
                   "0: none)");
    app.add_option("--zookeeper-max-sessions", o.zookeeper_max_sessions,
                   "the most sessions asked of ZooKeeper (each is a client handle with two "
                   "threads and three file descriptors; 4,000 per client process)")
        ->capture_default_str();
    app.add_option("--session-timeout-ms", o.session_timeout_ms,
                   "sessions workload timeout (ZooKeeper's floor is 2 x tickTime = 4000)")
        ->capture_default_str();
    app.add_option("--kills", o.kills, "leader kills in the failover workload (default by mode)");
    app.add_option("--failover-stop", o.failover_stop,
                   "how the failover workload stops the leader: kill (SIGKILL), term (SIGTERM: a "
                   "chorus leader hands leadership over first) or both")
        ->check(CLI::IsMember({"kill", "term", "both"}))
        ->capture_default_str();
    app.add_option("--server-arg", o.server_args,
                   "an argument appended to every chorus-server's command line (repeatable), "
                   "e.g. --server-arg=--transfer-on-stop=false");
    std::string recovery_help =
        "the recovery workload: fill a follower's data directory to this size (e.g. 64M, 1G), "
        "SIGKILL it, restart it and time its way back into the quorum (default: 1G, 0 with "
        "--quick; 0: none)";
    app.add_option("--recovery-bytes", o.recovery_bytes, recovery_help)
        ->transform(CLI::AsSizeValue(false));
    app.add_option("--recovery-catch-up", o.recovery_catch_up,
                   "the recovery workload: 64 KiB values written while the follower is down, for "
                   "it to catch up on")
        ->check(CLI::Range(0, 100000))
        ->capture_default_str();
    app.add_option("--json", o.json_file, "write the results as JSON to this file");
    app.add_option("--plot", o.plot_file,
                   "draw throughput against p99 latency (.png or .svg; gnuplot)");
    app.add_option("--chorus-server", o.chorus_server,
                   "the chorus-server binary (default: the one built beside this program)");
    app.add_option("--workdir", o.workdir,
                   "where data directories and logs go (default: a new /tmp dir)");
    app.add_flag("--keep", keep, "keep the work directory (logs) afterwards");
    CLI11_PARSE(app, argc, argv);

    auto split_ints = [](const std::string& text, std::vector<int> fallback) {
        std::vector<int> out;
        std::stringstream in(text);
        for (std::string item; std::getline(in, item, ',');)
            if (!item.empty()) out.push_back(std::stoi(item));
        return out.empty() ? fallback : out;
    };
    o.windows =
        split_ints(windows, o.quick ? std::vector<int>{1, 256} : std::vector<int>{1, 32, 256});
    o.payloads =
        split_ints(payloads, o.quick ? std::vector<int>{100} : std::vector<int>{100, 1024});
    if (o.seconds <= 0) o.seconds = o.quick ? 3 : 10;
    if (o.kills < 0) o.kills = o.quick ? 1 : 5;
    o.reads = reads_flag.empty() ? !o.quick : reads_flag == "on";
    o.churn = churn_flag.empty() ? !o.quick : churn_flag == "on";
    o.sessions = split_ints(
        sessions, o.quick ? std::vector<int>{} : std::vector<int>{1000, 4000, 10000, 100000});
    std::erase(o.sessions, 0);
    if (o.system_warmup < 0) o.system_warmup = o.quick ? 3 : 10;
    if (app.count("--recovery-bytes") == 0) o.recovery_bytes = o.quick ? 0 : 1ull << 30;
    if (o.chorus_server.empty())
        o.chorus_server = (fs::path(argv[0]).parent_path() / ".." / "chorus-server").string();
    if (!fs::exists(o.chorus_server)) {
        std::fprintf(stderr, "chorus-bench: no chorus-server at %s (use --chorus-server)\n",
                     o.chorus_server.c_str());
        return 2;
    }
    if (o.quick && app.count("--systems") == 0) systems = "chorus,zookeeper";
    std::stringstream in(systems);
    for (std::string s; std::getline(in, s, ',');) {
        if (s == "chorus") {
            o.systems.push_back(s);
        } else if (s == "chorus-zk") {
            if (zookeeper_client_built()) {
                o.systems.push_back(s);
            } else {
                phase(
                    "chorus-zk is left out: this chorus-bench was built without ZooKeeper's C "
                    "client, which drives it (install libzookeeper-mt-dev, then rebuild)");
            }
        } else if (s == "zookeeper") {
            std::string why;
            if (!zookeeper_client_built()) {
                phase(
                    "ZooKeeper is left out: this chorus-bench was built without ZooKeeper's C "
                    "client (install libzookeeper-mt-dev and zookeeper, e.g. ./chorus.sh "
                    "install-zookeeper, then rebuild)");
            } else if (!zookeeper_installed(&why)) {
                phase("ZooKeeper is left out: " + why +
                      " (./chorus.sh install-zookeeper installs it)");
            } else {
                o.systems.push_back(s);
            }
        } else if (!s.empty()) {
            std::fprintf(stderr, "chorus-bench: unknown system '%s'\n", s.c_str());
            return 2;
        }
    }
    if (o.systems.empty()) {
        std::fprintf(stderr, "chorus-bench: no system to measure\n");
        return 2;
    }
    if (o.workdir.empty()) {
        std::string pattern = "/tmp/chorus-bench-XXXXXX";
        o.workdir = ::mkdtemp(pattern.data());
    }
    fs::create_directories(o.workdir);
    const ordered_json host = machine();
    phase("measuring " + std::to_string(o.systems.size()) + " system(s) on " +
          std::to_string(host["cores"].get<unsigned>()) + " cores; work directory " + o.workdir);

    std::vector<ordered_json> rows;
    for (const std::string& s : o.systems) {
        auto r = measure(s, o, host);
        rows.insert(rows.end(), r.begin(), r.end());
    }
    print_table(rows, o);
    print_sessions(rows);
    print_recovery(rows);
    print_goals(rows, o);
    if (!o.json_file.empty()) {
        std::ofstream(o.json_file) << ordered_json(rows).dump(2) << "\n";
        phase("results written to " + o.json_file);
    }
    plot(rows, o);
    if (!keep) fs::remove_all(o.workdir);
    bool all = true;
    for (const auto& s : o.systems) {
        bool any = false;
        for (const auto& r : rows) any = any || r["system"] == s;
        all = all && any;
    }
    return all ? 0 : 1;
}
