// The session tracker's rules, driven directly: the test plays the leader
// (preprocess, then a zxid, then deliver on every replica).
#include "session/tracker.h"

#include <gtest/gtest.h>

#include "session/groups.h"
#include "session/session.pb.h"

namespace chorus::session {
namespace {

zab::Request request(const pb::TrackerRequest& r) {
    return zab::Request{1, kTrackerType, r.SerializeAsString()};
}

// A leader and a follower replica of the tracker, and a zxid counter.
struct Ensemble {
    Tracker leader;
    Tracker follower;
    Zxid last{1, 0};

    Ensemble() {
        leader.role_changed(zab::Role::kLeading, 1, 1);
        follower.role_changed(zab::Role::kFollowing, 1, 1);
    }
    // Preprocess on the leader; if it yields a transaction, commit it everywhere.
    std::optional<Zxid> submit(const pb::TrackerRequest& r) {
        std::optional<zab::Txn> txn = leader.preprocess(request(r));
        if (!txn) return std::nullopt;
        txn->zxid = last = last.next();
        leader.deliver(*txn);
        follower.deliver(*txn);
        return txn->zxid;
    }
    uint64_t open(uint64_t owner, uint64_t timeout_ms) {
        pb::TrackerRequest r;
        r.mutable_open()->set_owner(owner);
        r.mutable_open()->set_timeout_ms(timeout_ms);
        return session_id_of(*submit(r));
    }
    void set_now(uint64_t ms) {
        leader.set_now_ms(ms);
        follower.set_now_ms(ms);
    }
    NodeResult node_op(pb::NodeOp::Kind kind, const std::string& path, const std::string& data = "",
                       int64_t expected = -1, uint64_t owner = 0, bool make_parents = false) {
        pb::TrackerRequest r;
        auto* op = r.mutable_nodes()->add_ops();
        op->set_make_parents(make_parents);
        op->set_kind(kind);
        op->set_path(path);
        op->set_data(data);
        op->set_expected_version(expected);
        op->set_ephemeral_owner(owner);
        return *leader.node_result(*submit(r));
    }
};

TEST(Tracker, SessionIdsComeFromTheZxidSoTheyAreUniqueWithoutAClock) {
    Ensemble e;
    const uint64_t a = e.open(1, 1000);
    const uint64_t b = e.open(2, 1000);
    EXPECT_NE(a, b);
    EXPECT_EQ(a, session_id_of(Zxid{1, 1}));
    EXPECT_NE(session_id_of(Zxid{2, 1}), session_id_of(Zxid{1, 1}))
        << "a later epoch never reuses an id";
    EXPECT_EQ(e.leader.sessions(), e.follower.sessions());
    EXPECT_EQ(e.follower.sessions().at(b).owner, 2u);
}

TEST(Tracker, HeartbeatsAreAbsorbedByTheLeaderAndMoveTheDeadline) {
    Ensemble e;
    e.set_now(0);
    const uint64_t id = e.open(1, 1000);
    EXPECT_EQ(e.leader.deadline_ms(id), 1000u);
    e.set_now(600);
    pb::TrackerRequest hb;
    hb.mutable_heartbeats()->add_session_ids(id);
    EXPECT_FALSE(e.submit(hb).has_value()) << "a heartbeat must produce no transaction";
    EXPECT_EQ(e.last, (Zxid{1, 1})) << "and take no zxid";
    EXPECT_EQ(e.leader.deadline_ms(id), 1600u);
    EXPECT_EQ(e.leader.counters().heartbeats_absorbed, 1u);
    EXPECT_FALSE(e.follower.deadline_ms(id).has_value()) << "only the leader keeps deadlines";
}

TEST(Tracker, ExpiryIsDueOnlyAfterTheTimeoutAndDeletesEphemeralsInTheSameTransaction) {
    Ensemble e;
    e.set_now(0);
    const uint64_t id = e.open(1, 1000);
    const uint64_t other = e.open(2, 5000);
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/members"), NodeResult::kOk);
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/members/a", "meta", -1, id), NodeResult::kOk);
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/members/b", "meta", -1, other), NodeResult::kOk);
    e.set_now(999);
    EXPECT_TRUE(e.leader.due_for_expiry(100).empty());
    e.set_now(1000);
    ASSERT_EQ(e.leader.due_for_expiry(100), std::vector<uint64_t>{id});
    pb::TrackerRequest expire;
    expire.mutable_expire()->add_session_ids(id);
    ASSERT_TRUE(e.submit(expire).has_value());
    for (Tracker* t : {&e.leader, &e.follower}) {
        EXPECT_FALSE(t->sessions().count(id));
        EXPECT_FALSE(t->nodes().count("/members/a")) << "an ephemeral node outlived its session";
        EXPECT_TRUE(t->nodes().count("/members/b"));
    }
    EXPECT_EQ(e.follower.counters().ephemerals_deleted, 1u);
    // Expiring it again changes nothing and logs nothing.
    EXPECT_FALSE(e.submit(expire).has_value());
}

TEST(Tracker, ExpiryIsSpreadByTheCallersBudget) {
    Ensemble e;
    e.set_now(0);
    for (int i = 0; i < 10; ++i) e.open(1, 100);
    e.set_now(100);
    EXPECT_EQ(e.leader.due_for_expiry(3).size(), 3u);
    EXPECT_EQ(e.leader.due_for_expiry(100).size(), 10u);
}

TEST(Tracker, DueSessionsComeEarliestDeadlineFirstAsHeartbeatsMoveThem) {
    Ensemble e;
    e.set_now(0);
    const uint64_t a = e.open(1, 100);
    const uint64_t b = e.open(1, 50);
    const uint64_t c = e.open(1, 200);
    e.set_now(40);
    pb::TrackerRequest hb;
    hb.mutable_heartbeats()->add_session_ids(b);  // b: 40 + 50 = 90
    e.submit(hb);
    e.set_now(95);
    EXPECT_EQ(e.leader.due_for_expiry(10), std::vector<uint64_t>{b});
    e.set_now(150);
    EXPECT_EQ(e.leader.due_for_expiry(10), (std::vector<uint64_t>{b, a}));
    EXPECT_EQ(e.leader.due_for_expiry(1), std::vector<uint64_t>{b});
    // Deciding an expiry takes the session off the list while it commits.
    pb::TrackerRequest expire;
    expire.mutable_expire()->add_session_ids(b);
    ASSERT_TRUE(e.submit(expire));
    EXPECT_EQ(e.leader.due_for_expiry(10), std::vector<uint64_t>{a});
    e.set_now(1000);
    EXPECT_EQ(e.leader.due_for_expiry(10), (std::vector<uint64_t>{a, c}));
    EXPECT_FALSE(e.leader.deadline_ms(b).has_value());
}

TEST(Tracker, AHeartbeatBetweenTheDecisionAndTheExpiryKeepsTheSession) {
    Ensemble e;
    e.set_now(0);
    const uint64_t id = e.open(1, 100);
    e.set_now(100);
    ASSERT_EQ(e.leader.due_for_expiry(10), std::vector<uint64_t>{id});
    pb::TrackerRequest hb;
    hb.mutable_heartbeats()->add_session_ids(id);
    e.submit(hb);  // arrives before the expiry request is preprocessed
    pb::TrackerRequest expire;
    expire.mutable_expire()->add_session_ids(id);
    EXPECT_FALSE(e.submit(expire).has_value());
    EXPECT_TRUE(e.follower.sessions().count(id));
}

TEST(Tracker, ListingChildrenSkipsGrandchildren) {
    Ensemble e;
    for (const char* p : {"/a", "/a/x", "/a/x/1", "/a/x/2", "/a/x-y", "/a/y", "/a/y/deep", "/b"})
        ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, p), NodeResult::kOk) << p;
    EXPECT_EQ(e.follower.children("/a"), (std::vector<std::string>{"x", "x-y", "y"}));
    EXPECT_EQ(e.follower.children("/"), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(e.follower.children("/b").empty());
}

TEST(Tracker, ANewLeaderGrantsEverySessionAFreshFullTimeout) {
    Ensemble e;
    e.set_now(0);
    const uint64_t id = e.open(1, 1000);
    // The follower becomes leader much later: the old deadline (1000) is
    // unknown to it; it starts counting from now.
    e.follower.set_now_ms(5000);
    e.follower.role_changed(zab::Role::kLeading, 2, 2);
    EXPECT_EQ(e.follower.deadline_ms(id), 6000u);
    EXPECT_TRUE(e.follower.due_for_expiry(10).empty());
    e.leader.role_changed(zab::Role::kFollowing, 2, 2);
    EXPECT_FALSE(e.leader.deadline_ms(id).has_value());
}

TEST(Tracker, RevalidationMovesTheSessionToItsNewOwner) {
    Ensemble e;
    const uint64_t id = e.open(1, 1000);
    pb::TrackerRequest r;
    r.mutable_revalidate()->set_session_id(id);
    r.mutable_revalidate()->set_owner(3);
    ASSERT_TRUE(e.submit(r).has_value());
    EXPECT_EQ(e.follower.sessions().at(id).owner, 3u);
    r.mutable_revalidate()->set_session_id(id + 1000);  // unknown: nothing to log
    EXPECT_FALSE(e.submit(r).has_value());
}

TEST(Tracker, NodeWritesAreConditionalAndMultiOpsAllOrNothing) {
    Ensemble e;
    EXPECT_EQ(e.node_op(pb::NodeOp::CREATE, "/a", "1"), NodeResult::kOk);
    EXPECT_EQ(e.node_op(pb::NodeOp::CREATE, "/a", "1"), NodeResult::kNodeExists);
    EXPECT_EQ(e.node_op(pb::NodeOp::CREATE, "/x/y"), NodeResult::kNoParent);
    EXPECT_EQ(e.node_op(pb::NodeOp::CREATE, "bad"), NodeResult::kBadPath);
    EXPECT_EQ(e.node_op(pb::NodeOp::SET, "/a", "2", 0), NodeResult::kOk);
    EXPECT_EQ(e.node_op(pb::NodeOp::SET, "/a", "3", 0), NodeResult::kBadVersion);
    EXPECT_EQ(e.follower.nodes().at("/a").data, "2");
    EXPECT_EQ(e.follower.nodes().at("/a").version, 1);

    // A multi whose second op fails changes nothing.
    pb::TrackerRequest multi;
    auto* create = multi.mutable_nodes()->add_ops();
    create->set_kind(pb::NodeOp::CREATE);
    create->set_path("/b");
    create->set_expected_version(-1);
    auto* set = multi.mutable_nodes()->add_ops();
    set->set_kind(pb::NodeOp::SET);
    set->set_path("/a");
    set->set_expected_version(7);
    const Zxid at = *e.submit(multi);
    EXPECT_EQ(e.leader.node_result(at), NodeResult::kBadVersion);
    EXPECT_FALSE(e.follower.nodes().count("/b"));
    EXPECT_EQ(e.follower.nodes().at("/a").version, 1);

    EXPECT_EQ(e.node_op(pb::NodeOp::CREATE, "/a/child"), NodeResult::kOk);
    EXPECT_EQ(e.node_op(pb::NodeOp::DELETE, "/a"), NodeResult::kNotEmpty);
    EXPECT_EQ(e.node_op(pb::NodeOp::CREATE, "/e", "", -1, 12345), NodeResult::kNoSession);
    EXPECT_EQ(e.leader.nodes(), e.follower.nodes());
}

TEST(Tracker, ASnapshotRestoresTheSameStateOnAnotherReplica) {
    Ensemble e;
    const uint64_t id = e.open(1, 1000);
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/g"), NodeResult::kOk);
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/g/m", "x", -1, id), NodeResult::kOk);
    const std::string snap = e.follower.save();
    Tracker fresh;
    fresh.restore(snap);
    EXPECT_EQ(fresh.sessions(), e.follower.sessions());
    EXPECT_EQ(fresh.nodes(), e.follower.nodes());
    EXPECT_EQ(fresh.save(), snap);
    // Ephemeral ownership survives the snapshot: closing the session removes the node.
    pb::TrackerTxn closed;
    closed.mutable_closed()->set_session_id(id);
    fresh.deliver(zab::Txn{Zxid{1, 99}, kTrackerType, closed.SerializeAsString(), 0, 0});
    EXPECT_FALSE(fresh.nodes().count("/g/m"));
}

TEST(Tracker, PutCreatesOrSetsAndMakesParents) {
    Ensemble e;
    const uint64_t id = e.open(1, 1000);
    EXPECT_EQ(e.node_op(pb::NodeOp::PUT, "/a/b/c", "1"), NodeResult::kNoParent);
    EXPECT_EQ(e.node_op(pb::NodeOp::PUT, "/a/b/c", "1", -1, 0, true), NodeResult::kOk);
    EXPECT_EQ(e.follower.nodes().at("/a").data, "");
    EXPECT_EQ(e.follower.nodes().at("/a/b/c").version, 0);
    EXPECT_EQ(e.node_op(pb::NodeOp::PUT, "/a/b/c", "2"), NodeResult::kOk);
    EXPECT_EQ(e.follower.nodes().at("/a/b/c").data, "2");
    EXPECT_EQ(e.follower.nodes().at("/a/b/c").version, 1);
    EXPECT_EQ(e.node_op(pb::NodeOp::PUT, "/a/b/c", "3", 0), NodeResult::kBadVersion);
    // A persistent node is not taken over by a session, nor a session's node by another.
    EXPECT_EQ(e.node_op(pb::NodeOp::PUT, "/a/b/c", "4", -1, id), NodeResult::kNodeExists);
    EXPECT_EQ(e.node_op(pb::NodeOp::PUT, "/a/e", "x", -1, id), NodeResult::kOk);
    const uint64_t other = e.open(2, 1000);
    EXPECT_EQ(e.node_op(pb::NodeOp::PUT, "/a/e", "y", -1, other), NodeResult::kNodeExists);
    EXPECT_EQ(e.node_op(pb::NodeOp::PUT, "/a/e", "z", -1, id), NodeResult::kOk);
    EXPECT_EQ(e.follower.nodes().at("/a/e").data, "z");
    // Ephemeral nodes have no children, even made ones.
    EXPECT_EQ(e.node_op(pb::NodeOp::PUT, "/a/e/x/y", "", -1, 0, true), NodeResult::kNoParent);
    EXPECT_EQ(e.follower.children("/a"), (std::vector<std::string>{"b", "e"}));
    EXPECT_EQ(e.leader.nodes(), e.follower.nodes());
}

TEST(Tracker, EveryChangeToAGroupRaisesItsVersionByOne) {
    Ensemble e;
    int64_t notified = -1;
    std::string notified_group;
    e.follower.set_listener(ChangeListener{.node_changed = {},
                                           .group_changed =
                                               [&](const std::string& g, int64_t v) {
                                                   notified_group = g;
                                                   notified = v;
                                               },
                                           .restored = {}});
    const uint64_t a = e.open(1, 1000);
    const uint64_t b = e.open(2, 1000);
    // A member's config before it ever joins: an inactive member.
    ASSERT_EQ(e.node_op(pb::NodeOp::PUT, member_config_path("g", "b"), "cb", -1, 0, true),
              NodeResult::kOk);
    EXPECT_EQ(e.follower.group_version("g"), 1);
    EXPECT_EQ(notified_group, "g");
    EXPECT_EQ(notified, 1);
    GroupView view = read_group(e.follower, "g");
    ASSERT_TRUE(view.exists);
    EXPECT_TRUE(view.active.empty());
    ASSERT_EQ(view.inactive.size(), 1u);
    EXPECT_EQ(view.inactive[0].name, "b");
    EXPECT_EQ(view.inactive[0].config, "cb");

    // Join (one transaction that also makes the parents): +1.
    ASSERT_EQ(e.node_op(pb::NodeOp::PUT, member_path("g", "a"), "ma", -1, a, true),
              NodeResult::kOk);
    ASSERT_EQ(e.node_op(pb::NodeOp::PUT, member_path("g", "b"), "mb", -1, b, true),
              NodeResult::kOk);
    EXPECT_EQ(e.follower.group_version("g"), 3);
    ASSERT_EQ(e.node_op(pb::NodeOp::PUT, group_config_path("g"), "gc", -1, 0, true),
              NodeResult::kOk);
    EXPECT_EQ(e.follower.group_version("g"), 4);
    view = read_group(e.follower, "g");
    EXPECT_EQ(view.config, "gc");
    ASSERT_EQ(view.active.size(), 2u);
    EXPECT_EQ(view.active[1].name, "b");
    EXPECT_EQ(view.active[1].metadata, "mb");
    EXPECT_EQ(view.active[1].config, "cb");
    EXPECT_EQ(view.active[1].session_id, b);
    EXPECT_TRUE(view.inactive.empty());

    // A failed transaction changes nothing.
    EXPECT_EQ(e.node_op(pb::NodeOp::CREATE, member_path("g", "a"), "again", -1, a),
              NodeResult::kNodeExists);
    EXPECT_EQ(e.follower.group_version("g"), 4);

    // Expiry: b's member goes, b becomes inactive again, the version goes up.
    e.set_now(1000);
    pb::TrackerRequest expire;
    expire.mutable_expire()->add_session_ids(b);
    ASSERT_TRUE(e.submit(expire));
    EXPECT_EQ(e.follower.group_version("g"), 5);
    EXPECT_EQ(notified, 5);
    view = read_group(e.follower, "g");
    ASSERT_EQ(view.active.size(), 1u);
    ASSERT_EQ(view.inactive.size(), 1u);
    EXPECT_EQ(view.inactive[0].name, "b");
    // Leave.
    EXPECT_EQ(e.node_op(pb::NodeOp::DELETE, member_path("g", "a")), NodeResult::kOk);
    EXPECT_EQ(e.follower.group_version("g"), 6);
    EXPECT_EQ(e.leader.group_version("g"), 6);

    // Versions survive a snapshot.
    Tracker fresh;
    bool restored = false;
    fresh.set_listener(ChangeListener{{}, {}, [&] { restored = true; }});
    fresh.restore(e.follower.save());
    EXPECT_TRUE(restored);
    EXPECT_EQ(fresh.group_version("g"), 6);
    EXPECT_EQ(fresh.save(), e.follower.save());
}

TEST(Tracker, LogRecordsAreCountedByKindAndHeartbeatsNeverAre) {
    Ensemble e;
    const uint64_t id = e.open(1, 1000);
    pb::TrackerRequest hb;
    hb.mutable_heartbeats()->add_session_ids(id);
    for (int i = 0; i < 100; ++i) e.submit(hb);
    e.set_now(5000);
    pb::TrackerRequest expire;
    expire.mutable_expire()->add_session_ids(id);
    e.submit(expire);
    const auto& c = e.follower.counters();
    EXPECT_EQ(c.log_records[static_cast<size_t>(TxnKind::kOpen)], 1u);
    EXPECT_EQ(c.log_records[static_cast<size_t>(TxnKind::kExpire)], 1u);
    EXPECT_EQ(c.log_records[static_cast<size_t>(TxnKind::kHeartbeat)], 0u);
    EXPECT_EQ(c.log_bytes[static_cast<size_t>(TxnKind::kHeartbeat)], 0u);
    EXPECT_GT(c.log_bytes[static_cast<size_t>(TxnKind::kOpen)], 0u);
    EXPECT_EQ(e.leader.counters().heartbeats_absorbed, 100u);
}

TEST(Tracker, NamesForGroupsAndMembersAreChecked) {
    EXPECT_TRUE(valid_name("web-1"));
    EXPECT_FALSE(valid_name(""));
    EXPECT_FALSE(valid_name("a/b"));
    EXPECT_FALSE(valid_name(".."));
    EXPECT_FALSE(valid_name(std::string(kMaxNameBytes + 1, 'x')));
    EXPECT_FALSE(valid_name(std::string("a\nb")));
    EXPECT_EQ(group_of(member_path("g1", "m")), "g1");
    EXPECT_EQ(group_of("/other/x"), "");
}

}  // namespace
}  // namespace chorus::session
