// The second review of the bootstrap rule (issue 13), against 0de384e. Then
// an empty server with --bootstrap voted at once unless a vote told it of
// history, and a server with acceptedEpoch > 0, currentEpoch 0 and an empty
// log ("an original member") kept voting. Its votes carry currentEpoch 0 and
// last zxid 0:0, so a wiped server restarted with --bootstrap heard no
// history from it, and the two made a quorum of three without the server
// that held a committed write. The fix: an empty bootstrapping server votes
// only once every other member has answered it, none with history
// (election.cc, on_vote_while_bootstrapping). The first two tests failed at
// 0de384e.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/ensemble.h"

namespace chorus::zab {
namespace {

using chorus::testing::Ensemble;

Config base_config() { return chorus::testing::quick_config(); }

DurableState accepted_only(uint64_t epoch) {
    DurableState d;
    d.accepted_epoch = epoch;
    return d;
}

// What a stopped server's disk holds (writes are instant in the Ensemble and
// everything it logged was committed and delivered).
DurableState disk_of(Ensemble& e, ServerId id) {
    DurableState d;
    d.accepted_epoch = e.core(id).accepted_epoch();
    d.current_epoch = e.core(id).current_epoch();
    d.log = e.node(id).delivered;
    return d;
}

const Txn* at(const std::vector<Txn>& log, Zxid z) {
    for (const Txn& t : log)
        if (t.zxid == z) return &t;
    return nullptr;
}

// 1. A new ensemble {1,2,3}, all started with --bootstrap. Server 3 (highest
//    id) wins the first election, makes acceptedEpoch 1 durable, sends
//    NEWEPOCH(1); 1 and 2 accept it durably; 3 crashes before its
//    currentEpoch 1 is durable. Disks: 1, 2, 3 = {accepted 1, current 0, empty}.
// 2. 1 and 2 (original members, they keep voting) elect 2: epoch 2.
//    x is committed at 2:1 (durable on 1 and 2, delivered, completed).
// 3. 2 goes down. 1's disk is wiped; 1 is restarted with --bootstrap left on
//    (the accident the rule is for). 3 is restarted with --bootstrap (the
//    documented procedure for an original member whose first epoch failed).
// 4. 1 hears 3's vote: currentEpoch 0, last 0:0 -> no history; 3 is an
//    original member -> keeps voting. {1,3} elect 3; 3 picks epoch
//    max(1, 0) + 1 = 2 -- the epoch 2 already established by 2 with 1.
// 5. 3 commits y at 2:1. 2 comes back (no --bootstrap): it follows 3; its
//    ACKEPOCH says (2, 2:1) = 3's last zxid, so no TRUNC, no DIFF; it acks
//    NEWLEADER and serves with x at 2:1 while 1 and 3 hold y at 2:1.
TEST(ZabBootstrapReview, AWipedBootstrapServerAndANeverSyncedOriginalMemberLoseACommittedWrite) {
    std::map<ServerId, DurableState> disks;
    for (ServerId id : {1, 2, 3}) disks[id] = accepted_only(1);
    Ensemble e(3, base_config(), disks, {1, 2});  // 3 is down (crashed as leader of epoch 1)
    ASSERT_EQ(e.elect(), 2u);
    ASSERT_EQ(e.core(2).current_epoch(), 2u);
    ASSERT_TRUE(e.core(2).submit(Request{1, 1, "x"}).is_ok());
    e.after_input(2);
    e.tick(5);
    ASSERT_EQ(e.node(2).completions.size(), 1u);
    ASSERT_TRUE(at(e.node(1).delivered, Zxid{2, 1}));
    ASSERT_EQ(at(e.node(2).delivered, Zxid{2, 1})->data, "x");
    const DurableState disk2 = disk_of(e, 2);

    e.stop(2);
    e.stop(1);
    e.start(1, DurableState{}, /*bootstrap=*/true);  // wiped, flag left on
    e.start(3, accepted_only(1), /*bootstrap=*/true);
    const ServerId leader = e.elect(100);
    EXPECT_EQ(leader, 0u) << "server " << leader << " leads epoch "
                          << (leader ? e.core(leader).current_epoch() : 0)
                          << " without x = 2:1 (its voters: a wiped server and one never synced)";
    if (leader == 0) return;
    EXPECT_FALSE(e.core(1).stats().bootstrap_ignored);
    EXPECT_TRUE(e.core(1).voting());

    ASSERT_TRUE(e.core(leader).submit(Request{2, 1, "y"}).is_ok());
    e.after_input(leader);
    e.tick(5);
    e.start(2, disk2, /*bootstrap=*/false);
    e.tick(40);
    const Txn* on1 = at(e.node(1).delivered, Zxid{2, 1});
    const Txn* on2 = at(e.node(2).delivered, Zxid{2, 1});
    ASSERT_TRUE(on1 && on2);
    EXPECT_EQ(on1->data, on2->data)
        << "agreement: 2:1 is " << on2->data << " on server 2 (role " << role_name(e.core(2).role())
        << ", serving " << e.core(2).serving() << ") and " << on1->data << " on server 1";
}

// Five servers: x committed by 1,2,3 in epoch 2; 4 and 5 accepted epoch 1
// (the failed first epoch) and were never synced. 2 and 3 down, 1 wiped and
// restarted with --bootstrap, 4 and 5 restarted with --bootstrap: three of
// five servers, none holding history, elect a leader.
TEST(ZabBootstrapReview, FiveServersTwoNeverSyncedOriginalMembersAndAWipedOne) {
    std::map<ServerId, DurableState> disks;
    for (ServerId id : {1, 2, 3, 4, 5}) disks[id] = accepted_only(1);
    Ensemble e(5, base_config(), disks, {1, 2, 3});
    const ServerId first = e.elect();
    ASSERT_NE(first, 0u);
    ASSERT_TRUE(e.core(first).submit(Request{1, 1, "x"}).is_ok());
    e.after_input(first);
    e.tick(5);
    ASSERT_EQ(e.node(first).completions.size(), 1u);
    for (ServerId id : {1, 2, 3}) e.stop(id);
    e.start(1, DurableState{}, /*bootstrap=*/true);
    e.start(4, accepted_only(1), /*bootstrap=*/true);
    e.start(5, accepted_only(1), /*bootstrap=*/true);
    const ServerId leader = e.elect(100);
    EXPECT_EQ(leader, 0u) << "server " << leader << " leads epoch "
                          << (leader ? e.core(leader).current_epoch() : 0) << " without x";
}

// Liveness, pinned: the price of the rule. A server that joined a leader
// before it was sure it was a new ensemble's (it heard of history, or
// followed before every member answered) is marked joined, and counts as
// failed until it is synced: its disk looks like a wiped one that rejoined,
// and counting such a disk can lose writes. Here 1 holds x = 1:1, committed;
// 3 is marked joined and accepted epoch 1; its leader 2 is gone for good.
// Nobody can be elected, and re-bootstrapping 3 does not change that (it
// hears 1's history). docs/operations.md says what an operator can do.
TEST(ZabBootstrapReview, ALateOriginalMemberLeftUnsyncedWhenTheFirstLeaderDiesStallsTheEnsemble) {
    std::map<ServerId, DurableState> disks;
    disks[1].accepted_epoch = 1;
    disks[1].current_epoch = 1;
    disks[1].log.push_back(Txn{Zxid{1, 1}, 1, "x", 0, 0});
    disks[3].accepted_epoch = 1;
    disks[3].joined_ensemble = true;
    Ensemble e(3, base_config(), disks, {1, 3});
    EXPECT_EQ(e.elect(200), 0u);
    EXPECT_FALSE(e.core(3).voting());
    e.stop(3);
    e.start(3, DurableState{}, /*bootstrap=*/true);  // wiped and re-bootstrapped: still stuck
    EXPECT_EQ(e.elect(200), 0u);
    EXPECT_FALSE(e.core(3).voting());
}

// The common first start: 3 comes up late. 1 and 2 wait for it (they cannot
// know they are a new ensemble's before every member answered); once it is
// up all three elect, and 3 votes from the start.
TEST(ZabBootstrapReview, ANewEnsembleWaitsForItsLastServerThenElectsWithEveryoneVoting) {
    Ensemble e(3, base_config(), {}, {1, 2});
    EXPECT_EQ(e.elect(100), 0u) << "elected before every member answered";
    EXPECT_FALSE(e.core(1).voting());
    e.start(3);
    const ServerId leader = e.elect(100);
    ASSERT_NE(leader, 0u);
    for (ServerId id : {1, 2, 3}) {
        EXPECT_TRUE(e.core(id).voting()) << "server " << id;
        EXPECT_FALSE(e.core(id).stats().bootstrap_ignored) << "server " << id;
    }
}

}  // namespace
}  // namespace chorus::zab
