// The session tracker as users run it: three chorus-server processes on
// 127.0.0.1, driven through chorus::Client over the client protocol.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "net/http_client.h"
#include "session/client.pb.h"
#include "tests/support/eventually.h"
#include "tests/support/process.h"
#include "tests/support/raw_connection.h"
#include "tests/support/temp_dir.h"

namespace chorus {
namespace {

using testing::ChildProcess;
using testing::eventually;
using testing::TempDir;

std::string server_binary() {
    const char* path = std::getenv("CHORUS_SERVER");
    return path ? path : "chorus-server";
}

class Ensemble {
 public:
    static constexpr int kServers = 3;
    static constexpr uint64_t kMinTimeoutMs = 500;

    explicit Ensemble(std::vector<std::string> extra_args = {})
        : extra_args_(std::move(extra_args)) {
        std::string peers;
        for (int id = 1; id <= kServers; ++id) {
            peer_ports_[id] = testing::free_port();
            client_ports_[id] = testing::free_port();
            admin_ports_[id] = testing::free_port();
            peers += (peers.empty() ? "" : ",") + std::to_string(id) +
                     "=127.0.0.1:" + std::to_string(peer_ports_[id]);
        }
        peers_ = peers;
        for (int id = 1; id <= kServers; ++id) start(id, /*bootstrap=*/true);
    }

    void start(int id, bool bootstrap = false) {
        std::vector<std::string> argv = {server_binary(),
                                         "--id",
                                         std::to_string(id),
                                         "--peers",
                                         peers_,
                                         "--data-dir",
                                         dir_.sub("data" + std::to_string(id)),
                                         "--client",
                                         address(id),
                                         "--admin",
                                         admin_address(id),
                                         "--min-session-timeout-ms",
                                         std::to_string(kMinTimeoutMs)};
        if (bootstrap) argv.push_back("--bootstrap");
        for (const std::string& extra : extra_args_) argv.push_back(extra);
        servers_[id].start(argv, dir_.sub("server" + std::to_string(id) + ".log"));
    }
    ChildProcess& process(int id) { return servers_[id]; }

    std::string address(int id) const {
        return "127.0.0.1:" + std::to_string(client_ports_.at(id));
    }
    std::string admin_address(int id) const {
        return "127.0.0.1:" + std::to_string(admin_ports_.at(id));
    }
    net::HttpResult admin_get(int id, const std::string& target, const char* method = "GET") {
        net::HttpClient http(admin_address(id), 3000);
        return http.request(method, target);
    }
    std::vector<std::string> addresses() const {
        std::vector<std::string> all;
        for (int id = 1; id <= kServers; ++id) all.push_back(address(id));
        return all;
    }
    // A client of one server only.
    std::unique_ptr<SyncClient> client_of(int id, uint64_t session_timeout_ms = 1000) {
        return std::make_unique<SyncClient>(ClientOptions{.servers = {address(id)},
                                                          .session_timeout_ms = session_timeout_ms,
                                                          .request_timeout_ms = 5000});
    }
    std::optional<ServerStats> stats(int id) {
        auto c = client_of(id);
        auto s = c->stats();
        if (!s.ok()) return std::nullopt;
        return s.value;
    }
    // Waits until every running server serves; returns the leader's id (0 if none).
    int wait_serving(int timeout_ms = 30000) {
        int leader = 0;
        eventually(
            [&] {
                leader = 0;
                for (int id = 1; id <= kServers; ++id) {
                    if (!servers_[id].running()) continue;
                    auto s = stats(id);
                    if (!s || !s->serving) return false;
                    if (s->role == "leading") leader = id;
                }
                return leader != 0;
            },
            timeout_ms);
        if (leader == 0) print_logs();
        return leader;
    }
    // The last lines of every server's log, for a failure's report.
    void print_logs() const {
        for (int id = 1; id <= kServers; ++id) {
            std::ifstream in(log_of(id));
            std::vector<std::string> lines;
            for (std::string line; std::getline(in, line);) lines.push_back(line);
            std::fprintf(stderr, "---- server %d (last lines of %s)\n", id, log_of(id).c_str());
            for (size_t i = lines.size() > 20 ? lines.size() - 20 : 0; i < lines.size(); ++i)
                std::fprintf(stderr, "%s\n", lines[i].c_str());
        }
    }
    std::string log_of(int id) const { return dir_.sub("server" + std::to_string(id) + ".log"); }
    std::string path(const std::string& name) const { return dir_.sub(name); }

 private:
    std::vector<std::string> extra_args_;
    TempDir dir_;
    std::string peers_;
    std::map<int, uint16_t> peer_ports_;
    std::map<int, uint16_t> client_ports_;
    std::map<int, uint16_t> admin_ports_;
    std::map<int, ChildProcess> servers_;
};

TEST(SessionCluster, SessionsNodesAndGroupsWorkFromAnyServer) {
    Ensemble e;
    ASSERT_NE(e.wait_serving(), 0) << "no leader; see the server logs";
    auto a = e.client_of(1);
    auto b = e.client_of(2);
    auto session = a->open_session();
    ASSERT_TRUE(session.ok()) << session.status.str();

    // A persistent node written through server 1, read through server 2 after a sync.
    ASSERT_TRUE(a->write(0, {ClientOp::put("/config", "v1")}).ok());
    auto read = b->get("/config", /*sync=*/true);
    ASSERT_TRUE(read.ok()) << read.status.str();
    EXPECT_TRUE(read.value.exists);
    EXPECT_EQ(read.value.data, "v1");
    EXPECT_EQ(read.value.version, 0);

    // A node watch sees the change it waited for, with the new version.
    std::thread setter([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        EXPECT_TRUE(a->write(0, {ClientOp::set("/config", "v1b", 0)}).ok());
    });
    auto watched = b->watch_node("/config", 0, 5000);
    setter.join();
    ASSERT_TRUE(watched.ok()) << watched.status.str();
    EXPECT_EQ(watched.value.version, 1);
    EXPECT_TRUE(watched.value.exists);
    auto gone = b->watch_node("/nothing-here", -1, 300);
    EXPECT_EQ(gone.status.code, ClientCode::kTimeout);
    EXPECT_EQ(gone.value.version, -1);

    // Conditional writes: the wrong version changes nothing.
    EXPECT_EQ(b->write(0, {ClientOp::set("/config", "v2", 5)}).status.code,
              ClientCode::kBadVersion);
    EXPECT_TRUE(b->write(0, {ClientOp::set("/config", "v2", 1)}).ok());
    // Multi-op: all or nothing.
    auto multi = b->write(0, {ClientOp::create("/x", "1"), ClientOp::create("/config", "dup")});
    EXPECT_EQ(multi.status.code, ClientCode::kNodeExists);
    EXPECT_FALSE(a->get("/x", true).value.exists);

    // Groups: a config before the member joins makes it inactive; joining activates it.
    ASSERT_TRUE(a->set_member_config("web", "m1", "cfg1").ok());
    auto group = b->get_group("web", true);
    ASSERT_TRUE(group.ok());
    ASSERT_EQ(group.value.inactive.size(), 1u);
    const int64_t before = group.value.version;
    ASSERT_TRUE(a->join_group(session.value, "web", "m1", "meta1").ok());
    group = b->get_group("web", true);
    ASSERT_EQ(group.value.active.size(), 1u);
    EXPECT_EQ(group.value.active[0].metadata, "meta1");
    EXPECT_EQ(group.value.active[0].config, "cfg1");
    EXPECT_EQ(group.value.version, before + 1);
    EXPECT_TRUE(group.value.inactive.empty());

    // Bad names are refused before they reach the server.
    EXPECT_EQ(a->join_group(session.value, "we/b", "m", "").status.code, ClientCode::kBadRequest);
    // An ephemeral node needs a live session.
    EXPECT_EQ(a->write(12345, {ClientOp::create("/e", "", true)}).status.code,
              ClientCode::kNoSession);

    // Closing the session removes its member at once.
    ASSERT_TRUE(a->close_session(session.value).ok());
    group = b->get_group("web", true);
    EXPECT_TRUE(group.value.active.empty());
    EXPECT_EQ(group.value.version, before + 2);
}

TEST(SessionCluster, ASilentSessionExpiresAndItsEphemeralsGoEverywhere) {
    Ensemble e;
    ASSERT_NE(e.wait_serving(), 0);
    auto owner = e.client_of(2, 600);
    auto watcher = e.client_of(3);
    auto session = owner->open_session();
    ASSERT_TRUE(session.ok()) << session.status.str();
    ASSERT_TRUE(owner->join_group(session.value, "g", "quiet", "").ok());
    auto group = watcher->get_group("g", true);
    ASSERT_EQ(group.value.active.size(), 1u);

    // A watch on the group, from another server, waiting for the next change.
    std::atomic<bool> woke{false};
    WatchResult seen;
    std::thread waiting([&] {
        auto w = watcher->watch_group("g", group.value.version, 10000);
        EXPECT_TRUE(w.ok()) << w.status.str();
        seen = w.value;
        woke = true;
    });
    // Alive while it heartbeats: well past its timeout.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_FALSE(woke.load()) << "the group changed while its member heartbeated";
    EXPECT_EQ(watcher->get_group("g", true).value.active.size(), 1u);

    const auto t0 = std::chrono::steady_clock::now();
    owner->async().abandon_session(session.value);
    waiting.join();
    const auto waited =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    EXPECT_EQ(seen.version, group.value.version + 1);
    EXPECT_LT(waited, 600 + 1000) << "expiry took too long";
    for (int id = 1; id <= 3; ++id) {
        auto c = e.client_of(id);
        EXPECT_TRUE(c->get_group("g", true).value.active.empty()) << "server " << id;
    }
}

TEST(SessionCluster, HeartbeatsOfTenThousandSessionsWriteNothing) {
    Ensemble e;
    ASSERT_NE(e.wait_serving(), 0);
    constexpr int kSessions = 10000;
    constexpr int kPerServer = (kSessions + 2) / 3;
    std::map<int, std::unique_ptr<SyncClient>> clients;
    std::map<int, std::vector<uint64_t>> sessions;
    for (int id = 1; id <= 3; ++id) clients[id] = e.client_of(id, 1500);
    // Open them all, many in flight at once, spread over the three servers.
    std::atomic<int> opened{0}, failed{0};
    std::mutex mutex;
    int total = 0;
    for (int id = 1; id <= 3; ++id) {
        const int n = std::min(kPerServer, kSessions - total);
        total += n;
        for (int i = 0; i < n; ++i) {
            clients[id]->async().open_session([&, id](ClientStatus s, uint64_t session) {
                if (!s.ok()) {
                    ++failed;
                    return;
                }
                std::lock_guard lock(mutex);
                sessions[id].push_back(session);
                ++opened;
            });
        }
    }
    ASSERT_TRUE(eventually([&] { return opened + failed == kSessions; }, 60000));
    ASSERT_EQ(failed.load(), 0);

    auto leader_id = e.wait_serving();
    ASSERT_NE(leader_id, 0);
    std::map<int, ServerStats> before;
    for (int id = 1; id <= 3; ++id) before[id] = *e.stats(id);
    for (int id = 1; id <= 3; ++id) {
        EXPECT_EQ(before[id].sessions, uint64_t{kSessions}) << "server " << id;
        EXPECT_EQ(before[id].log_of("open")->records, uint64_t{kSessions})
            << "one record per open, counted exactly";
        EXPECT_EQ(before[id].log_of("heartbeat")->records, 0u);
    }
    // Heartbeats at a third of 1.5 s for 4 s: about 12 rounds of 10,000.
    std::this_thread::sleep_for(std::chrono::seconds(4));
    std::map<int, ServerStats> after;
    for (int id = 1; id <= 3; ++id) after[id] = *e.stats(id);
    for (int id = 1; id <= 3; ++id) {
        EXPECT_EQ(after[id].log_records_appended, before[id].log_records_appended)
            << "server " << id << " wrote log records while only heartbeats came";
        EXPECT_EQ(after[id].log_bytes_appended, before[id].log_bytes_appended) << "server " << id;
        EXPECT_EQ(after[id].log_of("heartbeat")->records, 0u);
        EXPECT_EQ(after[id].log_of("heartbeat")->bytes, 0u);
        EXPECT_EQ(after[id].sessions, uint64_t{kSessions}) << "a heartbeating session expired";
        EXPECT_GE(after[id].heartbeats_received - before[id].heartbeats_received,
                  uint64_t{kPerServer - 1} * 5)
            << "server " << id << " received too few heartbeats";
    }
    const uint64_t absorbed =
        after[leader_id].heartbeats_absorbed - before[leader_id].heartbeats_absorbed;
    EXPECT_GE(absorbed, uint64_t{kSessions} * 5) << "the leader absorbed too few heartbeats";

    // Now 1,000 of them fall silent: exactly 1,000 expire, the rest live.
    constexpr int kSilent = 1000;
    for (int i = 0; i < kSilent; ++i) {
        const int id = 1 + i % 3;
        clients[id]->async().abandon_session(sessions[id][i / 3]);
    }
    ASSERT_TRUE(eventually(
        [&] {
            auto s = e.stats(leader_id);
            return s && s->sessions == uint64_t{kSessions - kSilent};
        },
        10000));
    std::this_thread::sleep_for(std::chrono::seconds(2));
    for (int id = 1; id <= 3; ++id) {
        auto s = *e.stats(id);
        EXPECT_EQ(s.sessions, uint64_t{kSessions - kSilent}) << "server " << id;
        EXPECT_EQ(s.sessions_expired, uint64_t{kSilent}) << "server " << id;
        EXPECT_EQ(s.log_of("heartbeat")->records, 0u);
        // Every record a server appended is accounted for by kind.
        uint64_t records = 0;
        for (const auto& l : s.log) records += l.records;
        EXPECT_EQ(s.log_records_appended, records) << "server " << id;
    }
}

TEST(SessionCluster, KillingTheLeaderExpiresNoHeartbeatingSession) {
    Ensemble e;
    const int leader = e.wait_serving();
    ASSERT_NE(leader, 0);
    // One client per server, each with a member in the group.
    std::map<int, std::unique_ptr<SyncClient>> clients;
    for (int id = 1; id <= 3; ++id) {
        clients[id] = std::make_unique<SyncClient>(ClientOptions{
            .servers = id == leader ? e.addresses() : std::vector<std::string>{e.address(id)},
            .session_timeout_ms = 1500,
            .request_timeout_ms = 5000,
            .seed = static_cast<uint64_t>(id)});
        // The leader's client starts on the leader (the others are pinned).
        if (id == leader) {
            ASSERT_TRUE(
                eventually([&] { return !clients[id]->async().current_server().empty(); }, 5000));
        }
        auto session = clients[id]->open_session();
        ASSERT_TRUE(session.ok()) << session.status.str();
        ASSERT_TRUE(clients[id]->join_group(session.value, "g", "m" + std::to_string(id), "").ok());
    }
    auto probe = e.client_of(leader % 3 + 1);
    const int64_t version = probe->get_group("g", true).value.version;
    ASSERT_EQ(probe->get_group("g", true).value.active.size(), 3u);

    e.process(leader).kill();
    const int next = e.wait_serving();
    ASSERT_NE(next, 0) << "no new leader";
    ASSERT_NE(next, leader);
    // Well past the session timeout after the failover.
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));
    for (int id = 1; id <= 3; ++id) {
        if (id == leader) continue;
        auto c = e.client_of(id);
        auto g = c->get_group("g", true);
        ASSERT_TRUE(g.ok()) << g.status.str();
        EXPECT_EQ(g.value.active.size(), 3u)
            << "server " << id << ": a heartbeating member was dropped by the failover";
        EXPECT_EQ(g.value.version, version) << "server " << id;
    }
}

TEST(SessionCluster, BadFramesGetClearErrorsAndTheServerCarriesOn) {
    Ensemble e;
    ASSERT_NE(e.wait_serving(), 0);
    const uint16_t port = static_cast<uint16_t>(std::stoi(e.address(1).substr(10)));
    namespace cpb = client::pb;
    {
        testing::RawConnection raw(port);
        // Bytes that are not a Request: an answer, and the connection stays.
        raw.send_frame(std::string("\xff\xff\xff\xff garbage", 14));
        cpb::Response r;
        ASSERT_TRUE(r.ParseFromString(raw.read_frame()));
        EXPECT_EQ(r.code(), cpb::BAD_REQUEST);
        EXPECT_FALSE(r.message().empty());
        // An empty request, then unknown sessions and an oversize value.
        cpb::Request empty;
        empty.set_id(7);
        raw.send_frame(empty.SerializeAsString());
        ASSERT_TRUE(r.ParseFromString(raw.read_frame()));
        EXPECT_EQ(r.id(), 7u);
        EXPECT_EQ(r.code(), cpb::BAD_REQUEST);
        cpb::Request hb;
        hb.set_id(8);
        hb.mutable_heartbeat()->add_session_ids(424242);
        raw.send_frame(hb.SerializeAsString());
        ASSERT_TRUE(r.ParseFromString(raw.read_frame()));
        EXPECT_EQ(r.id(), 8u);
        EXPECT_EQ(r.code(), cpb::OK);
        ASSERT_EQ(r.heartbeat().unknown_size(), 1);
        EXPECT_EQ(r.heartbeat().unknown(0), 424242u);
        cpb::Request big;
        big.set_id(9);
        auto* op = big.mutable_write()->add_ops();
        op->set_kind(cpb::Op::PUT);
        op->set_path("/big");
        op->set_data(std::string((1 << 20) + 1, 'x'));
        raw.send_frame(big.SerializeAsString());
        ASSERT_TRUE(r.ParseFromString(raw.read_frame()));
        EXPECT_EQ(r.id(), 9u);
        EXPECT_EQ(r.code(), cpb::TOO_LARGE) << r.message();
        cpb::Request bad_path;
        bad_path.set_id(10);
        auto* op2 = bad_path.mutable_write()->add_ops();
        op2->set_kind(cpb::Op::PUT);
        op2->set_path("no-slash");
        raw.send_frame(bad_path.SerializeAsString());
        ASSERT_TRUE(r.ParseFromString(raw.read_frame()));
        EXPECT_EQ(r.id(), 10u);
        EXPECT_EQ(r.code(), cpb::BAD_PATH);
        // A frame over the limit: an answer, then the server closes.
        raw.send_bytes(std::string("\x7f\xff\xff\xff", 4));
        ASSERT_TRUE(r.ParseFromString(raw.read_frame()));
        EXPECT_EQ(r.code(), cpb::TOO_LARGE);
        EXPECT_TRUE(raw.closed_by_peer());
    }
    {
        // Half a frame, then gone.
        testing::RawConnection raw(port);
        raw.send_bytes(
            std::string("\x00\x00\x10\x00"
                        "abc",
                        7));
    }
    // The server is still fine.
    auto c = e.client_of(1);
    auto s = c->stats();
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE(s.value.serving);
    EXPECT_EQ(s.value.bad_frames, 2u);
    EXPECT_TRUE(c->write(0, {ClientOp::put("/after", "ok")}).ok());
}

TEST(SessionCluster, ExpiryIsSpreadOutByTheRateBudget) {
    // 300 sessions fall silent at once; at 100 expiries/s they take about
    // three seconds to go, not one storm.
    Ensemble e({"--expiries-per-second", "100"});
    ASSERT_NE(e.wait_serving(), 0);
    auto owner = e.client_of(1, 600);
    std::vector<uint64_t> sessions;
    std::atomic<int> done{0};
    std::mutex mutex;
    for (int i = 0; i < 300; ++i) {
        owner->async().open_session([&](ClientStatus s, uint64_t id) {
            std::lock_guard lock(mutex);
            if (s.ok()) sessions.push_back(id);
            ++done;
        });
    }
    ASSERT_TRUE(eventually([&] { return done == 300; }, 20000));
    ASSERT_EQ(sessions.size(), 300u);
    for (uint64_t id : sessions) owner->async().abandon_session(id);
    const auto t0 = std::chrono::steady_clock::now();
    auto probe = e.client_of(2);
    uint64_t at_1500ms = 0;
    bool sampled = false;
    ASSERT_TRUE(eventually(
        [&] {
            auto s = probe->stats();
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - t0)
                                .count();
            if (!sampled && ms >= 1500 && s.ok()) {
                at_1500ms = s.value.sessions_expired;
                sampled = true;
            }
            return s.ok() && s.value.sessions_expired == 300;
        },
        15000));
    const auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    ASSERT_TRUE(sampled);
    // 600 ms of timeout, then 100/s: after 1.5 s at most ~90 + a burst of up to 100 gone.
    EXPECT_LT(at_1500ms, 250u) << "expiry came as a storm";
    EXPECT_GE(took, 2500) << "300 expiries at 100/s must take about 3 s";
}

int id_of(const Ensemble& e, const std::string& address) {
    for (int id = 1; id <= Ensemble::kServers; ++id) {
        if (e.address(id) == address) return id;
    }
    return 0;
}

TEST(SessionCluster, AClientMovesOffAStoppedServerAndKeepsItsSession) {
    Ensemble e;
    ASSERT_NE(e.wait_serving(), 0);
    SyncClient client(ClientOptions{
        .servers = e.addresses(), .session_timeout_ms = 3000, .request_timeout_ms = 5000});
    std::atomic<int> lost{0};
    client.async().on_session_lost([&](uint64_t) { ++lost; });
    auto session = client.open_session();
    ASSERT_TRUE(session.ok()) << session.status.str();
    ASSERT_TRUE(client.join_group(session.value, "g", "mover", "").ok());
    const int first = id_of(e, client.async().current_server());
    ASSERT_NE(first, 0);
    // Stopped, not killed: no RST, the socket stays open; only the missing
    // heartbeat answers tell the client to move.
    e.process(first).signal(SIGSTOP);
    ASSERT_TRUE(eventually(
        [&] {
            const int now = id_of(e, client.async().current_server());
            return now != 0 && now != first;
        },
        5000))
        << "the client did not move";
    // Well past the session timeout: the session lives at its new server.
    std::this_thread::sleep_for(std::chrono::milliseconds(4000));
    auto g = client.get_group("g", true);
    ASSERT_TRUE(g.ok()) << g.status.str();
    ASSERT_EQ(g.value.active.size(), 1u) << "the session expired while its client moved";
    EXPECT_EQ(lost.load(), 0);
    e.process(first).signal(SIGCONT);
}

// A rolling restart through the client library (issue 17): every server
// stopped with SIGTERM and started again, one by one, the leader last (it
// hands leadership over). A writer on every server's address and a session
// with an ephemeral node go on throughout: no request fails, none is
// uncertain (what a stopping server refuses, the library sends again), the
// session lives, and every acknowledged write is there at the end.
TEST(SessionCluster, ARollingRestartFailsNoClientRequest) {
    Ensemble e;
    const int first_leader = e.wait_serving();
    ASSERT_NE(first_leader, 0);
    SyncClient owner(ClientOptions{
        .servers = e.addresses(), .session_timeout_ms = 3000, .request_timeout_ms = 10000});
    auto session = owner.open_session();
    ASSERT_TRUE(session.ok()) << session.status.str();
    ASSERT_TRUE(owner.join_group(session.value, "roll", "owner", "").ok());
    std::atomic<bool> stop{false};
    std::atomic<int> acked{0};
    std::vector<std::string> failures;
    std::mutex failures_mutex;
    std::thread writer([&] {
        SyncClient client(ClientOptions{.servers = e.addresses(), .request_timeout_ms = 10000});
        for (int k = 0; !stop.load(); ++k) {
            ClientOp put = ClientOp::put("/roll/k" + std::to_string(k), "v");
            put.make_parents = true;
            auto r = client.write(0, {put});
            if (r.ok()) {
                acked = k + 1;
            } else {
                std::lock_guard lock(failures_mutex);
                failures.push_back("write " + std::to_string(k) + ": " + r.status.str());
                break;  // the order of acknowledged writes is the test's record
            }
        }
    });
    std::vector<int> order;
    for (int id = 1; id <= Ensemble::kServers; ++id)
        if (id != first_leader) order.push_back(id);
    order.push_back(first_leader);
    auto writes_go_on = [&] {
        const int before = acked.load();
        return eventually([&] { return acked.load() >= before + 20; }, 10000);
    };
    bool went_on = true;
    for (int id : order) {
        went_on = writes_go_on();
        if (!went_on) break;
        EXPECT_EQ(e.process(id).terminate(10000), 0) << "server " << id << " exit status";
        e.start(id);
        EXPECT_NE(e.wait_serving(), 0);
    }
    went_on = went_on && writes_go_on();
    stop = true;
    writer.join();
    {
        std::lock_guard lock(failures_mutex);
        ASSERT_TRUE(failures.empty()) << failures.front();
    }
    ASSERT_TRUE(went_on) << "writes stalled";
    auto g = owner.get_group("roll", true);
    ASSERT_TRUE(g.ok()) << g.status.str();
    EXPECT_EQ(g.value.active.size(), 1u) << "the owner's session ended during the restart";
    auto keys = owner.list("/roll", true);
    ASSERT_TRUE(keys.ok()) << keys.status.str();
    EXPECT_GE(keys.value.size(), static_cast<size_t>(acked.load()));
    for (int k = 0; k < acked.load(); k += 97) {
        auto r = owner.get("/roll/k" + std::to_string(k));
        EXPECT_TRUE(r.ok() && r.value.exists) << "acknowledged write " << k << " is missing";
    }
    std::printf(
        "rolling restart of %d servers (server %d, the leader, last): %d writes, none "
        "failed or uncertain\n",
        Ensemble::kServers, first_leader, acked.load());
}

TEST(SessionCluster, HedgedReadsAnswerWhileTheirFirstServerIsStopped) {
    Ensemble e;
    ASSERT_NE(e.wait_serving(), 0);
    SyncClient writer(ClientOptions{.servers = e.addresses()});
    ASSERT_TRUE(writer.write(0, {ClientOp::put("/h", "hedged")}).ok());
    ASSERT_TRUE(writer.sync().ok());
    SyncClient hedged(ClientOptions{
        .servers = e.addresses(), .request_timeout_ms = 3000, .hedged_reads = 3, .seed = 7});
    auto warm = hedged.get("/h");
    ASSERT_TRUE(warm.ok()) << warm.status.str();
    const int first = id_of(e, hedged.async().current_server());
    ASSERT_NE(first, 0);
    e.process(first).signal(SIGSTOP);
    const auto t0 = std::chrono::steady_clock::now();
    auto read = hedged.get("/h");
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    e.process(first).signal(SIGCONT);
    ASSERT_TRUE(read.ok()) << read.status.str();
    EXPECT_EQ(read.value.data, "hedged");
    EXPECT_LT(ms, 1000) << "the hedge did not answer first";
}

TEST(SessionCluster, AChangedServerListMovesTheClientWithoutARestart) {
    Ensemble e;
    ASSERT_NE(e.wait_serving(), 0);
    SyncClient client(ClientOptions{.servers = {e.address(1)}, .session_timeout_ms = 1500});
    auto session = client.open_session();
    ASSERT_TRUE(session.ok());
    EXPECT_EQ(client.async().current_server(), e.address(1));
    client.async().set_servers({e.address(3)});
    ASSERT_TRUE(eventually([&] { return client.async().current_server() == e.address(3); }, 5000));
    // Its session moved along: server 3 now receives its heartbeats.
    auto at3 = e.client_of(3);
    const uint64_t before = at3->stats().value.heartbeats_received;
    ASSERT_TRUE(eventually([&] { return at3->stats().value.heartbeats_received > before; }, 3000));
    ASSERT_TRUE(client.write(session.value, {ClientOp::create("/mine", "", true)}).ok());
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The working example of docs/sessions.md: two members watch each other.
TEST(SessionCluster, TheMembershipExampleSeesMembersComeAndGo) {
    const char* binary = std::getenv("CHORUS_MEMBERSHIP");
    if (binary == nullptr) GTEST_SKIP() << "CHORUS_MEMBERSHIP is not set";
    Ensemble e;
    ASSERT_NE(e.wait_serving(), 0);
    std::string servers;
    for (const std::string& a : e.addresses()) servers += (servers.empty() ? "" : ",") + a;
    ChildProcess a, b;
    const std::string a_log = e.path("a.out"), b_log = e.path("b.out");
    a.start({binary, "--servers", servers, "--group", "web", "--name", "a", "--metadata", "port=1",
             "--timeout-ms", "1000"},
            a_log);
    ASSERT_TRUE(eventually(
        [&] { return slurp(a_log).find("joined web as a") != std::string::npos; }, 10000))
        << slurp(a_log);
    b.start({binary, "--servers", servers, "--group", "web", "--name", "b", "--timeout-ms", "1000"},
            b_log);
    ASSERT_TRUE(
        eventually([&] { return slurp(a_log).find(": a=port=1 b\n") != std::string::npos; }, 10000))
        << "a never saw b join:\n"
        << slurp(a_log);
    const size_t before = slurp(a_log).size();
    b.kill();  // no goodbye: b's session has to expire
    ASSERT_TRUE(eventually(
        [&] { return slurp(a_log).substr(before).find(": a=port=1\n") != std::string::npos; },
        10000))
        << "a never saw b dropped:\n"
        << slurp(a_log);
    EXPECT_EQ(a.terminate(), 0);
    EXPECT_NE(slurp(a_log).find("left web"), std::string::npos);
    auto g = e.client_of(1)->get_group("web", true);
    EXPECT_TRUE(g.value.active.empty());
}

// An orphan: its owner left the quorum and its client never moved.
TEST(SessionCluster, AnOrphanedSessionExpiresWhenItsClientDoesNotMove) {
    Ensemble e;
    const int leader = e.wait_serving();
    ASSERT_NE(leader, 0);
    const int owner = leader % 3 + 1;       // a follower
    auto client = e.client_of(owner, 800);  // knows no other server
    auto session = client->open_session();
    ASSERT_TRUE(session.ok());
    ASSERT_TRUE(client->join_group(session.value, "g", "orphan", "").ok());
    auto probe = e.client_of(leader);
    ASSERT_EQ(probe->get_group("g", true).value.active.size(), 1u);
    e.process(owner).kill();
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(eventually([&] { return probe->get_group("g", true).value.active.empty(); }, 5000))
        << "the orphan outlived its timeout";
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    EXPECT_GE(ms, 300) << "expired long before its timeout";
}

// An election must not move the clients of the servers that stay: only the
// dead leader's clients move, so only their sessions are revalidated.
TEST(SessionCluster, AnElectionMovesOnlyTheDeadLeadersClients) {
    Ensemble e;
    const int leader = e.wait_serving();
    ASSERT_NE(leader, 0);
    std::vector<std::unique_ptr<SyncClient>> clients;
    int on_leader = 0;
    for (uint64_t seed = 1; seed <= 6; ++seed) {
        clients.push_back(std::make_unique<SyncClient>(
            ClientOptions{.servers = e.addresses(), .session_timeout_ms = 1500, .seed = seed}));
        auto session = clients.back()->open_session();
        ASSERT_TRUE(session.ok()) << session.status.str();
        if (id_of(e, clients.back()->async().current_server()) == leader) ++on_leader;
    }
    const int survivor = leader % 3 + 1;
    const uint64_t before = e.stats(survivor)->log_of("revalidate")->records;
    e.process(leader).kill();
    ASSERT_NE(e.wait_serving(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    auto after = e.stats(survivor);
    ASSERT_TRUE(after.has_value());
    EXPECT_EQ(after->log_of("revalidate")->records - before, static_cast<uint64_t>(on_leader))
        << "clients of surviving servers moved during the election";
    EXPECT_EQ(after->sessions, 6u) << "a session was lost in the failover";
}

// The admin port (--admin): /health answers while the process lives,
// /ready only while the server is part of a working quorum, /metrics in
// Prometheus's text format; anything else gets a clear error.
TEST(SessionCluster, TheAdminPortAnswersHealthReadinessAndMetrics) {
    Ensemble e;
    const int leader = e.wait_serving();
    ASSERT_NE(leader, 0);
    for (int id = 1; id <= Ensemble::kServers; ++id) {
        net::HttpResult health = e.admin_get(id, "/health");
        EXPECT_EQ(health.status, 200) << health.error;
        EXPECT_EQ(health.body, R"({"status":"up"})");
        net::HttpResult ready = e.admin_get(id, "/ready");
        EXPECT_EQ(ready.status, 200) << ready.body;
        EXPECT_NE(ready.body.find(R"("ready":true)"), std::string::npos) << ready.body;
        net::HttpResult metrics = e.admin_get(id, "/metrics");
        EXPECT_EQ(metrics.status, 200);
        EXPECT_EQ(metrics.headers["content-type"], "text/plain; version=0.0.4");
        EXPECT_NE(metrics.body.find("\nchorus_ready 1\n"), std::string::npos) << metrics.body;
        EXPECT_NE(metrics.body.find("chorus_server_id " + std::to_string(id) + "\n"),
                  std::string::npos);
        const std::string role = id == leader ? "leading" : "following";
        EXPECT_NE(metrics.body.find("chorus_role{role=\"" + role + "\"} 1"), std::string::npos)
            << metrics.body;
        EXPECT_NE(metrics.body.find("chorus_admin_http_requests_total{code=\"200\"} 2"),
                  std::string::npos)
            << "the /health and /ready answers before it are counted: " << metrics.body;
    }
    net::HttpResult missing = e.admin_get(1, "/nope");
    EXPECT_EQ(missing.status, 404);
    EXPECT_NE(missing.body.find("/health, /ready and /metrics"), std::string::npos);
    EXPECT_EQ(e.admin_get(1, "/ready", "POST").status, 405);

    // Two servers gone: the last one lives (health) but is not ready.
    const int last = leader % 3 + 1;
    for (int id = 1; id <= Ensemble::kServers; ++id) {
        if (id != last) e.process(id).kill();
    }
    bool unready = false;
    eventually(
        [&] {
            net::HttpResult r = e.admin_get(last, "/ready");
            unready = r.status == 503 && r.body.find(R"("ready":false)") != std::string::npos;
            return unready;
        },
        10000);
    EXPECT_TRUE(unready) << "a server without a quorum must not say it is ready";
    EXPECT_EQ(e.admin_get(last, "/health").status, 200);
    EXPECT_NE(e.admin_get(last, "/metrics").body.find("\nchorus_ready 0\n"), std::string::npos);
}

TEST(SessionCluster, ABadAdminAddressIsRefusedClearly) {
    TempDir dir;
    ChildProcess server;
    const std::string log = dir.sub("server.log");
    server.start(
        {server_binary(), "--id", "1", "--peers",
         "1=127.0.0.1:" + std::to_string(testing::free_port()), "--data-dir", dir.sub("data"),
         "--client", "127.0.0.1:" + std::to_string(testing::free_port()), "--admin", "nowhere"},
        log);
    EXPECT_EQ(server.wait_exit(5000), 2);
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_NE(text.str().find("chorus-server: --admin:"), std::string::npos) << text.str();
}

}  // namespace
}  // namespace chorus
