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

// A write of several ops; the leader's outcome of it.
NodeOutcome write(Ensemble& e, const std::vector<pb::NodeOp>& ops) {
    pb::TrackerRequest r;
    for (const pb::NodeOp& op : ops) *r.mutable_nodes()->add_ops() = op;
    return *e.leader.node_outcome(*e.submit(r));
}
pb::NodeOp op(pb::NodeOp::Kind kind, const std::string& path, bool sequential = false,
              int64_t expected = -1) {
    pb::NodeOp o;
    o.set_kind(kind);
    o.set_path(path);
    o.set_sequential(sequential);
    o.set_expected_version(expected);
    return o;
}

TEST(Tracker, EveryNodeKeepsZooKeepersStatFromTheTransactions) {
    Ensemble e;
    e.leader.set_wall_ms(1000);
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/a", "x"), NodeResult::kOk);  // 1:1
    const Zxid created = e.last;
    e.leader.set_wall_ms(2000);
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/a/b"), NodeResult::kOk);  // 1:2
    const Zxid child = e.last;
    e.leader.set_wall_ms(3000);
    ASSERT_EQ(e.node_op(pb::NodeOp::SET, "/a", "yy"), NodeResult::kOk);  // 1:3
    const Zxid set = e.last;
    for (const Tracker* t : {&e.leader, &e.follower}) {
        const NodeStat a = t->node("/a")->stat();
        EXPECT_EQ(a.czxid, created);
        EXPECT_EQ(a.mzxid, set);
        EXPECT_EQ(a.pzxid, child) << "pzxid: the last child created or deleted";
        EXPECT_EQ(a.ctime_ms, 1000) << "the leader's clock, carried in the transaction";
        EXPECT_EQ(a.mtime_ms, 3000);
        EXPECT_EQ(a.version, 1);
        EXPECT_EQ(a.cversion, 1);
        EXPECT_EQ(a.num_children, 1);
        EXPECT_EQ(a.data_length, 2);
        const NodeStat b = t->node("/a/b")->stat();
        EXPECT_EQ(b.czxid, child);
        EXPECT_EQ(b.mzxid, child);
        EXPECT_EQ(b.pzxid, child);
        EXPECT_EQ(b.ctime_ms, 2000);
    }
    ASSERT_EQ(e.node_op(pb::NodeOp::DELETE, "/a/b"), NodeResult::kOk);
    const NodeStat a = e.follower.node("/a")->stat();
    EXPECT_EQ(a.cversion, 2) << "a delete counts as a change to the children";
    EXPECT_EQ(a.num_children, 0);
    EXPECT_EQ(a.pzxid, e.last);
    EXPECT_EQ(a.mzxid, set) << "children do not change the parent's data";
    // The root has a Stat too.
    EXPECT_EQ(e.follower.node("/")->stat().num_children, 1);
    EXPECT_EQ(e.follower.node("/")->stat().cversion, 1);
}

TEST(Tracker, SequentialNamesCountTheChildrenCreatedAsZooKeepersDo) {
    Ensemble e;
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/q"), NodeResult::kOk);
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/q/plain"), NodeResult::kOk);  // cversion 1
    NodeOutcome one = write(e, {op(pb::NodeOp::CREATE, "/q/job-", true)});
    ASSERT_EQ(one.result, NodeResult::kOk);
    ASSERT_EQ(one.ops.size(), 1u);
    EXPECT_EQ(one.ops[0].path, "/q/job-0000000001");
    // Two in one write: each sees the cversion the one before left.
    NodeOutcome two =
        write(e, {op(pb::NodeOp::CREATE, "/q/job-", true), op(pb::NodeOp::CREATE, "/q/", true)});
    ASSERT_EQ(two.result, NodeResult::kOk);
    EXPECT_EQ(two.ops[0].path, "/q/job-0000000002");
    EXPECT_EQ(two.ops[1].path, "/q/0000000003") << "a path ending in / names the node by number";
    EXPECT_TRUE(e.follower.node("/q/0000000003"));
    EXPECT_EQ(two.ops[1].stat.czxid, e.last);
    // A failed write names the op that failed and consumes no number.
    NodeOutcome bad =
        write(e, {op(pb::NodeOp::CREATE, "/q/job-", true), op(pb::NodeOp::SET, "/q/missing")});
    EXPECT_EQ(bad.result, NodeResult::kNoNode);
    EXPECT_EQ(bad.failed_op, 1);
    EXPECT_TRUE(bad.ops.empty());
    EXPECT_EQ(write(e, {op(pb::NodeOp::CREATE, "/q/job-", true)}).ops[0].path, "/q/job-0000000004");
    // Deletes move cversion but not the count (ZooKeeper 3.8 numbers so).
    ASSERT_EQ(e.node_op(pb::NodeOp::DELETE, "/q/plain"), NodeResult::kOk);
    EXPECT_EQ(e.follower.node("/q")->stat().cversion, 6);
    EXPECT_EQ(write(e, {op(pb::NodeOp::CREATE, "/q/job-", true)}).ops[0].path, "/q/job-0000000005");
    Tracker fresh;
    fresh.restore(e.follower.save());
    EXPECT_EQ(fresh.node("/q")->children_created, 6) << "kept by a snapshot";
    EXPECT_EQ(e.leader.children("/q"), e.follower.children("/q"));
}

TEST(Tracker, EphemeralsEndingWithTheirSessionCountAsChildChanges) {
    Ensemble e;
    const uint64_t id = e.open(1, 1000);
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/m"), NodeResult::kOk);
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/m/e", "", -1, id), NodeResult::kOk);
    EXPECT_EQ(e.node_op(pb::NodeOp::CREATE, "/m/e/x"), NodeResult::kEphemeralParent);
    std::vector<std::string> parents;
    e.follower.set_listener(ChangeListener{
        .group_changed = {},
        .restored = {},
        .node_event = [&](NodeEventKind kind, const std::string& path, Zxid, const AclList*) {
            if (kind == NodeEventKind::kChildrenChanged) parents.push_back(path);
        }});
    pb::TrackerRequest close;
    close.mutable_close()->set_session_id(id);
    e.submit(close);
    EXPECT_EQ(parents, std::vector<std::string>{"/m"}) << "child watchers of /m must hear of it";
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/m/n"), NodeResult::kOk);
    EXPECT_EQ(parents, (std::vector<std::string>{"/m", "/m"}));
    const NodeStat m = e.follower.node("/m")->stat();
    EXPECT_EQ(m.num_children, 1);
    EXPECT_EQ(m.cversion, 3);
    EXPECT_EQ(m.pzxid, e.last);
}

// Persistent watches hear of every change, one by one, in ZooKeeper's
// order; a transaction that fails tells of none.
TEST(Tracker, EveryChangeIsToldOneByOneInZooKeepersOrder) {
    Ensemble e;
    const uint64_t id = e.open(1, 1000);
    std::vector<std::string> told;
    e.follower.set_listener(ChangeListener{
        .group_changed = {},
        .restored = {},
        .node_event = [&](NodeEventKind kind, const std::string& path, Zxid, const AclList*) {
            const char* names[] = {"created", "deleted", "data", "children"};
            told.push_back(std::string(names[static_cast<int>(kind)]) + " " + path);
        }});
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/a/b", "", -1, 0, true), NodeResult::kOk);
    EXPECT_EQ(told, (std::vector<std::string>{"created /a", "children /", "created /a/b",
                                              "children /a"}));
    told.clear();
    // A delete and a create of one path in one multi: both, in order.
    NodeOutcome o = write(e, {op(pb::NodeOp::SET, "/a"), op(pb::NodeOp::DELETE, "/a/b"),
                              op(pb::NodeOp::CREATE, "/a/b")});
    ASSERT_EQ(o.result, NodeResult::kOk);
    EXPECT_EQ(told, (std::vector<std::string>{"data /a", "deleted /a/b", "children /a",
                                              "created /a/b", "children /a"}));
    told.clear();
    o = write(e, {op(pb::NodeOp::SET, "/a"), op(pb::NodeOp::DELETE, "/nothing")});
    ASSERT_EQ(o.result, NodeResult::kNoNode);
    EXPECT_TRUE(told.empty()) << "a failed multi changed nothing";
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/a/e", "", -1, id), NodeResult::kOk);
    told.clear();
    pb::TrackerRequest close;
    close.mutable_close()->set_session_id(id);
    e.submit(close);
    EXPECT_EQ(told, (std::vector<std::string>{"deleted /a/e", "children /a"}));
}

// ACLs are checked as a transaction applies, from the requester it
// carries (none: anonymous), in ZooKeeper's order; replicas agree; the
// server's own transactions are never refused.
TEST(Tracker, ACLsAreCheckedAsTransactionsApply) {
    Ensemble e;
    auto as = [](const std::string& digest, std::vector<pb::NodeOp> ops) {
        pb::TrackerRequest r;
        for (pb::NodeOp& o : ops) *r.mutable_nodes()->add_ops() = std::move(o);
        if (!digest.empty()) {  // else anonymous: no requester at all
            pb::Acl* id = r.mutable_nodes()->mutable_requester()->add_ids();
            id->set_scheme("digest");
            id->set_id(digest);
        }
        return r;
    };
    auto result = [&](const pb::TrackerRequest& r) {
        return e.leader.node_outcome(*e.submit(r))->result;
    };
    pb::NodeOp locked = op(pb::NodeOp::CREATE, "/locked");
    pb::Acl* only_alice = locked.add_acl();
    only_alice->set_perms(kPermRead | kPermCreate | kPermAdmin);
    only_alice->set_scheme("digest");
    only_alice->set_id("alice:h");
    ASSERT_EQ(result(as("", {locked})), NodeResult::kOk);
    EXPECT_EQ(result(as("", {op(pb::NodeOp::SET, "/locked")})), NodeResult::kNoAuth);
    EXPECT_EQ(result(as("alice:h", {op(pb::NodeOp::SET, "/locked")})), NodeResult::kNoAuth)
        << "alice has no WRITE";
    EXPECT_EQ(result(as("", {op(pb::NodeOp::CREATE, "/locked/x")})), NodeResult::kNoAuth);
    EXPECT_EQ(result(as("alice:h", {op(pb::NodeOp::CREATE, "/locked/x")})), NodeResult::kOk);
    // NOAUTH comes before NODEEXISTS, and before NONODE for a delete.
    EXPECT_EQ(result(as("", {op(pb::NodeOp::CREATE, "/locked/x")})), NodeResult::kNoAuth);
    EXPECT_EQ(result(as("", {op(pb::NodeOp::DELETE, "/locked/nothing")})), NodeResult::kNoAuth);
    EXPECT_EQ(result(as("", {op(pb::NodeOp::CHECK, "/locked")})), NodeResult::kNoAuth);
    pb::NodeOp open_up = op(pb::NodeOp::SET_ACL, "/locked", false, 0);
    pb::Acl* world = open_up.add_acl();
    world->set_perms(kPermAll);
    world->set_scheme("world");
    world->set_id("anyone");
    EXPECT_EQ(result(as("", {open_up})), NodeResult::kNoAuth) << "setACL needs ADMIN";
    // The server's own work (the container sweep, system nodes): never refused.
    pb::TrackerRequest own;
    *own.mutable_nodes()->add_ops() = op(pb::NodeOp::CREATE, "/locked/by-the-server");
    own.mutable_nodes()->mutable_requester()->set_server(true);
    EXPECT_EQ(result(own), NodeResult::kOk);
    ASSERT_EQ(result(as("alice:h", {open_up})), NodeResult::kOk);
    EXPECT_EQ(result(as("alice:h", {open_up})), NodeResult::kBadVersion) << "aversion is 1 now";
    EXPECT_EQ(e.follower.node("/locked")->stat().aversion, 1);
    EXPECT_EQ(e.follower.node("/locked")->acl, nullptr) << "world:anyone:31 is kept as none";
    EXPECT_EQ(result(as("", {op(pb::NodeOp::SET, "/locked")})), NodeResult::kOk);
    EXPECT_EQ(e.leader.save(), e.follower.save()) << "replicas apply ACLs alike";
    Tracker restored;
    restored.restore(e.follower.save());
    EXPECT_TRUE(*restored.node("/locked/x") == *e.follower.node("/locked/x"));
    EXPECT_EQ(restored.node("/locked")->aversion, 1) << "a snapshot keeps aversion";
}

TEST(Tracker, AContainerIsDueForDeletionOnceItHadChildrenAndHasNone) {
    Ensemble e;
    pb::NodeOp box = op(pb::NodeOp::CREATE, "/box");
    box.set_container(true);
    ASSERT_EQ(write(e, {box}).result, NodeResult::kOk);
    EXPECT_TRUE(e.follower.node("/box")->stat().container);
    EXPECT_TRUE(e.follower.empty_containers().empty()) << "never had a child: kept";
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/box/a"), NodeResult::kOk);
    EXPECT_TRUE(e.follower.empty_containers().empty());
    ASSERT_EQ(e.node_op(pb::NodeOp::DELETE, "/box/a"), NodeResult::kOk);
    EXPECT_EQ(e.follower.empty_containers(), std::set<std::string>{"/box"});
    Tracker fresh;
    fresh.restore(e.follower.save());
    EXPECT_EQ(fresh.empty_containers(), std::set<std::string>{"/box"}) << "kept by a snapshot";
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/box/b"), NodeResult::kOk);
    EXPECT_TRUE(e.follower.empty_containers().empty()) << "a new child keeps it";
    ASSERT_EQ(e.node_op(pb::NodeOp::DELETE, "/box/b"), NodeResult::kOk);
    ASSERT_EQ(e.node_op(pb::NodeOp::DELETE, "/box"), NodeResult::kOk);
    EXPECT_TRUE(e.follower.empty_containers().empty()) << "deleted: no longer due";
}

TEST(Tracker, DescendantsAndASessionsEphemerals) {
    Ensemble e;
    const uint64_t id = e.open(1, 1000);
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/a/b/c", "", -1, 0, true), NodeResult::kOk);
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/a/e", "", -1, id), NodeResult::kOk);
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/ab"), NodeResult::kOk);
    EXPECT_EQ(e.follower.descendants("/a"), 3u) << "not /ab, which only shares a prefix";
    EXPECT_EQ(e.follower.descendants("/"), 5u);
    EXPECT_EQ(e.follower.ephemerals_of(id), std::vector<std::string>{"/a/e"});
}

TEST(Tracker, AStatSurvivesASnapshotAndChildrenAreRecounted) {
    Ensemble e;
    e.leader.set_wall_ms(77);
    ASSERT_EQ(e.node_op(pb::NodeOp::CREATE, "/a/b/c", "v", -1, 0, true), NodeResult::kOk);
    ASSERT_EQ(e.node_op(pb::NodeOp::SET, "/a/b/c", "w"), NodeResult::kOk);
    Tracker fresh;
    fresh.restore(e.follower.save());
    for (const char* path : {"/", "/a", "/a/b", "/a/b/c"})
        EXPECT_EQ(fresh.node(path)->stat(), e.follower.node(path)->stat()) << path;
    EXPECT_EQ(fresh.node("/a/b")->stat().num_children, 1);
    EXPECT_EQ(fresh.node("/a")->stat().ctime_ms, 77) << "made parents get the time too";
    EXPECT_EQ(fresh.save(), e.follower.save());
    EXPECT_EQ(Tracker().save(), "") << "an empty tracker's snapshot stays empty";
}

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
    EXPECT_EQ(e.node_op(pb::NodeOp::PUT, "/a/e/x/y", "", -1, 0, true),
              NodeResult::kEphemeralParent);
    EXPECT_EQ(e.follower.children("/a"), (std::vector<std::string>{"b", "e"}));
    EXPECT_EQ(e.leader.nodes(), e.follower.nodes());
}

TEST(Tracker, EveryChangeToAGroupRaisesItsVersionByOne) {
    Ensemble e;
    int64_t notified = -1;
    std::string notified_group;
    e.follower.set_listener(ChangeListener{.group_changed =
                                               [&](const std::string& g, int64_t v) {
                                                   notified_group = g;
                                                   notified = v;
                                               },
                                           .restored = {},
                                           .node_event = {}});
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
    fresh.set_listener(ChangeListener{{}, [&] { restored = true; }, {}});
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
