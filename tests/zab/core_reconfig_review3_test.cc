// The schedules of the third review of reconfiguration (of 896ee6a): each
// test states the rule it attacks and what must hold; a failing EXPECT is a
// finding (docs/protocol.md, "Reconfiguration").
#include <gtest/gtest.h>

#include <iostream>

#include "tests/support/ensemble.h"

namespace chorus::zab {
namespace {
using chorus::testing::demoted;
using chorus::testing::Ensemble;
using chorus::testing::promoted;

void change(Ensemble& e, ServerId leader, Membership next, uint64_t rid) {
    Status s = e.core(leader).reconfigure(rid, next);
    ASSERT_TRUE(s.is_ok()) << s.str();
    e.after_input(leader);
    e.settle();
    e.tick(2);
}

Membership with_observer(const Membership& m, ServerId id) {
    Membership next = m;
    next.observers[id] = "server-" + std::to_string(id);
    return next;
}

void dump(Ensemble& e, ServerId n) {
    for (ServerId id = 1; id <= n; ++id) {
        if (!e.node(id).up) {
            std::cout << id << ": down\n";
            continue;
        }
        auto& c = e.core(id);
        std::cout << id << ": " << role_name(c.role()) << (c.serving() ? " serving" : "")
                  << " leader " << c.leader() << " aE " << c.accepted_epoch() << " cE "
                  << c.current_epoch() << " last " << c.last_zxid().str() << " committed "
                  << c.committed_zxid().str() << (c.voting() ? "" : " not-voting") << " membership "
                  << c.membership().version.str() << " " << c.membership().str() << "\n";
    }
}

Zxid completed(Ensemble& e, ServerId id, uint64_t rid) {
    for (auto& comp : e.node(id).completions)
        if (comp.request_id == rid) return comp.zxid;
    return Zxid{};
}

// A joiner's disk: empty, with the membership that names it (what --join
// would take from its first sync; the core needs one to start outside the
// bootstrap membership).
DurableState joiner(const Membership& m) {
    DurableState d;
    d.membership = m;
    return d;
}

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
void bootstrap_universe_schedule(bool partition) {
    Config c = chorus::testing::quick_config();
    Ensemble e(5, c, {}, {1, 2, 3}, {4, 5});
    ServerId L = e.elect();
    ASSERT_EQ(L, 3u);
    e.tick(3);
    change(e, L, with_observer(e.core(L).membership(), 4), 101);
    e.start(4, joiner(e.core(L).membership()), false);
    e.tick(5);
    ASSERT_TRUE(e.core(4).serving()) << "4 synced as an observer";
    change(e, L, promoted(e.core(L).membership(), 4), 102);
    change(e, L, with_observer(e.core(L).membership(), 5), 103);
    e.start(5, joiner(e.core(L).membership()), false);
    e.tick(5);
    ASSERT_TRUE(e.core(5).serving());
    change(e, L, promoted(e.core(L).membership(), 5), 104);
    change(e, L, demoted(e.core(L).membership(), 1), 105);
    change(e, L, demoted(e.core(L).membership(), 2), 106);
    ASSERT_TRUE(e.core(L).submit(Request{500, 1, "w"}).is_ok());
    e.after_input(L);
    e.settle();
    e.tick(2);
    const Zxid w = completed(e, L, 500);
    ASSERT_FALSE(w.is_zero());
    dump(e, 5);
    ASSERT_EQ(e.core(L).membership().voters.size(), 3u);
    ASSERT_NE(e.core(4).log_entry(w), nullptr);
    ASSERT_NE(e.core(5).log_entry(w), nullptr);

    // 4 and 5 cut off (disks kept). 1, 2, 3 lose their disks.
    if (partition) {
        e.isolate(4, true);
        e.isolate(5, true);
    }
    e.stop(3);
    e.stop(1);
    e.stop(2);
    e.start(1, DurableState{}, true);
    e.start(2, DurableState{}, false);
    e.start(3, DurableState{}, true);
    for (int i = 0; i < 100 && e.serving_leader() == 0; ++i) e.tick();
    // 4 and 5, on their side, elect among themselves: a quorum of {3,4,5}.
    std::cout << "after the wipes:\n";
    dump(e, 5);
    EXPECT_FALSE(e.core(3).voting() && e.core(1).voting())
        << "1 and 3 confirmed a new ensemble from the bootstrap servers alone, while 4 and 5 "
           "(outside the bootstrap membership) hold the committed write "
        << w.str();
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
        std::cout << "v committed by the new ensemble at " << completed(e, L2, 600).str() << "\n";
    }
    if (partition) {
        e.isolate(4, false);
        e.isolate(5, false);
    }
    e.tick(100);
    std::cout << "healed:\n";
    dump(e, 5);
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
}

// OPEN (2026-12-03): both fail on the code as it is, and are disabled until
// the fix (docs/protocol.md, "What the third review found"); run them with
// --gtest_also_run_disabled_tests.
//
// 4 and 5 stay connected throughout: the wiped servers drop their votes
// (step(): a message from a server their bootstrap membership does not name).
TEST(ZabReconfigReview3, DISABLED_BootstrapUniverseMissesServersAddedLater) {
    bootstrap_universe_schedule(false);
}
// The same with 4 and 5 cut off while 1, 2, 3 restart, then healed.
TEST(ZabReconfigReview3, DISABLED_BootstrapUniverseMissesServersAddedLaterPartitioned) {
    bootstrap_universe_schedule(true);
}

}  // namespace
}  // namespace chorus::zab
