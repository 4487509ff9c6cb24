// registry-bench: the master registry's figures (issue 16, docs/benchmarks.md,
// "The master registry"), on real processes on 127.0.0.1:
//
//   - lookups/s and p50/p99 of GetActiveMaster through RegistryClient,
//     uncached (every lookup asks a master) and cached (the staleness bound
//     is 1 s), against 1 and against 3 masters;
//   - the same lookup done the old way, for the ratio: ZooKeeper's C client
//     reading a node like /hbase/master from a three-server ZooKeeper 3.8
//     ensemble (when installed);
//   - registrations/s: ephemeral /hbase/rs/<name> creates through the
//     masters' client ports;
//   - active-master failover: the active master SIGKILLed, until a client
//     sees the next one (several times);
//   - a rolling restart of every master under continuous lookups: its
//     duration, failed lookups and the lookups' p99 meanwhile.
//
//   registry-bench --bin build/examples [--seconds 5] [--clients 8] [--json FILE]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "bench/harness/driver.h"
#include "bench/harness/ensemble.h"
#include "client/client.h"
#include "examples/registry/registry_client.h"
#include "net/http_client.h"
#include "tests/support/process.h"

namespace {

using chorus::registry::RegistryClient;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
namespace fs = std::filesystem;

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

struct Figures {
    uint64_t ops = 0, failed = 0;
    double seconds = 0, p50_ms = 0, p99_ms = 0;
    double per_second() const { return seconds > 0 ? ops / seconds : 0; }
    json to_json() const {
        return {{"ops", ops},         {"failed", failed},
                {"seconds", seconds}, {"ops_per_s", per_second()},
                {"p50_ms", p50_ms},   {"p99_ms", p99_ms}};
    }
};

Figures summarize(std::vector<double> latencies, uint64_t failed, double seconds) {
    Figures f;
    f.ops = latencies.size();
    f.failed = failed;
    f.seconds = seconds;
    if (!latencies.empty()) {
        std::sort(latencies.begin(), latencies.end());
        f.p50_ms = latencies[latencies.size() / 2];
        f.p99_ms = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
    }
    return f;
}

// Unmeasured time before each point: connections made, caches and JITs warm.
double warmup_seconds = 2;

// `clients` threads each running `one()` (true: it succeeded) for
// warmup_seconds unmeasured, then `seconds` measured; one() times itself out.
Figures run_clients(int clients, double seconds,
                    const std::function<std::function<bool()>(int)>& make) {
    std::vector<std::vector<double>> latencies(clients);
    std::atomic<uint64_t> failed{0};
    const auto at = [](double s) {
        return Clock::now() +
               std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
    };
    const Clock::time_point start = at(warmup_seconds);
    const Clock::time_point until = start + (at(seconds) - Clock::now());
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            auto one = make(c);
            while (Clock::now() < start) one();
            while (Clock::now() < until) {
                const auto t0 = Clock::now();
                if (one()) {
                    latencies[c].push_back(ms_between(t0, Clock::now()));
                } else {
                    ++failed;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    std::vector<double> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    return summarize(std::move(all), failed.load(), ms_between(start, Clock::now()) / 1000);
}

// Masters (and the data they hold) on loopback, as registry-bench starts them.
class Masters {
 public:
    Masters(std::string bin, std::string dir, int n) : bin_(std::move(bin)), dir_(std::move(dir)) {
        fs::create_directories(dir_);
        for (int id = 1; id <= n; ++id) {
            Port& p = ports_[id];
            p.peer = chorus::testing::free_port();
            p.lookups = chorus::testing::free_port();
            p.http = chorus::testing::free_port();
            p.client = chorus::testing::free_port();
            peers_ += (peers_.empty() ? "" : ",") + std::to_string(id) +
                      "=127.0.0.1:" + std::to_string(p.peer);
        }
        for (auto& [id, p] : ports_) start(id, true);
    }
    ~Masters() {
        for (auto& [id, p] : processes_) p.terminate(10000);
    }
    void start(int id, bool bootstrap) {
        const Port& p = ports_.at(id);
        std::vector<std::string> argv = {bin_ + "/registry-master",
                                         "--id",
                                         std::to_string(id),
                                         "--peers",
                                         peers_,
                                         "--data-dir",
                                         dir_ + "/master" + std::to_string(id),
                                         "--registry",
                                         "127.0.0.1:" + std::to_string(p.lookups),
                                         "--http",
                                         "127.0.0.1:" + std::to_string(p.http),
                                         "--client",
                                         "127.0.0.1:" + std::to_string(p.client)};
        if (bootstrap) argv.push_back("--bootstrap");
        processes_[id].start(argv, dir_ + "/master" + std::to_string(id) + ".log");
    }
    bool ready(int id) {
        chorus::net::HttpClient c("127.0.0.1:" + std::to_string(ports_.at(id).http), 1000);
        return c.request("GET", "/ready").status == 200;
    }
    bool wait_ready(int timeout_ms = 30000) {
        const auto until = Clock::now() + std::chrono::milliseconds(timeout_ms);
        while (Clock::now() < until) {
            bool all = true;
            for (auto& [id, p] : processes_) all = all && (!p.running() || ready(id));
            if (all) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    }
    std::vector<std::string> lookups() const {
        std::vector<std::string> out;
        for (const auto& [id, p] : ports_) out.push_back("127.0.0.1:" + std::to_string(p.lookups));
        return out;
    }
    std::vector<std::string> clients() const {
        std::vector<std::string> out;
        for (const auto& [id, p] : ports_) out.push_back("127.0.0.1:" + std::to_string(p.client));
        return out;
    }
    // The id whose lookup port the active master's name holds (0: none).
    int id_of(uint16_t lookup_port) const {
        for (const auto& [id, p] : ports_)
            if (p.lookups == lookup_port) return id;
        return 0;
    }
    chorus::testing::ChildProcess& process(int id) { return processes_[id]; }
    int size() const { return static_cast<int>(ports_.size()); }

 private:
    struct Port {
        uint16_t peer = 0, lookups = 0, http = 0, client = 0;
    };
    std::string bin_, dir_, peers_;
    std::map<int, Port> ports_;
    std::map<int, chorus::testing::ChildProcess> processes_;
};

Figures lookups(const std::vector<std::string>& masters, int clients, double seconds, bool cached) {
    return run_clients(clients, seconds, [&](int c) {
        auto client = std::make_shared<RegistryClient>(chorus::registry::RegistryClientOptions{
            .masters = masters, .cache_ttl_ms = cached ? 1000u : 0u, .seed = uint64_t(c + 1)});
        return [client] { return client->active_master().is_ok(); };
    });
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"registry-bench: the master registry's lookups, registrations and failovers"};
    std::string bin = "build/examples", json_file;
    double seconds = 5;
    int clients = 8, failovers = 3;
    app.add_option("--bin", bin, "where registry-master is")->capture_default_str();
    app.add_option("--seconds", seconds, "per point")->capture_default_str();
    app.add_option("--clients", clients, "client threads per point")->capture_default_str();
    app.add_option("--failovers", failovers, "active masters killed")->capture_default_str();
    app.add_option("--json", json_file, "also write the figures here");
    app.add_option("--warmup", warmup_seconds, "unmeasured seconds before each point")
        ->capture_default_str();
    bool no_zookeeper = false;
    app.add_flag("--no-zookeeper", no_zookeeper, "leave out the ZooKeeper point");
    CLI11_PARSE(app, argc, argv);
    const std::string work =
        fs::temp_directory_path() / ("registry-bench-" + std::to_string(::getpid()));
    fs::create_directories(work);
    json out = {{"seconds", seconds}, {"clients", clients}};
    std::printf("registry-bench: %d client threads, %.0f s per point, on %u cores\n", clients,
                seconds, std::thread::hardware_concurrency());

    const auto row = [](const char* what, const Figures& f) {
        std::printf("%-44s %10.0f/s  p50 %6.3f ms  p99 %6.3f ms  failed %llu\n", what,
                    f.per_second(), f.p50_ms, f.p99_ms, static_cast<unsigned long long>(f.failed));
    };
    for (int n : {1, 3}) {
        Masters masters(bin, work + "/m" + std::to_string(n), n);
        if (!masters.wait_ready()) {
            std::fprintf(stderr, "registry-bench: %d master(s) not ready; logs in %s\n", n,
                         work.c_str());
            return 1;
        }
        const std::string tag = std::to_string(n) + (n == 1 ? " master" : " masters");
        Figures uncached = lookups(masters.lookups(), clients, seconds, false);
        row(("lookups, uncached, " + tag).c_str(), uncached);
        Figures cached = lookups(masters.lookups(), clients, seconds, true);
        row(("lookups, cached (1 s bound), " + tag).c_str(), cached);
        out["lookups"][tag] = {{"uncached", uncached.to_json()}, {"cached", cached.to_json()}};
        if (n != 3) continue;

        // Registrations: ephemeral region-server nodes, one session per thread.
        std::atomic<int> next{0};
        Figures reg = run_clients(clients, seconds, [&](int) {
            auto c = std::make_shared<chorus::SyncClient>(
                chorus::ClientOptions{.servers = masters.clients()});
            auto session = std::make_shared<uint64_t>(c->open_session().value);
            return [c, session, &next] {
                const std::string name = "bench-" + std::to_string(next++) + ",16020,1";
                return c
                    ->write(*session, {chorus::ClientOp::create("/hbase/rs/" + name, "{}", true)})
                    .ok();
            };
        });
        row("registrations (ephemeral /hbase/rs creates)", reg);
        out["registrations"] = reg.to_json();

        // Failovers: SIGKILL the active master, until a client sees another.
        json fo = json::array();
        for (int round = 0; round < failovers; ++round) {
            RegistryClient client({.masters = masters.lookups(),
                                   .hedge = 2,
                                   .timeout_ms = 10000,
                                   .attempt_timeout_ms = 300,
                                   .cache_ttl_ms = 0});
            auto active = client.active_master();
            if (!active.is_ok()) break;
            const int victim = masters.id_of(active.value().port);
            const auto killed = Clock::now();
            masters.process(victim).kill();
            double ms = -1;
            while (ms_between(killed, Clock::now()) < 30000) {
                auto now = client.active_master();
                if (now.is_ok() && now.value().port != active.value().port) {
                    ms = ms_between(killed, Clock::now());
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
            std::printf("%-44s %10.0f ms\n",
                        ("failover " + std::to_string(round + 1) +
                         ": active master SIGKILLed, next one seen")
                            .c_str(),
                        ms);
            fo.push_back(ms);
            masters.start(victim, false);
            masters.wait_ready();
        }
        out["failover_ms"] = fo;

        // A rolling restart under continuous lookups (8 threads, uncached).
        std::atomic<bool> rolling{true};
        std::vector<double> during;
        std::atomic<uint64_t> failed{0};
        std::mutex mu;
        std::map<std::string, uint64_t> reasons;
        std::vector<std::thread> lookers;
        for (int c = 0; c < clients; ++c) {
            lookers.emplace_back([&, c] {
                RegistryClient client({.masters = masters.lookups(),
                                       .hedge = 2,
                                       .timeout_ms = 5000,
                                       .attempt_timeout_ms = 300,
                                       .cache_ttl_ms = 0,
                                       .seed = uint64_t(c + 1)});
                std::vector<double> mine;
                while (rolling) {
                    const auto t0 = Clock::now();
                    auto a = client.active_master();
                    if (a.is_ok()) {
                        mine.push_back(ms_between(t0, Clock::now()));
                    } else {
                        ++failed;
                        std::lock_guard lock(mu);
                        ++reasons[a.status().str()];
                    }
                }
                std::lock_guard lock(mu);
                during.insert(during.end(), mine.begin(), mine.end());
            });
        }
        const auto roll_start = Clock::now();
        RegistryClient probe({.masters = masters.lookups(), .cache_ttl_ms = 0});
        const int active = masters.id_of(probe.active_master().value().port);
        std::vector<int> order;
        for (int id = 1; id <= masters.size(); ++id)
            if (id != active) order.push_back(id);
        order.push_back(active);
        for (int id : order) {
            masters.process(id).terminate(10000);
            masters.start(id, false);
            masters.wait_ready();
        }
        const double roll_s = ms_between(roll_start, Clock::now()) / 1000;
        rolling = false;
        for (auto& t : lookers) t.join();
        Figures roll = summarize(during, failed.load(), roll_s);
        std::printf("%-44s %10.1f s   %llu lookups, %llu failed, p99 %.3f ms\n",
                    "rolling restart of 3 masters under lookups", roll_s,
                    static_cast<unsigned long long>(roll.ops),
                    static_cast<unsigned long long>(roll.failed), roll.p99_ms);
        for (const auto& [why, n] : reasons)
            std::printf("    %llu failed: %s\n", static_cast<unsigned long long>(n), why.c_str());
        out["rolling_restart"] = roll.to_json();
        out["lookups_3_masters_uncached"] = uncached.to_json();
    }

    // The old way: reading the master's node from an external ZooKeeper.
    std::string why = "--no-zookeeper";
    if (no_zookeeper || !chorus::bench::zookeeper_client_built() ||
        !chorus::bench::zookeeper_installed(&why)) {
        std::printf("ZooKeeper: not measured (%s)\n", chorus::bench::zookeeper_client_built()
                                                          ? why.c_str()
                                                          : "built without its C client");
    } else {
        auto zk = chorus::bench::zookeeper_ensemble(work + "/zk", 3);
        if (!zk->start_all(60000)) {
            std::fprintf(stderr, "registry-bench: ZooKeeper did not start: %s\n",
                         zk->error().c_str());
        } else {
            Figures f = run_clients(clients, seconds, [&](int c) {
                std::shared_ptr<chorus::bench::Driver> d =
                    chorus::bench::zookeeper_driver(zk->client_addresses(), c);
                std::string error;
                if (!d->connect(10000, &error) ||
                    !d->prepare(1, "127.0.0.1,16000,1796189594078", &error))
                    std::fprintf(stderr, "registry-bench: ZooKeeper client: %s\n", error.c_str());
                return [d] {
                    auto done = std::make_shared<std::promise<bool>>();
                    d->read(0, false, [done](bool ok) { done->set_value(ok); });
                    return done->get_future().get();
                };
            });
            row("the old way: zoo_get of the master's node, ZK 3.8", f);
            out["zookeeper_reads"] = f.to_json();
            const double uncached = out["lookups_3_masters_uncached"]["ops_per_s"];
            std::printf("ratio, uncached lookups against 3 masters / ZooKeeper reads: %.2fx\n",
                        f.per_second() > 0 ? uncached / f.per_second() : 0.0);
            zk->stop_all();
        }
    }
    if (!json_file.empty()) std::ofstream(json_file) << out.dump(2) << "\n";
    std::error_code ec;
    fs::remove_all(work, ec);
    return 0;
}
