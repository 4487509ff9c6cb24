// The schedules of the seventh review (of 16b8733): membership changes
// asked of a follower or an observer and forwarded to the leader (Forward
// of kConfigTxnType, on_forwarded_reconfigure, ForwardRefused), R8's
// catch-up bound (Config::promote_max_lag_txns), and the sixth review's fix.
// A test that passes shows a rule held; a failing EXPECT is a finding.
// DRAFT: written against tests/support/ensemble.h, not compiled or run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/ensemble.h"

namespace chorus::zab {
namespace {

using chorus::testing::completion_of;
using chorus::testing::Ensemble;
using chorus::testing::promoted;

Config with_observers(std::vector<ServerId> observers, uint64_t promote_max_lag_txns = 0) {
    Config c = chorus::testing::quick_config();
    c.observers = std::move(observers);
    c.promote_max_lag_txns = promote_max_lag_txns;
    return c;
}

// The leader's fellow voters, lowest id first.
std::vector<ServerId> followers_of(Ensemble& e, ServerId leader) {
    std::vector<ServerId> out;
    for (const auto& [id, address] : e.core(leader).membership().voters)
        if (id != leader) out.push_back(id);
    return out;
}

// What `id`'s reconfigure(rid, next) sends, taken off before it reaches the
// wire, to be delivered later: the Forward on a link slower than the
// leader's links to the others (3 -> 1 slow while 1 -> 2 -> 1 is fast).
pb::PeerMessage forward_held(Ensemble& e, ServerId id, uint64_t rid, const Membership& next) {
    EXPECT_TRUE(e.core(id).reconfigure(rid, next).is_ok());
    Ready out = e.core(id).take_ready();
    EXPECT_EQ(out.write_id, 0u) << "reconfigure on a follower writes nothing";
    pb::PeerMessage held;
    for (Outgoing& o : out.messages)
        if (o.message.has_forward()) held = o.message;
    EXPECT_TRUE(held.has_forward());
    return held;
}

size_t configs_delivered(Ensemble& e, ServerId id) {
    size_t n = 0;
    for (const Txn& t : e.node(id).delivered) n += t.type == kConfigTxnType ? 1 : 0;
    return n;
}

// FINDING 1 (high: a CHORUS_ASSERT reachable from one HTTP request).
//
// The leader's own reconfigure() checks `next` (check_change ->
// check_servers: addresses only non-empty) but never that its encoding
// decodes. MembershipRecord.address is a proto3 `string`: serializing a
// non-UTF-8 address only logs, parsing it fails. accept_reconfigure ->
// propose_batches -> append_local -> note_configs then decodes it and
// aborts: "a CONFIG transaction that does not decode reached the log".
// The forwarded path decodes first and refuses (next test), so only the
// leader's own path crashes.
// Reachable over HTTP (cli/membership_admin.cc, on kv and chorus-server
// --admin, and groupd --http in the working tree): percent_decode turns
// %FF into byte 0xFF, and net::parse_endpoint accepts any bytes after a
// '%' in an IPv6 host (boost::asio's inet_pton takes the text after '%' as
// a scope id, atoi() -> 0, never an error) and keeps the raw text:
//   curl -X POST 'http://LEADER:ADMIN/membership/add?id=9&as=observer&address=%3A%3A1%25%FF%3A7001'
// address "::1%\xff:7001" -> next_step -> Node::reconfigure on the leader ->
// abort. GET /membership names the leader; each new leader falls the same way.
// Fix: refuse in check_reconfigure a `next` for which
// Membership::decode(Zxid{}, next.encode()) fails (or have check_servers
// require UTF-8 addresses), and have parse_endpoint refuse or normalise a
// scope id.
TEST(ZabReview7DeathTest, ALeadersOwnChangeWhoseEncodingDoesNotDecodeIsRefusedNotFatal) {
    EXPECT_EXIT(
        {
            Ensemble e(4, with_observers({4}));
            const ServerId leader = e.elect();
            if (leader == 0) std::exit(2);
            e.tick(3);
            Membership next = e.core(leader).membership();
            next.observers[4] = "::1%\xff:7001";  // an observer may change its address
            const Status s = e.core(leader).reconfigure(1, next);
            if (s.is_ok()) {
                e.after_input(leader);  // today: aborts in note_configs
                e.settle();
                std::exit(3);
            }
            std::exit(s.code() == Code::kInvalidArgument ? 0 : 4);
        },
        ::testing::ExitedWithCode(0), "");
}

// HELD: the same change forwarded is decoded by the leader and refused.
TEST(ZabReview7, TheSameAddressForwardedIsRefusedByTheLeadersDecode) {
    Ensemble e(4, with_observers({4}));
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    const ServerId f = followers_of(e, leader).front();
    Membership next = e.core(f).membership();
    next.observers[4] = "::1%\xff:7001";
    ASSERT_TRUE(e.core(f).reconfigure(2, next).is_ok());
    e.after_input(f);
    e.settle();
    const Completion* c = completion_of(e, f, 2);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, Completion::Outcome::kRefused);
    EXPECT_TRUE(e.core(leader).serving());
}

// FINDING 2 (medium: a committed membership change silently undone; Zab's
// safety holds, since the leader judges R2 against its own membership).
//
// A forwarded change is a whole membership, built from the follower's
// view, with no word of which version it was built on (Forward.data =
// next.encode(), which leaves the version out). The leader judges it only
// as a step from *its* membership. R3 refuses it while the leader's last
// CONFIG is uncommitted, but a follower's view also lags a CONFIG that has
// committed and not yet reached it (a slow link, an observer far away, a
// core thread busy delivering a backlog while the admin's tick reads
// Node::membership()). MembershipAdmin's guard (m.version > committed)
// sees only the follower's own view.
// 1. Voters 1,2,3, observers 4,5. An operator asks follower f to remove
//    observer 5: f builds {1,2,3; 4} from its version-0 view and forwards.
// 2. Before that Forward arrives, another operator promotes 4 at the
//    leader: C1 = {1,2,3,4; 5}, committed by the others.
// 3. f's Forward arrives. From C1, {1,2,3; 4} removes one voter (4) and an
//    observer: R2, R7, R3's second clause and R8 all pass. It commits; f's
//    caller gets OK ("done: server 5 out of the membership"), and voter 4,
//    promoted a moment before, is an observer again.
// Fix: Forward (and reconfigure) carry the version `next` was built on; the
// leader refuses (kBusy: re-read and retry) unless it is membership_.version.
TEST(ZabReview7, AForwardBuiltOnAStaleMembershipUndoesACommittedPromotion) {
    Ensemble e(5, with_observers({4, 5}));
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    const ServerId f = followers_of(e, leader).front();
    ASSERT_TRUE(e.core(f).serving());
    Membership remove_5 = e.core(f).membership();  // version 0
    remove_5.observers.erase(5);
    const pb::PeerMessage held = forward_held(e, f, 7, remove_5);

    ASSERT_TRUE(e.change_membership(leader, promoted(e.core(leader).membership(), 4), 1).is_ok());
    ASSERT_FALSE(e.completed(leader, 1).is_zero()) << "C1 (promote 4) committed";
    for (ServerId id : {1, 2, 3, 4, 5}) ASSERT_TRUE(e.core(id).membership().is_voter(4)) << id;

    e.core(leader).step(f, held);  // the Forward f sent before C1 reached it
    e.after_input(leader);
    e.settle();
    e.tick(2);
    const Completion* c = completion_of(e, f, 7);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, Completion::Outcome::kRefused)
        << "a change built on membership 0.0 was applied to "
        << e.core(leader).membership().version.str();
    EXPECT_TRUE(e.core(leader).membership().is_voter(4))
        << "voter 4's committed promotion undone by a change that asked only to remove observer 5: "
        << e.core(leader).membership().str();
}

// FINDING 2, second schedule: a removed voter added back, R8 on (the
// Node's 1000). A removed server still follows (known_servers_ only
// grows; sim.cc says so), so R8 finds it synced and caught up.
TEST(ZabReview7, AStaleForwardAddsBackAVoterRemovedMeanwhile) {
    Ensemble e(5, with_observers({5}, /*promote_max_lag_txns=*/1000));
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    const std::vector<ServerId> fs = followers_of(e, leader);
    ASSERT_GE(fs.size(), 3u);
    const ServerId removed = fs[0], f = fs[1];
    Membership remove_5 = e.core(f).membership();
    remove_5.observers.erase(5);
    const pb::PeerMessage held = forward_held(e, f, 7, remove_5);

    Membership without = e.core(leader).membership();
    without.voters.erase(removed);
    ASSERT_TRUE(e.change_membership(leader, without, 1).is_ok());
    ASSERT_FALSE(e.completed(leader, 1).is_zero());
    ASSERT_FALSE(e.core(leader).membership().is_voter(removed));

    e.core(leader).step(f, held);
    e.after_input(leader);
    e.settle();
    e.tick(2);
    EXPECT_FALSE(e.core(leader).membership().is_voter(removed))
        << "server " << removed << ", removed by a committed CONFIG, is a voter again: "
        << e.core(leader).membership().str();
}

// FINDING 3 (low: the frame bound). on_forward drops a forwarded request
// over max_request_bytes (and submit refuses one), but the CONFIG branch
// returns before that check, and the leader's own reconfigure has none: a
// CONFIG of any size up to the frame limit is proposed. The Node relies on
// "a request is at most a quarter of the frame" (node.cc); a DIFF chunk is
// cut at 4 MB *plus one transaction*, so a ~61 MB CONFIG makes a chunk over
// 64 MB, which every follower's transport refuses (closes the link) on each
// re-sync: the leader with the newest history can sync no one, for good.
TEST(ZabReview7, AForwardedChangeIsHeldToTheRequestSizeLimitAsARequestIs) {
    Config c = with_observers({4});
    c.max_request_bytes = 256;
    Ensemble e(4, c);
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    const ServerId f = followers_of(e, leader).front();
    const std::string big(4096, 'a');
    EXPECT_EQ(e.core(f).submit(Request{1, 1, big}).code(), Code::kInvalidArgument);
    Membership next = e.core(f).membership();
    next.observers[4] = big;  // an observer's address may change
    const Status s = e.core(f).reconfigure(2, next);
    if (s.is_ok()) {
        e.after_input(f);
        e.settle();
        e.tick(2);
        const Completion* done = completion_of(e, f, 2);
        ASSERT_NE(done, nullptr);
        EXPECT_EQ(done->outcome, Completion::Outcome::kRefused)
            << "a 4 KB CONFIG proposed with max_request_bytes 256";
    }
    EXPECT_EQ(e.core(leader).membership().observers.at(4), "server-4");
}

// FINDING 4 (low: the API). An impossible membership is kInvalidArgument
// from the leader's own reconfigure (check_change -> check_servers) but
// kCorrupt ("a CONFIG at 0.0: no voter left ...") when forwarded, since
// Membership::decode wraps check_servers' refusal as corrupt data. node.h
// promises kInvalidArgument for an impossible membership.
TEST(ZabReview7, AnImpossibleMembershipIsTheSameRefusalLocallyAndForwarded) {
    Ensemble e(4, with_observers({4}));
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    const ServerId f = followers_of(e, leader).front();
    const Membership none;  // no voter at all
    const Status local = e.core(leader).reconfigure(1, none);
    EXPECT_EQ(local.code(), Code::kInvalidArgument) << local.str();
    ASSERT_TRUE(e.core(f).reconfigure(2, none).is_ok());
    e.after_input(f);
    e.settle();
    const Completion* c = completion_of(e, f, 2);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, Completion::Outcome::kRefused);
    EXPECT_EQ(c->refusal.code(), local.code()) << c->refusal.str();
}

// HELD (R3): two followers forward at once; the second is judged with the
// first queued (config_uncommitted() looks at pending_txns_ too).
TEST(ZabReview7, TwoForwardedChangesAtOnceMakeOneConfig) {
    Ensemble e(5, with_observers({4, 5}));
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    const std::vector<ServerId> fs = followers_of(e, leader);
    const ServerId f1 = fs[0], f2 = fs[1];
    ASSERT_TRUE(e.core(f1).reconfigure(1, promoted(e.core(f1).membership(), 4)).is_ok());
    Membership remove_5 = e.core(f2).membership();
    remove_5.observers.erase(5);
    ASSERT_TRUE(e.core(f2).reconfigure(2, remove_5).is_ok());
    e.after_input(f1);
    e.after_input(f2);
    e.settle();
    e.tick(2);
    const Completion* c1 = completion_of(e, f1, 1);
    const Completion* c2 = completion_of(e, f2, 2);
    ASSERT_NE(c1, nullptr);
    ASSERT_NE(c2, nullptr);
    EXPECT_EQ(c1->outcome, Completion::Outcome::kCommitted);
    EXPECT_EQ(c2->outcome, Completion::Outcome::kRefused);
    EXPECT_EQ(c2->refusal.code(), Code::kBusy) << c2->refusal.str();
    EXPECT_EQ(configs_delivered(e, leader), 1u);
}

// HELD: a Forward of epoch e reaching the leader of e+1 is dropped
// (on_forward: forward.epoch() != epoch_), and the old leader, following
// now, ignores it (step: kForward only while leading).
TEST(ZabReview7, AForwardOfAnEarlierEpochIsNotProposedByTheNextLeader) {
    Ensemble e(4, with_observers({4}));
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    const ServerId f = followers_of(e, leader).front();
    const pb::PeerMessage held = forward_held(e, f, 5, promoted(e.core(f).membership(), 4));
    e.isolate(leader, true);
    e.tick(25);
    const ServerId next = e.serving_leader();
    ASSERT_NE(next, 0u);
    ASSERT_NE(next, leader);
    ASSERT_NE(next, f);
    e.core(next).step(f, held);
    e.after_input(next);
    e.settle();
    e.tick(2);
    EXPECT_FALSE(e.core(next).membership().is_voter(4));
    EXPECT_EQ(completion_of(e, f, 5), nullptr);
}

// HELD (validate.cc): a ForwardRefused with code 0 or past kUnknownOutcome
// is dropped; one of another epoch is ignored; one sent to a leader is
// ignored; a good one completes its request, refused.
TEST(ZabReview7, AForwardRefusedIsCheckedBeforeItCompletesAnything) {
    Ensemble e(3, chorus::testing::quick_config());
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    const ServerId f = followers_of(e, leader).front();
    const uint64_t epoch = e.core(f).current_epoch();
    auto refusal = [](uint64_t ep, uint64_t rid, uint32_t code) {
        pb::PeerMessage m;
        m.mutable_forward_refused()->set_epoch(ep);
        m.mutable_forward_refused()->set_request_id(rid);
        m.mutable_forward_refused()->set_code(code);
        m.mutable_forward_refused()->set_message("x");
        return m;
    };
    const uint64_t dropped = e.core(f).stats().dropped_messages;
    for (uint32_t code : {0u, 9u, 255u, 0x80000000u})
        e.core(f).step(leader, refusal(epoch, 1, code));
    e.core(f).step(leader, refusal(0, 1, 6));
    EXPECT_EQ(e.core(f).stats().dropped_messages, dropped + 5);
    e.core(f).step(leader, refusal(epoch + 1, 1, 6));  // not this epoch
    e.core(leader).step(f, refusal(epoch, 1, 6));      // a leader takes no refusal
    e.after_input(f);
    e.after_input(leader);
    EXPECT_EQ(completion_of(e, f, 1), nullptr);
    EXPECT_TRUE(e.core(leader).serving());
    e.core(f).step(leader, refusal(epoch, 1, static_cast<uint32_t>(Code::kBusy)));
    e.after_input(f);
    const Completion* c = completion_of(e, f, 1);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, Completion::Outcome::kRefused);
    EXPECT_EQ(c->refusal.code(), Code::kBusy);
}

// HELD (R8's arithmetic, across the epoch): an observer synced before this
// epoch's first proposal acknowledged NEWLEADER at the initial history's
// end, so it lacks exactly last.counter transactions.
TEST(ZabReview7, R8CountsThisEpochsTransactionsForAnObserverSyncedBeforeThem) {
    for (uint64_t lag : {3u, 4u}) {
        Ensemble e(4, with_observers({4}, /*promote_max_lag_txns=*/3));
        const ServerId leader = e.elect();
        ASSERT_NE(leader, 0u);
        e.tick(3);
        e.drop_acks(true);  // (no ticks below: no ping answers raise it either)
        for (uint64_t i = 1; i <= lag; ++i) {
            ASSERT_TRUE(e.core(leader).submit(Request{100 + i, 1, "w"}).is_ok());
            e.after_input(leader);
            e.settle();
        }
        const Status s = e.core(leader).reconfigure(1, promoted(e.core(leader).membership(), 4));
        if (lag == 3) {
            EXPECT_TRUE(s.is_ok()) << s.str();
        } else {
            EXPECT_EQ(s.code(), Code::kBusy) << s.str();
        }
    }
}

// HELD (R8's arithmetic, within the epoch): counted from its last ACK.
TEST(ZabReview7, R8CountsFromTheObserversLastAckWithinTheEpoch) {
    for (uint64_t lag : {3u, 4u}) {
        Ensemble e(4, with_observers({4}, /*promote_max_lag_txns=*/3));
        const ServerId leader = e.elect();
        ASSERT_NE(leader, 0u);
        e.tick(3);
        for (uint64_t i = 1; i <= 2; ++i) {  // acknowledged: (e, 2)
            ASSERT_TRUE(e.core(leader).submit(Request{10 + i, 1, "w"}).is_ok());
            e.after_input(leader);
            e.settle();
        }
        e.drop_acks(true);
        for (uint64_t i = 1; i <= lag; ++i) {
            ASSERT_TRUE(e.core(leader).submit(Request{100 + i, 1, "w"}).is_ok());
            e.after_input(leader);
            e.settle();
        }
        const Status s = e.core(leader).reconfigure(1, promoted(e.core(leader).membership(), 4));
        if (lag == 3) {
            EXPECT_TRUE(s.is_ok()) << s.str();
        } else {
            EXPECT_EQ(s.code(), Code::kBusy) << s.str();
        }
    }
}

// NOT REACHABLE today (the transport never repeats a frame; the core and
// the driver never resend a Forward), kept to pin the dependency: a
// Forward delivered twice is queued once and refused once with kBusy (R3),
// and the refusal reaches the follower before the COMMIT, so its driver
// reports kBusy ("not applied", node.h) for a change that commits.
TEST(ZabReview7, DISABLED_ADuplicatedForwardIsAnsweredBusyThoughItsChangeCommits) {
    Ensemble e(4, with_observers({4}));
    const ServerId leader = e.elect();
    ASSERT_NE(leader, 0u);
    e.tick(3);
    const ServerId f = followers_of(e, leader).front();
    const pb::PeerMessage held = forward_held(e, f, 6, promoted(e.core(f).membership(), 4));
    e.core(leader).step(f, held);
    e.core(leader).step(f, held);
    e.after_input(leader);
    e.settle();
    e.tick(2);
    ASSERT_TRUE(e.core(leader).membership().is_voter(4));
    const Completion* first = completion_of(e, f, 6);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->outcome, Completion::Outcome::kCommitted) << first->refusal.str();
}

}  // namespace
}  // namespace chorus::zab
