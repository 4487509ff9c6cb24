// The core's safety rules that issue 13 added or fixed, each driven message
// by message on one core (the peers are hand-written messages), so a test
// says exactly which input must produce which output.
//
//   - NEWEPOCH leaves only once the leader's acceptedEpoch is durable;
//   - an ACKEPOCH of an epoch accepted before does not count;
//   - TRUNC below the commit point, or to a zxid not held, is refused;
//   - a follower whose history parts from the leader's anywhere gets the
//     TRUNC that fits it (from its epoch ends), not an abort;
//   - impossible values from the network are dropped and counted;
//   - a leader whose own disk is stuck steps down;
//   - an empty server with bootstrap stops voting once it hears of history;
// and those the simulator's lossy network forced:
//   - a DIFF or PROPOSAL that does not continue the follower's log (a lost
//     message before it) is refused, even across an epoch boundary;
//   - proposals or UPTODATE before the sync completed start it over;
//   - a sync that stalls starts over; FOLLOWERINFO again gets NEWEPOCH again;
//   - a ping answer is a cumulative ACK.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>

#include "tests/support/core_messages.h"
#include "tests/support/ensemble.h"
#include "zab/core/wire.h"

namespace chorus::zab {
namespace {

using chorus::testing::log_of;
using chorus::testing::TestPreprocessor;
using chorus::testing::vote_for;

Config three(ServerId id, bool bootstrap = true) {
    return chorus::testing::config_of(id, {1, 2, 3}, bootstrap);
}

pb::PeerMessage follower_info(uint64_t accepted, bool voting = true) {
    pb::PeerMessage m;
    m.mutable_follower_info()->set_accepted_epoch(accepted);
    m.mutable_follower_info()->set_voting(voting);
    return m;
}

pb::PeerMessage ack_epoch(uint64_t epoch, uint64_t current, Zxid last, bool newly,
                          std::vector<Zxid> ends = {}, Zxid base = {}) {
    pb::PeerMessage m;
    pb::AckEpoch* a = m.mutable_ack_epoch();
    a->set_epoch(epoch);
    a->set_current_epoch(current);
    to_pb(last, a->mutable_last_zxid());
    a->set_newly_accepted(newly);
    for (Zxid z : ends) to_pb(z, a->add_epoch_ends());
    to_pb(base, a->mutable_log_base());
    a->set_epoch_ends_complete(true);
    return m;
}

// What a new ensemble's empty server needs before it votes: an answer from
// every other member, none holding history (a vote of a non-voting server,
// round 0, so it moves no election along).
void hear_everyone_empty(Core& core, const Config& c) {
    for (ServerId peer : c.members) {
        if (peer == c.id) continue;
        pb::PeerMessage m = vote_for(0, 0);
        m.mutable_vote()->set_voting(false);
        core.step(peer, m);
    }
}

size_t count_kind(const std::vector<Outgoing>& out, pb::PeerMessage::BodyCase kind) {
    return static_cast<size_t>(std::count_if(out.begin(), out.end(), [kind](const Outgoing& o) {
        return o.message.body_case() == kind;
    }));
}

using B = pb::PeerMessage::BodyCase;

// Server 3 of three, elected by server 2's vote, with 2's FOLLOWERINFO in:
// the epoch is chosen in the Ready this returns.
struct Leader3 {
    TestPreprocessor app;
    Core core;
    explicit Leader3(DurableState d = {}, Config c = three(3)) : core(c, std::move(d), app) {
        hear_everyone_empty(core, c);
        (void)core.take_ready();
        core.step(2, vote_for(3, 1, core.current_epoch(), core.last_zxid()));
        EXPECT_EQ(core.role(), Role::kLeading);
        (void)core.take_ready();
        core.step(2, follower_info(0));
    }
};

// DSN 2011 IV-A, and ZooKeeper's Leader.getEpochToPropose: the leader makes
// its acceptedEpoch durable before it sends the epoch. Otherwise a leader
// that crashes in between restarts without it while a follower has
// accepted it, and a later leader can pick the same epoch (seeds 356, 731).
TEST(ZabEpochs, NewEpochLeavesOnlyAfterTheLeadersAcceptedEpochIsDurable) {
    Leader3 l;
    Ready r = l.core.take_ready();
    ASSERT_FALSE(r.writes.empty());
    ASSERT_TRUE(std::holds_alternative<SetAcceptedEpoch>(r.writes.front()));
    EXPECT_EQ(std::get<SetAcceptedEpoch>(r.writes.front()).epoch, 1u);
    EXPECT_EQ(count_kind(r.messages, B::kNewEpoch), 0u) << "NEWEPOCH must wait for the write";
    EXPECT_EQ(count_kind(r.after_persist, B::kNewEpoch), 1u);
    EXPECT_NE(r.write_id, 0u);
}

// A follower that joins after the epoch was chosen gets NEWEPOCH behind the
// same write, even if that write is still pending.
TEST(ZabEpochs, ALateFollowerGetsNewEpochBehindTheWriteToo) {
    Leader3 l;
    (void)l.core.take_ready();  // not persisted yet
    l.core.step(1, follower_info(0));
    Ready r = l.core.take_ready();
    EXPECT_EQ(count_kind(r.messages, B::kNewEpoch), 0u);
    EXPECT_EQ(count_kind(r.after_persist, B::kNewEpoch), 1u);
}

// ZooKeeper's Learner.registerWithLeader answers an epoch it accepted
// before with -1, and the leader does not count it: one epoch, one promise.
TEST(ZabEpochs, AnAckEpochOfAnEpochAcceptedBeforeDoesNotCount) {
    Leader3 l;
    Ready r = l.core.take_ready();
    l.core.persisted(r.write_id);
    (void)l.core.take_ready();
    l.core.step(2, ack_epoch(1, 0, Zxid{}, /*newly=*/false));
    Ready after = l.core.take_ready();
    EXPECT_FALSE(l.core.serving());
    for (const Write& w : after.writes)
        EXPECT_FALSE(std::holds_alternative<SetCurrentEpoch>(w)) << "no sync without a quorum";
    // The same follower accepting the epoch anew counts.
    Leader3 l2;
    Ready r2 = l2.core.take_ready();
    l2.core.persisted(r2.write_id);
    (void)l2.core.take_ready();
    l2.core.step(2, ack_epoch(1, 0, Zxid{}, /*newly=*/true));
    Ready after2 = l2.core.take_ready();
    EXPECT_TRUE(std::any_of(after2.writes.begin(), after2.writes.end(), [](const Write& w) {
        return std::holds_alternative<SetCurrentEpoch>(w);
    }));
}

// A leader that never gathers a quorum of fresh acknowledgements gives up
// instead of waiting for ever (its followers may all be stuck on an epoch
// they accepted before).
TEST(ZabEpochs, ALeaderWithoutAFreshQuorumStepsDownInTime) {
    Leader3 l;
    Ready r = l.core.take_ready();
    l.core.persisted(r.write_id);
    l.core.step(2, ack_epoch(1, 0, Zxid{}, false));
    for (int i = 0; i < 25 && l.core.role() == Role::kLeading; ++i) {
        pb::PeerMessage ping_ack;  // it keeps answering: alive, but not counted
        ping_ack.mutable_ping_ack()->set_epoch(1);
        l.core.step(2, ping_ack);
        l.core.tick();
        (void)l.core.take_ready();
    }
    EXPECT_EQ(l.core.role(), Role::kLooking);
}

// Syncing a follower whose history parts from ours in an earlier epoch:
// we hold 4:1..4:6 then 6:1..6:2; it holds 4:1..4:5 then 5:1 (epoch 5
// never made it). "The largest zxid we hold at or below its last" would be
// 4:6, which it lacks; its epoch ends say where the histories part: 4:5.
TEST(ZabSync, ADivergentFollowerIsTruncatedToWhereTheHistoriesPart) {
    DurableState d = log_of(6, {{4, 6}, {6, 2}});
    Leader3 l(std::move(d));
    Ready r = l.core.take_ready();
    l.core.persisted(r.write_id);
    (void)l.core.take_ready();
    const uint64_t epoch = l.core.accepted_epoch();
    l.core.step(2, ack_epoch(epoch, 5, Zxid{5, 1}, true, {Zxid{4, 5}, Zxid{5, 1}}));
    Ready sync = l.core.take_ready();
    const Outgoing* trunc = nullptr;
    const Outgoing* diff = nullptr;
    for (const Outgoing& o : sync.messages) {
        if (o.to != 2) continue;
        if (o.message.has_trunc()) trunc = &o;
        if (o.message.has_diff() && !diff) diff = &o;
    }
    ASSERT_NE(trunc, nullptr);
    EXPECT_EQ(from_pb(trunc->message.trunc().to()), (Zxid{4, 5}));
    ASSERT_NE(diff, nullptr);
    EXPECT_EQ(from_pb(diff->message.diff().txns(0).zxid()), (Zxid{4, 6}));
}

// The same follower with nothing in common after its compacted base gets a
// SNAP when we no longer hold that base either.
TEST(ZabSync, AFollowerPartedBelowOurLogGetsASnapshot) {
    DurableState d = log_of(6, {{6, 3}});
    d.log_base = Zxid{4, 9};
    d.snapshot_zxid = Zxid{4, 9};
    Leader3 l(std::move(d));
    Ready r = l.core.take_ready();
    l.core.persisted(r.write_id);
    (void)l.core.take_ready();
    l.core.step(2, ack_epoch(l.core.accepted_epoch(), 5, Zxid{5, 2}, true, {Zxid{4, 4}, Zxid{5, 2}},
                             Zxid{4, 1}));
    Ready sync = l.core.take_ready();
    EXPECT_EQ(count_kind(sync.messages, B::kSnap), 1u);
    EXPECT_EQ(count_kind(sync.messages, B::kTrunc), 0u);
}

// A follower in sync with epoch `epoch` from leader 3, holding `d`.
struct Follower1 {
    TestPreprocessor app;
    Core core;
    explicit Follower1(DurableState d, uint64_t epoch) : core(three(1), std::move(d), app) {
        (void)core.take_ready();
        pb::Vote v = vote_for(3, 1, epoch, Zxid{epoch, 9}).vote();
        pb::PeerMessage m;
        *m.mutable_vote() = v;
        core.step(3, m);
        core.step(2, m);
        EXPECT_EQ(core.role(), Role::kFollowing);
        pb::PeerMessage ne;
        ne.mutable_new_epoch()->set_epoch(epoch);
        core.step(3, ne);
        Ready r = core.take_ready();
        core.persisted(r.write_id);
        (void)core.take_ready();
    }
};

// Leader 3 (epoch 7) tells follower 1 to truncate after `to`.
Ready trunc_to(Follower1& f, Zxid to) {
    pb::PeerMessage t;
    t.mutable_trunc()->set_epoch(7);
    to_pb(to, t.mutable_trunc()->mutable_to());
    f.core.step(3, t);
    return f.core.take_ready();
}

// A TRUNC below what this follower has committed would drop committed
// entries: it is refused, counted and the follower looks again — no abort.
TEST(ZabSync, ATruncBelowTheCommitPointIsRefused) {
    DurableState d = log_of(2, {{1, 4}, {2, 3}});
    d.snapshot_zxid = Zxid{2, 2};  // delivered and snapshotted: committed
    Follower1 f(std::move(d), 7);
    Ready r = trunc_to(f, Zxid{1, 4});
    EXPECT_EQ(f.core.stats().refused_truncs, 1u);
    EXPECT_EQ(f.core.role(), Role::kLooking);
    EXPECT_EQ(f.core.last_zxid(), (Zxid{2, 3}));
    for (const Write& w : r.writes) EXPECT_FALSE(std::holds_alternative<TruncateAfter>(w));
    EXPECT_FALSE(r.notices.empty());
}

// A TRUNC to a zxid this log does not hold (it used to trip an assertion
// and abort the server on every restart).
TEST(ZabSync, ATruncToAZxidNotHeldIsRefusedNotAnAbort) {
    Follower1 f(log_of(5, {{4, 5}, {5, 1}}), 7);
    Ready r = trunc_to(f, Zxid{4, 6});
    EXPECT_EQ(f.core.stats().refused_truncs, 1u);
    EXPECT_EQ(f.core.role(), Role::kLooking);
    EXPECT_EQ(f.core.last_zxid(), (Zxid{5, 1}));
}

// The follower's ACKEPOCH says which epochs its log holds, up to where.
TEST(ZabSync, AckEpochCarriesTheEpochEndsOfTheLog) {
    TestPreprocessor app;
    Core core(three(1), log_of(5, {{2, 3}, {4, 5}, {5, 1}}), app);
    (void)core.take_ready();
    pb::PeerMessage m = vote_for(3, 1, 6, Zxid{6, 1});
    core.step(3, m);
    core.step(2, m);
    ASSERT_EQ(core.role(), Role::kFollowing);
    pb::PeerMessage ne;
    ne.mutable_new_epoch()->set_epoch(7);
    core.step(3, ne);
    Ready r = core.take_ready();
    ASSERT_EQ(count_kind(r.after_persist, B::kAckEpoch), 1u);
    const pb::AckEpoch& a = r.after_persist.front().message.ack_epoch();
    EXPECT_TRUE(a.newly_accepted());
    ASSERT_EQ(a.epoch_ends_size(), 3);
    EXPECT_EQ(from_pb(a.epoch_ends(0)), (Zxid{2, 3}));
    EXPECT_EQ(from_pb(a.epoch_ends(1)), (Zxid{4, 5}));
    EXPECT_EQ(from_pb(a.epoch_ends(2)), (Zxid{5, 1}));
    EXPECT_TRUE(a.epoch_ends_complete());
}

// A forged or corrupt vote with acceptedEpoch 2^64-1 would make the next
// epoch wrap to 0. It is dropped and counted instead.
TEST(ZabValidation, AnImpossibleAcceptedEpochIsDroppedNotWrapped) {
    TestPreprocessor app;
    Core core(three(3), {}, app);
    hear_everyone_empty(core, three(3));
    (void)core.take_ready();
    pb::PeerMessage bad = vote_for(3, 1);
    bad.mutable_vote()->set_accepted_epoch(UINT64_MAX);
    core.step(2, bad);
    EXPECT_EQ(core.stats().dropped_messages, 1u);
    Ready r = core.take_ready();
    ASSERT_EQ(r.notices.size(), 1u);
    EXPECT_NE(r.notices[0].find("impossible"), std::string::npos) << r.notices[0];
    core.step(2, vote_for(3, 1));
    core.step(2, follower_info(0));
    EXPECT_EQ(core.accepted_epoch(), 1u);
}

TEST(ZabValidation, ImpossibleMessagesOfEveryKindAreDropped) {
    TestPreprocessor app;
    Core core(three(1), log_of(1, {{1, 2}}), app);
    std::vector<pb::PeerMessage> bad(6);
    bad[0].mutable_new_epoch()->set_epoch(0);
    bad[1].mutable_proposal()->set_epoch(3);
    to_pb(Zxid{2, 1}, bad[1].mutable_proposal()->add_txns()->mutable_zxid());  // another epoch
    bad[2].mutable_ack_epoch()->set_epoch(2);
    bad[2].mutable_ack_epoch()->set_current_epoch(3);  // above the epoch it acknowledges
    bad[3].mutable_hello()->set_server_id(2);          // for the transport only
    bad[4].mutable_commit()->set_epoch(1);
    to_pb(Zxid{9, 1}, bad[4].mutable_commit()->mutable_zxid());
    // bad[5]: no body
    for (const pb::PeerMessage& m : bad) core.step(2, m);
    EXPECT_EQ(core.stats().dropped_messages, bad.size());
    core.step(7, follower_info(0));  // not a member
    EXPECT_EQ(core.stats().dropped_messages, bad.size() + 1);
}

// A leader whose own disk stops completing writes cannot commit (it bounds
// its proposals by its own durable point), and its followers keep answering
// its pings: without this rule the ensemble would stall for as long as the
// disk does.
TEST(ZabLiveness, ALeaderWhoseDiskIsStuckStepsDownAndAnotherLeads) {
    Config c = three(0);
    c.election_timeout_ticks = 10;
    c.snapshot_every_txns = 0;
    chorus::testing::Ensemble e(3, c);
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.set_disk_stuck(leader, true);
    ASSERT_TRUE(e.core(leader).submit(Request{1, 1, "x"}).is_ok());
    e.after_input(leader);
    e.tick(14);
    EXPECT_NE(e.core(leader).role(), Role::kLeading);
    EXPECT_EQ(e.core(leader).stats().disk_step_downs, 1u);
    const ServerId next = e.elect(60);
    EXPECT_NE(next, 0u);
    EXPECT_NE(next, leader) << "a server with a stuck disk must not lead again meanwhile";
}

// Bootstrap is for the first start of an ensemble only. An empty server
// with it votes only once every other member has answered, none with
// history; hearing of history instead, it stops bootstrapping for good (its
// disk may have been wiped, the flag left on).
TEST(ZabElection, AnEmptyBootstrapServerVotesOnlyOnceEveryMemberAnsweredEmpty) {
    TestPreprocessor app;
    Core core(three(1), {}, app);
    EXPECT_FALSE(core.voting()) << "not before it has heard from everyone";
    (void)core.take_ready();
    core.step(2, vote_for(2, 1));
    EXPECT_FALSE(core.voting()) << "one of two peers answered: it cannot know yet";
    core.step(3, vote_for(3, 1));
    EXPECT_TRUE(core.voting());
    EXPECT_FALSE(core.stats().bootstrap_ignored);
    Ready r = core.take_ready();
    EXPECT_TRUE(std::any_of(r.notices.begin(), r.notices.end(), [](const std::string& n) {
        return n.find("bootstrapping a new ensemble") != std::string::npos;
    }));
}

TEST(ZabElection, AnEmptyBootstrapServerHearingOfHistoryStopsBootstrapping) {
    TestPreprocessor app;
    Core core(three(1), {}, app);
    (void)core.take_ready();
    pb::PeerMessage m = vote_for(2, 1, 4, Zxid{4, 10});
    m.mutable_vote()->set_accepted_epoch(4);
    core.step(2, m);
    core.step(3, vote_for(3, 1));
    EXPECT_FALSE(core.voting());
    EXPECT_TRUE(core.stats().bootstrap_ignored);
    Ready r = core.take_ready();
    EXPECT_FALSE(r.notices.empty());
    // And the disk remembers it, so a crash in the sync that follows does
    // not bring the flag back.
    EXPECT_TRUE(std::any_of(r.writes.begin(), r.writes.end(), [](const Write& w) {
        return std::holds_alternative<MarkJoinedEnsemble>(w);
    }));
    // A durable currentEpoch alone is history enough (a peer that was
    // synced once may simply lack the transactions others committed — the
    // long run's seed 6525 of a laxer rule lost them).
    TestPreprocessor app3;
    Core empty(three(1), {}, app3);
    (void)empty.take_ready();
    empty.step(3, vote_for(3, 1, 1, Zxid{}));
    empty.step(2, vote_for(2, 1));
    EXPECT_FALSE(empty.voting());
    EXPECT_TRUE(empty.stats().bootstrap_ignored);
}

// A server that accepted an epoch while bootstrapping is an original member
// and votes at once when restarted: the first leader of a new ensemble sets
// its currentEpoch as its sync begins and may crash with nothing committed;
// its quorum all accepted that epoch, and must still elect (the long run's
// seeds 33476, 87906, 91341 of a stricter rule never got going).
TEST(ZabElection, AnOriginalMemberThatAcceptedAnEpochVotesAtOnce) {
    TestPreprocessor app;
    DurableState took_part;
    took_part.accepted_epoch = 1;
    Core original(three(1), took_part, app);
    EXPECT_TRUE(original.voting());
    (void)original.take_ready();
    original.step(3, vote_for(3, 1, 1, Zxid{}));
    EXPECT_TRUE(original.voting());
    EXPECT_FALSE(original.stats().bootstrap_ignored);
}

// An epoch promised before a wipe is no history, but must not be chosen
// again: a server that confirms a new ensemble takes the highest acceptedEpoch
// it heard of as its own, so the leader it helps elect picks above it.
TEST(ZabElection, ConfirmingANewEnsembleTakesOnTheHighestAcceptedEpochHeard) {
    TestPreprocessor app;
    Core core(three(1), {}, app);
    (void)core.take_ready();
    pb::PeerMessage m = vote_for(2, 1);
    m.mutable_vote()->set_accepted_epoch(3);  // promised to a leader that never established it
    core.step(2, m);
    core.step(3, vote_for(3, 1));
    ASSERT_TRUE(core.voting());
    EXPECT_EQ(core.accepted_epoch(), 3u);
    Ready r = core.take_ready();
    EXPECT_TRUE(std::any_of(r.writes.begin(), r.writes.end(), [](const Write& w) {
        return std::holds_alternative<SetAcceptedEpoch>(w) &&
               std::get<SetAcceptedEpoch>(w).epoch == 3;
    }));
}

// Following a leader before every member answered: it joins as a new member,
// durably, before it accepts the leader's epoch.
TEST(ZabElection, AnUnconfirmedBootstrapServerThatFollowsMarksItselfJoined) {
    TestPreprocessor app;
    Config five = three(1);
    five.members = {1, 2, 3, 4, 5};
    Core core(five, {}, app);
    (void)core.take_ready();
    // 3, 4 and 5 say 5 leads (a first epoch under way: nothing durable yet
    // that counts as history); 2 has not answered.
    for (ServerId from : {3u, 4u, 5u}) {
        pb::PeerMessage v = vote_for(5, 1);
        v.mutable_vote()->set_state(from == 5 ? pb::LEADING : pb::FOLLOWING);
        core.step(from, v);
    }
    ASSERT_EQ(core.role(), Role::kFollowing);
    EXPECT_FALSE(core.voting());
    EXPECT_TRUE(core.stats().bootstrap_ignored);
    Ready r = core.take_ready();
    EXPECT_TRUE(std::any_of(r.writes.begin(), r.writes.end(), [](const Write& w) {
        return std::holds_alternative<MarkJoinedEnsemble>(w);
    }));
}

pb::PeerMessage diff_msg(uint64_t epoch, Zxid prev, std::vector<Zxid> zxids) {
    pb::PeerMessage m;
    m.mutable_diff()->set_epoch(epoch);
    to_pb(prev, m.mutable_diff()->mutable_prev());
    for (Zxid z : zxids) to_pb(Txn{z, 1, "d" + z.str(), 0, 0}, m.mutable_diff()->add_txns());
    return m;
}

// A follower holding 4:1..4:5. The leader's DIFF chunk 4:6..4:8 was lost;
// the next one starts at 6:1, which by zxid alone could follow 4:5 (an
// epoch's first entry follows any earlier zxid). Its prev (4:8) says what
// it follows: refused, nothing appended (seed 2865's agreement violation).
TEST(ZabSync, ADiffThatDoesNotContinueTheLogIsRefusedAcrossAnEpoch) {
    Follower1 f(log_of(4, {{4, 5}}), 7);
    f.core.step(3, diff_msg(7, Zxid{4, 8}, {Zxid{6, 1}, Zxid{6, 2}}));
    Ready r = f.core.take_ready();
    EXPECT_EQ(f.core.role(), Role::kLooking);
    EXPECT_EQ(f.core.last_zxid(), (Zxid{4, 5}));
    for (const Write& w : r.writes) EXPECT_FALSE(std::holds_alternative<AppendTxns>(w));
    // The same chunk after the one that was lost is taken.
    Follower1 g(log_of(4, {{4, 5}}), 7);
    g.core.step(3, diff_msg(7, Zxid{4, 5}, {Zxid{4, 6}, Zxid{4, 7}, Zxid{4, 8}}));
    g.core.step(3, diff_msg(7, Zxid{4, 8}, {Zxid{6, 1}, Zxid{6, 2}}));
    EXPECT_EQ(g.core.role(), Role::kFollowing);
    EXPECT_EQ(g.core.last_zxid(), (Zxid{6, 2}));
}

// Proposals travel after NEWLEADER on the link: one before it means the
// sync was cut short (its NEWLEADER, or more, was lost).
TEST(ZabSync, AProposalOrUpToDateBeforeTheSyncCompletedStartsOver) {
    Follower1 f(log_of(4, {{4, 5}}), 7);
    pb::PeerMessage p;
    p.mutable_proposal()->set_epoch(7);
    to_pb(Zxid{4, 5}, p.mutable_proposal()->mutable_prev());
    to_pb(Txn{Zxid{7, 1}, 1, "p", 0, 0}, p.mutable_proposal()->add_txns());
    f.core.step(3, p);
    EXPECT_EQ(f.core.role(), Role::kLooking);
    EXPECT_EQ(f.core.last_zxid(), (Zxid{4, 5}));
    Follower1 g(log_of(4, {{4, 5}}), 7);
    pb::PeerMessage u;
    u.mutable_up_to_date()->set_epoch(7);
    to_pb(Zxid{4, 5}, u.mutable_up_to_date()->mutable_committed());
    g.core.step(3, u);
    EXPECT_EQ(g.core.role(), Role::kLooking);
    EXPECT_FALSE(g.core.serving());
}

// Pings keep coming (the leader lives) but nothing of the sync arrives:
// after two election timeouts the follower starts over (seed 53: its
// ACKEPOCH was lost and it waited for ever).
TEST(ZabSync, AStalledSyncStartsOver) {
    Follower1 f(log_of(4, {{4, 5}}), 7);
    int ticks = 0;
    for (; ticks < 40 && f.core.role() == Role::kFollowing; ++ticks) {
        pb::PeerMessage ping;
        ping.mutable_ping()->set_epoch(7);
        ping.mutable_ping()->set_seq(static_cast<uint64_t>(ticks + 1));
        f.core.step(3, ping);
        f.core.tick();
        (void)f.core.take_ready();
    }
    EXPECT_EQ(f.core.role(), Role::kLooking);
    EXPECT_GT(ticks, 15) << "not before two election timeouts";
}

// Proposals lost on the way, then the leader's window stays full: the next
// ping says what went out before it (seed 4576: nothing committed again).
TEST(ZabBroadcast, APingShowingLostProposalsStartsTheFollowerOver) {
    Config c;
    c.election_timeout_ticks = 10;
    c.snapshot_every_txns = 0;
    chorus::testing::Ensemble e(3, c);
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    const ServerId follower = leader == 1 ? 2 : 1;
    Core& f = e.core(follower);
    pb::PeerMessage ping;
    ping.mutable_ping()->set_epoch(f.current_epoch());
    ping.mutable_ping()->set_seq(1000);
    to_pb(f.committed_zxid(), ping.mutable_ping()->mutable_committed());
    to_pb(Zxid{f.current_epoch(), f.last_zxid().counter + 5}, ping.mutable_ping()->mutable_last());
    f.step(leader, ping);
    EXPECT_EQ(f.role(), Role::kLooking);
    // One that says no more than we hold changes nothing.
    const ServerId other = 6 - leader - follower;
    Core& g = e.core(other);
    pb::PeerMessage fine = ping;
    to_pb(g.last_zxid(), fine.mutable_ping()->mutable_last());
    g.step(leader, fine);
    EXPECT_EQ(g.role(), Role::kFollowing);
}

// A follower that asks again (FOLLOWERINFO) after the epoch was chosen gets
// NEWEPOCH again: the first one, or its answer, may have been lost.
TEST(ZabEpochs, FollowerInfoAgainGetsNewEpochAgain) {
    Leader3 l;
    Ready r = l.core.take_ready();
    l.core.persisted(r.write_id);
    (void)l.core.take_ready();
    l.core.step(2, follower_info(1));
    Ready again = l.core.take_ready();
    EXPECT_EQ(count_kind(again.after_persist, B::kNewEpoch), 1u);
}

// An ACK lost on the way must not hold the commit of the last proposal
// until the next one: the ping answer (sent once the follower's log is
// durable) carries the follower's last zxid.
TEST(ZabBroadcast, APingAnswerActsAsACumulativeAck) {
    Config c;
    c.election_timeout_ticks = 10;
    c.snapshot_every_txns = 0;
    chorus::testing::Ensemble e(3, c);
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    Core& l = e.core(leader);
    const Zxid before = l.committed_zxid();
    // Cut both followers' ACKs by hand: propose while they are stuck, then
    // release their disks but drop the ACK messages.
    for (ServerId id : {1, 2, 3}) {
        if (id != leader) e.set_disk_stuck(id, true);
    }
    ASSERT_TRUE(l.submit(Request{1, 1, "x"}).is_ok());
    e.after_input(leader);
    e.settle();
    EXPECT_EQ(l.committed_zxid(), before);
    e.drop_acks(true);
    for (ServerId id : {1, 2, 3}) {
        if (id != leader) e.set_disk_stuck(id, false);
    }
    e.settle();
    EXPECT_EQ(l.committed_zxid(), before) << "no ACK got through";
    e.tick(2);  // pings, and their answers
    EXPECT_GT(l.committed_zxid(), before);
}

}  // namespace
}  // namespace chorus::zab
