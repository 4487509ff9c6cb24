// Node::reconfigure on real Nodes (RocksDB, peer links on 127.0.0.1): a
// server that is not in --peers of the others is added as an observer,
// catches up, is promoted, and counts — the peer links follow the
// membership in force (DriverEnv::membership_in_force, Transport::add_peer).
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>

#include "tests/support/eventually.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "zab/runtime/node.h"

namespace chorus {
namespace {

// Keeps a count of what it delivered, and the last membership committed.
class CountingMachine : public StateMachine {
 public:
    std::optional<zab::Txn> preprocess(const zab::Request& r) override {
        zab::Txn txn;
        txn.type = r.type;
        txn.data = r.data;
        return txn;
    }
    void deliver(const zab::Txn&) override { ++delivered; }
    std::string save() override { return std::to_string(delivered.load()); }
    void restore(const std::string& s) override { delivered = s.empty() ? 0 : std::stoull(s); }
    void membership_committed(const zab::Txn&, const zab::Membership& m) override {
        std::lock_guard lock(mutex);
        membership = m.str();
    }
    std::string last_membership() {
        std::lock_guard lock(mutex);
        return membership;
    }
    std::atomic<uint64_t> delivered = 0;

 private:
    std::mutex mutex;
    std::string membership;
};

struct Server {
    testing::TempDir dir;
    CountingMachine app;
    std::unique_ptr<Node> node;
};

Status wait(std::function<void(Node::Done)> call) {
    auto promise = std::make_shared<std::promise<Status>>();
    auto result = promise->get_future();
    call([promise](Status s, Completion) { promise->set_value(s); });
    if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
        return Status(Code::kTimeout, "no answer in 10 s");
    return result.get();
}

TEST(NodeReconfig, AServerOutsideThePeersIsAddedCatchesUpIsPromotedAndCounts) {
    std::map<ServerId, net::Endpoint> addresses;
    for (ServerId id = 1; id <= 4; ++id) addresses[id] = {"127.0.0.1", testing::free_port()};
    std::map<ServerId, Server> servers;
    auto start = [&](ServerId id, std::map<ServerId, net::Endpoint> peers, bool bootstrap,
                     std::function<Result<zab::Membership>()> join = {}) {
        NodeOptions o;
        o.id = id;
        o.peers = std::move(peers);
        o.data_dir = servers[id].dir.path();
        o.bootstrap = bootstrap;
        o.join = std::move(join);
        servers[id].node = std::make_unique<Node>(o, servers[id].app);
        ASSERT_TRUE(servers[id].node->start().is_ok());
    };
    std::map<ServerId, net::Endpoint> first = addresses;
    first.erase(4);
    for (ServerId id = 1; id <= 3; ++id) ASSERT_NO_FATAL_FAILURE(start(id, first, true));
    ServerId leader = 0;
    ASSERT_TRUE(testing::eventually(
        [&] {
            for (auto& [id, s] : servers) {
                const NodeStatus st = s.node->status();
                if (st.role == Role::kLeading && st.serving) leader = id;
            }
            return leader != 0;
        },
        10000));
    Node& L = *servers[leader].node;
    auto write = [&](int n) {
        for (int i = 0; i < n; ++i) {
            Status s =
                wait([&](Node::Done d) { L.submit({.type = 1, .data = "w"}, std::move(d)); });
            ASSERT_TRUE(s.is_ok()) << s.str();
        }
    };
    ASSERT_NO_FATAL_FAILURE(write(20));

    zab::Membership m;
    for (ServerId id = 1; id <= 3; ++id) m.voters[id] = addresses[id].str();
    m.observers[4] = addresses[4].str();
    Status s = wait([&](Node::Done d) { L.reconfigure(m, std::move(d)); });
    ASSERT_TRUE(s.is_ok()) << s.str();
    // Server 4 joins as --join makes it: its peers name only itself, and it
    // learns the membership (here handed over as a member's GET /membership
    // would answer it). The others learn its address from the CONFIG.
    const zab::Membership in_force = L.membership();
    EXPECT_TRUE(in_force.is_observer(4)) << in_force.str();
    ASSERT_NO_FATAL_FAILURE(start(4, {{4, addresses[4]}}, false,
                                  [in_force]() -> Result<zab::Membership> { return in_force; }));
    EXPECT_TRUE(servers[4].node->membership().is_observer(4) ||
                servers[4].node->membership().voters.empty())
        << servers[4].node->membership().str();
    ASSERT_TRUE(testing::eventually(
        [&] { return servers[4].node->status().serving && servers[4].app.delivered >= 20; }, 10000))
        << "the observer caught up (delivered " << servers[4].app.delivered << ")";

    // Promoted, it counts: with four voters a quorum is three, so with one
    // of the first three stopped, writes commit only with server 4.
    m = L.membership();  // a change is built from the membership in force
    m.voters[4] = m.observers.at(4);
    m.observers.clear();
    s = wait([&](Node::Done d) { L.reconfigure(m, std::move(d)); });
    ASSERT_TRUE(s.is_ok()) << s.str();
    ServerId stopped = leader == 1 ? 2 : 1;
    servers[stopped].node->stop();
    ASSERT_NO_FATAL_FAILURE(write(20));
    ASSERT_TRUE(testing::eventually([&] { return servers[4].app.delivered >= 40; }, 10000));
    EXPECT_TRUE(servers[4].node->status().voting);
    ASSERT_TRUE(testing::eventually(
        [&] { return servers[4].app.last_membership() == "voters 1,2,3,4"; }, 10000))
        << servers[4].app.last_membership();

    // Refusals come back through `done`: two voters at once.
    zab::Membership two = L.membership();
    two.voters.erase(4);
    two.voters.erase(3 == leader ? 2 : 3);
    s = wait([&](Node::Done d) { L.reconfigure(two, std::move(d)); });
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.str();
    for (auto& [id, server] : servers) server.node->stop();
}

}  // namespace
}  // namespace chorus
