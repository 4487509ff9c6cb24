// The ninth review (of 208fd21, the eighth review's fixes of leadership
// transfer). Each test failed before its fix; each asserts what
// docs/protocol.md promises of a transfer.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/ensemble.h"
#include "tests/support/held_net.h"

namespace chorus::zab {
namespace {

using chorus::testing::HeldNet;
using chorus::testing::others;

bool commit_or_later(const pb::PeerMessage& m) {
    return m.has_commit() || m.has_take_over() || m.has_vote();
}

// Ticks until some server leads and serves, or -1 after `limit`.
int ticks_to_serving_leader(HeldNet& net, int limit) {
    for (int t = 0; t <= limit; ++t) {
        if (net.serving_leader() != 0) return t;
        net.tick();
    }
    return -1;
}

// The servers of a transfer: the old leader, its target and the other
// follower of three.
struct Cast {
    ServerId leader = 0, target = 0, follower = 0;
};

// Elects a leader of `net` (three servers), has the target (or else the
// other follower) forward nine 1 MiB writes (request ids 100-108: more
// than one Ready delivers them, at 8 MiB each), starts a transfer to the
// target, and holds the writer's COMMITs, TAKE_OVER and votes, so that
// they come in one read.
Cast transfer_behind_big_writes(HeldNet& net, bool target_writes) {
    Cast c;
    c.leader = net.elect();
    EXPECT_NE(c.leader, 0u);
    net.tick(2);
    const auto rest = others(3, c.leader);
    c.target = rest[0];
    c.follower = rest[1];
    const ServerId writer = target_writes ? c.target : c.follower;
    for (uint64_t rid = 100; rid < 109; ++rid) net.submit(writer, rid, std::string(1 << 20, 'v'));
    EXPECT_TRUE(net.core(c.leader).transfer_leadership(1, c.target).is_ok());
    net.after_input(c.leader);
    net.hold(writer, commit_or_later);
    net.run();
    return c;
}

// Fault (a). A follower defers looking on a TAKE_OVER until it has
// delivered what is committed (its own forwarded writes may be among it).
// A stopping leader closes its links about 50 ms after the handover, and
// the Driver yields between Readys: the broken link made the follower look
// at once, and its last committed writes ended as kUnknownOutcome.
TEST(ZabReview9, ABrokenLinkToTheOldLeaderDoesNotEndTheDeferral) {
    HeldNet net(3);
    const auto [leader, target, follower] = transfer_behind_big_writes(net, false);
    net.step_held(follower);  // the COMMITs and the TAKE_OVER, in one read
    ASSERT_TRUE(net.take_one_ready(follower));
    ASSERT_LT(net.committed(follower).size(), 9u) << "the test needs a second Ready";
    net.break_link(follower, leader);  // the old leader stops
    net.after_input(follower);
    net.run();
    EXPECT_EQ(net.committed(follower).size(), 9u)
        << net.unknown(follower).size() << " committed writes ended with kUnknownOutcome";
    EXPECT_TRUE(net.unknown(follower).empty());
    EXPECT_GE(ticks_to_serving_leader(net, 20), 0);
}

// Fault (b). The target itself defers (its own forwarded writes wait to be
// delivered). Meanwhile the old leader and the other follower elect it and
// send it FOLLOWERINFO; it answered them as a follower of the old leader,
// they left it ("the leader no longer leads") and elected again. Once it
// looks, the servers already following it are its quorum.
TEST(ZabReview9, ADeferringTargetIsLedToWithoutAnotherElection) {
    HeldNet net(3);
    const auto [leader, target, follower] = transfer_behind_big_writes(net, true);
    // The two others have voted for the target and follow it.
    ASSERT_EQ(net.core(follower).role(), Role::kFollowing);
    ASSERT_EQ(net.core(follower).leader(), target);
    ASSERT_EQ(net.core(leader).role(), Role::kFollowing);
    const uint64_t looked_before = net.core(follower).stats().times_looked;
    net.release(target);
    EXPECT_EQ(net.committed(target).size(), 9u);
    EXPECT_TRUE(net.unknown(target).empty());
    const int took = ticks_to_serving_leader(net, 20);
    EXPECT_GE(took, 0);
    EXPECT_LE(took, 2) << "the target served only after " << took << " ticks";
    EXPECT_EQ(net.serving_leader(), target);
    EXPECT_EQ(net.core(follower).stats().times_looked, looked_before)
        << "the follower elected again";
}

// Fault (c), still open. The target crashes as the handover happens: its
// link breaks before the others take the TAKE_OVER. They vote for it all
// the same (the handed vote, for an election timeout), follow it, and wait
// out its silence: an election timeout more than a leader's crash costs.
// The first fix (no TAKE_OVER or take_over vote taken up for a server
// whose link is down, 2026-12-06) was reverted before it landed: the
// review found it livelocks elections where servers differ in which links
// they know to be down (the two tests after this one). A fix needs the
// take_over mark to lapse everywhere, on a timer, first.
TEST(ZabReview9, DISABLED_ATargetThatCrashesAtTheHandoverIsNotWaitedFor) {
    for (int n : {3, 5}) {
        HeldNet net(n);
        const ServerId leader = net.elect();
        ASSERT_NE(leader, 0u);
        net.tick(2);
        const ServerId target = others(n, leader)[0];
        ASSERT_TRUE(net.core(leader).transfer_leadership(1, target).is_ok());
        net.after_input(leader);
        // The TAKE_OVERs are sent; the target crashes before the others read theirs.
        const auto take_over = [](const pb::PeerMessage& m) { return m.has_take_over(); };
        for (ServerId id : others(n, leader)) net.hold(id, take_over);
        net.run();
        ASSERT_EQ(net.core(leader).role(), Role::kLooking) << "handed over";
        net.crash(target);
        for (ServerId id : others(n, leader))
            if (id != target) net.release(id);
        const int took = ticks_to_serving_leader(net, 30);
        EXPECT_GE(took, 0) << n << " servers";
        EXPECT_LE(took, 3) << n - 1 << " servers of " << n << " elected only after " << took
                           << " ticks (the election timeout is 10)";
    }
}

// The review of that fix: with every process alive, the target's links to
// two of four servers cut (both ends told), those two refused the TAKE_OVER
// and the take_over vote, the old leader held it, and no round ever ended:
// three connected servers of four elected nobody.
TEST(ZabReview9, ServersThatKnowDifferentLinksDownStillElect_FourServers) {
    HeldNet net(4);
    const ServerId leader = net.elect();
    ASSERT_NE(leader, 0u);
    net.tick(2);
    const auto rest = others(4, leader);
    const ServerId target = rest[0];
    net.cut_link(target, rest[1]);
    net.cut_link(target, rest[2]);
    net.tick(2);
    ASSERT_EQ(net.serving_leader(), leader);
    ASSERT_TRUE(net.core(leader).transfer_leadership(1, target).is_ok());
    net.after_input(leader);
    net.run();
    EXPECT_GE(ticks_to_serving_leader(net, 300), 0) << "no leader in 300 ticks";
}

// The same with three servers: the target dies at the handover and only
// one survivor is told (the old leader's link is half-open).
TEST(ZabReview9, ServersThatKnowDifferentLinksDownStillElect_DeadTarget) {
    HeldNet net(3);
    const ServerId leader = net.elect();
    ASSERT_NE(leader, 0u);
    net.tick(2);
    const auto rest = others(3, leader);
    const ServerId target = rest[0], survivor = rest[1];
    ASSERT_TRUE(net.core(leader).transfer_leadership(1, target).is_ok());
    net.after_input(leader);
    const auto take_over = [](const pb::PeerMessage& m) { return m.has_take_over(); };
    net.hold(target, take_over);
    net.hold(survivor, take_over);
    net.run();
    ASSERT_EQ(net.core(leader).role(), Role::kLooking) << "handed over";
    net.vanish(target);                // nobody is told ...
    net.break_link(survivor, target);  // ... but the survivor
    net.release(survivor);
    EXPECT_GE(ticks_to_serving_leader(net, 200), 0) << "no leader in 200 ticks";
}

}  // namespace
}  // namespace chorus::zab
