// The schedules of the third review of reconfiguration (of 896ee6a): each
// test states the rule it attacks and what must hold; a failing EXPECT is a
// finding (docs/protocol.md, "Reconfiguration").
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

// Ensemble {1,2,3} bootstrap; 4 and 5 are added later (outside the bootstrap
// membership), promoted; 1 and 2 are demoted to observers. Voters {3,4,5}.
// A write w is committed by {3,4,5}. Then 4 and 5 are partitioned away
// (their disks intact: every commit quorum of {3,4,5} keeps a disk), and
// 1, 2, 3 lose their disks; 1 and 3 are restarted with --bootstrap left on
// by mistake (the accident the bootstrap rule is for).
//
// The rule of the second review waits for every server of the *bootstrap*
// membership (1, 2, 3) to answer with no history. All three are wiped, so
// they do; 1 and 3 confirm "a new ensemble", elect a leader with an empty
// history, and serve. Meanwhile {4,5} is a quorum of {3,4,5}: two disjoint
// quorums decide, and once healed the ensemble keeps one of the histories
// only.
//
// Fixed: a bootstrapping server takes any word from a server outside the
// bootstrap membership, and a vote carrying the joined mark, for history
// (A3), and answers naming a leader are read from anyone, the servers they
// name becoming known (Core::stranger_heard, Core::learn_servers). With 4 and 5 cut off while
// 1, 2, 3 restart, no server the wiped ones can reach knows better: that
// case is a limit (docs/protocol.md, "A wiped bootstrap membership").
enum class Schedule {
    kConnected,      // 4 and 5 stay connected; 3, the leader, is wiped with the others
    kLeaderOutside,  // 3 stops first (disk kept), 5 leads; then 1, 2, 3 are wiped
    kPartitioned,    // 4 and 5 are cut off while 1, 2, 3 restart (the limit)
};

void bootstrap_universe_schedule(Schedule schedule) {
    const bool partition = schedule == Schedule::kPartitioned;
    Config c = chorus::testing::quick_config();
    Ensemble e(5, c, {}, {1, 2, 3}, {4, 5});
    const ServerId L = 3;
    ASSERT_NO_FATAL_FAILURE(grow_by_four_and_five(e));
    ASSERT_TRUE(e.change_membership(L, demoted(e.core(L).membership(), 1), 105).is_ok());
    ASSERT_TRUE(e.change_membership(L, demoted(e.core(L).membership(), 2), 106).is_ok());
    ASSERT_TRUE(e.core(L).submit(Request{500, 1, "w"}).is_ok());
    e.after_input(L);
    e.settle();
    e.tick(2);
    const Zxid w = e.completed(L, 500);
    ASSERT_FALSE(w.is_zero());
    e.dump(std::cout);
    ASSERT_EQ(e.core(L).membership().voters.size(), 3u);
    ASSERT_NE(e.core(4).log_entry(w), nullptr);
    ASSERT_NE(e.core(5).log_entry(w), nullptr);

    // 4 and 5 cut off (disks kept). 1, 2, 3 lose their disks.
    if (partition) {
        e.isolate(4, true);
        e.isolate(5, true);
    }
    e.stop(3);
    if (schedule == Schedule::kLeaderOutside) {
        ASSERT_EQ(e.elect(200), 5u) << "4 and 5 are a quorum of {3,4,5}";
        e.tick(3);
    }
    e.stop(1);
    e.stop(2);
    e.start(1, DurableState{}, true);
    e.start(2, DurableState{}, false);
    e.start(3, DurableState{}, true);
    for (int i = 0; i < 100 && e.serving_leader() == 0; ++i) e.tick();
    // 4 and 5, on their side, elect among themselves: a quorum of {3,4,5}.
    std::cout << "after the wipes:\n";
    e.dump(std::cout);
    for (ServerId id = 1; id <= 3; ++id) {
        EXPECT_FALSE(e.core(id).serving() && e.core(id).log_entry(w) == nullptr)
            << id << " serves a new ensemble confirmed from the bootstrap servers alone, while 4 "
            << "and 5 (outside the bootstrap membership) hold the committed write " << w.str();
    }
    const ServerId L2 = e.serving_leader();
    if (L2 != 0 && L2 <= 3) {
        EXPECT_EQ(e.core(L2).log_entry(w), nullptr);
        ADD_FAILURE() << "server " << L2 << " serves (epoch " << e.core(L2).current_epoch()
                      << ") without the committed write " << w.str();
        // A second, disjoint quorum commits something.
        ASSERT_TRUE(e.core(L2).submit(Request{600, 1, "v"}).is_ok());
        e.after_input(L2);
        e.settle();
        e.tick(2);
        std::cout << "v committed by the new ensemble at " << e.completed(L2, 600).str() << "\n";
    }
    if (partition) {
        e.isolate(4, false);
        e.isolate(5, false);
    }
    e.tick(100);
    std::cout << "healed:\n";
    e.dump(std::cout);
    for (ServerId id : {4, 5}) {
        if (e.core(id).serving()) {
            EXPECT_NE(e.core(id).log_entry(w), nullptr)
                << "server " << id << " serves, and lost the committed write " << w.str();
        }
    }
    if (e.serving_leader() != 0) {
        int leaders = 0;
        for (ServerId id = 1; id <= 5; ++id)
            if (e.core(id).role() == Role::kLeading && e.core(id).serving()) ++leaders;
        EXPECT_EQ(leaders, 1) << "two ensembles serve side by side for good";
    }
    if (partition) return;
    // The wiped servers rejoined the ensemble that exists, as non-voting
    // joiners first, and hold the write once synced.
    for (ServerId id = 1; id <= 5; ++id) {
        EXPECT_TRUE(e.core(id).serving()) << id;
        EXPECT_NE(e.core(id).log_entry(w), nullptr) << id;
    }
    for (ServerId id : {1, 3})
        EXPECT_TRUE(e.core(id).stats().bootstrap_ignored) << id << " ignored --bootstrap";
}

// 4 and 5 stay connected throughout: the wiped servers dropped their votes
// (step(): a message from a server their bootstrap membership does not name).
TEST(ZabReconfigReview3, BootstrapUniverseMissesServersAddedLater) {
    bootstrap_universe_schedule(Schedule::kConnected);
}
// 5 leads throughout the wipes: no server of 4 and 5 looks, so the wiped
// ones hear of the ensemble only from the leader's answer to their votes.
TEST(ZabReconfigReview3, BootstrapUniverseMissesALeaderAddedLater) {
    bootstrap_universe_schedule(Schedule::kLeaderOutside);
}
// The same with 4 and 5 cut off while 1, 2, 3 restart, then healed: every
// server named by --peers lost its disk, and none outside can be heard.
// Nothing on the reachable side knows the ensemble exists; this is the
// limit docs/protocol.md states (and issue 18's ensemble id keeps the two
// ensembles apart after the heal). Disabled: it fails by design; run it
// with --gtest_also_run_disabled_tests to see the split.
TEST(ZabReconfigReview3, DISABLED_BootstrapUniverseMissesServersAddedLaterPartitioned) {
    bootstrap_universe_schedule(Schedule::kPartitioned);
}

// Liveness: a wiped server of the bootstrap membership (restarted without the
// flag, as it should be) never rejoined once the leader was a server added
// later: it dropped every message of a server its bootstrap membership does
// not name (core.cc step()), and no answer it read named the leader itself.
// Fixed: answers naming a leader are read from anyone, and the servers they
// name become known (Core::learn_servers).
TEST(ZabReconfigReview3, WipedServerNeverRejoinsALeaderOutsideTheBootstrapMembership) {
    Config c = chorus::testing::quick_config();
    Ensemble e(5, c, {}, {1, 2, 3}, {4, 5});
    const ServerId L = 3;
    ASSERT_NO_FATAL_FAILURE(grow_by_four_and_five(e));
    ASSERT_TRUE(e.change_membership(L, demoted(e.core(L).membership(), 1), 105).is_ok());
    ASSERT_EQ(e.core(L).membership().str(), "voters 2,3,4,5; observers 1");
    // 3 goes down for good (disk kept): 5 leads {2,4,5} of {2,3,4,5}.
    e.stop(3);
    const ServerId L2 = e.elect(200);
    ASSERT_EQ(L2, 5u);
    // Observer 1 loses its disk and is restarted without the flag.
    e.stop(1);
    e.start(1, DurableState{}, false);
    e.tick(300);
    e.dump(std::cout);
    EXPECT_TRUE(e.core(1).serving()) << "1 never syncs with leader " << L2 << " (dropped "
                                     << e.core(1).stats().dropped_messages << " messages)";
}

// A3: a joined mark is history when it was made on hearing history. Server
// 3 bootstraps beside 4, a server outside the bootstrap membership whose
// disk holds history: 3 takes 4's vote for history and marks its disk. 1
// and 2, wiped and restarted with the flag, hear 3's vote say so (and 4's)
// and do not confirm a new ensemble. A mark from an earlier run is not sent
// (ZabReconfigReview4.AJoinedMarkFromAFailedFirstEpochStallsTheNewEnsemble).
TEST(ZabReconfigReview3, AJoinedMarkMadeOnHearingHistoryIsSentInVotes) {
    Config c = chorus::testing::quick_config();
    Ensemble e(4, c, {}, {3}, {4});
    zab::Membership grown = e.core(3).membership();
    grown.voters[4] = "server-4";
    DurableState four;
    four.current_epoch = 1;
    four.accepted_epoch = 1;
    four.membership = grown;
    e.start(4, four, false);
    e.tick(5);
    EXPECT_TRUE(e.core(3).stats().bootstrap_ignored);
    EXPECT_TRUE(e.core(3).joined_ensemble());
    e.start(1, DurableState{}, true);
    e.start(2, DurableState{}, true);
    e.tick(50);
    e.dump(std::cout);
    for (ServerId id : {1, 2}) {
        EXPECT_FALSE(e.core(id).voting()) << id;
        EXPECT_TRUE(e.core(id).stats().bootstrap_ignored) << id;
    }
    EXPECT_EQ(e.serving_leader(), 0u) << "no new ensemble among the bootstrap servers";
}

// Could not break (R4, Raft's 2015 single-server-change bug, fitted to Zab):
// voters {1,2,3,4}, observer 5. Leader 4 promotes 5 (C1), reaching 5 alone.
// 4 and 5 cut off; {1,2,3} elect 3 (epoch 2), which demotes 4 (C2), committed
// by {2,3} with 1 cut off. Then 2 and 3 go away and 1, 4, 5 meet: 4 holds C1
// (voters 1..5, quorum 3 with 4 and 5), but 1 acknowledged NEWLEADER(2), so
// 4 loses (vote order) or steps down (discovery). C2 must survive.
TEST(ZabReconfigReview3, TheRaft2015ScheduleDoesNotLoseTheSecondChange) {
    Config c = chorus::testing::quick_config();
    c.observers = {5};
    Ensemble e(5, c);
    ServerId L = e.elect();
    ASSERT_EQ(L, 4u);
    e.tick(3);
    // Proposed while every voter is in touch (R3 refuses a change whose new
    // voters in touch make no quorum), then cut off before it leaves.
    ASSERT_TRUE(e.core(4).reconfigure(1, promoted(e.core(4).membership(), 5)).is_ok());
    e.isolate({1, 2, 3}, true);
    e.after_input(4);
    e.settle();
    const Zxid c1 = e.core(4).membership().version;
    ASSERT_NE(e.core(5).log_entry(c1), nullptr);
    ASSERT_LT(e.core(4).committed_zxid(), c1);
    e.isolate(4, true);
    e.isolate(5, true);
    e.isolate(1, false);
    e.isolate(2, false);
    e.isolate(3, false);
    const ServerId L2 = e.elect(200);
    ASSERT_EQ(L2, 3u);
    e.tick(3);
    e.isolate(1, true);
    ASSERT_TRUE(e.core(3).reconfigure(2, demoted(e.core(3).membership(), 4)).is_ok());
    e.after_input(3);
    e.settle();
    e.tick(2);
    const Zxid c2 = e.completed(3, 2);
    ASSERT_FALSE(c2.is_zero()) << "C2 committed by {2,3}";
    e.isolate(2, true);
    e.isolate(3, true);
    e.isolate(1, false);
    e.isolate(4, false);
    e.isolate(5, false);
    for (int i = 0; i < 200; ++i) {
        e.tick();
        const ServerId now = e.serving_leader();
        if (now != 0 && now != 3) {
            ASSERT_NE(e.core(now).log_entry(c2), nullptr)
                << "server " << now << " serves without the committed C2 " << c2.str();
        }
    }
    e.dump(std::cout);
    e.isolate(2, false);
    e.isolate(3, false);
    e.tick(200);
    e.dump(std::cout);
    const ServerId L3 = e.serving_leader();
    ASSERT_NE(L3, 0u);
    for (ServerId id = 1; id <= 5; ++id) {
        if (e.core(id).serving()) {
            EXPECT_NE(e.core(id).log_entry(c2), nullptr) << id;
        }
    }
}

}  // namespace
}  // namespace chorus::zab
