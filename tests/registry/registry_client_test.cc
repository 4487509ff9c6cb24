// RegistryClient (examples/registry/registry_client.h) against fake masters:
// LookupListeners on 127.0.0.1 whose answers the test decides (a name, not
// serving, or silence). What it must do: spread over the masters at random,
// pass over one that is silent or not serving, hedge, cache within the
// staleness bound, follow a new master list, and bound every lookup.
#include "examples/registry/registry_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include "examples/registry/lookup_listener.h"
#include "examples/registry/lookups.h"

namespace chorus::registry {
namespace {

using Clock = std::chrono::steady_clock;

// One fake master: answers GetActiveMaster with its own port as the
// active master's port, unless told to say NOT_SERVING or to stay silent.
class FakeMaster {
 public:
    enum class Mode { kAnswer, kNotServing, kSilent, kNoActive };

    FakeMaster()
        : listener_(LookupListenerOptions{.endpoint = {"127.0.0.1", 0}},
                    [this](pb::RegistryRequest r, LookupReply reply) {
                        ++asked_;
                        if (mode_ == Mode::kSilent) {
                            std::lock_guard lock(mu_);
                            held_.push_back(std::move(reply));  // never answered
                            return;
                        }
                        pb::RegistryResponse a;
                        a.set_id(r.id());
                        if (mode_ == Mode::kNotServing) {
                            a.set_code(pb::NOT_SERVING);
                            a.set_message("not serving");
                        } else if (r.has_get_active_master() && mode_ == Mode::kNoActive) {
                            a.set_code(pb::NOT_FOUND);
                            a.set_message("no active master now");
                        } else if (r.has_get_active_master()) {
                            *a.mutable_active_master() =
                                to_pb(ServerName{.host = "m", .port = port(), .start_code = 1});
                        } else if (r.has_get_meta_location()) {
                            a.set_code(pb::NOT_FOUND);
                            a.set_message("no meta location yet");
                        } else if (r.has_set_meta_location()) {
                            a.set_code(pb::BAD_VERSION);
                            *a.mutable_meta_location() = r.set_meta_location().server();
                            a.set_meta_version(7);
                        }
                        reply(std::move(a));
                    }) {
        EXPECT_TRUE(listener_.start().is_ok());
    }

    uint16_t port() const { return listener_.port(); }
    std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
    void set_mode(Mode m) { mode_ = m; }
    uint64_t asked() const { return asked_.load(); }

 private:
    LookupListener listener_;
    std::atomic<Mode> mode_{Mode::kAnswer};
    std::atomic<uint64_t> asked_{0};
    std::mutex mu_;
    std::vector<LookupReply> held_;
};

std::vector<std::string> addresses(const std::vector<FakeMaster*>& masters) {
    std::vector<std::string> out;
    for (auto* m : masters) out.push_back(m->address());
    return out;
}

TEST(RegistryClient, SpreadsLookupsOverTheMastersAtRandom) {
    FakeMaster a, b, c;
    std::set<uint16_t> answered_by;
    for (uint64_t seed = 1; seed <= 30; ++seed) {
        RegistryClient client(
            {.masters = addresses({&a, &b, &c}), .cache_ttl_ms = 0, .seed = seed});
        auto active = client.active_master();
        ASSERT_TRUE(active.is_ok()) << active.status().str();
        answered_by.insert(active.value().port);
    }
    // Thirty first picks, each of three masters: all three are picked (the
    // chance that one is never picked is under 3 * (2/3)^30, about 1e-5).
    EXPECT_EQ(answered_by.size(), 3u);
}

TEST(RegistryClient, ProbesPastSilentAndNotServingMastersUntilOneAnswers) {
    FakeMaster silent, not_serving, good;
    silent.set_mode(FakeMaster::Mode::kSilent);
    not_serving.set_mode(FakeMaster::Mode::kNotServing);
    for (uint64_t seed = 1; seed <= 6; ++seed) {
        RegistryClient client({.masters = addresses({&silent, &not_serving, &good}),
                               .timeout_ms = 3000,
                               .attempt_timeout_ms = 200,
                               .cache_ttl_ms = 0,
                               .seed = seed});
        auto active = client.active_master();
        ASSERT_TRUE(active.is_ok()) << active.status().str();
        EXPECT_EQ(active.value().port, good.port());
        EXPECT_EQ(client.last_master(), good.address());
    }
    EXPECT_GT(silent.asked(), 0u);
    EXPECT_GT(not_serving.asked(), 0u);
}

TEST(RegistryClient, AHedgedLookupDoesNotWaitForASilentMaster) {
    FakeMaster silent, good;
    silent.set_mode(FakeMaster::Mode::kSilent);
    for (uint64_t seed = 1; seed <= 6; ++seed) {
        RegistryClient client({.masters = addresses({&silent, &good}),
                               .hedge = 2,
                               .timeout_ms = 3000,
                               .attempt_timeout_ms = 2000,
                               .cache_ttl_ms = 0,
                               .seed = seed});
        const auto start = Clock::now();
        auto active = client.active_master();
        ASSERT_TRUE(active.is_ok()) << active.status().str();
        EXPECT_EQ(active.value().port, good.port());
        // Both are asked at once: the answer does not wait out the silent
        // one's attempt timeout (2 s).
        EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1500));
        EXPECT_EQ(client.counters().requests, 2u);
    }
}

TEST(RegistryClient, EveryMasterFailingGivesAClearErrorWithinTheTimeout) {
    FakeMaster not_serving, silent;
    not_serving.set_mode(FakeMaster::Mode::kNotServing);
    {
        // Every master not serving: asked again and again (an election may
        // be all it is) until the timeout, then kNotLeader.
        RegistryClient client(
            {.masters = addresses({&not_serving}), .timeout_ms = 500, .cache_ttl_ms = 0});
        const auto start = Clock::now();
        auto active = client.active_master();
        ASSERT_FALSE(active.is_ok());
        EXPECT_EQ(active.status().code(), Code::kNotLeader) << active.status().str();
        EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(400));
        EXPECT_GT(not_serving.asked(), 3u);
    }
    {
        // ... and a master that serves again within the timeout answers.
        RegistryClient client(
            {.masters = addresses({&not_serving}), .timeout_ms = 3000, .cache_ttl_ms = 0});
        std::thread elected([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            not_serving.set_mode(FakeMaster::Mode::kAnswer);
        });
        auto active = client.active_master();
        elected.join();
        EXPECT_TRUE(active.is_ok()) << active.status().str();
    }
    silent.set_mode(FakeMaster::Mode::kSilent);
    RegistryClient client({.masters = addresses({&silent}),
                           .timeout_ms = 300,
                           .attempt_timeout_ms = 1000,
                           .cache_ttl_ms = 0});
    const auto start = Clock::now();
    auto active = client.active_master();
    ASSERT_FALSE(active.is_ok());
    EXPECT_EQ(active.status().code(), Code::kTimeout);
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1000));
    // Nothing listening at all.
    RegistryClient nowhere({.masters = {"127.0.0.1:1"}, .timeout_ms = 300, .cache_ttl_ms = 0});
    auto none = nowhere.active_master();
    ASSERT_FALSE(none.is_ok());
    EXPECT_NE(none.status().message().find("127.0.0.1:1"), std::string::npos)
        << none.status().str();
}

TEST(RegistryClient, AnswersFromItsCacheWithinTheStalenessBound) {
    FakeMaster a;
    RegistryClient client({.masters = addresses({&a}), .cache_ttl_ms = 300});
    ASSERT_TRUE(client.active_master().is_ok());
    ASSERT_TRUE(client.active_master().is_ok());
    EXPECT_EQ(a.asked(), 1u);
    EXPECT_EQ(client.counters().cache_hits, 1u);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    ASSERT_TRUE(client.active_master().is_ok());  // stale: asked again
    EXPECT_EQ(a.asked(), 2u);
    client.invalidate();  // the caller found it wrong
    ASSERT_TRUE(client.active_master().is_ok());
    EXPECT_EQ(a.asked(), 3u);
    // NOT_FOUND is an answer, and is not cached.
    auto meta = client.meta_location();
    ASSERT_FALSE(meta.is_ok());
    EXPECT_EQ(meta.status().code(), Code::kNotFound);
    EXPECT_FALSE(client.meta_location().is_ok());
    EXPECT_EQ(a.asked(), 5u);
}

// A lookup is a read: a master that was asked and never answered (one
// shutting down) does not make it final. It failed registry-cluster's
// rolling restart in CI: the stopping master silent, the other asked not
// serving for a moment (an election), and the lookup gave up at once.
TEST(RegistryClient, ALookupIsAskedAgainAfterASilentMasterAndANotServingOne) {
    FakeMaster silent, electing;
    silent.set_mode(FakeMaster::Mode::kSilent);
    electing.set_mode(FakeMaster::Mode::kNotServing);
    RegistryClient client({.masters = addresses({&silent, &electing}),
                           .hedge = 2,
                           .timeout_ms = 3000,
                           .attempt_timeout_ms = 100,
                           .cache_ttl_ms = 0});
    std::thread elected([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        electing.set_mode(FakeMaster::Mode::kAnswer);
    });
    auto active = client.active_master();
    elected.join();
    EXPECT_TRUE(active.is_ok()) << active.status().str();
}

TEST(RegistryClient, WaitsOutAMomentWithoutAnActiveMaster) {
    FakeMaster a;
    a.set_mode(FakeMaster::Mode::kNoActive);
    RegistryClient client({.masters = addresses({&a}), .timeout_ms = 3000, .cache_ttl_ms = 0});
    std::thread failover([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        a.set_mode(FakeMaster::Mode::kAnswer);  // the next master has won
    });
    const auto start = Clock::now();
    auto active = client.active_master();
    failover.join();
    ASSERT_TRUE(active.is_ok()) << active.status().str();
    EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(200));
    EXPECT_GT(a.asked(), 2u);
    // None for good: kNotFound once the timeout is spent, not before.
    a.set_mode(FakeMaster::Mode::kNoActive);
    RegistryClient impatient({.masters = addresses({&a}), .timeout_ms = 300, .cache_ttl_ms = 0});
    const auto again = Clock::now();
    auto none = impatient.active_master();
    ASSERT_FALSE(none.is_ok());
    EXPECT_EQ(none.status().code(), Code::kNotFound);
    EXPECT_GE(Clock::now() - again, std::chrono::milliseconds(250));
    EXPECT_LT(Clock::now() - again, std::chrono::milliseconds(1000));
}

TEST(RegistryClient, FollowsANewMasterListWithoutARestart) {
    FakeMaster old_master, new_master;
    RegistryClient client({.masters = addresses({&old_master}), .cache_ttl_ms = 0});
    ASSERT_EQ(client.active_master().value().port, old_master.port());
    client.set_masters(addresses({&new_master}));
    old_master.set_mode(FakeMaster::Mode::kNotServing);
    for (int i = 0; i < 5; ++i) ASSERT_EQ(client.active_master().value().port, new_master.port());
    EXPECT_EQ(old_master.asked(), 1u);
}

TEST(RegistryClient, AMetaWriteRefusedByVersionSaysWhatIsThere) {
    FakeMaster a;
    RegistryClient client({.masters = addresses({&a})});
    auto w = client.set_meta_location(ServerName{.host = "rs", .port = 1, .start_code = 2}, 3);
    ASSERT_TRUE(w.is_ok()) << w.status().str();
    EXPECT_FALSE(w.value().applied);
    ASSERT_TRUE(w.value().now);
    EXPECT_EQ(w.value().now->version, 7);
    EXPECT_EQ(w.value().now->server.str(), "rs,1,2");
}

}  // namespace
}  // namespace chorus::registry
