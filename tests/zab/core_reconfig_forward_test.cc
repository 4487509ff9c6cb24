// Membership changes asked of any server (Core::reconfigure on a follower
// or an observer forwards them to the leader), and R8's catch-up bound
// (Config::promote_max_lag_txns): the leader refuses to add a voter that
// does not follow it caught up.
#include <gtest/gtest.h>

#include "tests/support/ensemble.h"

namespace chorus::zab {
namespace {

using chorus::testing::completion_of;
using chorus::testing::Ensemble;
using chorus::testing::promoted;

// Three voters and server 4 as an observer.
Config with_observer(uint64_t promote_max_lag_txns = 0) {
    Config c = chorus::testing::quick_config();
    c.observers = {4};
    c.promote_max_lag_txns = promote_max_lag_txns;
    return c;
}

ServerId a_follower_of(ServerId leader) { return leader == 1 ? 2 : 1; }

TEST(ZabReconfigForward, NoServingLeaderMeansNotLeader) {
    Ensemble e(4, with_observer(), {}, /*start=*/{1});  // alone: no one leads
    e.tick(3);
    const Status s = e.core(1).reconfigure(1, promoted(e.core(1).membership(), 4));
    EXPECT_EQ(s.code(), Code::kNotLeader) << s.str();
}

TEST(ZabReconfigForward, AFollowersChangeIsForwardedCommittedAndCompletedThere) {
    Ensemble e(4, with_observer());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    const ServerId follower = a_follower_of(leader);
    ASSERT_TRUE(e.core(follower).serving());
    ASSERT_TRUE(
        e.core(follower).reconfigure(9, promoted(e.core(follower).membership(), 4)).is_ok());
    e.after_input(follower);
    e.settle();
    const Completion* c = completion_of(e, follower, 9);
    ASSERT_NE(c, nullptr) << "the follower hears its change's outcome";
    EXPECT_EQ(c->outcome, Completion::Outcome::kCommitted);
    EXPECT_TRUE(c->refusal.is_ok());
    EXPECT_EQ(completion_of(e, leader, 9), nullptr) << "completed where it was asked";
    for (ServerId id : {1, 2, 3, 4}) {
        EXPECT_TRUE(e.core(id).membership().is_voter(4)) << id;
        EXPECT_EQ(e.core(id).membership().version, c->zxid) << id;
    }
}

TEST(ZabReconfigForward, AnObserverMayAskToo) {
    Ensemble e(4, with_observer());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    ASSERT_TRUE(e.core(4).serving());
    Membership next = e.core(4).membership();
    next.observers[5] = "server-5";
    ASSERT_TRUE(e.core(4).reconfigure(3, next).is_ok());
    e.after_input(4);
    e.settle();
    const Completion* c = completion_of(e, 4, 3);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, Completion::Outcome::kCommitted);
    EXPECT_TRUE(e.core(leader).membership().is_observer(5));
}

TEST(ZabReconfigForward, TheLeadersRefusalComesBackToTheFollowerAndNothingChanges) {
    Ensemble e(4, with_observer());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    const ServerId follower = a_follower_of(leader);
    Membership self_out = e.core(follower).membership();
    self_out.observers[leader] = self_out.voters.at(leader);
    self_out.voters.erase(leader);
    ASSERT_TRUE(e.core(follower).reconfigure(5, self_out).is_ok()) << "forwarded, not judged here";
    e.after_input(follower);
    e.settle();
    const Completion* c = completion_of(e, follower, 5);
    ASSERT_NE(c, nullptr) << "a refusal is an answer";
    EXPECT_EQ(c->outcome, Completion::Outcome::kRefused);
    EXPECT_EQ(c->refusal.code(), Code::kInvalidArgument) << c->refusal.str();
    EXPECT_NE(c->refusal.message().find("transfer leadership first"), std::string::npos)
        << c->refusal.message();
    EXPECT_NE(c->refusal.message().find("the leader refused"), std::string::npos);
    for (ServerId id : {1, 2, 3, 4}) EXPECT_TRUE(e.core(id).membership().version.is_zero()) << id;
}

TEST(ZabReconfigForward, AForwardedChangeThatDoesNotDecodeIsRefused) {
    Ensemble e(4, with_observer());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    const ServerId follower = a_follower_of(leader);
    // What a broken or hostile follower might send: the CONFIG type with
    // bytes that are no membership.
    pb::PeerMessage m;
    m.mutable_forward()->set_epoch(e.core(leader).current_epoch());
    m.mutable_forward()->set_request_id(8);
    m.mutable_forward()->set_type(kConfigTxnType);
    m.mutable_forward()->set_data("\xff\xff not a membership");
    e.core(leader).step(follower, m);
    e.after_input(leader);
    e.settle();
    const Completion* c = completion_of(e, follower, 8);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, Completion::Outcome::kRefused);
    EXPECT_TRUE(e.core(leader).membership().version.is_zero());
}

TEST(ZabReconfigForward, TheCoresOwnRequestTypeIsRefusedAsARequest) {
    Ensemble e(3, chorus::testing::quick_config());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    const Status s = e.core(leader).submit(Request{1, kConfigTxnType, "x"});
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.str();
}

TEST(ZabReconfigForward, R8AVoterThatDoesNotFollowIsNotAdded) {
    Ensemble e(5, with_observer(/*promote_max_lag_txns=*/100), {}, {1, 2, 3, 4}, {5});
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    Membership next = e.core(leader).membership();
    next.voters[5] = "server-5";  // never started: it follows no one
    const Status s = e.core(leader).reconfigure(1, next);
    EXPECT_EQ(s.code(), Code::kBusy) << s.str();
    EXPECT_NE(s.message().find("add it as an observer first"), std::string::npos) << s.message();
    // The observer that follows, caught up, is promoted.
    EXPECT_TRUE(e.change_membership(leader, promoted(e.core(leader).membership(), 4), 2).is_ok());
    EXPECT_FALSE(e.completed(leader, 2).is_zero());
}

TEST(ZabReconfigForward, R8AnObserverFarBehindIsNotPromotedUntilItCatchesUp) {
    Ensemble e(4, with_observer(/*promote_max_lag_txns=*/3));
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    // The observer's acknowledgements are lost for a while: as far as the
    // leader knows, it stays where it was.
    e.drop_acks(true);
    for (uint64_t i = 1; i <= 10; ++i) {
        ASSERT_TRUE(e.core(leader).submit(Request{100 + i, 1, "w"}).is_ok());
        e.after_input(leader);
        e.settle();
    }
    Status s = e.core(leader).reconfigure(1, promoted(e.core(leader).membership(), 4));
    EXPECT_EQ(s.code(), Code::kBusy) << s.str();
    EXPECT_NE(s.message().find("transactions behind"), std::string::npos) << s.str();
    e.drop_acks(false);
    ASSERT_TRUE(e.core(leader).submit(Request{200, 1, "w"}).is_ok());
    e.after_input(leader);
    e.settle();
    e.tick(2);
    s = e.change_membership(leader, promoted(e.core(leader).membership(), 4), 2);
    EXPECT_TRUE(s.is_ok()) << s.str();
    EXPECT_TRUE(e.core(leader).membership().is_voter(4));
}

}  // namespace
}  // namespace chorus::zab
