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
    d.joined_ensemble = e.core(id).joined_ensemble();
    return d;
}

const Txn* at(const std::vector<Txn>& log, Zxid z) {
    for (const Txn& t : log)
        if (t.zxid == z) return &t;
    return nullptr;
}

// Elects a leader and commits "x" through it (completed on the leader).
// Returns the leader, or 0 (with a failure recorded) if either failed.
ServerId elect_and_commit_x(Ensemble& e) {
    const ServerId leader = e.elect();
    EXPECT_NE(leader, 0u) << "no leader";
    if (leader == 0) return 0;
    EXPECT_TRUE(e.core(leader).submit(Request{1, 1, "x"}).is_ok());
    e.after_input(leader);
    e.tick(5);
    EXPECT_EQ(e.node(leader).completions.size(), 1u) << "x not committed";
    return e.node(leader).completions.size() == 1 ? leader : 0;
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
    const ServerId first = elect_and_commit_x(e);
    ASSERT_NE(first, 0u);
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

// ---- The third review (2efb21f)
//
// At 2efb21f the rule treated a server with --bootstrap, no joined mark, currentEpoch 0
// and acceptedEpoch > 0 as an "original member" that votes at once
// (core.cc: bootstrap_unconfirmed_ requires accepted_epoch_ == 0). But
// acceptedEpoch > 0 is also what a wiped disk gets when it is restarted the
// documented way, WITHOUT --bootstrap, follows a leader and accepts its
// NEWEPOCH: become_follower writes MarkJoinedEnsemble only while
// bootstrap_unconfirmed_, which a server started without the flag never is.
// If that server crashes before the sync completes and is then started with
// --bootstrap (left on by accident, which docs/operations.md says "does no
// harm"), it votes at once with an empty disk: the bug of 0de384e again.

// 1. As in the second review: a new ensemble {1,2,3}; its first leader 3
//    crashed in epoch 1 after 1, 2 and 3 had accepted it (all original
//    members: {accepted 1, current 0, empty}). 3 is down.
// 2. 1 and 2 elect 2 (epoch 2); x = 2:1 is committed on {1,2} and
//    acknowledged.
// 3. 1's disk is lost. It is restarted the documented way: empty, no
//    --bootstrap. It does not vote.
// 4. 3 is restarted with --bootstrap (an original member: votes). 2 steps
//    down (no quorum), 2 and 3 elect 2, epoch 3. 3's disk is stuck: its
//    ACKEPOCH never leaves, 2 stays in discovery. 1 hears 2 LEADING and 3
//    FOLLOWING 2, follows 2, accepts NEWEPOCH(3) durably -- and writes no
//    joined mark (it was not bootstrapping). 2 cannot sync 1: a non-voting
//    ACKEPOCH does not make the epoch.
// 5. 2 goes down (holding x, the only disk that does). 3 crashes; its stuck
//    disk never wrote anything: {accepted 1}. 1 crashes: {accepted 3,
//    current 0, empty, no mark}.
// 6. 1 is restarted with --bootstrap (left on by accident), 3 with
//    --bootstrap as before. Both are "original members" and vote at once:
//    {1,3} elect 3, epoch 4, initial history empty. x is lost.
// One disk was wiped (1), and 2 of x's commit quorum {1,2} kept its disk.
TEST(ZabBootstrapReview3, AWipedServerThatAcceptedAnEpochWithoutTheFlagVotesWhenTheFlagComesBack) {
    std::map<ServerId, DurableState> disks;
    for (ServerId id : {1, 2, 3}) disks[id] = accepted_only(1);
    Ensemble e(3, base_config(), disks, {1, 2});
    ASSERT_EQ(e.elect(), 2u);
    ASSERT_EQ(e.core(2).current_epoch(), 2u);
    ASSERT_TRUE(e.core(2).submit(Request{1, 1, "x"}).is_ok());
    e.after_input(2);
    e.tick(5);
    ASSERT_EQ(e.node(2).completions.size(), 1u) << "x acknowledged to its client";
    ASSERT_TRUE(at(e.node(1).delivered, Zxid{2, 1}));

    // 3. 1 loses its disk; restarted without --bootstrap, as docs/operations.md says.
    e.stop(1);
    e.start(1, DurableState{}, /*bootstrap=*/false);
    EXPECT_FALSE(e.core(1).voting());

    // 4. 3 comes back (original member) with a stuck disk.
    e.start(3, accepted_only(1), /*bootstrap=*/true);
    e.set_disk_stuck(3, true);
    for (int i = 0; i < 60 && e.core(1).accepted_epoch() == 0; ++i) e.tick();
    ASSERT_EQ(e.core(2).role(), Role::kLeading);
    ASSERT_EQ(e.core(1).role(), Role::kFollowing);
    ASSERT_GT(e.core(1).accepted_epoch(), 2u) << "1 accepted 2's new epoch (durably)";
    ASSERT_EQ(e.core(1).current_epoch(), 0u) << "and was never synced";
    ASSERT_FALSE(e.core(1).voting());
    // At 2efb21f no joined mark was written here (become_follower marked
    // only while bootstrap_unconfirmed_). Writes are instant in the Ensemble.
    DurableState disk1 = disk_of(e, 1);
    ASSERT_TRUE(disk1.log.empty());
    const DurableState disk2 = disk_of(e, 2);
    ASSERT_TRUE(at(disk2.log, Zxid{2, 1}));

    // 5. Everyone goes down; 3's stuck disk held nothing new.
    e.stop(2);
    e.stop(3);
    e.stop(1);

    // 6. 1 and 3 restart with --bootstrap; 2 (holding x) stays down.
    e.start(1, disk1, /*bootstrap=*/true);
    EXPECT_FALSE(e.core(1).voting())
        << "a wiped disk that accepted an epoch without the flag is no original member";
    e.start(3, accepted_only(1), /*bootstrap=*/true);
    const ServerId leader = e.elect(100);
    EXPECT_EQ(leader, 0u) << "server " << leader << " leads epoch "
                          << (leader ? e.core(leader).current_epoch() : 0)
                          << " without x = 2:1 (voters: a wiped disk and one never synced)";
    if (leader == 0) return;
    EXPECT_EQ(e.core(leader).log_entry(Zxid{2, 1}), nullptr);

    // The lost write: y is committed, then 2 returns and is truncated to
    // the new leader's history; x is gone from every server.
    ASSERT_TRUE(e.core(leader).submit(Request{2, 1, "y"}).is_ok());
    e.after_input(leader);
    e.tick(5);
    e.start(2, disk2, /*bootstrap=*/false);
    e.tick(60);
    for (ServerId id : {1u, 2u, 3u}) {
        EXPECT_NE(e.core(id).log_entry(Zxid{2, 1}), nullptr)
            << "x = 2:1, committed and acknowledged, is not in server " << id << "'s log (role "
            << role_name(e.core(id).role()) << ", last " << e.core(id).last_zxid().str() << ")";
    }
}

// The same without a failed first epoch: a fresh ensemble, all synced in
// epoch 1; 3 is down while x is committed in epoch 2; then as above (1
// wiped, restarted without the flag, accepts epoch 3 from 2 while 3's disk
// is stuck; all down; 1 and 3 restarted with --bootstrap, 2 down). 3 votes
// with its currentEpoch 1, 1 as an "original member": 3 leads without x.
TEST(ZabBootstrapReview3, TheSameFromAFreshEnsembleWithABehindVoter) {
    Ensemble e(3, base_config());
    const ServerId first = e.elect();
    ASSERT_NE(first, 0u);
    e.tick(5);
    for (ServerId id : {1u, 2u, 3u}) ASSERT_EQ(e.core(id).current_epoch(), 1u) << id;
    const DurableState disk3 = disk_of(e, 3);
    e.stop(3);
    const ServerId second = e.elect(100);
    ASSERT_NE(second, 0u);
    const uint64_t epoch2 = e.core(second).current_epoch();
    ASSERT_TRUE(e.core(second).submit(Request{1, 1, "x"}).is_ok());
    e.after_input(second);
    e.tick(5);
    ASSERT_EQ(e.node(second).completions.size(), 1u);
    const Zxid x{epoch2, 1};
    const ServerId keeper = second;              // holds x, goes down at the end
    const ServerId wiped = second == 1 ? 2 : 1;  // held x, loses its disk
    ASSERT_TRUE(at(e.node(wiped).delivered, x));

    e.stop(wiped);
    e.start(wiped, DurableState{}, /*bootstrap=*/false);
    e.start(3, disk3, /*bootstrap=*/true);
    e.set_disk_stuck(3, true);
    for (int i = 0; i < 60 && e.core(wiped).accepted_epoch() == 0; ++i) e.tick();
    ASSERT_GT(e.core(wiped).accepted_epoch(), epoch2);
    ASSERT_EQ(e.core(wiped).current_epoch(), 0u);
    DurableState disk_wiped = disk_of(e, wiped);
    ASSERT_TRUE(disk_wiped.log.empty());
    e.stop(keeper);
    e.stop(3);
    e.stop(wiped);
    e.start(wiped, disk_wiped, /*bootstrap=*/true);
    e.start(3, disk3, /*bootstrap=*/true);
    const ServerId leader = e.elect(100);
    EXPECT_EQ(leader, 0u) << "server " << leader << " leads epoch "
                          << (leader ? e.core(leader).current_epoch() : 0)
                          << " without x = " << x.str();
    if (leader != 0) {
        EXPECT_NE(e.core(leader).log_entry(x), nullptr) << "a leader must hold x";
    }
}

// ---- The fourth review (1939610)
//
// No safety break. Two liveness costs the docs did not state: an original
// member of a new ensemble whose first epoch failed, restarted the way
// docs/operations.md says (no --bootstrap), did not vote; once it followed a
// leader it was marked joined and no later --bootstrap made it vote again.
// With one disk loss that stalled a 3-server ensemble for good while a
// committed write sat on the one voter left. Both failed at 1939610; now an
// original member votes, flag or not. And two safety probes that hold.

// 1. A new ensemble {1,2,3}, all started with --bootstrap; the first leader
//    (epoch 1) crashed after 1, 2 and 3 accepted epoch 1 durably: every disk
//    is {accepted 1, current 0, empty, no mark} (as in the second review).
//    1 is down (it crashed too).
// 2. 2 and 3 (original members, they vote) elect 3: epoch 2; x = 2:1 is
//    committed on {2,3} and acknowledged.
// 3. 1 is restarted the way docs/operations.md says: "restart a server
//    normally (no --bootstrap) — even after a crash". currentEpoch 0, no
//    flag: at 1939610 it does not vote. It hears 3 LEADING and 2 FOLLOWING,
//    follows 3, and writes the joined mark (become_follower). 3's disk is
//    stuck at that moment, so its NEWEPOCH to 1 waits behind it.
// 4. 3 crashes and its disk is lost for good; the replacement is started
//    empty and without the flag, as the docs say.
// 5. Left: 2 {current 2, holds x}, 1 {joined, never synced}, 3 {empty}.
//    Only 2 votes: at 1939610 no leader, with every server up. Restarting 1
//    with --bootstrap does not help (the mark); emptying every directory and
//    bootstrapping again (the docs' way out for a first start) loses x.
// One disk lost; 1's disk was never damaged. Had 1 been restarted with the
// flag it would have voted and {1,2} would elect 2. Fails at 1939610;
// passes now (an original member votes, flag or not).
TEST(ZabBootstrapReview4,
     AnOriginalMemberRestartedAsTheDocsSayIsMarkedJoinedAndAOneDiskLossStallsForGood) {
    std::map<ServerId, DurableState> disks;
    for (ServerId id : {1, 2, 3}) disks[id] = accepted_only(1);
    Ensemble e(3, base_config(), disks, {2, 3});
    ASSERT_EQ(e.elect(), 3u);
    ASSERT_TRUE(e.core(3).submit(Request{1, 1, "x"}).is_ok());
    e.after_input(3);
    e.tick(5);
    ASSERT_EQ(e.node(3).completions.size(), 1u) << "x acknowledged";
    const Zxid x{e.core(3).current_epoch(), 1};
    ASSERT_TRUE(at(e.node(2).delivered, x));

    // 3. 1 restarted normally, while the leader's disk is stuck.
    e.set_disk_stuck(3, true);
    e.start(1, accepted_only(1), /*bootstrap=*/false);
    for (int i = 0; i < 6 && e.core(1).role() != Role::kFollowing; ++i) e.tick();
    ASSERT_EQ(e.core(1).role(), Role::kFollowing);
    EXPECT_EQ(e.core(1).current_epoch(), 0u);
    EXPECT_FALSE(e.core(1).joined_ensemble() && !e.core(1).voting())
        << "an original member, restarted without the flag, is marked as a joiner";

    // 4. 3 is lost; its replacement starts empty, without the flag.
    e.stop(3);
    DurableState disk1 = disk_of(e, 1);
    ASSERT_TRUE(disk1.log.empty());
    e.start(3, DurableState{}, /*bootstrap=*/false);
    ServerId leader = e.elect(300);
    EXPECT_NE(leader, 0u) << "no leader: 2 {x} votes, 1 (marked, never synced) and 3 (new disk) "
                             "do not";
    if (leader == 0) {
        // Nor does the flag on 1 bring it back: the mark wins.
        e.stop(1);
        e.start(1, disk1, /*bootstrap=*/true);
        EXPECT_FALSE(e.core(1).voting()) << "1 is no longer an original member";
        leader = e.elect(300);
        EXPECT_EQ(leader, 0u);
        EXPECT_TRUE(e.core(2).log_entry(x)) << "x is on 2 alone, the one voter";
        return;
    }
    e.tick(40);
    for (ServerId id : {1u, 2u, 3u}) EXPECT_TRUE(e.core(id).log_entry(x)) << "server " << id;
}

// The same first start without a committed write: every server up, no
// leader. 3 led epoch 1 and made its currentEpoch 1 durable before any
// follower acknowledged NEWLEADER; 2 had not heard from 1 yet (a one-way
// partition), heard 3's currentEpoch 1 and wrote the joined mark; 1 (which
// had acknowledged epoch 1) crashed and was restarted normally, as the docs
// say. At 1939610 3 votes, 1 and 2 do not: stuck with all three up.
// Nothing was ever committed. A restart of 1 with --bootstrap recovers (it
// was never marked: nobody has led since); the docs give only "empty every
// data directory and bootstrap again". Fails at 1939610; passes with the
// fix.
TEST(ZabBootstrapReview4, AFirstStartStallsWithEveryServerUpAfterOneCrashRestartedNormally) {
    std::map<ServerId, DurableState> disks;
    disks[1] = accepted_only(1);  // acknowledged epoch 1, then crashed
    disks[2].joined_ensemble = true;
    disks[3].accepted_epoch = 1;  // the leader of epoch 1, currentEpoch durable
    disks[3].current_epoch = 1;
    Ensemble e(3, base_config(), disks, {2, 3});
    e.start(1, disks[1], /*bootstrap=*/false);
    const ServerId leader = e.elect(300);
    EXPECT_NE(leader, 0u) << "every server up, none leads";
    if (leader != 0) return;
    EXPECT_FALSE(e.core(1).voting());
    EXPECT_FALSE(e.core(2).voting());
    EXPECT_FALSE(e.core(1).joined_ensemble()) << "nobody led: 1 was never marked";
    // What recovers it, though no document says so.
    e.stop(1);
    e.start(1, disks[1], /*bootstrap=*/true);
    EXPECT_NE(e.elect(300), 0u);
}

// Probe: an original member that got the leader's history by DIFF and
// crashed before its NEWLEADER write (currentEpoch 0, log up to x) reports
// that log in its vote; a wiped server restarted with --bootstrap takes it
// for history and does not vote, even with the only other holder down.
TEST(ZabBootstrapReview4, HoldsAWipedServerSeesTheLogOfAnOriginalMemberNeverSynced) {
    std::map<ServerId, DurableState> disks;
    disks[1] = accepted_only(2);
    disks[1].log.push_back(Txn{Zxid{1, 1}, 1, "x", 0, 0});  // DIFF'd, currentEpoch not written
    Ensemble e(3, base_config(), disks, {1});
    EXPECT_TRUE(e.core(1).voting()) << "an original member with a log votes";
    e.start(2, DurableState{}, /*bootstrap=*/true);  // wiped, flag left on
    EXPECT_EQ(e.elect(200), 0u);
    EXPECT_FALSE(e.core(2).voting());
    EXPECT_TRUE(e.core(2).joined_ensemble());
}

// Probe: a server confirmed as a new ensemble's (every member answered with
// no history) and raised to the highest acceptedEpoch it heard, which then
// follows, stays an original member; a wiped peer restarted with the flag
// still needs the third server's answer, which reports history once the
// epoch is established.
TEST(ZabBootstrapReview4, HoldsTheConfirmedRaiseIsAboveEveryEpochPromised) {
    std::map<ServerId, DurableState> disks;
    disks[3] = accepted_only(5);  // a promise made in a failed first epoch
    Ensemble e(3, base_config(), disks, {1, 2, 3});
    const ServerId leader = e.elect(200);
    ASSERT_NE(leader, 0u);
    EXPECT_GT(e.core(leader).current_epoch(), 5u);
    for (ServerId id : {1u, 2u, 3u}) EXPECT_GE(e.core(id).accepted_epoch(), 5u) << id;
}

// The fifth review (of 4d8d26c) found no break. It asked whether a disk
// that votes without the flag since 4d8d26c (currentEpoch 0, no joined mark,
// acceptedEpoch > 0 or entries: an "original member") can come from a
// server that never voted legitimately. Its probes, kept so that they stay
// true:

// Five servers; the first epoch failed (all accepted 1). 1, 2, 3 elect and
// commit x; 4 and 5 never synced (original members). 2 and 3 lose their
// disks and restart empty, with or without the flag; 4 and 5 restart
// without it (they vote). 1, which holds x, is down: no leader may be
// elected without x, and once 1 is back the leader holds it.
TEST(ZabBootstrapReview5, TwoWipesOfFiveAndTwoOriginalMembersWithoutTheFlag) {
    for (bool flag_on_wiped : {false, true}) {
        std::map<ServerId, DurableState> disks;
        for (ServerId id : {1, 2, 3, 4, 5}) disks[id] = accepted_only(1);
        Ensemble e(5, base_config(), disks, {1, 2, 3});
        const ServerId first = elect_and_commit_x(e);
        ASSERT_NE(first, 0u);
        const Zxid x{e.core(first).current_epoch(), 1};
        const DurableState holder = disk_of(e, 1);
        ASSERT_NE(at(holder.log, x), nullptr);
        for (ServerId id : {1, 2, 3}) e.stop(id);
        e.start(2, DurableState{}, flag_on_wiped);
        e.start(3, DurableState{}, flag_on_wiped);
        e.start(4, accepted_only(1), /*bootstrap=*/false);
        e.start(5, accepted_only(1), /*bootstrap=*/false);
        EXPECT_TRUE(e.core(4).voting());
        EXPECT_EQ(e.elect(200), 0u) << "flag " << flag_on_wiped << ": a leader without x";
        e.start(1, holder, /*bootstrap=*/false);
        const ServerId leader = e.elect(400);
        ASSERT_NE(leader, 0u) << "flag " << flag_on_wiped;
        EXPECT_NE(e.core(leader).log_entry(x), nullptr) << "flag " << flag_on_wiped;
    }
}

// Three servers, the first epoch failed (all accepted 1); 2 and 3 elect and
// commit x. 1 (an original member) restarts without the flag, 3 is wiped
// and restarts with the flag left on, 2 (holding x) is down. 1 votes; 3
// must wait for 2, so no leader.
TEST(ZabBootstrapReview5, AnOriginalMemberWithoutTheFlagAndAWipedBootstrapper) {
    std::map<ServerId, DurableState> disks;
    for (ServerId id : {1, 2, 3}) disks[id] = accepted_only(1);
    Ensemble e(3, base_config(), disks, {2, 3});
    const ServerId first = elect_and_commit_x(e);
    ASSERT_NE(first, 0u);
    e.stop(2);
    e.stop(3);
    e.start(1, accepted_only(1), /*bootstrap=*/false);
    e.start(3, DurableState{}, /*bootstrap=*/true);
    EXPECT_TRUE(e.core(1).voting());
    EXPECT_EQ(e.elect(200), 0u);
    EXPECT_FALSE(e.core(3).voting());
}

// A new disk joins an ensemble whose leader has compacted its log, so it
// gets a SNAP. It marks itself joined before it accepts the epoch, so a
// disk cut anywhere in its sync (acceptedEpoch e, currentEpoch 0, the
// snapshot) holds the mark, and does not vote with or without the flag.
TEST(ZabBootstrapReview5, AJoinerCutAfterASnapStaysMarked) {
    zab::Config c = base_config();
    c.snapshot_every_txns = 2;
    c.log_tail_keep_txns = 1;
    Ensemble e(3, c, {}, {1, 2, 3});
    const ServerId leader = e.elect(200);
    ASSERT_NE(leader, 0u);
    const ServerId lost = leader == 3 ? 2 : 3;
    e.stop(lost);
    for (uint64_t i = 1; i <= 8; ++i) {
        ASSERT_TRUE(e.core(leader).submit(Request{i, 1, "v" + std::to_string(i)}).is_ok());
        e.after_input(leader);
        e.tick(2);
    }
    e.start(lost, DurableState{}, /*bootstrap=*/false);
    EXPECT_TRUE(e.core(lost).joined_ensemble());
    for (bool flag : {false, true}) {
        DurableState d;
        d.accepted_epoch = e.core(leader).current_epoch();
        d.joined_ensemble = true;
        d.snapshot_zxid = Zxid{d.accepted_epoch, 4};
        d.log_base = d.snapshot_zxid;
        Ensemble f(3, base_config(), {}, {2});
        f.start(1, d, flag);
        EXPECT_FALSE(f.core(1).voting()) << "flag " << flag;
    }
}

// The review of the original-member mark (issue 13, the long run's seed
// 132695): server 1 confirmed a new ensemble's bootstrap and was never
// synced (acceptedEpoch 0, empty log: only the mark), server 3 holds a
// committed x, server 2 is wiped and down. Restarted with the flag left on
// — as operations.md says does no harm — 1 must still vote, so that 1 and 3
// elect 3. Before the fix its flag made it wait, hear 3's history and mark
// itself joined, and no quorum of voters was left, for good.
TEST(ZabBootstrapReview5, AnOriginalMemberNeverSyncedStillVotesWithTheFlagLeftOn) {
    for (const bool flag : {false, true}) {
        std::map<ServerId, DurableState> disks;
        disks[3].accepted_epoch = 1;
        disks[3].current_epoch = 1;
        disks[3].log.push_back(Txn{Zxid{1, 1}, 1, "x", 0, 0});
        disks[1].original_member = true;
        Ensemble e(3, base_config(), disks, {3});
        e.start(1, disks[1], flag);
        EXPECT_EQ(e.elect(200), 3u) << (flag ? "with" : "without") << " the flag";
        EXPECT_TRUE(e.core(1).voting());
        EXPECT_FALSE(e.core(1).joined_ensemble()) << "an original member is no joiner";
    }
}

// A confirmed bootstrapper writes the raised acceptedEpoch before its mark:
// a crash between them must not leave a voter that forgot the promise.
TEST(ZabBootstrapReview5, TheRaisedEpochIsWrittenBeforeTheOriginalMemberMark) {
    std::map<ServerId, DurableState> disks;
    disks[2] = accepted_only(2);  // promised 2 before, and still knows it
    Ensemble e(3, base_config(), disks, {2, 3});
    e.start(1, DurableState{}, true);  // empty, with the flag: confirms on hearing 2 and 3
    int epoch_at = -1, mark_at = -1;
    for (int i = 0; i < 50 && mark_at < 0; ++i) {
        const auto& writes = e.node(1).writes;
        for (size_t w = 0; w < writes.size(); ++w) {
            if (std::holds_alternative<SetAcceptedEpoch>(writes[w]) && epoch_at < 0)
                epoch_at = static_cast<int>(w);
            if (std::holds_alternative<MarkOriginalMember>(writes[w]) && mark_at < 0)
                mark_at = static_cast<int>(w);
        }
        e.tick(1);
    }
    ASSERT_GE(mark_at, 0) << "server 1 never confirmed the bootstrap";
    ASSERT_GE(epoch_at, 0) << "the epoch heard (2) was not taken on";
    EXPECT_LT(epoch_at, mark_at);
}

}  // namespace
}  // namespace chorus::zab
