// Tracker: the session tracker, a StateMachine replicated by zab.
//
// Replicated state: sessions (id, owner server, timeout) and a small tree of
// named nodes, persistent or ephemeral (owned by a session), each with data
// and ZooKeeper's Stat (versions, zxids, times, children; NodeStat). Every
// change is a logged transaction (session/session.proto). The times are the
// leader's wall clock, stamped on the transaction by its preprocess, so
// replicas agree on them.
//
// What is NOT replicated, by design: heartbeats. A session's owner batches
// the heartbeats it receives and submits them once per tick; the leader's
// preprocess moves the deadlines in its memory and absorbs the request — no
// proposal, no write, zero bytes of log per heartbeat. Only the leader keeps
// deadlines, and only the leader decides expiry, as one logged transaction
// that also deletes the expired sessions' ephemeral nodes. A new leader does
// not know the old one's deadlines: it grants every session a fresh full
// timeout from the moment it leads.
//
// Session ids are the zxid of the transaction that opened the session,
// packed as epoch << 40 | counter: unique across servers and leader changes
// without reading a clock, and the same on every replica.
//
// Time: the driver passes the leader's clock in with set_now_ms() (read once
// per tick at the edge); the tracker reads no clock itself. Pure: standard
// library and protobuf only, so the simulator can drive it.
//
// Thread: one thread (the node's core thread) calls everything.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "session/acl.h"
#include "zab/core/state_machine.h"

namespace chorus::session {

// Request and transaction type numbers used in zab::Request / zab::Txn.
inline constexpr uint32_t kTrackerType = 16;

uint64_t session_id_of(Zxid zxid);

struct SessionInfo {
    zab::ServerId owner = 0;
    uint64_t timeout_ms = 0;
    // The leader's alone (0 elsewhere, and while an expiry is being
    // decided): when the session expires, in its clock's ms. Not
    // replicated, so not compared. Kept here rather than in a map of its
    // own: it fits in the map node's allocation at no cost.
    uint64_t deadline_ms = 0;
    friend bool operator==(const SessionInfo& a, const SessionInfo& b) {
        return a.owner == b.owner && a.timeout_ms == b.timeout_ms;
    }
};

// A tree node's value: immutable and shared, so that setting the state aside for
// a snapshot copies pointers, not values (a tracker holding 1 GiB of values
// copied them all on the core thread, long enough to cost an election).
class SharedValue {
 public:
    SharedValue() = default;
    SharedValue(std::string value)  // NOLINT: implicit, as a string would be
        : value_(value.empty() ? nullptr : std::make_shared<const std::string>(std::move(value))) {}
    SharedValue(const char* value) : SharedValue(std::string(value)) {}  // NOLINT
    const std::string& str() const { return value_ ? *value_ : empty(); }
    operator const std::string&() const { return str(); }  // NOLINT
    size_t size() const { return str().size(); }
    friend bool operator==(const SharedValue& a, const SharedValue& b) {
        return a.str() == b.str();
    }
    friend bool operator==(const SharedValue& a, const std::string& b) { return a.str() == b; }
    friend bool operator==(const SharedValue& a, const char* b) { return a.str() == b; }

 private:
    static const std::string& empty() {
        static const std::string nothing;
        return nothing;
    }
    std::shared_ptr<const std::string> value_;
};

// What ZooKeeper calls a node's Stat: everything about it but its data.
// Replicated (each field is set from the transaction's zxid and the time
// the leader stamped on it), so every replica gives the same answer.
struct NodeStat {
    Zxid czxid;                    // the transaction that created it
    Zxid mzxid;                    // the transaction that last set its data (czxid at first)
    Zxid pzxid;                    // the transaction that last created or deleted a child
    int64_t ctime_ms = 0;          // the leader's wall clock (ms since 1970) at create
    int64_t mtime_ms = 0;          // ... and at the last set
    int64_t version = 0;           // sets of its data since it was created
    int32_t cversion = 0;          // children created or deleted since then
    int32_t aversion = 0;          // changes of its ACL
    uint64_t ephemeral_owner = 0;  // 0: persistent
    int32_t data_length = 0;
    int32_t num_children = 0;
    bool container = false;
    friend bool operator==(const NodeStat&, const NodeStat&) = default;
};

// A node of the replicated tree (a path's value, version, owner and the
// rest of its Stat) — not to be confused with chorus::Node, a replica. The
// root "/" is one too (tracker.node("/")), never created nor deleted.
struct TreeNode {
    SharedValue data;
    int64_t version = 0;
    uint64_t ephemeral_owner = 0;  // 0: persistent
    Zxid czxid, mzxid, pzxid;
    int64_t ctime_ms = 0, mtime_ms = 0;
    int32_t cversion = 0;
    int32_t num_children = 0;
    // Children created under it so far: a sequential child's suffix.
    // ZooKeeper names sequential nodes by this count, not by cversion
    // (which counts deletes too): read from ZooKeeper 3.8 itself.
    int32_t children_created = 0;
    bool container = false;  // deleted by the leader once emptied of children
    SharedAcl acl;           // null: world:anyone, every permission
    int32_t aversion = 0;
    NodeStat stat() const;
    // The ACL by content (replicas share no pointers).
    friend bool operator==(const TreeNode& a, const TreeNode& b);
};

// The kinds of tracker transaction, for counting log records and bytes by
// type. kHeartbeat is there to be counted and stay at zero: heartbeats are
// absorbed and never become a transaction.
enum class TxnKind : uint8_t { kOpen, kClose, kRevalidate, kExpire, kNodes, kHeartbeat, kCount };
const char* txn_kind_name(TxnKind kind);

// One change to one node, as ZooKeeper's watch events name them.
enum class NodeEventKind : uint8_t { kCreated, kDeleted, kDataChanged, kChildrenChanged };

// Called on the core thread as the replicated state changes (to wake
// watchers). Each may be empty.
struct ChangeListener {
    std::function<void(const std::string& group, int64_t version)> group_changed;
    std::function<void()> restored;  // the whole state was replaced
    // Every change a transaction made, one by one, once the whole of it is
    // applied, in the order ZooKeeper reports them: per op, a created or
    // deleted node and then its parent's kChildrenChanged; a set's
    // kDataChanged; the missing parents a create made, top down, before
    // it. A closed or expired session's ephemerals, each deleted. `acl` is
    // the ACL of the node at `path` (a deleted one's, as it was): watchers
    // that may not read it are not told (as ZooKeeper 3.8.4 does).
    std::function<void(NodeEventKind kind, const std::string& path, Zxid zxid, const AclList* acl)>
        node_event;
};

// Why a node transaction did nothing (it is all or nothing).
enum class NodeResult : uint8_t {
    kOk,
    kNoNode,
    kNodeExists,
    kBadVersion,
    kNoParent,
    kNoSession,
    kNotEmpty,
    kBadPath,
    kEphemeralParent,  // a create under an ephemeral node
    kNoAuth,           // the ACL does not allow the requester this
    kInvalidAcl,       // an ACL that may not be stored
};
const char* node_result_name(NodeResult result);

// What a node transaction did, kept a while for the client that sent it.
struct NodeOutcome {
    NodeResult result = NodeResult::kOk;
    int32_t failed_op = -1;  // the op that failed (its index), -1 if none did
    // On success, one per op, in order: the path it acted on (for a
    // sequential create, with its suffix) and the node's Stat right after
    // the op (empty for a delete).
    struct Op {
        std::string path;
        NodeStat stat;
    };
    std::vector<Op> ops;
};

class Tracker final : public StateMachine {
 public:
    // StateMachine.
    std::optional<zab::Txn> preprocess(const zab::Request& request) override;
    void deliver(const zab::Txn& txn) override;
    std::string save() override;
    void restore(const std::string& snapshot) override;
    void role_changed(zab::Role role, zab::ServerId leader, uint64_t epoch) override;
    // Stall-free enough: copies the state into flat arrays here (tens of
    // milliseconds for a million sessions) and serialises them on the
    // snapshot thread.
    std::function<std::string()> snapshot() override;

    // The leader's clock, in milliseconds (monotonic), set by the driver.
    void set_now_ms(uint64_t now_ms) { now_ms_ = now_ms; }
    // The wall clock (ms since 1970), set by the driver: the leader stamps
    // it on each node transaction, as the nodes' ctime and mtime.
    void set_wall_ms(int64_t wall_ms) { wall_ms_ = wall_ms; }
    // Leader only: sessions whose deadline has passed, earliest first, at
    // most `limit` (the driver spreads expiry: a budget per tick, so a
    // failover never causes an expiry storm). Submit them as an
    // ExpireSessions request.
    std::vector<uint64_t> due_for_expiry(size_t limit) const;

    // Reads of the replicated state (any replica, as of its last delivery).
    const std::map<uint64_t, SessionInfo>& sessions() const { return sessions_; }
    // Every node but the root.
    const std::map<std::string, TreeNode>& nodes() const { return nodes_; }
    // Null if there is none; "/" always exists.
    const TreeNode* node(const std::string& path) const;
    // The direct children of `path` ("/" for the top), names only, sorted.
    std::vector<std::string> children(const std::string& path) const;
    // The nodes under `path` at any depth (the whole subtree but itself).
    size_t descendants(const std::string& path) const;
    // The ephemeral nodes of a session, by path.
    std::vector<std::string> ephemerals_of(uint64_t session_id) const;
    // A group's version: up by one with every transaction that changes
    // anything under /groups/<group> (see session/groups.h); 0 if never.
    int64_t group_version(const std::string& group) const;
    const std::map<std::string, int64_t>& group_versions() const { return group_versions_; }
    std::optional<uint64_t> deadline_ms(uint64_t session_id) const;
    // Containers that have had children and have none left, for the leader
    // to delete (ZooKeeper's ContainerManager does the same).
    const std::set<std::string>& empty_containers() const { return empty_containers_; }
    // The outcome of the node transaction at `zxid`, while it is remembered
    // (the last 4096), for answering the client that sent it.
    std::optional<NodeResult> node_result(Zxid zxid) const;
    // The same with each op's path and Stat; null once forgotten.
    const NodeOutcome* node_outcome(Zxid zxid) const;

    struct Counters {
        uint64_t heartbeats_absorbed = 0;  // leader only
        uint64_t sessions_opened = 0;
        uint64_t sessions_expired = 0;
        uint64_t sessions_closed = 0;
        uint64_t ephemerals_deleted = 0;
        // Transactions delivered (each is one log record on every replica)
        // and their bytes, by kind.
        uint64_t log_records[static_cast<size_t>(TxnKind::kCount)] = {};
        uint64_t log_bytes[static_cast<size_t>(TxnKind::kCount)] = {};
    };
    const Counters& counters() const { return counters_; }

    void set_listener(ChangeListener listener) { listener_ = std::move(listener); }

 private:
    struct Image;
    Image image() const;
    static std::string encode(const Image& image);
    NodeOutcome apply_node_ops(const class NodeOpsView& ops, Zxid zxid);
    void drop_session(uint64_t id, Zxid zxid);
    // A child of `parent` was created (+1) or deleted (-1) by `zxid`.
    static void count_child(TreeNode& parent, int delta, Zxid zxid);
    TreeNode* find_node(const std::string& path);
    void set_deadline(uint64_t id, uint64_t deadline);
    void clear_deadline(uint64_t id);
    void clear_deadlines();
    // Records that `path` changed in the transaction being delivered.
    void touched(const std::string& path);
    void finish_delivery();

    std::map<uint64_t, SessionInfo> sessions_;
    std::map<std::string, TreeNode> nodes_;  // all but the root
    TreeNode root_;
    std::map<uint64_t, std::set<std::string>> ephemerals_;  // session -> its nodes
    // Leader only.
    bool leading_ = false;
    uint64_t now_ms_ = 0;
    int64_t wall_ms_ = 0;
    // (deadline, session), earliest first: the leader's sessions that have a
    // deadline (SessionInfo::deadline_ms).
    std::set<std::pair<uint64_t, uint64_t>> by_deadline_;
    std::map<Zxid, NodeOutcome> recent_results_;
    std::map<std::string, int64_t> group_versions_;
    std::set<std::string> empty_containers_;
    // Whether `path` (a node, or one gone) belongs in empty_containers_.
    void check_container(const std::string& path);
    std::set<std::string> touched_groups_;  // during one delivery
    ChangeListener listener_;
    Counters counters_;
};

}  // namespace chorus::session
