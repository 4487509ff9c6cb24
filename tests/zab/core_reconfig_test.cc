// The core's membership changes (docs/protocol.md, "Reconfiguration"): each
// test pins one rule, R1-R7 or an amendment, on cores wired in memory.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/ensemble.h"

namespace chorus::zab {
namespace {

using chorus::testing::Ensemble;
using chorus::testing::promoted;

// Three voters and server 4 as an observer.
Config with_observer() {
    Config c = chorus::testing::quick_config();
    c.observers = {4};
    return c;
}

bool holds_config(const std::vector<Txn>& txns, Zxid zxid) {
    return std::any_of(txns.begin(), txns.end(),
                       [&](const Txn& t) { return t.zxid == zxid && t.type == kConfigTxnType; });
}

TEST(ZabReconfig, AnObserverIsPromotedByACommittedConfigThatEveryServerApplies) {
    Ensemble e(4, with_observer());
    const ServerId leader = e.elect();
    ASSERT_EQ(leader, 3u) << "the observer never leads";
    e.tick(3);
    EXPECT_EQ(e.core(4).role(), Role::kFollowing);
    EXPECT_FALSE(e.core(4).membership().is_voter(4));
    EXPECT_EQ(e.core(leader).membership().quorum(), 2u);

    ASSERT_TRUE(e.core(leader).reconfigure(77, promoted(e.core(leader).membership(), 4)).is_ok());
    e.after_input(leader);
    e.settle();
    const auto& done = e.node(leader).completions;
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].request_id, 77u);
    const Zxid at = done[0].zxid;
    for (ServerId id : {1, 2, 3, 4}) {
        const Membership& m = e.core(id).membership();
        EXPECT_EQ(m.version, at) << id;
        EXPECT_TRUE(m.is_voter(4)) << id;
        EXPECT_EQ(m.quorum(), 3u) << id;
        EXPECT_TRUE(holds_config(e.node(id).delivered, at)) << "delivered in zxid order, " << id;
    }
}

TEST(ZabReconfig, RefusalsSayWhichRuleAndChangeNothing) {
    Ensemble e(4, with_observer());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    const Membership m = e.core(leader).membership();

    // R2: one voter at a time.
    Membership two = promoted(m, 4);
    two.voters.erase(1);
    Status s = e.core(leader).reconfigure(2, two);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.str();
    EXPECT_NE(s.message().find("one voter at a time"), std::string::npos) << s.message();
    // R7: the leader does not remove itself.
    Membership self_out = m;
    self_out.observers[leader] = self_out.voters.at(leader);
    self_out.voters.erase(leader);
    s = e.core(leader).reconfigure(3, self_out);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.str();
    EXPECT_NE(s.message().find("transfer leadership first"), std::string::npos) << s.message();
    e.after_input(leader);
    e.settle();
    EXPECT_TRUE(e.node(leader).completions.empty());
    EXPECT_TRUE(e.core(leader).membership().version.is_zero());
}

// A change whose voters the leader cannot reach enough of could never
// commit, and would stop the ensemble until they came back: refused, with
// the servers out of touch named, and taken once they are back.
TEST(ZabReconfig, AChangeThatCouldNotCommitIsRefusedUntilItsVotersAreBack) {
    Ensemble e(4, with_observer());
    const ServerId leader = e.elect();
    ASSERT_EQ(leader, 3u);
    e.tick(3);
    e.isolate(1, true);
    e.isolate(4, true);
    e.tick(12);  // past the election timeout: 1 and 4 are out of touch
    ASSERT_EQ(e.serving_leader(), leader) << "2 and 3 still make a quorum of 1,2,3";
    const Membership with_4 = promoted(e.core(leader).membership(), 4);
    Status s = e.core(leader).reconfigure(11, with_4);
    EXPECT_EQ(s.code(), Code::kBusy) << s.str();
    EXPECT_NE(s.message().find("no quorum"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("1,4"), std::string::npos) << "names who is away: " << s.message();
    EXPECT_TRUE(e.core(leader).membership().version.is_zero()) << "nothing proposed";
    // One of them back is enough: 2, 3 and 4 are a quorum of 1,2,3,4.
    e.isolate(4, false);
    e.tick(5);
    ASSERT_TRUE(e.core(leader).reconfigure(12, with_4).is_ok());
    e.after_input(leader);
    e.settle();
    e.tick(2);
    EXPECT_TRUE(e.core(leader).membership().is_voter(4));
    EXPECT_GE(e.core(leader).committed_zxid(), e.core(leader).membership().version);
}

// R3: while one CONFIG is uncommitted (the followers are cut off), a second
// is refused; R1: the first is in force on the leader from its proposal on.
TEST(ZabReconfig, OneChangeAtATimeAndInForceOnceProposed) {
    Ensemble e(4, with_observer());
    const ServerId leader = e.elect();
    ASSERT_EQ(leader, 3u);
    e.tick(3);
    e.drop_acks(true);
    ASSERT_TRUE(e.core(leader).reconfigure(5, promoted(e.core(leader).membership(), 4)).is_ok());
    e.after_input(leader);
    e.settle();
    EXPECT_TRUE(e.core(leader).membership().is_voter(4)) << "R1: in force once proposed";
    EXPECT_TRUE(e.core(1).membership().is_voter(4)) << "R1: and once accepted";
    EXPECT_LT(e.core(leader).committed_zxid(), e.core(leader).membership().version);
    Membership next = e.core(leader).membership();
    next.voters.erase(1);
    next.observers[1] = "server-1";
    const Status s = e.core(leader).reconfigure(6, next);
    EXPECT_EQ(s.code(), Code::kBusy) << s.str();
    EXPECT_NE(s.message().find("R3"), std::string::npos) << s.message();
    e.drop_acks(false);
    e.tick(3);
    EXPECT_GE(e.core(leader).committed_zxid(), e.core(leader).membership().version);
    EXPECT_TRUE(e.core(leader).reconfigure(7, next).is_ok()) << "once the first committed";
}

// R1: a CONFIG that a TRUNC removes takes its membership with it.
TEST(ZabReconfig, ATruncatedConfigTakesItsMembershipAway) {
    Ensemble e(4, with_observer());
    const ServerId leader = e.elect();
    ASSERT_EQ(leader, 3u);
    e.tick(3);
    // The leader alone holds the CONFIG: everyone else is cut off from it
    // as it goes out (before, the leader would refuse it: no quorum of the
    // new voters in touch).
    ASSERT_TRUE(e.core(leader).reconfigure(9, promoted(e.core(leader).membership(), 4)).is_ok());
    e.isolate(leader, true);
    e.after_input(leader);
    e.settle();
    ASSERT_TRUE(e.core(leader).membership().is_voter(4));
    e.stop(leader);
    e.isolate(leader, false);
    const ServerId next = e.elect();
    ASSERT_NE(next, 0u);
    ASSERT_NE(next, leader);
    EXPECT_FALSE(e.core(next).membership().is_voter(4));
    ASSERT_TRUE(e.core(next).submit(Request{1, 1, "after"}).is_ok());
    e.after_input(next);
    e.settle();
    // The old leader comes back with the CONFIG on its disk; the new leader
    // truncates it, and with it the membership it made.
    DurableState disk;
    disk.accepted_epoch = e.core(leader).accepted_epoch();
    disk.current_epoch = e.core(leader).current_epoch();
    for (Zxid z = Zxid{1, 1}; z <= e.core(leader).last_zxid(); z = z.next())
        if (const Txn* t = e.core(leader).log_entry(z)) disk.log.push_back(*t);
    {
        chorus::testing::TestPreprocessor app;
        Config c = with_observer();
        c.id = leader;
        c.members = {1, 2, 3};
        const Core restarted(c, disk, app);
        EXPECT_TRUE(restarted.membership().is_voter(4)) << "from its log, at a start";
    }
    e.start(leader, disk, false);
    e.tick(5);
    EXPECT_EQ(e.core(leader).role(), Role::kFollowing);
    EXPECT_TRUE(e.core(leader).membership().version.is_zero());
    EXPECT_FALSE(e.core(leader).membership().is_voter(4));
}

// R5: an observer's acknowledgements never count. Voters 1 and 2 with
// observer 3: with voter 1 gone, the leader and the observer commit nothing.
TEST(ZabReconfig, AnObserverNeverCompletesAQuorum) {
    Config c = chorus::testing::quick_config();
    c.observers = {3};
    Ensemble e(3, c);
    const ServerId leader = e.elect();
    ASSERT_EQ(leader, 2u);
    e.tick(3);
    ASSERT_EQ(e.core(3).role(), Role::kFollowing);
    e.stop(1);
    const Zxid before = e.core(leader).committed_zxid();
    if (e.core(leader).submit(Request{1, 1, "x"}).is_ok()) {
        e.after_input(leader);
        e.settle();
    }
    EXPECT_EQ(e.core(leader).committed_zxid(), before);
    e.tick(15);
    EXPECT_NE(e.core(2).role(), Role::kLeading) << "no quorum of voters: it steps down";
}

// A compaction past a CONFIG writes the membership before it compacts, so
// that the disk always knows the membership at its log's base.
TEST(ZabReconfig, ACompactionPastAConfigWritesTheMembershipFirst) {
    Config c = with_observer();
    c.snapshot_every_txns = 5;
    c.log_tail_keep_txns = 2;
    Ensemble e(4, c);
    const ServerId leader = e.elect();
    ASSERT_EQ(leader, 3u);
    e.tick(3);
    ASSERT_TRUE(e.core(leader).reconfigure(1, promoted(e.core(leader).membership(), 4)).is_ok());
    e.after_input(leader);
    e.settle();
    const Zxid version = e.core(leader).membership().version;
    for (uint64_t i = 0; i < 20; ++i) {
        ASSERT_TRUE(e.core(leader).submit(Request{100 + i, 1, "w"}).is_ok());
        e.after_input(leader);
        e.settle();
    }
    for (ServerId id : {1, 2, 3, 4}) {
        const auto& writes = e.node(id).writes;
        auto set = std::find_if(writes.begin(), writes.end(), [](const Write& w) {
            return std::holds_alternative<SetMembership>(w);
        });
        ASSERT_NE(set, writes.end()) << id;
        EXPECT_EQ(std::get<SetMembership>(*set).version, version) << id;
        // Every compaction before it stayed below the CONFIG.
        for (auto w = writes.begin(); w != set; ++w) {
            if (const auto* compact = std::get_if<CompactThrough>(&*w)) {
                EXPECT_LT(compact->zxid, version) << id;
            }
        }
        auto decoded = Membership::decode(version, std::get<SetMembership>(*set).record);
        ASSERT_TRUE(decoded.is_ok()) << id;
        EXPECT_TRUE(decoded.value().is_voter(4)) << id;
    }
}

}  // namespace
}  // namespace chorus::zab
