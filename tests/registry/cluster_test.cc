// The master registry as users run it (issue 16): three registry-master
// processes on 127.0.0.1 forming their own chorus ensemble, five
// registry-server processes registering through them, and RegistryClients
// looking up all the time — failovers, killed and stopped processes, a meta
// race, rolling restarts, a new master list, bad input.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "examples/registry/registry_client.h"
#include "net/http_client.h"
#include "tests/support/eventually.h"
#include "tests/support/process.h"
#include "tests/support/process_env.h"
#include "tests/support/raw_connection.h"
#include "tests/support/temp_dir.h"

namespace chorus::registry {
namespace {

using json = nlohmann::json;
using testing::binary;
using testing::ChildProcess;
using testing::eventually;
using testing::ms_since;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

std::string address(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

json get_json(uint16_t port, const std::string& target, int* status = nullptr) {
    net::HttpClient client(address(port), 2000);
    auto r = client.request("GET", target);
    if (status != nullptr) *status = r.status;
    return json::parse(r.body, nullptr, false);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

class RegistryCluster {
 public:
    static constexpr int kMasters = 3;
    static constexpr int kSessionMs = 500;         // the masters' own sessions
    static constexpr int kServerSessionMs = 1000;  // the region servers'

    explicit RegistryCluster(int region_servers = 5) {
        for (int id = 1; id <= kMasters; ++id) {
            Master& m = masters_[id];
            m.peer = testing::free_port();
            m.lookups = testing::free_port();
            m.http = testing::free_port();
            m.client = testing::free_port();
            peers_ +=
                (peers_.empty() ? "" : ",") + std::to_string(id) + "=" + address(masters_[id].peer);
        }
        for (int id = 1; id <= kMasters; ++id) start_master(id, /*bootstrap=*/true);
        EXPECT_TRUE(wait_masters_ready()) << "the masters did not become ready";
        for (int i = 0; i < region_servers; ++i) add_region_server();
    }
    ~RegistryCluster() {
        if (::testing::Test::HasFailure()) print_logs();
    }

    struct Master {
        uint16_t peer = 0, lookups = 0, http = 0, client = 0;
        ChildProcess process;
    };
    struct Server {
        uint16_t port = 0, http = 0;
        ChildProcess process;
    };

    void start_master(int id, bool bootstrap) {
        Master& m = masters_[id];
        std::vector<std::string> argv = {binary("REGISTRY_MASTER", "registry-master"),
                                         "--id",
                                         std::to_string(id),
                                         "--peers",
                                         peers_,
                                         "--data-dir",
                                         dir_.sub("master" + std::to_string(id)),
                                         "--registry",
                                         address(m.lookups),
                                         "--http",
                                         address(m.http),
                                         "--client",
                                         address(m.client),
                                         "--master-session-timeout-ms",
                                         std::to_string(kSessionMs),
                                         "--min-session-timeout-ms",
                                         "400"};
        if (bootstrap) argv.push_back("--bootstrap");
        m.process.start(argv, dir_.sub("master" + std::to_string(id) + ".log"));
    }

    void start_region_server(int index) {
        Server& s = servers_[index];
        s.process.start(
            {binary("REGISTRY_SERVER", "registry-server"), "--masters", client_ports(), "--port",
             std::to_string(s.port), "--http", address(s.http), "--session-timeout-ms",
             std::to_string(kServerSessionMs), "--drain-timeout-ms", "5000", "--metadata",
             R"({"index":)" + std::to_string(index) + "}"},
            dir_.sub("server" + std::to_string(index) + ".log"));
    }
    int add_region_server() {
        const int index = static_cast<int>(servers_.size()) + 1;
        Server& s = servers_[index];
        s.port = testing::free_port();
        s.http = testing::free_port();
        start_region_server(index);
        return index;
    }

    std::string client_ports() const {
        std::string out;
        for (const auto& [id, m] : masters_) out += (out.empty() ? "" : ",") + address(m.client);
        return out;
    }
    std::vector<std::string> lookup_addresses() const {
        std::vector<std::string> out;
        for (const auto& [id, m] : masters_) out.push_back(address(m.lookups));
        return out;
    }

    Master& master(int id) { return masters_.at(id); }
    Server& server(int index) { return servers_.at(index); }
    const std::map<int, Server>& servers() const { return servers_; }

    bool master_ready(int id) {
        int status = 0;
        get_json(masters_.at(id).http, "/ready", &status);
        return status == 200;
    }
    bool wait_masters_ready(int timeout_ms = 20000) {
        return eventually(
            [&] {
                for (auto& [id, m] : masters_)
                    if (m.process.running() && !master_ready(id)) return false;
                return true;
            },
            timeout_ms);
    }
    // The master /hbase/master names, by id (0: none, or the masters
    // disagree).
    int active_id() {
        std::string named;
        for (auto& [id, m] : masters_) {
            if (!m.process.running()) continue;
            json j = get_json(m.http, "/active-master");
            if (!j.is_object() || !j.contains("active_master")) return 0;
            if (!named.empty() && named != j["active_master"]) return 0;
            named = j["active_master"];
        }
        for (auto& [id, m] : masters_)
            if (named.find("," + std::to_string(m.lookups) + ",") != std::string::npos) return id;
        return 0;
    }
    // The region servers in master `id`'s cache, by port.
    std::set<uint16_t> region_server_ports(int id) {
        std::set<uint16_t> out;
        json j = get_json(masters_.at(id).http, "/region-servers");
        if (!j.is_object() || !j.contains("region_servers")) return out;
        for (const json& s : j["region_servers"]) {
            const std::string name = s["name"];
            out.insert(static_cast<uint16_t>(std::stoi(name.substr(name.find(',') + 1))));
        }
        return out;
    }
    std::set<uint16_t> running_server_ports() const {
        std::set<uint16_t> out;
        for (const auto& [i, s] : servers_)
            if (s.process.running()) out.insert(s.port);
        return out;
    }
    // Every running master's cache holds exactly the running region servers.
    bool every_master_sees_every_server(int timeout_ms = 10000) {
        return eventually(
            [&] {
                for (auto& [id, m] : masters_)
                    if (m.process.running() && region_server_ports(id) != running_server_ports())
                        return false;
                return true;
            },
            timeout_ms);
    }

    void print_logs() const {
        std::vector<std::string> logs;
        for (const auto& [id, m] : masters_) logs.push_back("master" + std::to_string(id));
        for (const auto& [i, s] : servers_) logs.push_back("server" + std::to_string(i));
        for (const std::string& name : logs) {
            std::ifstream in(dir_.sub(name + ".log"));
            std::vector<std::string> lines;
            for (std::string line; std::getline(in, line);) lines.push_back(line);
            std::fprintf(stderr, "---- %s (last lines of its log)\n", name.c_str());
            for (size_t i = lines.size() > 15 ? lines.size() - 15 : 0; i < lines.size(); ++i)
                std::fprintf(stderr, "%s\n", lines[i].c_str());
        }
    }

    const TempDir& dir() const { return dir_; }

 private:
    TempDir dir_;
    std::string peers_;
    std::map<int, Master> masters_;
    std::map<int, Server> servers_;
};

// Lookups from a thread of its own until stopped: how many failed, and when
// each new active master was first seen.
class Lookups {
 public:
    // `pause_us` between lookups.
    Lookups(std::vector<std::string> masters, uint32_t hedge, uint64_t cache_ttl_ms,
            int pause_us = 5000)
        : pause_us_(pause_us),
          client_({.masters = std::move(masters),
                   .hedge = hedge,
                   .timeout_ms = 5000,
                   .attempt_timeout_ms = 300,
                   .cache_ttl_ms = cache_ttl_ms}),
          thread_([this] { run(); }) {}
    ~Lookups() { stop(); }

    void stop() {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }
    uint64_t done() const { return done_.load(); }
    uint64_t failed() const { return failed_.load(); }
    std::string last_failure() {
        std::lock_guard lock(mu_);
        return last_failure_;
    }
    // When `name` was first answered as the active master.
    std::optional<Clock::time_point> first_seen(uint16_t active_port) {
        std::lock_guard lock(mu_);
        auto it = first_seen_.find(active_port);
        if (it == first_seen_.end()) return std::nullopt;
        return it->second;
    }
    RegistryClient& client() { return client_; }

 private:
    void run() {
        while (!stopping_) {
            auto active = client_.active_master();
            auto servers = client_.region_servers();
            ++done_;
            std::lock_guard lock(mu_);
            if (!active.is_ok() || !servers.is_ok()) {
                ++failed_;
                last_failure_ = !active.is_ok() ? active.status().str() : servers.status().str();
            } else {
                first_seen_.emplace(active.value().port, Clock::now());
            }
            std::this_thread::sleep_for(std::chrono::microseconds(pause_us_));
        }
    }

    const int pause_us_;
    RegistryClient client_;
    std::atomic<bool> stopping_{false};
    std::atomic<uint64_t> done_{0}, failed_{0};
    std::mutex mu_;
    std::string last_failure_;
    std::map<uint16_t, Clock::time_point> first_seen_;
    std::thread thread_;
};

TEST(RegistryCluster, EveryMasterSeesEveryRegionServerAndAnswersAlike) {
    RegistryCluster cluster;
    ASSERT_TRUE(cluster.every_master_sees_every_server());
    ASSERT_TRUE(eventually([&] { return cluster.active_id() != 0; }, 5000));
    // One cluster id, made once, served by every master (also over the
    // binary protocol).
    std::set<std::string> ids;
    for (int id = 1; id <= RegistryCluster::kMasters; ++id) {
        json j = get_json(cluster.master(id).http, "/cluster-id");
        ids.insert(j.value("cluster_id", ""));
        RegistryClient one({.masters = {address(cluster.master(id).lookups)}});
        auto cid = one.cluster_id();
        ASSERT_TRUE(cid.is_ok()) << cid.status().str();
        ids.insert(cid.value());
        // One active and two backups, as each master sees it.
        auto m = one.masters();
        ASSERT_TRUE(m.is_ok());
        EXPECT_TRUE(m.value().active);
        EXPECT_EQ(m.value().backups.size(), 2u);
    }
    EXPECT_EQ(ids.size(), 1u);
    EXPECT_EQ(ids.begin()->size(), 36u);  // a UUID
    // The metadata each server registered comes back.
    RegistryClient client({.masters = cluster.lookup_addresses()});
    auto servers = client.region_servers();
    ASSERT_TRUE(servers.is_ok());
    ASSERT_EQ(servers.value().size(), 5u);
    json first = json::parse(servers.value()[0].metadata);
    EXPECT_TRUE(first.contains("index"));
    EXPECT_TRUE(first.contains("http"));
    // Health: every master and region server says ok.
    for (int id = 1; id <= RegistryCluster::kMasters; ++id) {
        int status = 0;
        json h = get_json(cluster.master(id).http, "/health", &status);
        EXPECT_EQ(status, 200) << h.dump();
        EXPECT_EQ(h["status"], "ok");
    }
    for (const auto& [i, s] : cluster.servers()) {
        int status = 0;
        json h = get_json(s.http, "/health", &status);
        EXPECT_EQ(status, 200) << h.dump();
        EXPECT_EQ(h["session"], "registered");
    }
}

// The masters' --http serves the membership routes (cli/membership_admin.h),
// as groupd's --http and chorus-server's --admin do: the membership on each,
// and leadership moved to another master while lookups go on.
TEST(RegistryCluster, EveryMasterServesTheMembershipRoutes) {
    RegistryCluster cluster(1);
    ASSERT_TRUE(cluster.every_master_sees_every_server());
    uint64_t leader = 0;
    for (int id = 1; id <= RegistryCluster::kMasters; ++id) {
        int status = 0;
        json m = get_json(cluster.master(id).http, "/membership", &status);
        ASSERT_EQ(status, 200) << m.dump();
        EXPECT_EQ(m["this"], id);
        EXPECT_EQ(m["voters"].size(), 3u) << m.dump();
        if (m["role"] == "leading") leader = id;
    }
    ASSERT_NE(leader, 0u);
    const uint64_t target = leader % RegistryCluster::kMasters + 1;
    net::HttpClient client(address(cluster.master(1).http), 30000);
    auto r = client.request("POST", "/membership/transfer-leader?id=" + std::to_string(target));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(get_json(cluster.master(target).http, "/membership")["role"], "leading");
    RegistryClient lookups({.masters = cluster.lookup_addresses()});
    auto servers = lookups.region_servers();
    ASSERT_TRUE(servers.is_ok()) << servers.status().str();
    EXPECT_EQ(servers.value().size(), 1u);
}

TEST(RegistryCluster, AKilledActiveMasterIsReplacedAndClientsSeeItWithinASecond) {
    RegistryCluster cluster(2);
    ASSERT_TRUE(cluster.every_master_sees_every_server());
    int active = 0;
    ASSERT_TRUE(eventually([&] { return (active = cluster.active_id()) != 0; }, 5000));
    Lookups lookups(cluster.lookup_addresses(), /*hedge=*/2, /*cache_ttl_ms=*/100);
    ASSERT_TRUE(eventually([&] { return lookups.done() > 10; }, 5000));
    const auto killed_at = Clock::now();
    cluster.master(active).process.kill();
    int next = 0;
    ASSERT_TRUE(eventually(
        [&] {
            next = cluster.active_id();
            return next != 0 && next != active;
        },
        10000));
    std::optional<Clock::time_point> seen;
    ASSERT_TRUE(eventually(
        [&] { return (seen = lookups.first_seen(cluster.master(next).lookups)).has_value(); },
        5000));
    const auto failover_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(*seen - killed_at).count();
    std::fprintf(stderr,
                 "failover: master %d killed, master %d active; a client saw it after %lld ms\n",
                 active, next, static_cast<long long>(failover_ms));
    EXPECT_LT(failover_ms, 1000);
    // The two others answer every lookup through it (the hedge and the
    // probing pass over the dead master).
    EXPECT_EQ(lookups.failed(), 0u) << lookups.last_failure();
}

TEST(RegistryCluster, AKilledRegionServerLeavesEveryCacheWithinItsSessionTimeout) {
    RegistryCluster cluster(3);
    ASSERT_TRUE(cluster.every_master_sees_every_server());
    const auto killed_at = Clock::now();
    cluster.server(2).process.kill();
    const uint16_t gone = cluster.server(2).port;
    ASSERT_TRUE(eventually(
        [&] {
            for (int id = 1; id <= RegistryCluster::kMasters; ++id)
                if (cluster.region_server_ports(id).count(gone)) return false;
            return true;
        },
        10000));
    const int64_t took = ms_since(killed_at);
    std::fprintf(stderr, "a killed region server left every cache after %lld ms\n",
                 static_cast<long long>(took));
    // Its timeout, and a little for the expiry tick and the polling.
    EXPECT_LT(took, RegistryCluster::kServerSessionMs + 500);
    EXPECT_TRUE(cluster.every_master_sees_every_server());
}

TEST(RegistryCluster, AStoppedMasterIsPassedOverByHedgingAndByItsTimeout) {
    RegistryCluster cluster(1);
    ASSERT_TRUE(cluster.every_master_sees_every_server());
    ASSERT_TRUE(eventually([&] { return cluster.active_id() != 0; }, 5000));
    int stopped = cluster.active_id() == 1 ? 2 : 1;  // a standby: the quorum keeps working
    cluster.master(stopped).process.signal(SIGSTOP);
    for (uint32_t hedge : {1u, 2u}) {
        for (uint64_t seed = 1; seed <= 8; ++seed) {
            RegistryClient client({.masters = cluster.lookup_addresses(),
                                   .hedge = hedge,
                                   .timeout_ms = 3000,
                                   .attempt_timeout_ms = 300,
                                   .cache_ttl_ms = 0,
                                   .seed = seed});
            const auto start = Clock::now();
            auto active = client.active_master();
            EXPECT_TRUE(active.is_ok()) << active.status().str();
            // One stopped master costs at most its attempt timeout.
            EXPECT_LT(ms_since(start), 1000) << "hedge " << hedge << " seed " << seed;
        }
    }
    cluster.master(stopped).process.signal(SIGCONT);
    EXPECT_TRUE(cluster.wait_masters_ready());
}

TEST(RegistryCluster, TwoWritersOfTheMetaLocationHaveExactlyOneWinner) {
    RegistryCluster cluster(0);
    RegistryClient a({.masters = {address(cluster.master(1).lookups)}});
    RegistryClient b({.masters = {address(cluster.master(2).lookups)}});
    int64_t version = -1;
    for (int round = 0; round < 5; ++round) {
        const ServerName for_a{.host = "rs-a", .port = 16020, .start_code = uint64_t(round)};
        const ServerName for_b{.host = "rs-b", .port = 16020, .start_code = uint64_t(round)};
        Result<MetaWrite> wa = Status::invalid_argument("unset"), wb = wa;
        std::thread ta([&] { wa = a.set_meta_location(for_a, version); });
        std::thread tb([&] { wb = b.set_meta_location(for_b, version); });
        ta.join();
        tb.join();
        ASSERT_TRUE(wa.is_ok()) << wa.status().str();
        ASSERT_TRUE(wb.is_ok()) << wb.status().str();
        ASSERT_NE(wa.value().applied, wb.value().applied) << "round " << round;
        const MetaWrite& won = wa.value().applied ? wa.value() : wb.value();
        const MetaWrite& lost = wa.value().applied ? wb.value() : wa.value();
        ASSERT_TRUE(won.now && lost.now);
        // The loser is told what won.
        EXPECT_EQ(lost.now->server.str(), won.now->server.str());
        version = won.now->version;
        auto meta = RegistryClient({.masters = cluster.lookup_addresses(), .cache_ttl_ms = 0})
                        .meta_location();
        ASSERT_TRUE(eventually(
            [&] {
                auto m = RegistryClient(
                             {.masters = {address(cluster.master(3).lookups)}, .cache_ttl_ms = 0})
                             .meta_location();
                return m.is_ok() && m.value().version == version;
            },
            5000));
    }
    EXPECT_EQ(version, 4);  // created at 0, then four sets
}

TEST(RegistryCluster, RollingEveryMasterAndServerFailsNoLookupAndLosesNoRegistration) {
    RegistryCluster cluster(3);
    ASSERT_TRUE(cluster.every_master_sees_every_server());
    ASSERT_TRUE(eventually([&] { return cluster.active_id() != 0; }, 5000));
    // Four clients: enough that some lookup falls in each election the
    // roll causes (registry-bench found lookups failing there, with every
    // master not serving, that one client had missed).
    std::vector<std::unique_ptr<Lookups>> all;
    for (int i = 0; i < 4; ++i)
        all.push_back(std::make_unique<Lookups>(cluster.lookup_addresses(), /*hedge=*/2,
                                                /*cache_ttl_ms=*/0, /*pause_us=*/0));
    Lookups& lookups = *all[0];
    // Masters: the standbys first, the active one last; each is ready
    // again before the next goes.
    std::vector<int> order;
    const int active = cluster.active_id();
    for (int id = 1; id <= RegistryCluster::kMasters; ++id)
        if (id != active) order.push_back(id);
    order.push_back(active);
    for (int id : order) {
        EXPECT_EQ(cluster.master(id).process.terminate(10000), 0) << "master " << id;
        cluster.start_master(id, /*bootstrap=*/false);
        ASSERT_TRUE(eventually([&] { return cluster.master_ready(id); }, 20000)) << id;
        ASSERT_TRUE(cluster.every_master_sees_every_server()) << "after master " << id;
    }
    // Region servers: each deregisters, comes back under a new start code.
    for (const auto& [index, s] : cluster.servers()) {
        EXPECT_EQ(cluster.server(index).process.terminate(10000), 0) << "server " << index;
        cluster.start_region_server(index);
        ASSERT_TRUE(cluster.every_master_sees_every_server()) << "after server " << index;
    }
    uint64_t done = 0;
    for (auto& l : all) {
        l->stop();
        done += l->done();
        EXPECT_EQ(l->failed(), 0u) << l->last_failure();
    }
    std::fprintf(stderr, "%llu lookups by %zu clients during the roll\n",
                 static_cast<unsigned long long>(done), all.size());
    EXPECT_GT(lookups.done(), 50u);
    EXPECT_NE(cluster.active_id(), 0);
}

TEST(RegistryCluster, AChangedMasterListReachesARunningClient) {
    RegistryCluster cluster(1);
    ASSERT_TRUE(cluster.every_master_sees_every_server());
    RegistryClient client({.masters = {address(cluster.master(1).lookups)},
                           .timeout_ms = 2000,
                           .attempt_timeout_ms = 300,
                           .cache_ttl_ms = 0});
    ASSERT_TRUE(client.active_master().is_ok());
    // Master 1 leaves the list (and stops answering); the client, told the
    // new list, never asks it again.
    client.set_masters({address(cluster.master(2).lookups), address(cluster.master(3).lookups)});
    cluster.master(1).process.signal(SIGSTOP);
    for (int i = 0; i < 10; ++i) {
        auto a = client.active_master();
        ASSERT_TRUE(a.is_ok()) << a.status().str();
        EXPECT_NE(client.last_master(), address(cluster.master(1).lookups));
    }
    EXPECT_EQ(client.counters().failovers, 0u);
    cluster.master(1).process.signal(SIGCONT);
}

TEST(RegistryCluster, BadInputGetsAClearAnswerAndHurtsNothing) {
    RegistryCluster cluster(1);
    ASSERT_TRUE(cluster.every_master_sees_every_server());
    {
        testing::RawConnection raw(cluster.master(1).lookups);
        raw.send_frame("\xff\xff\xff garbage");
        const std::string answer = raw.read_frame();
        EXPECT_NE(answer.find("does not parse"), std::string::npos);
        raw.send_bytes(std::string("\x7f\x00\x00\x00", 4));  // a 2 GB frame
        const std::string refused = raw.read_frame();
        EXPECT_NE(refused.find("the limit is"), std::string::npos);
        EXPECT_TRUE(raw.closed_by_peer());
    }
    int status = 0;
    get_json(cluster.master(1).http, "/nothing-here", &status);
    EXPECT_EQ(status, 404);
    net::HttpClient http(address(cluster.master(1).http));
    EXPECT_EQ(http.request("PUT", "/meta-location?expected-version=0", "not a name").status, 400);
    EXPECT_EQ(http.request("POST", "/active-master").status, 405);
    // Still serving, the same as before.
    get_json(cluster.master(1).http, "/health", &status);
    EXPECT_EQ(status, 200);
    EXPECT_TRUE(cluster.every_master_sees_every_server());
    json metrics_text;
    net::HttpClient m(address(cluster.master(1).http));
    auto metrics = m.request("GET", "/metrics");
    EXPECT_NE(metrics.body.find("registry_lookup_bad_frames_total 2"), std::string::npos)
        << metrics.body;
}

TEST(RegistryCluster, AMasterThatLosesItsQuorumStopsCallingItselfActiveWithinItsLease) {
    RegistryCluster cluster(0);
    int active = 0;
    ASSERT_TRUE(eventually([&] { return (active = cluster.active_id()) != 0; }, 5000));
    const auto state = [&] {
        return get_json(cluster.master(active).http, "/health").value("state", "?");
    };
    ASSERT_TRUE(eventually([&] { return state() == "active"; }, 5000)) << state();
    const auto killed = Clock::now();
    for (int id = 1; id <= RegistryCluster::kMasters; ++id)
        if (id != active) cluster.master(id).process.kill();
    // Its lease (the session timeout less a fifth) runs out, quorum or not.
    ASSERT_TRUE(eventually([&] { return state() != "active"; }, 5000));
    std::fprintf(stderr, "alone, the active master stopped calling itself so after %lld ms\n",
                 static_cast<long long>(ms_since(killed)));
    EXPECT_LT(ms_since(killed), RegistryCluster::kSessionMs);
}

TEST(RegistryCluster, AMasterThatCannotBindSaysSoAndExits) {
    RegistryCluster cluster(0);
    ChildProcess second;
    const std::string log = cluster.dir().sub("second.log");
    second.start({binary("REGISTRY_MASTER", "registry-master"), "--id", "1", "--peers",
                  "1=" + address(testing::free_port()), "--data-dir", cluster.dir().sub("second"),
                  "--bootstrap", "--registry", address(cluster.master(1).lookups), "--http",
                  address(testing::free_port())},
                 log);
    EXPECT_EQ(second.wait_exit(10000), 1) << read_file(log);
    EXPECT_NE(read_file(log).find(std::to_string(cluster.master(1).lookups)), std::string::npos)
        << read_file(log);
}

TEST(RegistryCluster, ARegionServerDrainsOnSigtermAndGivesUpWithoutMasters) {
    RegistryCluster cluster(1);
    ASSERT_TRUE(cluster.every_master_sees_every_server());
    // Work under way when SIGTERM comes: the server leaves the registry at
    // once, finishes the work, refuses new work, then exits 0.
    RegistryCluster::Server& s = cluster.server(1);
    std::atomic<int> work_status{0};
    std::thread work([&] {
        net::HttpClient c(address(s.http), 10000);
        work_status = c.request("POST", "/work?ms=1500").status;
    });
    ASSERT_TRUE(eventually(
        [&] { return get_json(s.http, "/health").value("work_in_flight", 0) == 1; }, 5000));
    const auto start = Clock::now();
    s.process.signal(SIGTERM);
    ASSERT_TRUE(eventually([&] { return cluster.region_server_ports(1).empty(); }, 5000));
    EXPECT_LT(ms_since(start), 1000);  // deregistered first, not after the drain
    net::HttpClient late(address(s.http), 2000);
    EXPECT_EQ(late.request("POST", "/work?ms=10").status, 503);
    EXPECT_EQ(s.process.wait_exit(10000), 0);
    work.join();
    EXPECT_EQ(work_status.load(), 200);
    EXPECT_GE(ms_since(start), 1000);  // it waited for the work

    // No master to be reached: registration fails, backs off, and after
    // --max-failures the server exits 3 for its orchestrator to restart it.
    ChildProcess lonely;
    const std::string log = cluster.dir().sub("lonely.log");
    lonely.start(
        {binary("REGISTRY_SERVER", "registry-server"), "--masters", address(testing::free_port()),
         "--port", "16099", "--http", address(testing::free_port()), "--max-failures", "3",
         "--backoff-initial-ms", "50", "--backoff-max-ms", "200"},
        log);
    EXPECT_EQ(lonely.wait_exit(30000), 3) << read_file(log);
    EXPECT_NE(read_file(log).find("giving up"), std::string::npos);

    // A bad configuration: exit 2 and a line that says what to fix.
    const std::string config = cluster.dir().sub("bad.toml");
    std::ofstream(config) << "masters = \"127.0.0.1:1\"\nprot = 16020\n";
    ChildProcess bad;
    const std::string bad_log = cluster.dir().sub("bad.log");
    bad.start({binary("REGISTRY_SERVER", "registry-server"), "--config", config}, bad_log);
    EXPECT_EQ(bad.wait_exit(5000), 2);
    EXPECT_NE(read_file(bad_log).find("prot"), std::string::npos) << read_file(bad_log);
}

}  // namespace
}  // namespace chorus::registry
