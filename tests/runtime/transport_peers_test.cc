// Transport::add_peer (zab/runtime/transport.h): a server that a membership
// change adds is linked with from then on, both ways, and a known server at
// a new address is redialed there. Real sockets on 127.0.0.1, one
// io_context run in bounded slices.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <set>

#include "tests/support/process.h"
#include "zab/runtime/transport.h"

namespace chorus::runtime {
namespace {

using Clock = std::chrono::steady_clock;

struct Peer {
    std::set<zab::ServerId> linked;
    std::vector<std::pair<zab::ServerId, uint64_t>> votes;  // (from, round)
    std::unique_ptr<Transport> transport;

    Peer(boost::asio::io_context& io, zab::ServerId self,
         std::map<zab::ServerId, net::Endpoint> peers) {
        TransportOptions o;
        o.self = self;
        o.peers = std::move(peers);
        Transport::Callbacks c;
        c.on_connected = [this](zab::ServerId p) { linked.insert(p); };
        c.on_disconnected = [this](zab::ServerId p) { linked.erase(p); };
        c.on_message = [this](zab::ServerId from, zab::pb::PeerMessage& m) {
            if (m.has_vote()) votes.emplace_back(from, m.vote().round());
        };
        transport = std::make_unique<Transport>(io, std::move(o), std::move(c));
    }
};

// Runs `io` until `done` holds or `limit` passes; whether it held.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto deadline = Clock::now() + limit;
    while (!done() && Clock::now() < deadline) {
        io.restart();
        io.run_for(std::chrono::milliseconds(20));
    }
    return done();
}

zab::pb::PeerMessage vote(uint64_t round) {
    zab::pb::PeerMessage m;
    m.mutable_vote()->set_round(round);
    return m;
}

TEST(TransportPeers, AServerAddedLaterIsLinkedWithBothWays) {
    boost::asio::io_context io;
    const net::Endpoint e1{"127.0.0.1", testing::free_port()};
    const net::Endpoint e2{"127.0.0.1", testing::free_port()};
    const net::Endpoint e3{"127.0.0.1", testing::free_port()};
    // 1 and 3 know only each other; 2 is added later (a new server knows
    // the membership that names it: all three).
    Peer one(io, 1, {{1, e1}, {3, e3}});
    Peer two(io, 2, {{1, e1}, {2, e2}, {3, e3}});
    Peer three(io, 3, {{1, e1}, {3, e3}});
    ASSERT_TRUE(one.transport->start().is_ok());
    ASSERT_TRUE(two.transport->start().is_ok());
    ASSERT_TRUE(three.transport->start().is_ok());
    ASSERT_TRUE(run_until(io, [&] { return one.linked.count(3) && three.linked.count(1); }));
    // 2 dials 3 (the higher id), whose Hello check refuses a stranger; 1 does
    // not dial 2 at all. Give them time to prove it.
    run_until(
        io, [] { return false; }, std::chrono::seconds(1));  // (1 s of nothing)
    EXPECT_FALSE(two.linked.count(1));
    EXPECT_FALSE(two.linked.count(3));

    one.transport->add_peer(2, e2);    // 1 dials 2
    three.transport->add_peer(2, e2);  // 3 accepts 2's Hello from now on
    ASSERT_TRUE(run_until(io, [&] {
        return two.linked.count(1) && two.linked.count(3) && one.linked.count(2) &&
               three.linked.count(2);
    })) << "the added server is linked with both";
    one.transport->send(2, vote(7));
    three.transport->send(2, vote(9));
    ASSERT_TRUE(run_until(io, [&] { return two.votes.size() == 2; }));
    EXPECT_EQ(std::set(two.votes.begin(), two.votes.end()),
              (std::set<std::pair<zab::ServerId, uint64_t>>{{1, 7}, {3, 9}}));
    one.transport->stop();
    two.transport->stop();
    three.transport->stop();
}

TEST(TransportPeers, AServerAtANewAddressIsRedialedThere) {
    boost::asio::io_context io;
    const net::Endpoint e1{"127.0.0.1", testing::free_port()};
    const net::Endpoint old_e2{"127.0.0.1", testing::free_port()};
    const net::Endpoint new_e2{"127.0.0.1", testing::free_port()};
    Peer one(io, 1, {{1, e1}, {2, old_e2}});
    auto two =
        std::make_unique<Peer>(io, 2, std::map<zab::ServerId, net::Endpoint>{{1, e1}, {2, old_e2}});
    ASSERT_TRUE(one.transport->start().is_ok());
    ASSERT_TRUE(two->transport->start().is_ok());
    ASSERT_TRUE(run_until(io, [&] { return one.linked.count(2) > 0; }));
    // Server 2 moves: the old process stops, a new one listens elsewhere.
    two->transport->stop();
    two =
        std::make_unique<Peer>(io, 2, std::map<zab::ServerId, net::Endpoint>{{1, e1}, {2, new_e2}});
    ASSERT_TRUE(two->transport->start().is_ok());
    one.transport->add_peer(2, new_e2);
    ASSERT_TRUE(run_until(io, [&] { return two->linked.count(1) > 0; }))
        << "server 1 dialed server 2 at its new address";
    one.transport->send(2, vote(5));
    ASSERT_TRUE(run_until(io, [&] { return !two->votes.empty(); }));
    EXPECT_EQ(two->votes.front(), (std::pair<zab::ServerId, uint64_t>{1, 5}));
    one.transport->stop();
    two->transport->stop();
}

}  // namespace
}  // namespace chorus::runtime
