// Leadership transfer (Core::transfer_leadership, zab/core/transfer.cc):
// the target leads within a round trip, whatever its id; what the leader
// accepted before commits, and what comes during the transfer is refused
// as "not leader" (retryable), so no request is left uncertain; an
// abandoned transfer leaves the leader leading; and the refusals.
#include <gtest/gtest.h>

#include "tests/support/ensemble.h"

namespace chorus::zab {
namespace {

using chorus::testing::completion_of;
using chorus::testing::Ensemble;
using chorus::testing::others;

// Ticks (at most `max_ticks`) until `id` leads and serves; the ticks it took.
int ticks_until_serving_leader(Ensemble& e, ServerId id, int max_ticks) {
    for (int t = 0; t <= max_ticks; ++t) {
        if (e.serving_leader() == id) return t;
        e.tick();
    }
    return -1;
}

// Voters 1, 2, 3 and observer 4.
Config three_voters_and_an_observer() {
    Config config = chorus::testing::quick_config();
    config.observers = {4};
    return config;
}

class TransferTo : public ::testing::TestWithParam<int> {};

// Every follower as the target, the lowest id too: it wins over followers
// of an equal history and a higher id (the take_over mark), well within an
// election timeout (10 ticks).
TEST_P(TransferTo, EachFollowerLeadsWithinARoundTrip) {
    const int n = GetParam();
    for (size_t pick = 0; pick + 1 < static_cast<size_t>(n); ++pick) {
        Ensemble e(n, chorus::testing::quick_config());
        const ServerId leader = e.elect();
        ASSERT_NE(leader, 0u);
        e.tick(2);
        const uint64_t epoch = e.core(leader).current_epoch();
        const ServerId target = others(n, leader)[pick];
        ASSERT_TRUE(e.core(leader).transfer_leadership(7, target).is_ok());
        e.after_input(leader);
        e.settle();
        const Completion* c = completion_of(e, leader, 7);
        ASSERT_NE(c, nullptr) << "target " << target;
        EXPECT_EQ(c->outcome, Completion::Outcome::kAbsorbed);
        const int took = ticks_until_serving_leader(e, target, 10);
        EXPECT_GE(took, 0) << "server " << target << " never led";
        EXPECT_LE(took, 1) << "an election timeout is 10 ticks";
        EXPECT_GT(e.core(target).current_epoch(), epoch);
    }
}

INSTANTIATE_TEST_SUITE_P(Sizes, TransferTo, ::testing::Values(3, 5));

TEST(ZabTransfer, ZeroPicksACaughtUpVoter) {
    Ensemble e(3, chorus::testing::quick_config());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(2);
    ASSERT_TRUE(e.core(leader).transfer_leadership(1, 0).is_ok());
    const ServerId target = e.core(leader).transferring_to();
    EXPECT_NE(target, 0u);
    EXPECT_NE(target, leader);
    e.after_input(leader);
    e.settle();
    EXPECT_GE(ticks_until_serving_leader(e, target, 2), 0);
}

TEST(ZabTransfer, AcceptedWritesCommitFirstAndLaterOnesAreRefusedAsNotLeader) {
    Ensemble e(3, chorus::testing::quick_config());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(2);
    const ServerId target = others(3, leader)[0];
    for (uint64_t rid = 10; rid < 20; ++rid)
        ASSERT_TRUE(e.core(leader).submit(Request{rid, 1, "w"}).is_ok());
    // Asked before any of them is proposed: they are accepted, so they
    // commit before the handover.
    ASSERT_TRUE(e.core(leader).transfer_leadership(1, target).is_ok());
    const Status late = e.core(leader).submit(Request{30, 1, "late"});
    EXPECT_EQ(late.code(), Code::kNotLeader) << late.str();
    EXPECT_EQ(e.core(leader).sync(31).code(), Code::kNotLeader);
    e.after_input(leader);
    e.settle();
    for (uint64_t rid = 10; rid < 20; ++rid) {
        const Completion* c = completion_of(e, leader, rid);
        ASSERT_NE(c, nullptr) << rid;
        EXPECT_EQ(c->outcome, Completion::Outcome::kCommitted) << rid;
    }
    ASSERT_GE(ticks_until_serving_leader(e, target, 2), 0);
    for (ServerId id = 1; id <= 3; ++id) EXPECT_EQ(e.node(id).delivered.size(), 10u) << id;
}

TEST(ZabTransfer, FollowersHoldTheirRequestsAndAnAbandonedTransferLeavesTheLeaderLeading) {
    Ensemble e(3, chorus::testing::quick_config());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(2);
    const auto rest = others(3, leader);
    const ServerId target = rest[0];
    const ServerId bystander = rest[1];
    // The target's disk is stuck: it never holds the write, as far as the
    // leader knows (the bystander's acknowledgement commits it).
    e.set_disk_stuck(target, true);
    ASSERT_TRUE(e.core(leader).submit(Request{5, 1, "w"}).is_ok());
    e.after_input(leader);
    e.settle();
    ASSERT_TRUE(e.core(leader).transfer_leadership(1, target).is_ok());
    e.after_input(leader);
    e.settle();
    e.tick();
    EXPECT_EQ(e.core(bystander).submit(Request{40, 1, "x"}).code(), Code::kNotLeader)
        << "a follower refuses while the leader hands over";
    EXPECT_EQ(e.core(bystander).sync(41).code(), Code::kNotLeader);
    EXPECT_EQ(completion_of(e, leader, 1), nullptr) << "not yet decided";
    e.tick(10);  // past the election timeout
    const Completion* c = completion_of(e, leader, 1);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, Completion::Outcome::kRefused);
    EXPECT_EQ(c->refusal.code(), Code::kTimeout) << c->refusal.str();
    EXPECT_EQ(e.serving_leader(), leader) << "it goes on leading";
    EXPECT_EQ(e.core(leader).transferring_to(), 0u);
    ASSERT_TRUE(e.core(bystander).submit(Request{42, 1, "y"}).is_ok()) << "requests again";
    e.after_input(bystander);
    e.settle();
    const Completion* y = completion_of(e, bystander, 42);
    ASSERT_NE(y, nullptr);
    EXPECT_EQ(y->outcome, Completion::Outcome::kCommitted);
}

TEST(ZabTransfer, AFollowerMayAskAndHearsTheOutcome) {
    Ensemble e(3, chorus::testing::quick_config());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(2);
    const auto rest = others(3, leader);
    ASSERT_TRUE(e.core(rest[1]).transfer_leadership(3, rest[0]).is_ok());
    e.after_input(rest[1]);
    e.settle();
    const Completion* c = completion_of(e, rest[1], 3);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, Completion::Outcome::kAbsorbed);
    EXPECT_GE(ticks_until_serving_leader(e, rest[0], 2), 0);
    // A refusal comes back the same way: the target is this very leader now.
    e.tick(2);
    const ServerId follower = others(3, rest[0])[0];
    ASSERT_TRUE(e.core(follower).transfer_leadership(4, rest[0]).is_ok());
    e.after_input(follower);
    e.settle();
    const Completion* r = completion_of(e, follower, 4);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->outcome, Completion::Outcome::kRefused);
    EXPECT_EQ(r->refusal.code(), Code::kInvalidArgument) << r->refusal.str();
}

TEST(ZabTransfer, Refusals) {
    Ensemble e(4, three_voters_and_an_observer());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(2);
    EXPECT_EQ(e.core(leader).transfer_leadership(1, leader).code(), Code::kInvalidArgument);
    EXPECT_EQ(e.core(leader).transfer_leadership(1, 4).code(), Code::kInvalidArgument)
        << "an observer does not lead";
    EXPECT_EQ(e.core(leader).transfer_leadership(1, 9).code(), Code::kInvalidArgument);
    // A voter out of touch.
    const ServerId gone = others(3, leader)[0];
    e.stop(gone);
    e.tick(12);
    ASSERT_EQ(e.serving_leader(), leader);
    const Status away = e.core(leader).transfer_leadership(1, gone);
    EXPECT_EQ(away.code(), Code::kBusy) << away.str();
    // One at a time.
    const ServerId other = others(3, leader)[1];
    ASSERT_TRUE(e.core(leader).transfer_leadership(2, other).is_ok());
    EXPECT_EQ(e.core(leader).transfer_leadership(3, other).code(), Code::kBusy);
    Membership next = e.core(leader).membership();
    next.observers[5] = "server-5";
    EXPECT_EQ(e.core(leader).reconfigure(4, next).code(), Code::kBusy)
        << "no membership change during a transfer";
}

TEST(ZabTransfer, NoTransferWhileAChangeIsInFlight) {
    Ensemble e(4, three_voters_and_an_observer());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(2);
    ASSERT_TRUE(e.core(leader)
                    .reconfigure(1, chorus::testing::promoted(e.core(leader).membership(), 4))
                    .is_ok());
    const Status s = e.core(leader).transfer_leadership(2, others(3, leader)[0]);
    EXPECT_EQ(s.code(), Code::kBusy) << s.str();
}

TEST(ZabTransfer, ALeaderThatStepsDownFirstAnswersNotLeader) {
    Ensemble e(3, chorus::testing::quick_config());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(2);
    const ServerId target = others(3, leader)[0];
    e.set_disk_stuck(target, true);  // the handover cannot happen yet
    ASSERT_TRUE(e.core(leader).submit(Request{5, 1, "w"}).is_ok());
    e.after_input(leader);
    ASSERT_TRUE(e.core(leader).transfer_leadership(1, target).is_ok());
    e.after_input(leader);
    e.settle();
    e.isolate(leader, true);
    e.tick(11);
    const Completion* c = completion_of(e, leader, 1);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, Completion::Outcome::kRefused);
    // Lost touch, or the deadline: either way it did not hand over.
    EXPECT_TRUE(c->refusal.code() == Code::kNotLeader || c->refusal.code() == Code::kTimeout)
        << c->refusal.str();
}

TEST(ZabTransfer, ATakeOverBeyondTheTargetsLogIsNotTaken) {
    Ensemble e(3, chorus::testing::quick_config());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(2);
    const ServerId target = others(3, leader)[0];
    // What a broken leader might send: more than the target holds.
    pb::PeerMessage m;
    m.mutable_take_over()->set_epoch(e.core(target).current_epoch());
    m.mutable_take_over()->mutable_last_zxid()->set_epoch(e.core(target).current_epoch());
    m.mutable_take_over()->mutable_last_zxid()->set_counter(99);
    m.mutable_take_over()->set_target(target);
    e.core(target).step(leader, m);
    EXPECT_EQ(e.core(target).role(), Role::kLooking);
    // It looks again but claims nothing: its vote is its own history.
    Ready r = e.core(target).take_ready();
    bool saw_vote = false;
    for (const Outgoing& o : r.messages) {
        if (!o.message.has_vote()) continue;
        saw_vote = true;
        EXPECT_FALSE(o.message.vote().take_over());
        EXPECT_EQ(o.message.vote().leader_last_zxid().counter(),
                  e.core(target).last_zxid().counter);
    }
    EXPECT_TRUE(saw_vote);
    bool noticed = false;
    for (const std::string& line : r.notices)
        noticed = noticed || line.find("ignoring the TAKE_OVER") != std::string::npos;
    EXPECT_TRUE(noticed);
}

// Seed 13 of --reconfig --forwarded-changes --transfer: a server that had
// taken a TAKE_OVER (its vote marked) adopted a newer candidate but kept
// the mark; the candidate itself voted unmarked, and the two never agreed.
TEST(ZabTransfer, AdoptingANewerCandidateDropsAStaleTakeOverMark) {
    Ensemble e(3, chorus::testing::quick_config());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(2);
    const auto rest = others(3, leader);
    const ServerId voter = rest[0], target = rest[1];
    Core& c = e.core(voter);
    pb::PeerMessage take_over;
    take_over.mutable_take_over()->set_epoch(c.current_epoch());
    take_over.mutable_take_over()->mutable_last_zxid()->set_epoch(c.last_zxid().epoch);
    take_over.mutable_take_over()->mutable_last_zxid()->set_counter(c.last_zxid().counter);
    take_over.mutable_take_over()->set_target(target);
    c.step(leader, take_over);
    Ready r = c.take_ready();
    uint64_t round = 0;
    for (const Outgoing& o : r.messages) {
        if (!o.message.has_vote()) continue;
        EXPECT_TRUE(o.message.vote().take_over()) << "it votes for the target, marked";
        EXPECT_EQ(o.message.vote().leader(), target);
        round = o.message.vote().round();
    }
    ASSERT_NE(round, 0u);
    // A candidate with more history, in the same round, unmarked.
    pb::PeerMessage better;
    pb::Vote* v = better.mutable_vote();
    v->set_leader(leader);
    v->set_leader_current_epoch(c.current_epoch());
    v->mutable_leader_last_zxid()->set_epoch(c.last_zxid().epoch);
    v->mutable_leader_last_zxid()->set_counter(c.last_zxid().counter + 5);
    v->set_round(round);
    v->set_state(pb::LOOKING);
    v->set_voting(true);
    c.step(leader, better);
    r = c.take_ready();
    bool voted = false;
    for (const Outgoing& o : r.messages) {
        if (!o.message.has_vote()) continue;
        voted = true;
        EXPECT_EQ(o.message.vote().leader(), leader);
        EXPECT_FALSE(o.message.vote().take_over()) << "the mark was the old candidate's";
    }
    EXPECT_TRUE(voted);
}

}  // namespace
}  // namespace chorus::zab
