// groupd as users run it: three groupd processes on 127.0.0.1, driven by a
// real HTTP client — joins, heartbeats, expiry, leaves, versions, long
// polls, configs, a killed leader, and every kind of bad input.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"
#include "tests/support/eventually.h"
#include "tests/support/process.h"
#include "tests/support/process_env.h"
#include "tests/support/raw_connection.h"
#include "tests/support/temp_dir.h"

namespace chorus::groupd {
namespace {

using net::HttpClient;
using net::HttpResult;
using nlohmann::json;
using testing::binary;
using testing::ChildProcess;
using testing::eventually;
using testing::ms_since;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

json parse(const HttpResult& r) { return json::parse(r.body, nullptr, false); }
// The group's version an answer shows (x-group-version), or -1.
int64_t group_version(const HttpResult& r) { return r.number("x-group-version"); }

// {"name": value} entries of a document's member list, as a map.
std::map<std::string, json> members(const json& doc, const char* which) {
    std::map<std::string, json> out;
    if (!doc.is_object() || !doc.contains(which)) return out;
    for (const json& entry : doc[which])
        for (const auto& [name, value] : entry.items()) out[name] = value;
    return out;
}

class GroupdEnsemble {
 public:
    static constexpr int kServers = 3;
    static constexpr int kLongPollMs = 2000;
    static constexpr int kRequestTimeoutMs = 1000;
    static constexpr int kMaxBodyBytes = 4096;

    GroupdEnsemble() {
        for (int id = 1; id <= kServers; ++id) {
            peer_ports_[id] = testing::free_port();
            http_ports_[id] = testing::free_port();
            peers_ += (peers_.empty() ? "" : ",") + std::to_string(id) +
                      "=127.0.0.1:" + std::to_string(peer_ports_[id]);
        }
        for (int id = 1; id <= kServers; ++id) start(id);
    }
    ~GroupdEnsemble() {
        if (::testing::Test::HasFailure()) print_logs();
    }

    void start(int id) {
        servers_[id].start(
            {binary("GROUPD", "groupd"), "--id", std::to_string(id), "--peers", peers_,
             "--data-dir", dir_.sub("data" + std::to_string(id)), "--http", address(id),
             "--bootstrap", "--min-session-timeout-ms", "500", "--long-poll-ms",
             std::to_string(kLongPollMs), "--http-request-timeout-ms",
             std::to_string(kRequestTimeoutMs), "--max-body-bytes", std::to_string(kMaxBodyBytes)},
            log_of(id));
    }
    ChildProcess& process(int id) { return servers_[id]; }
    std::string address(int id) const { return "127.0.0.1:" + std::to_string(http_ports_.at(id)); }
    uint16_t port(int id) const { return http_ports_.at(id); }

    HttpResult call(int id, std::string_view method, std::string_view target,
                    std::string_view body = {}, int timeout_ms = 5000) {
        HttpClient client(address(id), timeout_ms);
        return client.request(method, target, body);
    }
    json status(int id) { return parse(call(id, "GET", "/")); }

    // Waits until every running server is ready; the leader's id (0: none).
    int wait_ready(int timeout_ms = 30000) {
        int leader = 0;
        eventually(
            [&] {
                leader = 0;
                for (int id = 1; id <= kServers; ++id) {
                    if (!servers_[id].running()) continue;
                    json s = status(id);
                    if (!s.is_object() || !s["ready"].get<bool>()) return false;
                    if (s["role"] == "leading") leader = id;
                }
                return leader != 0;
            },
            timeout_ms);
        return leader;
    }
    // Every running server has recorded its address (so documents list all).
    bool wait_endpoints(int timeout_ms = 10000) {
        return eventually(
            [&] {
                json s = status(1);
                return s.is_object() && s["endpoints"].size() == kServers;
            },
            timeout_ms);
    }

    std::string log_of(int id) const { return dir_.sub("groupd" + std::to_string(id) + ".log"); }
    void print_logs() const {
        for (int id = 1; id <= kServers; ++id) {
            std::ifstream in(log_of(id));
            std::vector<std::string> lines;
            for (std::string line; std::getline(in, line);) lines.push_back(line);
            std::fprintf(stderr, "---- groupd %d (last lines of its log)\n", id);
            for (size_t i = lines.size() > 25 ? lines.size() - 25 : 0; i < lines.size(); ++i)
                std::fprintf(stderr, "%s\n", lines[i].c_str());
        }
    }

 private:
    TempDir dir_;
    std::string peers_;
    std::map<int, uint16_t> peer_ports_;
    std::map<int, uint16_t> http_ports_;
    std::map<int, ChildProcess> servers_;
};

std::vector<int> others(int leader) {
    std::vector<int> out;
    for (int id = 1; id <= GroupdEnsemble::kServers; ++id)
        if (id != leader) out.push_back(id);
    return out;
}

TEST(Groupd, JoinHeartbeatLeaveAndVersionsAgreeEverywhere) {
    GroupdEnsemble e;
    ASSERT_NE(e.wait_ready(), 0);
    ASSERT_TRUE(e.wait_endpoints());

    HttpResult r = e.call(1, "PUT", "/web/alice?timeout=5", R"({"port": 1})");
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    EXPECT_EQ(group_version(r), 1);
    json doc = parse(r);
    EXPECT_EQ(doc["version"], 1);
    EXPECT_EQ(members(doc, "active_members")["alice"], json::parse(R"({"port": 1})"));
    EXPECT_EQ(doc["endpoints"], json({e.address(1), e.address(2), e.address(3)}));

    r = e.call(2, "PUT", "/web/bob?timeout=5");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(group_version(r), 2);
    EXPECT_EQ(members(parse(r), "active_members")["bob"], json(nullptr));

    // A heartbeat through a third server: the session moves there.
    r = e.call(3, "HEAD", "/web/alice");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(group_version(r), 2);
    EXPECT_TRUE(r.body.empty());
    r = e.call(3, "GET", "/web/alice");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(members(parse(r), "active_members").size(), 2u);

    // Joining again under a live name: new metadata, the same session.
    const uint64_t sessions = e.status(1)["sessions"];
    r = e.call(1, "PUT", "/web/alice", R"({"port": 2})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(group_version(r), 3);
    EXPECT_EQ(members(parse(r), "active_members")["alice"]["port"], 2);
    EXPECT_TRUE(eventually([&] { return e.status(1)["sessions"] == sessions; }, 2000));
    EXPECT_NE(e.call(1, "GET", "/metrics").body.find("chorus_log_records_total{type=\"open\"} 2\n"),
              std::string::npos)
        << "a rejoin opens no session";

    r = e.call(3, "DELETE", "/web/bob");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(group_version(r), 4);
    EXPECT_EQ(members(parse(r), "active_members").count("bob"), 0u);
    EXPECT_EQ(e.call(1, "HEAD", "/web/bob").status, 404);
    EXPECT_EQ(e.call(2, "DELETE", "/web/bob").status, 404);
    EXPECT_EQ(e.call(2, "GET", "/web/nobody").status, 404);
    EXPECT_EQ(e.call(2, "GET", "/no-such-group").status, 404);

    // Every server ends up with the same document.
    for (int id = 1; id <= GroupdEnsemble::kServers; ++id) {
        std::string body;
        EXPECT_TRUE(eventually(
            [&] {
                r = e.call(id, "GET", "/web");
                body = r.body;
                return group_version(r) == 4;
            },
            3000))
            << "server " << id << ": " << body;
        EXPECT_EQ(members(parse(r), "active_members").size(), 1u) << r.body;
    }
}

// Ready means what the server serves is complete (issue 14: a join made as
// soon as every server said ready got "endpoints": [], the addresses came a
// second later). No wait for the endpoints here: readiness must imply them.
TEST(Groupd, ReadyServersHandOutCompleteEndpoints) {
    GroupdEnsemble e;
    ASSERT_NE(e.wait_ready(), 0);
    for (int id = 1; id <= GroupdEnsemble::kServers; ++id) {
        EXPECT_EQ(e.call(id, "GET", "/ready").status, 200) << "server " << id;
    }
    HttpResult r = e.call(2, "PUT", "/web/early?timeout=5", R"({"port": 1})");
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    EXPECT_EQ(parse(r)["endpoints"], json({e.address(1), e.address(2), e.address(3)}));
}

// The documents' endpoints follow the membership: a server removed
// (POST /membership/remove) is no longer listed.
TEST(Groupd, EndpointsFollowTheMembership) {
    GroupdEnsemble e;
    const int leader = e.wait_ready();
    ASSERT_NE(leader, 0);
    ASSERT_TRUE(e.wait_endpoints());
    const int leaving = others(leader)[0];
    HttpResult r = e.call(leader, "POST", "/membership/remove?id=" + std::to_string(leaving));
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    std::vector<std::string> staying;
    for (int id = 1; id <= GroupdEnsemble::kServers; ++id)
        if (id != leaving) staying.push_back(e.address(id));
    r = e.call(leader, "PUT", "/web/after?timeout=5");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(parse(r)["endpoints"], json(staying)) << r.body;
}

TEST(Groupd, SilentMemberExpiresHeartbeatingMemberStays) {
    GroupdEnsemble e;
    const int leader = e.wait_ready();
    ASSERT_NE(leader, 0);
    const int follower = others(leader)[0];
    ASSERT_EQ(e.call(follower, "PUT", "/g/quiet?timeout=1").status, 200);
    const auto start = Clock::now();
    // Joined through the leader, heartbeating through a follower: the
    // session must move to the follower and stay alive there.
    ASSERT_EQ(e.call(leader, "PUT", "/g/busy?timeout=2").status, 200);
    int beats = 0;
    while (ms_since(start) < 3500) {
        HttpResult r = e.call(follower, "HEAD", "/g/busy");
        ASSERT_EQ(r.status, 200) << "after " << ms_since(start) << " ms";
        ++beats;
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
    }
    HttpResult r = e.call(follower, "GET", "/g");
    json doc = parse(r);
    EXPECT_EQ(members(doc, "active_members").size(), 1u) << r.body;
    EXPECT_EQ(members(doc, "active_members").count("busy"), 1u) << r.body;
    EXPECT_EQ(group_version(r), 3) << "two joins and one expiry";
    EXPECT_EQ(e.call(follower, "HEAD", "/g/quiet").status, 404);
    // Heartbeats reached the leader and not one was logged.
    const std::string metrics = e.call(leader, "GET", "/metrics").body;
    EXPECT_NE(metrics.find("chorus_log_records_total{type=\"heartbeat\"} 0\n"), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("chorus_sessions_expired_total 1\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("chorus_log_records_total{type=\"revalidate\"} 1\n"), std::string::npos)
        << "busy's session moved to the follower, once: " << metrics;
    EXPECT_GT(beats, 5);
}

TEST(Groupd, LongPollWakesOnChangeAndOtherwiseTimesOut) {
    GroupdEnsemble e;
    ASSERT_NE(e.wait_ready(), 0);
    ASSERT_EQ(e.call(1, "PUT", "/lp/a?timeout=30").status, 200);

    HttpResult polled;
    int64_t waited_ms = 0;
    std::thread poller([&] {
        const auto start = Clock::now();
        polled = e.call(2, "GET", "/lp?wait-version=1");
        waited_ms = ms_since(start);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    ASSERT_EQ(e.call(3, "PUT", "/lp/b?timeout=30").status, 200);
    poller.join();
    EXPECT_EQ(polled.status, 200) << polled.body;
    EXPECT_EQ(group_version(polled), 2) << "woken by the join, not by the timeout";
    EXPECT_EQ(members(parse(polled), "active_members").count("b"), 1u);
    EXPECT_GE(waited_ms, 300) << "it waited for the change";

    // Nothing changes: the poll ends after --long-poll-ms with the same version.
    const auto start = Clock::now();
    HttpResult r = e.call(1, "GET", "/lp?wait-version=2");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(group_version(r), 2);
    EXPECT_GE(ms_since(start), GroupdEnsemble::kLongPollMs - 100);
    // A version already passed answers at once.
    EXPECT_EQ(group_version(e.call(1, "GET", "/lp?wait-version=0", {}, 1000)), 2);
}

TEST(Groupd, MemberAndGroupConfigsAndInactiveMembers) {
    GroupdEnsemble e;
    ASSERT_NE(e.wait_ready(), 0);
    // A config before the member ever joins: an inactive member.
    HttpResult r = e.call(1, "PUT", "/cfg/carol/config", R"({"zone": "b"})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(group_version(r), 1);
    json doc = parse(r);
    EXPECT_TRUE(members(doc, "active_members").empty());
    EXPECT_EQ(members(doc, "inactive_members")["carol"], json::parse(R"({"zone": "b"})"));

    r = e.call(2, "PUT", "/cfg/config", R"({"replicas": 3})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(group_version(r), 2);
    EXPECT_EQ(parse(r)["config"], json::parse(R"({"replicas": 3})"));

    // Joining without metadata: the config stands in.
    r = e.call(3, "PUT", "/cfg/carol?timeout=30");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(group_version(r), 3);
    doc = parse(r);
    EXPECT_EQ(members(doc, "active_members")["carol"], json::parse(R"({"zone": "b"})"));
    EXPECT_TRUE(members(doc, "inactive_members").empty());

    r = e.call(3, "PUT", "/cfg/carol", R"({"port": 9})");
    EXPECT_EQ(members(parse(r), "active_members")["carol"], json::parse(R"({"port": 9})"));
    EXPECT_EQ(group_version(r), 4);

    r = e.call(1, "DELETE", "/cfg/carol");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(group_version(r), 5);
    EXPECT_EQ(members(parse(r), "inactive_members")["carol"], json::parse(R"({"zone": "b"})"));

    EXPECT_EQ(e.call(1, "PUT", "/cfg/config", "{not json").status, 400);
    EXPECT_EQ(e.call(1, "PUT", "/cfg/dave/config", "").status, 400) << "a config needs a body";
}

TEST(Groupd, KillingTheLeaderExpiresNoHeartbeatingMember) {
    GroupdEnsemble e;
    const int leader = e.wait_ready();
    ASSERT_NE(leader, 0);
    const std::vector<int> survivors = others(leader);
    constexpr int kMembers = 6;
    auto server_of = [&](int m) { return survivors[m % 2]; };
    auto name = [](int m) { return "/hb/m" + std::to_string(m); };
    for (int m = 0; m < kMembers; ++m)
        ASSERT_EQ(e.call(server_of(m), "PUT", name(m) + "?timeout=2").status, 200);

    const auto start = Clock::now();
    bool killed = false;
    int not_found = 0, beats = 0;
    while (ms_since(start) < 6000) {
        if (!killed && ms_since(start) > 1000) {
            e.process(leader).kill();
            killed = true;
        }
        for (int m = 0; m < kMembers; ++m) {
            HttpResult r = e.call(server_of(m), "HEAD", name(m), {}, 2000);
            if (r.status == 404) ++not_found;  // 503 during the election is fine
            if (r.status == 200) ++beats;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    EXPECT_EQ(not_found, 0) << "a heartbeating member was expired";
    EXPECT_GT(beats, kMembers * 3);
    ASSERT_NE(e.wait_ready(), 0);
    for (int id : survivors) {
        HttpResult r = e.call(id, "GET", "/hb");
        EXPECT_EQ(group_version(r), kMembers) << "server " << id << ": only the joins changed it";
        EXPECT_EQ(members(parse(r), "active_members").size(), static_cast<size_t>(kMembers))
            << r.body;
    }
}

TEST(Groupd, BadInputGetsAClearErrorAndNeverHurtsTheServer) {
    GroupdEnsemble e;
    ASSERT_NE(e.wait_ready(), 0);
    auto refused = [&](std::string_view method, std::string_view target, std::string_view body) {
        HttpResult r = e.call(1, method, target, body);
        json doc = parse(r);
        EXPECT_TRUE(doc.is_object() && doc.contains("error"))
            << method << " " << target << ": " << r.body;
        return r.status;
    };
    EXPECT_EQ(refused("GET", "/a/b/c/d", ""), 404);
    EXPECT_EQ(refused("POST", "/web/x", ""), 405);
    EXPECT_EQ(refused("PUT", "/web/a%2Fb", ""), 400);
    EXPECT_EQ(refused("PUT", "/web/" + std::string(200, 'n'), ""), 400);
    EXPECT_EQ(refused("PUT", "/web//", ""), 400);
    EXPECT_EQ(refused("PUT", "/web/x?timeout=0", ""), 400);
    EXPECT_EQ(refused("PUT", "/web/x?timeout=soon", ""), 400);
    EXPECT_EQ(refused("PUT", "/web/x", "{\"port\":"), 400);
    EXPECT_EQ(refused("PUT", "/web/x", std::string(GroupdEnsemble::kMaxBodyBytes + 1, 'x')), 413);
    EXPECT_EQ(refused("GET", "/web?wait-version=-1", ""), 400);
    EXPECT_EQ(refused("PUT", "/health/x", ""), 400);
    EXPECT_EQ(e.call(1, "HEAD", "/health").status, 405);
    // Bytes that are not UTF-8, in names and bodies; JSON that would
    // overflow a number or the stack.
    EXPECT_EQ(refused("PUT", "/web/%FF", ""), 400);
    EXPECT_EQ(refused("GET", "/%C0%AF", ""), 400) << "an overlong '/'";
    EXPECT_EQ(refused("GET", "/?%FF=1", ""), 400);
    EXPECT_EQ(refused("PUT", "/web/x", "\xff"), 400);
    EXPECT_EQ(refused("PUT", "/web/x", "[\"\xc3\"]"), 400);
    EXPECT_EQ(refused("PUT", "/web/x", "1e999"), 400);
    EXPECT_EQ(refused("PUT", "/web/x", std::string(65, '[') + std::string(65, ']')), 400);
    EXPECT_EQ(refused("PUT", "/web/x", std::string(4000, '[')), 400);
    EXPECT_EQ(e.call(1, "PUT", "/web/x", std::string(64, '[') + std::string(64, ']')).status, 200)
        << "64 levels are allowed";

    {  // Not HTTP at all: 400 and the connection closes.
        testing::RawConnection raw(e.port(1));
        raw.send_bytes("GARBAGE GARBAGE\r\n\r\n");
        bool closed = false;
        const std::string answer = raw.read_until_close(&closed);
        EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
        EXPECT_TRUE(closed);
    }
    {  // Headers over the limit: 431.
        testing::RawConnection raw(e.port(1));
        raw.send_bytes("GET /health HTTP/1.1\r\nX-Big: " + std::string(16 << 10, 'h') + "\r\n\r\n");
        bool closed = false;
        const std::string answer = raw.read_until_close(&closed);
        EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer.substr(0, 200);
    }
    {  // A slow client (half a request line) and an idle one are closed.
        testing::RawConnection slow(e.port(1));
        testing::RawConnection idle(e.port(1));
        slow.send_bytes("GET /hea");
        const auto start = Clock::now();
        bool closed = false;
        EXPECT_EQ(slow.read_until_close(&closed), "");
        EXPECT_TRUE(closed);
        EXPECT_GE(ms_since(start), GroupdEnsemble::kRequestTimeoutMs - 200);
        EXPECT_EQ(idle.read_until_close(&closed), "");
        EXPECT_TRUE(closed);
    }
    {  // Pipelined requests, answered in order.
        testing::RawConnection raw(e.port(1));
        raw.send_bytes(
            "GET /health HTTP/1.1\r\nHost: t\r\n\r\n"
            "GET /ready HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        bool closed = false;
        const std::string answer = raw.read_until_close(&closed);
        const size_t first = answer.find("\"status\":\"up\"");
        const size_t second = answer.find("\"ready\":true");
        EXPECT_NE(first, std::string::npos) << answer;
        EXPECT_NE(second, std::string::npos) << answer;
        EXPECT_LT(first, second);
        EXPECT_TRUE(closed);
    }
    {  // Pipelined: a write, then a read that must see it.
        testing::RawConnection raw(e.port(2));
        raw.send_bytes(
            "PUT /pipe/a?timeout=30 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
            "GET /pipe HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        bool closed = false;
        const std::string answer = raw.read_until_close(&closed);
        const size_t second = answer.find("HTTP/1.1", 1);
        ASSERT_NE(second, std::string::npos) << answer;
        EXPECT_NE(answer.find("\"a\":null", second), std::string::npos) << answer;
    }
    {  // A client that hangs up during a long poll frees its connection at once.
        auto connections = [&] {
            const std::string m = e.call(3, "GET", "/metrics").body;
            const size_t at = m.find("\ngroupd_http_connections ");
            return at == std::string::npos ? -1 : std::atoi(m.c_str() + at + 25);
        };
        const int before = connections();
        auto poll = std::make_unique<testing::RawConnection>(e.port(3));
        poll->send_bytes("GET /pipe?wait-version=100 HTTP/1.1\r\nHost: t\r\n\r\n");
        EXPECT_TRUE(eventually([&] { return connections() == before + 1; }, 1000));
        poll.reset();
        const auto start = Clock::now();
        EXPECT_TRUE(eventually([&] { return connections() == before; }, 1500));
        EXPECT_LT(ms_since(start), GroupdEnsemble::kLongPollMs - 300);
    }
    {  // Expect: 100-continue is answered before the body is sent.
        testing::RawConnection raw(e.port(1));
        const std::string body = R"({"k": 1})";
        raw.send_bytes(
            "PUT /web/patient?timeout=30 HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
            "Content-Length: " +
            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n");
        // Only the interim answer can come before the body is sent.
        const std::string interim = raw.read_some();
        EXPECT_EQ(interim.rfind("HTTP/1.1 100", 0), 0u) << interim;
        bool closed = false;
        raw.send_bytes(body);
        const std::string answer = raw.read_until_close(&closed);
        EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
    }
    // The server is fine and counted what it closed.
    EXPECT_EQ(e.call(1, "GET", "/health").status, 200);
    const std::string metrics = e.call(1, "GET", "/metrics").body;
    EXPECT_NE(metrics.find("groupd_http_connections_timed_out_total"), std::string::npos);
    EXPECT_EQ(metrics.find("groupd_http_connections_timed_out_total 0\n"), std::string::npos)
        << metrics;
}

TEST(Groupd, ReadinessMetricsAndStatus) {
    GroupdEnsemble e;
    const int leader = e.wait_ready();
    ASSERT_NE(leader, 0);
    EXPECT_EQ(e.call(1, "GET", "/health").body, R"({"status":"up"})");
    HttpResult r = e.call(leader, "GET", "/metrics");
    EXPECT_EQ(r.headers["content-type"].rfind("text/plain", 0), 0u);
    EXPECT_NE(r.body.find("chorus_role{role=\"leading\"} 1\n"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("chorus_ready 1\n"), std::string::npos);
    EXPECT_NE(r.body.find("groupd_commit_latency_seconds_count"), std::string::npos);
    EXPECT_NE(r.body.find("groupd_http_requests_total{code=\"200\"}"), std::string::npos);
    EXPECT_EQ(e.status(leader)["role"], "leading");

    // Without a quorum a server is up but not ready, and refuses writes.
    const std::vector<int> rest = others(leader);
    e.process(leader).kill();
    e.process(rest[1]).kill();
    EXPECT_TRUE(eventually([&] { return e.call(rest[0], "GET", "/ready").status == 503; }, 5000));
    EXPECT_EQ(e.call(rest[0], "GET", "/health").status, 200);
    r = e.call(rest[0], "PUT", "/web/x");
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_TRUE(parse(r).contains("error"));
}

TEST(Groupd, ChorusctlShowsServersGroupsAndMembers) {
    GroupdEnsemble e;
    ASSERT_NE(e.wait_ready(), 0);
    ASSERT_TRUE(e.wait_endpoints());
    ASSERT_EQ(e.call(1, "PUT", "/web/alice?timeout=30", R"({"port": 8080})").status, 200);
    ASSERT_EQ(e.call(1, "PUT", "/web/carol/config", R"({"zone": "b"})").status, 200);
    // One address is enough: the others come from the recorded endpoints.
    const std::string command =
        binary("CHORUSCTL", "chorusctl") + " --servers " + e.address(2) + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[4096];
    while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
    const int rc = ::pclose(pipe);
    EXPECT_EQ(rc, 0) << output;
    for (const std::string& expected :
         {std::string("leading"), std::string("following"), e.address(1), e.address(3),
          std::string("group web"), std::string("alice"), std::string("{\"port\":8080}"),
          std::string("carol"), std::string("inactive")}) {
        EXPECT_NE(output.find(expected), std::string::npos) << expected << " in:\n" << output;
    }
}

}  // namespace
}  // namespace chorus::groupd
