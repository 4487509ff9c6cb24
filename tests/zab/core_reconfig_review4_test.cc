// The schedules of the fourth review of reconfiguration (of b4f750b): votes
// read from strangers (Core::stranger_heard), servers learned from answers
// (Core::learn_servers), the joined mark in votes, and R3's second clause
// (Core::reachable_voters). A test that passes shows a rule held; a failing
// EXPECT is a finding (docs/protocol.md, "Reconfiguration").
#include <gtest/gtest.h>

#include <iostream>

#include "tests/support/ensemble.h"
#include "tests/zab/reconfig_schedules.h"

namespace chorus::zab {
namespace {
using chorus::testing::demoted;
using chorus::testing::Ensemble;
using chorus::testing::joiner_disk;
using chorus::testing::promoted;
using chorus::testing::with_observer;

// FOUND AND FIXED (liveness, a regression of b4f750b). A new ensemble {1,2,3}: 1 and
// 2 started with --bootstrap, 3 without the flag (docs/protocol.md,
// "Bootstrap": "any empty server that follows a leader without voting - one
// started without the flag - marks its disk joined"). 1 and 2 hear every
// server answer with no history and confirm; 2 wins; 3 follows 2 without
// voting and marks its disk joined. 2's disk is slow: its acceptedEpoch and
// its original-member mark are not durable yet when 2 crashes. Nothing was
// ever committed, nobody holds a currentEpoch, no disk was wiped.
// 2 restarts with the same command line (--bootstrap): it hears 1 (no
// history) and 3, whose vote now carries `joined` - taken for history
// (on_vote_while_bootstrapping) - so 2 stops bootstrapping and never votes.
// Voters: 1 alone of 3, for good. Before b4f750b 3's vote looked pristine,
// 2 confirmed again, {1,2} elected and synced 3.
TEST(ZabReconfigReview4, AJoinedMarkFromAFailedFirstEpochStallsTheNewEnsemble) {
    Config c = chorus::testing::quick_config();
    Ensemble e(3, c, {}, {1, 2});
    e.set_disk_stuck(2, true);
    e.start(3, DurableState{}, false);
    e.tick(3);
    e.dump(std::cout);
    ASSERT_TRUE(e.core(1).voting());
    ASSERT_TRUE(e.core(2).voting());
    ASSERT_FALSE(e.core(3).voting());
    ASSERT_TRUE(e.core(3).joined_ensemble()) << "3 followed without voting: marked joined";
    ASSERT_EQ(e.core(1).current_epoch(), 0u);
    // 2 crashes; none of its writes were durable.
    e.stop(2);
    e.set_disk_stuck(2, false);
    DurableState disk3;
    disk3.accepted_epoch = e.core(3).accepted_epoch();
    disk3.joined_ensemble = true;
    DurableState disk1;
    disk1.accepted_epoch = e.core(1).accepted_epoch();
    disk1.original_member = true;
    ASSERT_EQ(e.core(3).current_epoch(), 0u);
    e.start(2, DurableState{}, true);
    e.tick(100);
    e.dump(std::cout);
    EXPECT_NE(e.serving_leader(), 0u)
        << "no history anywhere and no disk lost, yet the new ensemble never starts: 2 took 3's "
           "joined mark for history";
    EXPECT_TRUE(e.core(2).voting());
}

// Held: R3's second clause does not count a voter the leader has not heard
// from within the election timeout, even if it never saw the link drop (2
// halted silently): a shrink to {2,3} is refused while 2 is silent. (Within
// the timeout it is counted: a voter that fails unseen a moment before the
// check is the limit docs/protocol.md states, "A change racing a lost disk".)
TEST(ZabReconfigReview4, ReachableVotersDoesNotCountASilentFollower) {
    Config c = chorus::testing::quick_config();
    Ensemble e(3, c);
    const ServerId L = e.elect();
    ASSERT_EQ(L, 3u);
    e.tick(3);
    e.halt_silently(2);
    e.tick(static_cast<int>(c.election_timeout_ticks) + 1);
    ASSERT_EQ(e.core(L).role(), Role::kLeading) << "1 and 3 are a quorum";
    const Status s = e.change_membership(L, demoted(e.core(L).membership(), 1), 7);
    e.dump(std::cout);
    EXPECT_EQ(s.code(), Code::kBusy) << s.message();
    EXPECT_EQ(e.core(L).membership().voters.size(), 3u);
}

// Held: a server removed by a committed CONFIG, with a stale membership in
// which it still votes, restarted beside the current voters: its looking
// votes and its answers are read (it is known, or a stranger answering), but
// it is never counted and never leads, and the ensemble keeps serving the
// write committed without it.
TEST(ZabReconfigReview4, ARemovedServerWithAStaleMembershipIsNeverCounted) {
    Config c = chorus::testing::quick_config();
    Ensemble e(5, c, {}, {1, 2, 3}, {4, 5});
    const ServerId L = 3;
    ASSERT_NO_FATAL_FAILURE(grow_by_four_and_five(e));
    // 5 cut off with voters 1..5; then removed outright ({1,2,3,4}).
    e.isolate(5, true);
    Membership without5 = e.core(L).membership();
    without5.voters.erase(5);
    ASSERT_TRUE(e.change_membership(L, without5, 120).is_ok());
    ASSERT_FALSE(e.completed(L, 120).is_zero());
    ASSERT_TRUE(e.core(L).submit(Request{500, 1, "w"}).is_ok());
    e.after_input(L);
    e.settle();
    e.tick(2);
    const Zxid w = e.completed(L, 500);
    ASSERT_FALSE(w.is_zero());
    // 3 and 4 go down (disks kept); 5 comes back to 1 and 2: 5's membership
    // (1..5, quorum 3) is met by {1,2,5} only if 1 and 2 vote for it; theirs
    // ({1,2,3,4}, quorum 3) by nobody.
    e.stop(3);
    e.stop(4);
    e.isolate(5, false);
    for (int i = 0; i < 100; ++i) {
        e.tick();
        const ServerId now = e.serving_leader();
        ASSERT_TRUE(now == 0 || e.core(now).log_entry(w) != nullptr)
            << now << " serves without the committed " << w.str();
    }
    e.dump(std::cout);
    EXPECT_EQ(e.serving_leader(), 0u) << "two of the four voters are down";
    EXPECT_NE(e.core(5).role(), Role::kLeading);
}

}  // namespace
}  // namespace chorus::zab
