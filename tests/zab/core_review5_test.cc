// The schedules of the fifth review (of 4c36765): acknowledgements tagged
// with the follower's sync attempt (FollowerInfo.attempt, Core::stale_attempt)
// and the joined mark in votes narrowed (then to this run's history_heard_).
// A test that passes shows a rule held; a failing EXPECT is a finding. The
// two findings are fixed: a vote leaves out only a mark this run made on
// following a leader that showed no history (Core::leader_showed_history).
#include <gtest/gtest.h>

#include <iostream>

#include "tests/support/core_messages.h"
#include "tests/support/ensemble.h"
#include "tests/zab/reconfig_schedules.h"
#include "zab/core/wire.h"

namespace chorus::zab {
namespace {
using chorus::testing::demoted;
using chorus::testing::Ensemble;
using chorus::testing::TestPreprocessor;

// Carries out a Ready as a driver with an instant disk would; returns it.
Ready run(Core& core) {
    Ready r = core.take_ready();
    if (r.write_id != 0) core.persisted(r.write_id);
    return r;
}

uint64_t count_new_leaders(const Ready& r, ServerId to) {
    uint64_t n = 0;
    for (const Outgoing& o : r.messages)
        if (o.to == to && o.message.has_new_leader()) ++n;
    return n;
}

// Held (seed 9499's mechanism, the first link of its chain): follower 1's
// disk is stuck when NEWEPOCH arrives, so its ACKEPOCH waits; its sync stalls
// and it follows the same leader again (a new attempt). The old ACKEPOCH
// then reaches the leader behind the new FOLLOWERINFO. Before 4c36765 the
// leader kept the follower's state (no ACKEPOCH had arrived) and synced it
// on the old ACKEPOCH while the follower was already in the new attempt's
// sync phase: two syncs into one attempt, whose first ACK of NEWLEADER was
// then counted for the second NEWLEADER's longer history. Now it is dropped;
// the follower is synced once, on its new ACKEPOCH, and serves.
TEST(ZabReview5, AnAbandonedAttemptsAckEpochIsDroppedAndTheFollowerIsSyncedOnce) {
    Config c = chorus::testing::quick_config();
    Ensemble e(3, c);
    const ServerId L = e.elect();
    ASSERT_EQ(L, 3u);
    e.isolate(1, true);
    ASSERT_TRUE(e.core(L).submit(Request{1, 1, "w1"}).is_ok());
    e.after_input(L);
    e.tick(2);
    e.set_disk_stuck(1, true);
    e.isolate(1, false);  // 1 follows 3 again; its ACKEPOCH waits on the disk
    ASSERT_EQ(e.core(1).role(), Role::kFollowing);
    ASSERT_TRUE(e.core(1).syncing());
    const uint64_t drops_before = e.core(L).stats().dropped_messages;
    // Its sync stalls; it looks, and follows 3 again (attempt 2): that
    // ACKEPOCH waits too.
    for (int i = 0; i < 40 && e.core(1).syncing(); ++i) e.tick();
    for (int i = 0; i < 40 && !e.core(1).syncing(); ++i) e.tick();
    ASSERT_TRUE(e.core(1).syncing()) << "1 follows 3 again";
    const int diffs_before = e.node(L).diffs_sent;
    e.set_disk_stuck(1, false);
    e.tick(5);
    e.dump(std::cout);
    EXPECT_GT(e.core(L).stats().dropped_messages, drops_before)
        << "the first attempt's ACKEPOCH is dropped";
    EXPECT_TRUE(e.core(1).serving()) << "synced once, on the second attempt's ACKEPOCH";
    EXPECT_LE(e.node(L).diffs_sent - diffs_before, 1) << "one sync, not two";
    EXPECT_EQ(e.core(1).last_zxid(), e.core(L).last_zxid());
}

// Held: FOLLOWERINFO resent within one attempt (follower_tick, every
// vote_resend_ticks in discovery) while the leader's NEWEPOCH waits on the
// leader's own disk. Every resend is answered with another NEWEPOCH; the
// follower takes the first, ignores the rest (it is no longer in
// discovery), and no resend can reach the leader after that attempt's
// ACKEPOCH (all were sent before it, on one FIFO link), so the leader never
// starts the follower over within an attempt: one sync.
TEST(ZabReview5, FollowerInfoResentWithinAnAttemptNeverStartsASecondSync) {
    Config c = chorus::testing::quick_config();
    Ensemble e(3, c);
    const ServerId L = e.elect();
    ASSERT_EQ(L, 3u);
    e.isolate(1, true);
    e.set_disk_stuck(L, true);
    e.isolate(1, false);  // FOLLOWERINFO; NEWEPOCH waits on 3's disk
    ASSERT_EQ(e.core(1).role(), Role::kFollowing);
    e.tick(6);  // three resends, three more NEWEPOCHs waiting
    ASSERT_FALSE(e.core(1).syncing());
    const int diffs_before = e.node(L).diffs_sent;
    e.set_disk_stuck(L, false);
    e.tick(3);
    e.dump(std::cout);
    EXPECT_TRUE(e.core(1).serving());
    EXPECT_EQ(e.core(L).role(), Role::kLeading);
    EXPECT_LE(e.node(L).diffs_sent - diffs_before, 1);
}

// Held (hand-driven leader): every acknowledgement kind of an attempt other
// than the one the last FOLLOWERINFO named is dropped, and a FOLLOWERINFO of
// a new attempt starts the follower over even before any ACKEPOCH arrived
// (the case 4c36765 added to on_follower_info). An old ACK of NEWLEADER
// arriving after the new NEWLEADER is not taken for it.
TEST(ZabReview5, EveryAcknowledgementOfAnotherAttemptIsDropped) {
    TestPreprocessor app;
    Core l(chorus::testing::config_of(3, {1, 2, 3}), chorus::testing::log_of(1, {{1, 2}}), app);
    run(l);
    // 3 leads with 2's vote; 2 syncs at once (both histories equal).
    l.step(2, chorus::testing::vote_for(3, 1, 1, Zxid{1, 2}));
    run(l);
    ASSERT_EQ(l.role(), Role::kLeading);
    auto fi = [](uint64_t attempt, uint64_t accepted) {
        pb::PeerMessage m;
        m.mutable_follower_info()->set_accepted_epoch(accepted);
        m.mutable_follower_info()->set_voting(true);
        m.mutable_follower_info()->set_attempt(attempt);
        return m;
    };
    auto ack_epoch = [](uint64_t epoch, uint64_t attempt, Zxid last) {
        pb::PeerMessage m;
        auto* a = m.mutable_ack_epoch();
        a->set_epoch(epoch);
        a->set_attempt(attempt);
        a->set_current_epoch(1);
        a->set_newly_accepted(true);
        to_pb(last, a->mutable_last_zxid());
        to_pb(Zxid{}, a->mutable_log_base());
        to_pb(last, a->add_epoch_ends());
        a->set_epoch_ends_complete(true);
        return m;
    };
    auto ack_nl = [](uint64_t epoch, uint64_t attempt) {
        pb::PeerMessage m;
        m.mutable_ack_new_leader()->set_epoch(epoch);
        m.mutable_ack_new_leader()->set_attempt(attempt);
        return m;
    };
    l.step(2, fi(1, 1));
    Ready r = run(l);
    const uint64_t epoch = l.accepted_epoch();
    ASSERT_EQ(epoch, 2u);
    l.step(2, ack_epoch(epoch, 1, Zxid{1, 2}));
    r = run(l);
    ASSERT_EQ(count_new_leaders(r, 2), 1u);
    l.step(2, ack_nl(epoch, 1));
    run(l);
    ASSERT_TRUE(l.serving());
    ASSERT_TRUE(l.submit(Request{9, 1, "x"}).is_ok());
    run(l);
    const Zxid x = l.last_zxid();
    // 2 gives up (its ACK of x waits on a slow disk) and follows 3 again.
    l.step(2, fi(2, epoch));
    run(l);
    l.step(2, ack_epoch(epoch, 2, Zxid{1, 2}));  // (again: not newly; same history)
    r = run(l);
    ASSERT_EQ(count_new_leaders(r, 2), 1u) << "the second sync";
    // The first attempt's acknowledgements now arrive.
    const uint64_t before = l.stats().dropped_messages;
    pb::PeerMessage ack;
    ack.mutable_ack()->set_epoch(epoch);
    ack.mutable_ack()->set_attempt(1);
    to_pb(x, ack.mutable_ack()->mutable_zxid());
    l.step(2, ack);
    l.step(2, ack_nl(epoch, 1));
    pb::PeerMessage pa;
    pa.mutable_ping_ack()->set_epoch(epoch);
    pa.mutable_ping_ack()->set_seq(1000);
    pa.mutable_ping_ack()->set_attempt(1);
    to_pb(x, pa.mutable_ping_ack()->mutable_zxid());
    l.step(2, pa);
    run(l);
    EXPECT_EQ(l.stats().dropped_messages, before + 3);
    EXPECT_LT(l.committed_zxid(), x) << "x committed on acknowledgements of an abandoned attempt";
    // The new attempt's own ACK of NEWLEADER counts.
    l.step(2, ack_nl(epoch, 2));
    run(l);
    EXPECT_EQ(l.committed_zxid(), x);
}

// Held: a FOLLOWERINFO of a new attempt that arrives before any ACKEPOCH of
// the old (the old one still on a slow disk) starts the follower over; the
// old ACKEPOCH is then dropped, and the new attempt's ACKEPOCH - "again",
// the epoch was accepted by the old attempt - syncs it (liveness: such a
// follower is not lost, only not counted for the epoch quorum).
TEST(ZabReview5, AnOldAttemptsNewlyAcceptedAckEpochIsDroppedButTheFollowerIsStillSynced) {
    TestPreprocessor app;
    Core l(chorus::testing::config_of(3, {1, 2, 3}), chorus::testing::log_of(1, {{1, 2}}), app);
    run(l);
    l.step(2, chorus::testing::vote_for(3, 1, 1, Zxid{1, 2}));
    run(l);
    pb::PeerMessage fi;
    fi.mutable_follower_info()->set_accepted_epoch(1);
    fi.mutable_follower_info()->set_voting(true);
    fi.mutable_follower_info()->set_attempt(4);
    l.step(2, fi);
    run(l);
    const uint64_t epoch = l.accepted_epoch();
    fi.mutable_follower_info()->set_attempt(5);
    fi.mutable_follower_info()->set_accepted_epoch(epoch);
    l.step(2, fi);
    run(l);
    pb::PeerMessage ae;
    auto* a = ae.mutable_ack_epoch();
    a->set_epoch(epoch);
    a->set_attempt(4);
    a->set_current_epoch(1);
    a->set_newly_accepted(true);
    to_pb(Zxid{1, 2}, a->mutable_last_zxid());
    to_pb(Zxid{1, 2}, a->add_epoch_ends());
    a->set_epoch_ends_complete(true);
    l.step(2, ae);
    Ready r = run(l);
    EXPECT_EQ(count_new_leaders(r, 2), 0u) << "the old attempt's ACKEPOCH started a sync";
    EXPECT_FALSE(l.serving());
    a->set_attempt(5);
    a->set_newly_accepted(false);
    l.step(2, ae);
    r = run(l);
    // Not counted for the epoch (it was accepted before): the leader waits
    // for a quorum of new acceptances, and times out to a new epoch.
    EXPECT_EQ(count_new_leaders(r, 2), 0u);
    for (int i = 0; i < 30 && l.role() == Role::kLeading; ++i) {
        l.tick();
        run(l);
    }
    EXPECT_EQ(l.role(), Role::kLooking) << "a new epoch, which the follower can accept anew";
}

// FOUND AND FIXED (safety, a regression of 4c36765's narrowing of the joined mark;
// the third review's A3 protection is gone for every mark not made while
// bootstrapping). Voters 3, 4, 5 (1 and 2 demoted to observers) commit w.
// 3 loses its disk and is restarted as docs/operations.md says, without
// --bootstrap: it hears the leader (history: a currentEpoch, a membership),
// follows it and marks its disk joined; its disk is slow, so the sync has
// not brought it anything yet (no SNAP: its membership is still the
// bootstrap one). 4 and 5 then go down (disks kept). 1 and 2 lose their
// disks and are restarted with --bootstrap by mistake. They hear each other
// and 3: an empty disk, no currentEpoch, no membership, and - since
// 4c36765 - no joined mark (history_heard_ is set only by
// on_vote_while_bootstrapping, and 3 was not bootstrapping). They confirm
// a new ensemble and 1 or 2 serves an empty history: w, committed, is gone.
// Before 4c36765 3's vote carried the mark and they stayed non-voting
// (the third review's AJoinedMarkIsHistoryToABootstrappingServer).
TEST(ZabReview5, AJoinedMarkMadeWhileFollowingIsNotSentAndAWipedBootstrapLosesAWrite) {
    Config c = chorus::testing::quick_config();
    Ensemble e(5, c, {}, {1, 2, 3}, {4, 5});
    ASSERT_NO_FATAL_FAILURE(grow_by_four_and_five(e));
    ServerId L = 3;
    ASSERT_TRUE(e.change_membership(L, demoted(e.core(L).membership(), 1), 201).is_ok());
    e.tick(3);
    ASSERT_TRUE(e.change_membership(L, demoted(e.core(L).membership(), 2), 202).is_ok());
    e.tick(3);
    ASSERT_EQ(e.core(L).membership().voters.size(), 3u);
    ASSERT_TRUE(e.core(L).submit(Request{500, 1, "w"}).is_ok());
    e.after_input(L);
    e.tick(3);
    const Zxid w = e.completed(L, 500);
    ASSERT_FALSE(w.is_zero());
    // 3 loses its disk; 4 and 5 elect.
    e.stop(3);
    e.isolate(3, true);
    ServerId L2 = e.elect();
    ASSERT_TRUE(L2 == 4u || L2 == 5u) << L2;
    // 3, empty, restarted without the flag; its disk is slow.
    e.start(3, DurableState{}, false);
    e.set_disk_stuck(3, true);
    e.isolate(3, false);
    e.tick(2);
    e.dump(std::cout);
    ASSERT_EQ(e.core(3).role(), Role::kFollowing) << "3 follows the leader of 4 and 5";
    ASSERT_TRUE(e.core(3).joined_ensemble());
    ASSERT_TRUE(e.core(3).membership().version.is_zero()) << "not synced yet";
    // 4 and 5 down (disks kept); 1 and 2 wiped, restarted with --bootstrap.
    e.stop(4);
    e.stop(5);
    e.stop(1);
    e.stop(2);
    e.start(1, DurableState{}, true);
    e.start(2, DurableState{}, true);
    for (int i = 0; i < 60; ++i) {
        e.tick();
        const ServerId now = e.serving_leader();
        if (now != 0) {
            e.dump(std::cout);
            EXPECT_NE(e.core(now).log_entry(w), nullptr)
                << now << " serves a new ensemble without the committed " << w.str()
                << ": 3's joined mark (made on hearing history) was not in its vote";
            return;
        }
    }
    e.dump(std::cout);
    EXPECT_FALSE(e.core(1).voting());
    EXPECT_FALSE(e.core(2).voting());
}

// FOUND AND FIXED (the same, with the mark from an earlier run): the third review's
// schedule, which 4c36765 rewrote. 3's disk is marked joined and empty (it
// heard history, then crashed before its sync brought anything); 1 and 2
// are wiped and restarted with --bootstrap. Before 4c36765 nobody served;
// now 1 and 2 confirm a new ensemble past 3's mark.
TEST(ZabReview5, AJoinedMarkOfAnEarlierRunIsNotSentAndABootstrapConfirmsPastIt) {
    Config c = chorus::testing::quick_config();
    DurableState joined;
    joined.joined_ensemble = true;
    Ensemble e(3, c, {{3, joined}});
    e.tick(50);
    e.dump(std::cout);
    EXPECT_EQ(e.serving_leader(), 0u) << "a new ensemble was confirmed past a joined disk";
}

}  // namespace
}  // namespace chorus::zab
