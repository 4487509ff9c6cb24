// The schedules of the second review of reconfiguration (helper-15, of
// d44d439), each of which broke the core before its fix: a wiped voter that
// confirmed a new ensemble against the bootstrap voters alone (a committed
// write lost), and a server that dropped a leader outside its membership.
#include <gtest/gtest.h>

#include <iostream>

#include "tests/support/ensemble.h"

namespace chorus::zab {
namespace {
using chorus::testing::demoted;
using chorus::testing::Ensemble;
using chorus::testing::promoted;

// Bootstrap "every member" is judged against the bootstrap membership, not the
// current one: after 1,2 are demoted (current voters 3,4,5), a wiped 3 with the
// flag left on confirms a "new ensemble" from wiped 1 and 2 alone, votes with an
// empty disk, and helps 4 (lacking a committed write) lead.
TEST(ZabReconfigReview, WipedVoterBootstrapsAgainstStaleMembership) {
    Config c = chorus::testing::quick_config();
    c.observers = {4, 5};
    Ensemble e(5, c);
    ServerId L = e.elect();
    ASSERT_EQ(L, 3u);
    e.tick(3);
    ASSERT_TRUE(e.change_membership(L, promoted(e.core(L).membership(), 4), 101).is_ok());
    ASSERT_TRUE(e.change_membership(L, promoted(e.core(L).membership(), 5), 102).is_ok());
    ASSERT_TRUE(e.change_membership(L, demoted(e.core(L).membership(), 1), 103).is_ok());
    ASSERT_TRUE(e.change_membership(L, demoted(e.core(L).membership(), 2), 104).is_ok());
    e.dump(std::cout);
    ASSERT_EQ(e.core(L).membership().voters.size(), 3u);
    e.isolate(4, true);
    e.tick(1);
    ASSERT_TRUE(e.core(L).submit(Request{500, 1, "w"}).is_ok());
    e.after_input(L);
    e.settle();
    e.tick(2);
    Zxid w;
    for (auto& comp : e.node(L).completions)
        if (comp.request_id == 500) w = comp.zxid;
    ASSERT_FALSE(w.is_zero()) << "w committed with {3,5}";
    std::cout << "w committed at " << w.str() << "\n";
    ASSERT_EQ(e.core(4).log_entry(w), nullptr);
    // 5 crashes (disk kept). 3, 1, 2 lose their disks; 3 restarts with the flag.
    e.stop(5);
    e.stop(3);
    e.stop(1);
    e.stop(2);
    e.start(3, DurableState{}, true);
    e.start(1, DurableState{}, false);
    e.start(2, DurableState{}, false);
    e.tick(5);
    e.dump(std::cout);
    e.isolate(4, false);
    for (int i = 0; i < 200 && e.serving_leader() == 0; ++i) e.tick();
    e.dump(std::cout);
    // 5, which holds w, is down: no leader may serve without it. Wiped 3
    // must not have confirmed a new ensemble (it heard 4's history, and it
    // waits for every server of the bootstrap membership, observers too).
    EXPECT_FALSE(e.core(3).voting());
    const ServerId L2 = e.serving_leader();
    if (L2 != 0) {
        EXPECT_NE(e.core(L2).log_entry(w), nullptr)
            << "server " << L2 << " serves without the committed write " << w.str();
    }
}

// A server holding an uncommitted CONFIG that removes server 4 entirely drops
// every message of 4 (core.cc step()), so when 4 is elected it can never sync it.
TEST(ZabReconfigReview, StaleConfigHolderDropsTheNewLeaderForever) {
    Config c = chorus::testing::quick_config();
    Ensemble e(5, c);
    ServerId L = e.elect();
    ASSERT_EQ(L, 5u);
    e.tick(3);
    Membership next = e.core(L).membership();
    next.voters.erase(4);
    ASSERT_TRUE(e.core(L).reconfigure(9, next).is_ok());
    // Cut off as the CONFIG goes out (before, the leader would refuse it).
    e.isolate(1, true);
    e.isolate(2, true);
    e.isolate(4, true);
    e.after_input(L);
    e.settle();
    ASSERT_TRUE(e.core(3).membership().version == e.core(L).membership().version);
    e.stop(5);
    e.isolate(3, true);
    e.isolate(1, false);
    e.isolate(2, false);
    e.isolate(4, false);
    ServerId L2 = e.elect(300);
    std::cout << "new leader " << L2 << "\n";
    e.isolate(3, false);
    e.tick(500);
    std::cout << "3: " << role_name(e.core(3).role()) << " membership "
              << e.core(3).membership().str() << " dropped " << e.core(3).stats().dropped_messages
              << "; leader " << e.serving_leader() << "\n";
    EXPECT_TRUE(e.core(3).serving()) << "3 never syncs with leader " << L2;
}

}  // namespace
}  // namespace chorus::zab
