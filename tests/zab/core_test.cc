// Unit tests of the Zab core, each tied to a rule of the protocol. Sections
// refer to Junqueira, Reed, Serafini, "Zab: High-performance broadcast for
// primary-backup systems" (DSN 2011) and Medeiros, "ZooKeeper's atomic
// broadcast protocol: Theory and practice" (2012).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "tests/support/ensemble.h"
#include "zab/core/mutation.h"
#include "zab/core/wire.h"

namespace chorus::zab {
namespace {

using chorus::testing::Ensemble;

Config base_config() { return chorus::testing::quick_config(); }

// A durable state whose log holds `counters` of each epoch in order.
DurableState history(uint64_t current_epoch, std::vector<std::pair<uint64_t, uint64_t>> runs) {
    DurableState d;
    d.accepted_epoch = current_epoch;
    d.current_epoch = current_epoch;
    for (auto [epoch, count] : runs) {
        for (uint64_t c = 1; c <= count; ++c) {
            d.log.push_back(Txn{Zxid{epoch, c}, 1,
                                "e" + std::to_string(epoch) + "c" + std::to_string(c), 0, 0});
        }
    }
    return d;
}

Request request(uint64_t id, uint32_t type = 1) {
    return Request{id, type, "req" + std::to_string(id)};
}

// Medeiros 3.1 (election): the vote is (currentEpoch, lastZxid, id), highest
// wins; currentEpoch comes first, so a longer log from an older epoch loses.
TEST(ZabElection, TheMostRecentHistoryWinsWithCurrentEpochFirst) {
    std::map<ServerId, DurableState> disks = {
        {1, history(1, {{1, 5}})},
        {2, history(2, {{1, 3}})},  // acknowledged NEWLEADER of epoch 2 with history 1:3
        {3, history(1, {{1, 9}})},  // longer, but its 1:4..1:9 never made it into epoch 2
    };
    Ensemble e(3, base_config(), disks);
    EXPECT_EQ(e.elect(), 2u);
    // Synchronisation truncated the others to the leader's history (TRUNC).
    for (ServerId id : {1, 2, 3}) EXPECT_EQ(e.core(id).last_zxid(), (Zxid{1, 3})) << id;
}

TEST(ZabElection, TiesGoToTheHighestServerId) {
    Ensemble e(3, base_config());
    EXPECT_EQ(e.elect(), 3u);
    EXPECT_EQ(e.core(1).leader(), 3u);
    EXPECT_EQ(e.core(2).leader(), 3u);
}

// DSN 2011 section IV-A (discovery): the new epoch is above every
// acceptedEpoch of the quorum, and acceptedEpoch is durable first.
TEST(ZabDiscovery, TheNewEpochIsAboveEveryAcceptedEpoch) {
    std::map<ServerId, DurableState> disks = {
        {1, history(1, {{1, 2}})}, {2, history(1, {{1, 2}})}, {3, history(1, {{1, 2}})}};
    disks[1].accepted_epoch = 7;  // promised epoch 7 to a leader that never got going
    Ensemble e(3, base_config(), disks);
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    EXPECT_EQ(e.core(leader).current_epoch(), 8u);
    for (ServerId id : {1, 2, 3}) EXPECT_EQ(e.core(id).accepted_epoch(), 8u);
}

// A server joining an ensemble that already has a leader learns of it and
// follows: no new epoch.
TEST(ZabElection, ALateServerFollowsTheExistingLeader) {
    // 1 and 2 are original members (they accepted the epoch of a first
    // leader that failed): they elect without 3. (Empty disks would wait for
    // 3: a new ensemble bootstraps once every server has answered.)
    std::map<ServerId, DurableState> disks;
    disks[1].accepted_epoch = 1;
    disks[2].accepted_epoch = 1;
    Ensemble e(3, base_config(), disks, {1, 2});
    const ServerId leader = e.elect();
    ASSERT_EQ(leader, 2u);
    const uint64_t epoch = e.core(leader).current_epoch();
    ASSERT_TRUE(e.core(leader).submit(request(1)).is_ok());
    e.after_input(leader);
    e.settle();
    e.start(3);
    e.tick(5);
    EXPECT_EQ(e.core(3).role(), Role::kFollowing);
    EXPECT_EQ(e.core(3).leader(), 2u);
    EXPECT_EQ(e.core(leader).current_epoch(), epoch);
    EXPECT_EQ(e.core(3).current_epoch(), epoch);
    EXPECT_EQ(e.node(3).delivered.size(), 1u);
}

// A server with an empty disk that is not bootstrapping takes no part in
// votes: with one other server alive it must not help elect anyone.
TEST(ZabElection, AWipedServerDoesNotVoteUntilSynced) {
    Ensemble e(3, base_config());
    ASSERT_NE(e.elect(), 0u);
    for (ServerId id : {1, 2, 3}) e.stop(id);
    e.start(1, history(1, {}), true);                 // has history (epoch 1)
    e.start(2, DurableState{}, /*bootstrap=*/false);  // wiped
    e.tick(50);
    EXPECT_EQ(e.serving_leader(), 0u) << "a wiped server helped form a quorum";
    EXPECT_FALSE(e.core(2).voting());
    e.start(3, history(1, {}), true);
    EXPECT_NE(e.elect(), 0u);
    e.tick(3);
    EXPECT_TRUE(e.core(2).voting()) << "synced by a leader, it votes again";
    EXPECT_EQ(e.core(2).role(), Role::kFollowing);
}

// Medeiros 3.3 / DSN 2011 IV-C (broadcast): the preprocess hook may absorb a
// request: no proposal, no write, no gap in the zxid sequence.
TEST(ZabBroadcast, AnAbsorbedRequestLeavesNoTrace) {
    Ensemble e(3, base_config());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    const int proposals_before = e.node(leader).proposals_sent;
    const int writes_before = e.node(leader).append_writes;
    ASSERT_TRUE(e.core(leader).submit(request(1, /*type=*/2)).is_ok());
    e.after_input(leader);
    e.settle();
    ASSERT_EQ(e.node(leader).completions.size(), 1u);
    EXPECT_EQ(e.node(leader).completions[0].outcome, Completion::Outcome::kAbsorbed);
    EXPECT_EQ(e.node(leader).proposals_sent, proposals_before);
    EXPECT_EQ(e.node(leader).append_writes, writes_before);
    ASSERT_TRUE(e.core(leader).submit(request(2)).is_ok());
    e.after_input(leader);
    e.settle();
    ASSERT_EQ(e.node(leader).delivered.size(), 1u);
    EXPECT_EQ(e.node(leader).delivered[0].zxid.counter, 1u) << "the absorbed request took no zxid";
}

TEST(ZabBroadcast, AnAbsorbedRequestForwardedByAFollowerIsReportedThere) {
    Ensemble e(3, base_config());
    ASSERT_EQ(e.elect(), 3u);
    ASSERT_TRUE(e.core(1).submit(request(9, 2)).is_ok());
    e.after_input(1);
    e.settle();
    ASSERT_EQ(e.node(1).completions.size(), 1u);
    EXPECT_EQ(e.node(1).completions[0].outcome, Completion::Outcome::kAbsorbed);
}

// Requests waiting at one moment go out as one PROPOSAL and one write.
TEST(ZabBroadcast, WaitingRequestsAreBatchedIntoOneProposal) {
    Ensemble e(3, base_config());
    const ServerId leader = e.elect();
    const int proposals_before = e.node(leader).proposals_sent;
    const int writes_before = e.node(leader).append_writes;
    for (uint64_t i = 1; i <= 100; ++i) ASSERT_TRUE(e.core(leader).submit(request(i)).is_ok());
    e.after_input(leader);
    e.settle();
    EXPECT_EQ(e.node(leader).proposals_sent - proposals_before, 2) << "one proposal per follower";
    EXPECT_EQ(e.node(leader).append_writes - writes_before, 1);
    for (ServerId id : {1, 2, 3}) {
        ASSERT_EQ(e.node(id).delivered.size(), 100u) << id;
        for (size_t i = 0; i < 100; ++i)
            EXPECT_EQ(e.node(id).delivered[i].data, "req" + std::to_string(i + 1));
    }
}

// ACKs and COMMITs are cumulative (Zab 3.3: a follower acknowledges a
// prefix; a COMMIT commits everything up to its zxid): proposals stepped
// together before one Ready are written together and acknowledged once, and
// ACKs handled together produce one COMMIT per follower.
TEST(ZabBroadcast, ProposalsSteppedTogetherAreAcknowledgedOnce) {
    Ensemble e(3, base_config());
    const ServerId leader = e.elect();
    const ServerId follower = leader == 1 ? 2 : 1;
    Core& f = e.core(follower);
    const uint64_t epoch = f.current_epoch();
    Zxid next = f.last_zxid();
    for (int i = 0; i < 3; ++i) {
        const Zxid prev = next;
        next = next.epoch == epoch ? Zxid{epoch, next.counter + 1} : Zxid{epoch, 1};
        pb::PeerMessage m;
        m.mutable_proposal()->set_epoch(epoch);
        to_pb(prev, m.mutable_proposal()->mutable_prev());  // what it follows, as a leader says
        to_pb(Txn{next, 1, "p" + std::to_string(i), 0, 0}, m.mutable_proposal()->add_txns());
        f.step(leader, m);
    }
    const Ready ready = f.take_ready();
    int acks = 0;
    for (const Outgoing& out : ready.after_persist) {
        if (!out.message.has_ack()) continue;
        ++acks;
        EXPECT_EQ(from_pb(out.message.ack().zxid()), next);
    }
    EXPECT_EQ(acks, 1) << "one ACK of the last proposal";
    EXPECT_EQ(f.last_zxid(), next);
}

TEST(ZabBroadcast, AcksHandledTogetherGiveOneCommitPerFollower) {
    Ensemble e(3, base_config());
    const ServerId leader = e.elect();
    Core& l = e.core(leader);
    for (uint64_t i = 1; i <= 3; ++i) {
        ASSERT_TRUE(l.submit(request(i)).is_ok());
        e.after_input(leader);  // one proposal each
    }
    const uint64_t epoch = l.current_epoch();
    const Zxid last = l.last_zxid();
    l.persisted(UINT64_MAX);  // the leader's own writes are durable
    // Each follower acknowledges the three proposals one by one.
    for (ServerId id : {1, 2, 3}) {
        if (id == leader) continue;
        for (uint64_t c = last.counter - 2; c <= last.counter; ++c) {
            pb::PeerMessage ack;
            ack.mutable_ack()->set_epoch(epoch);
            ack.mutable_ack()->set_attempt(1);  // each follower's first sync attempt
            to_pb(Zxid{epoch, c}, ack.mutable_ack()->mutable_zxid());
            l.step(id, ack);
        }
    }
    const Ready ready = l.take_ready();
    std::map<ServerId, int> commits;
    for (const Outgoing& out : ready.messages) {
        if (!out.message.has_commit()) continue;
        ++commits[out.to];
        EXPECT_EQ(from_pb(out.message.commit().zxid()), last);
    }
    EXPECT_EQ(commits.size(), 2u);
    for (const auto& [id, n] : commits) EXPECT_EQ(n, 1) << "follower " << id;
    EXPECT_EQ(l.committed_zxid(), last);
}

// A follower acknowledges only what is durable: with both followers' disks
// stuck nothing commits, and the leader, hearing no heartbeat answers (they
// wait behind the stuck writes), steps down.
TEST(ZabBroadcast, NothingCommitsWhileFollowerDisksAreStuck) {
    Ensemble e(3, base_config());
    const ServerId leader = e.elect();
    ASSERT_EQ(leader, 3u);
    e.set_disk_stuck(1, true);
    e.set_disk_stuck(2, true);
    ASSERT_TRUE(e.core(leader).submit(request(1)).is_ok());
    e.after_input(leader);
    e.settle();
    EXPECT_TRUE(e.node(leader).delivered.empty());
    e.tick(12);
    // It stepped down; it may be trying to lead a new epoch, but nobody can
    // serve until a follower's disk moves again.
    EXPECT_FALSE(e.core(leader).serving()) << "a leader without a live quorum must step down";
    EXPECT_EQ(e.serving_leader(), 0u);
    for (ServerId id : {1, 2, 3}) EXPECT_TRUE(e.node(id).delivered.empty()) << id;
}

TEST(ZabBroadcast, OneStuckFollowerDoesNotStopCommits) {
    Ensemble e(3, base_config());
    const ServerId leader = e.elect();
    e.set_disk_stuck(1, true);
    ASSERT_TRUE(e.core(leader).submit(request(1)).is_ok());
    e.after_input(leader);
    e.settle();
    EXPECT_EQ(e.node(leader).delivered.size(), 1u);
    EXPECT_EQ(e.node(2).delivered.size(), 1u);
    EXPECT_TRUE(e.node(1).delivered.empty()) << "nothing is delivered before it is durable";
    e.set_disk_stuck(1, false);
    e.tick();
    EXPECT_EQ(e.node(1).delivered.size(), 1u);
}

// The window bounds proposals in flight.
TEST(ZabBroadcast, TheWindowBoundsProposalsInFlight) {
    Config c = base_config();
    c.max_inflight_proposals = 2;
    Ensemble e(3, c);
    const ServerId leader = e.elect();
    e.set_disk_stuck(1, true);
    e.set_disk_stuck(2, true);
    const int before = e.node(leader).proposals_sent;
    for (uint64_t i = 1; i <= 5; ++i) {
        ASSERT_TRUE(e.core(leader).submit(request(i)).is_ok());
        e.after_input(leader);
        e.settle();
    }
    EXPECT_EQ(e.node(leader).proposals_sent - before, 2 * 2) << "two batches to each follower";
    e.set_disk_stuck(1, false);
    e.set_disk_stuck(2, false);
    e.settle();
    EXPECT_EQ(e.node(leader).delivered.size(), 5u);
}

// A follower's submit goes to the leader and is reported back on the follower.
TEST(ZabBroadcast, AFollowerForwardsRequestsToTheLeader) {
    Ensemble e(3, base_config());
    ASSERT_EQ(e.elect(), 3u);
    ASSERT_TRUE(e.core(1).submit(request(42)).is_ok());
    e.after_input(1);
    e.settle();
    ASSERT_EQ(e.node(1).completions.size(), 1u);
    EXPECT_EQ(e.node(1).completions[0].outcome, Completion::Outcome::kCommitted);
    for (ServerId id : {1, 2, 3}) {
        ASSERT_EQ(e.node(id).delivered.size(), 1u);
        EXPECT_EQ(e.node(id).delivered[0].origin, 1u);
        EXPECT_EQ(e.node(id).delivered[0].request_id, 42u);
    }
}

TEST(ZabBroadcast, SubmitWithoutALeaderIsRefusedAndRetryable) {
    Ensemble e(3, base_config(), {}, {1});
    Status s = e.core(1).submit(request(1));
    EXPECT_EQ(s.code(), Code::kNotLeader);
    EXPECT_NE(s.message().find("retry"), std::string::npos);
    EXPECT_EQ(e.core(1).sync(1).code(), Code::kNotLeader);
}

// A leader cut off from its quorum stops acting as leader and commits nothing.
TEST(ZabLiveness, APartitionedLeaderStepsDownAndCommitsNothing) {
    Ensemble e(3, base_config());
    const ServerId leader = e.elect();
    e.isolate(leader, true);
    ASSERT_TRUE(e.core(leader).submit(request(1)).is_ok());
    e.after_input(leader);
    e.tick(12);
    EXPECT_NE(e.core(leader).role(), Role::kLeading);
    EXPECT_TRUE(e.node(leader).delivered.empty());
    // The other two elect a new leader and carry on.
    const ServerId next = e.serving_leader();
    ASSERT_NE(next, 0u);
    ASSERT_NE(next, leader);
    e.isolate(leader, false);
    e.tick(5);
    EXPECT_EQ(e.core(leader).role(), Role::kFollowing);
    EXPECT_TRUE(e.node(leader).delivered.empty()) << "its uncommitted request was not delivered";
}

// A leader that shuts down says so; its followers elect at once.
TEST(ZabLiveness, ALeaderThatShutsDownStartsAnElectionAtOnce) {
    Ensemble e(3, base_config());
    const ServerId leader = e.elect();
    e.core(leader).shutdown();
    e.after_input(leader);
    e.halt_silently(leader);  // its goodbye is on the wire; its links are not closed yet
    e.settle();
    // Without waiting for any timeout (no tick), the others have moved on.
    for (ServerId id : {1, 2, 3}) {
        if (id == leader) continue;
        EXPECT_NE(e.core(id).leader(), leader) << id;
    }
    EXPECT_NE(e.serving_leader(), 0u);
}

// Zab 3.2 phase 2 with a follower far behind: the DIFF goes out in chunks,
// a few unacknowledged at a time (the leader's thread is never held for the
// whole history), proposals made meanwhile travel in it, and NEWLEADER
// comes only after the last chunk.
TEST(ZabSync, AFollowerFarBehindGetsTheDiffInChunksAndMissesNothing) {
    Config c = base_config();
    c.max_sync_chunk_bytes = 64;  // a few transactions per chunk
    std::map<ServerId, DurableState> disks = {
        {1, history(1, {})}, {2, history(1, {{1, 300}})}, {3, history(1, {{1, 300}})}};
    Ensemble e(3, c, disks);
    e.isolate(1, true);
    const ServerId leader = e.elect();
    ASSERT_EQ(leader, 3u);
    for (uint64_t i = 1; i <= 50; ++i) ASSERT_TRUE(e.core(leader).submit(request(i)).is_ok());
    e.after_input(leader);
    e.settle();
    const int diffs_before = e.node(leader).diffs_sent;
    e.isolate(1, false);
    e.tick();  // reconnects; the sync runs
    // More requests while the DIFF is under way.
    for (uint64_t i = 51; i <= 60; ++i) ASSERT_TRUE(e.core(leader).submit(request(i)).is_ok());
    e.after_input(leader);
    e.tick(30);
    EXPECT_GT(e.node(leader).diffs_sent - diffs_before, 20) << "the DIFF came in many chunks";
    EXPECT_EQ(e.core(1).last_zxid(), e.core(leader).last_zxid());
    ASSERT_EQ(e.node(1).delivered.size(), e.node(leader).delivered.size());
    EXPECT_EQ(e.node(1).delivered, e.node(leader).delivered);
    EXPECT_EQ(e.core(1).role(), Role::kFollowing);
    EXPECT_TRUE(e.core(1).serving());
}

// sync() is a read barrier: once it completes here, everything acknowledged
// anywhere before it has been delivered here.
TEST(ZabSync, SyncCompletesOnlyAfterEarlierWritesAreDeliveredHere) {
    Ensemble e(3, base_config());
    const ServerId leader = e.elect();
    e.set_disk_stuck(1, true);  // server 1 lags
    ASSERT_TRUE(e.core(leader).submit(request(1)).is_ok());
    e.after_input(leader);
    e.settle();
    ASSERT_EQ(e.node(leader).completions.size(), 1u);
    const Zxid written = e.node(leader).completions[0].zxid;
    ASSERT_TRUE(e.core(1).sync(7).is_ok());
    e.after_input(1);
    e.settle();
    EXPECT_TRUE(e.node(1).syncs.empty()) << "server 1 has not delivered the write yet";
    e.set_disk_stuck(1, false);
    e.tick();
    ASSERT_EQ(e.node(1).syncs.size(), 1u);
    EXPECT_EQ(e.node(1).syncs[0].id, 7u);
    EXPECT_GE(e.node(1).syncs[0].zxid, written);
    EXPECT_GE(e.core(1).delivered_zxid(), written);
}

// The counter is 64 bits wide: no rollover (and forced election) at 2^32.
TEST(ZabZxid, TheCounterDoesNotRollOverAt32Bits) {
    const Zxid before{3, 0xFFFFFFFFull};
    EXPECT_EQ(before.next(), (Zxid{3, 0x100000000ull}));
    EXPECT_TRUE(is_successor(before, before.next()));
    EXPECT_LT(before, before.next());
    std::map<ServerId, DurableState> disks;
    for (ServerId id : {1, 2, 3}) {
        DurableState d;
        d.accepted_epoch = d.current_epoch = 3;
        d.log_base = Zxid{3, 0xFFFFFFFEull};
        d.snapshot_zxid = d.log_base;
        d.log.push_back(Txn{before, 1, "x", 0, 0});
        disks[id] = d;
    }
    Ensemble e(3, base_config(), disks);
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    EXPECT_EQ(e.core(leader).last_zxid(), before);
}

// The planted bugs of the mutation tests exist only in the simulator's
// build of the core (zab/core/mutation.h). This binary links the library's
// build: a leader told to commit on its own acknowledgement still waits
// for a quorum.
TEST(ZabLibraryBuild, IgnoresPlantedBugs) {
    Config c = base_config();
    c.mutation = static_cast<uint8_t>(Mutation::kCommitOnMinority);
    Ensemble e(3, c);
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    for (ServerId id : {1, 2, 3})
        if (id != leader) e.stop(id);
    ASSERT_TRUE(e.core(leader).submit(Request{1, 1, "x"}).is_ok());
    e.after_input(leader);
    e.tick(3);
    EXPECT_TRUE(e.node(leader).completions.empty()) << "committed without a quorum";
    EXPECT_FALSE(mutated(c, Mutation::kCommitOnMinority));
}

}  // namespace
}  // namespace chorus::zab
