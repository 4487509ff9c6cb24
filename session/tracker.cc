#include "session/tracker.h"

#include <algorithm>
#include <cstdio>

#include "base/assert.h"
#include "session/groups.h"
#include "session/session.pb.h"

namespace chorus::session {

class NodeOpsView {
 public:
    explicit NodeOpsView(const pb::NodeOps& ops) : ops(ops) {}
    const pb::NodeOps& ops;
};

namespace {

// More than can be delivered in one Ready (64 proposals in flight × 1,024
// transactions each), so an answer never finds its result forgotten.
constexpr size_t kRememberedResults = 70000;

// A stored ACL from its records; null for none (the default).
SharedAcl acl_of(const google::protobuf::RepeatedPtrField<pb::Acl>& records) {
    if (records.empty()) return nullptr;
    auto acl = std::make_shared<AclList>();
    for (const pb::Acl& a : records) acl->push_back(AclEntry{a.perms(), a.scheme(), a.id()});
    return acl;
}

// What a node keeps of the ACL it is given: world:anyone with every
// permission (what ZooKeeper's clients send by default) is the default,
// kept as none.
SharedAcl stored_acl(const google::protobuf::RepeatedPtrField<pb::Acl>& records) {
    if (records.size() == 1 && records[0].perms() == kPermAll && records[0].scheme() == "world" &&
        records[0].id() == "anyone")
        return nullptr;
    return acl_of(records);
}

Requester requester_of(const pb::NodeOps& ops) {
    Requester who;
    who.checked = !ops.requester().server();
    who.superuser = ops.requester().superuser();
    for (const pb::Acl& id : ops.requester().ids())
        who.ids.push_back(Identity{id.scheme(), id.id()});
    return who;
}

zab::Txn make_txn(const pb::TrackerTxn& change) {
    zab::Txn txn;
    txn.type = kTrackerType;
    txn.data = change.SerializeAsString();
    return txn;
}

// "/a/b" -> "/a"; "/a" -> "/".
std::string parent_of(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
}

bool valid_path(const std::string& path) {
    if (path.size() < 2 || path[0] != '/' || path.back() == '/') return false;
    return path.find("//") == std::string::npos;
}

}  // namespace

const char* node_result_name(NodeResult result) {
    switch (result) {
        case NodeResult::kOk:
            return "ok";
        case NodeResult::kNoNode:
            return "no such node";
        case NodeResult::kNodeExists:
            return "node exists";
        case NodeResult::kBadVersion:
            return "version mismatch";
        case NodeResult::kNoParent:
            return "no parent node";
        case NodeResult::kNoSession:
            return "no such session";
        case NodeResult::kNotEmpty:
            return "node has children";
        case NodeResult::kBadPath:
            return "bad path";
        case NodeResult::kEphemeralParent:
            return "an ephemeral node cannot have children";
        case NodeResult::kNoAuth:
            return "not allowed by the node's ACL";
        case NodeResult::kInvalidAcl:
            return "an ACL that may not be stored";
    }
    return "?";
}

const char* txn_kind_name(TxnKind kind) {
    switch (kind) {
        case TxnKind::kOpen:
            return "open";
        case TxnKind::kClose:
            return "close";
        case TxnKind::kRevalidate:
            return "revalidate";
        case TxnKind::kExpire:
            return "expire";
        case TxnKind::kNodes:
            return "nodes";
        case TxnKind::kHeartbeat:
            return "heartbeat";
        case TxnKind::kCount:
            break;
    }
    return "?";
}

uint64_t session_id_of(Zxid zxid) {
    CHORUS_ASSERT(zxid.counter < (uint64_t{1} << 40), "a session id needs a counter below 2^40");
    return (zxid.epoch << 40) | zxid.counter;
}

std::optional<zab::Txn> Tracker::preprocess(const zab::Request& request) {
    pb::TrackerRequest r;
    if (request.type != kTrackerType || !r.ParseFromString(request.data)) return std::nullopt;
    pb::TrackerTxn change;
    switch (r.op_case()) {
        case pb::TrackerRequest::kHeartbeats:
            // The point of the tracker: heartbeats move deadlines in the
            // leader's memory and go no further.
            for (uint64_t id : r.heartbeats().session_ids()) {
                auto s = sessions_.find(id);
                if (s == sessions_.end()) continue;
                set_deadline(id, now_ms_ + s->second.timeout_ms);
                ++counters_.heartbeats_absorbed;
            }
            return std::nullopt;
        case pb::TrackerRequest::kOpen:
            *change.mutable_opened() = r.open();
            break;
        case pb::TrackerRequest::kClose:
            if (!sessions_.count(r.close().session_id())) return std::nullopt;
            *change.mutable_closed() = r.close();
            break;
        case pb::TrackerRequest::kRevalidate:
            if (!sessions_.count(r.revalidate().session_id())) return std::nullopt;
            *change.mutable_revalidated() = r.revalidate();
            break;
        case pb::TrackerRequest::kExpire: {
            auto* expired = change.mutable_expired();
            for (uint64_t id : r.expire().session_ids()) {
                if (!sessions_.count(id)) continue;
                // A heartbeat absorbed since the driver asked keeps it alive.
                if (sessions_.at(id).deadline_ms > now_ms_) continue;
                expired->add_session_ids(id);
                // Decided: not due again while the transaction commits.
                clear_deadline(id);
            }
            if (expired->session_ids_size() == 0) return std::nullopt;
            break;
        }
        case pb::TrackerRequest::kNodes:
            *change.mutable_nodes() = r.nodes();
            change.mutable_nodes()->set_time_ms(wall_ms_);
            break;
        default:
            return std::nullopt;
    }
    return make_txn(change);
}

void Tracker::drop_session(uint64_t id, Zxid zxid) {
    clear_deadline(id);
    sessions_.erase(id);
    auto owned = ephemerals_.find(id);
    if (owned == ephemerals_.end()) return;
    for (const std::string& path : owned->second) {
        auto gone = nodes_.find(path);
        if (gone != nodes_.end()) {
            const SharedAcl acl = gone->second.acl;
            nodes_.erase(gone);
            // An ephemeral has no children, and its parent is persistent.
            const std::string parent_path = parent_of(path);
            TreeNode* parent = find_node(parent_path);
            if (parent) count_child(*parent, -1, zxid);
            check_container(parent_path);
            ++counters_.ephemerals_deleted;
            touched(path);
            if (listener_.node_event) {
                listener_.node_event(NodeEventKind::kDeleted, path, zxid, acl.get());
                listener_.node_event(NodeEventKind::kChildrenChanged, parent_path, zxid,
                                     parent ? parent->acl.get() : nullptr);
            }
        }
    }
    ephemerals_.erase(owned);
}

void Tracker::count_child(TreeNode& parent, int delta, Zxid zxid) {
    parent.num_children += delta;
    parent.cversion += 1;
    if (delta > 0) parent.children_created += 1;
    parent.pzxid = zxid;
}

TreeNode* Tracker::find_node(const std::string& path) {
    if (path == "/") return &root_;
    auto it = nodes_.find(path);
    return it == nodes_.end() ? nullptr : &it->second;
}

NodeOutcome Tracker::apply_node_ops(const NodeOpsView& view, Zxid zxid) {
    const int64_t time_ms = view.ops.time_ms();
    // ACLs are checked here, as the transaction applies, so that every
    // replica decides the same and no check races a change of an ACL.
    const Requester who = requester_of(view.ops);
    // Check every op against the state as it would be after the ones before
    // it, then apply all of them, or none.
    std::map<std::string, std::optional<TreeNode>> overlay;
    // What watchers see change: the ops' nodes and the parents they made —
    // not a parent whose children alone changed.
    std::set<std::string> changed;
    std::set<std::string> parents_changed;  // their children did
    // The same changes one by one, in order (ChangeListener::node_event).
    struct Event {
        NodeEventKind kind;
        std::string path;
        SharedAcl acl;  // the node's (a deleted one's as it was)
    };
    std::vector<Event> events;
    NodeOutcome outcome;
    auto lookup = [&](const std::string& path) -> std::optional<TreeNode> {
        auto o = overlay.find(path);
        if (o != overlay.end()) return o->second;
        if (const TreeNode* n = find_node(path)) return *n;
        return std::nullopt;
    };
    // The parent exists (checked before): count the child in it.
    auto count_in_parent = [&](const std::string& path, int delta) {
        const std::string parent = parent_of(path);
        std::optional<TreeNode> p = lookup(parent);
        CHORUS_ASSERT(p.has_value(), "a node's parent must exist");
        count_child(*p, delta, zxid);
        overlay[parent] = std::move(p);
        parents_changed.insert(parent);
    };
    auto create = [&](const std::string& path, const std::string& data, uint64_t owner,
                      bool container, SharedAcl acl) {
        TreeNode n;
        n.data = data;
        n.ephemeral_owner = owner;
        n.container = container;
        n.acl = acl;
        n.czxid = n.mzxid = n.pzxid = zxid;
        n.ctime_ms = n.mtime_ms = time_ms;
        overlay[path] = std::move(n);
        changed.insert(path);
        count_in_parent(path, +1);
        events.push_back({NodeEventKind::kCreated, path, std::move(acl)});
        events.push_back({NodeEventKind::kChildrenChanged, parent_of(path), nullptr});
    };
    auto set = [&](const std::string& path, TreeNode& node, const std::string& data) {
        node.data = data;
        node.version += 1;
        node.mzxid = zxid;
        node.mtime_ms = time_ms;
        overlay[path] = node;
        changed.insert(path);
        events.push_back({NodeEventKind::kDataChanged, path, node.acl});
    };
    // Creates the missing ancestors of `path` (make_parents), or checks
    // that its parent exists; then that the requester may create under the
    // nearest one that exists (ZooKeeper's order: a missing parent, then
    // no permission, then an ephemeral parent, which has no children).
    auto parents_ok = [&](const std::string& path, bool make_parents) {
        std::vector<std::string> missing;
        std::string parent = parent_of(path);
        std::optional<TreeNode> p = lookup(parent);
        for (; !p; p = lookup(parent)) {  // the root always exists
            if (!make_parents) return NodeResult::kNoParent;
            missing.push_back(parent);
            parent = parent_of(parent);
        }
        if (!acl_allows(p->acl, who, kPermCreate)) return NodeResult::kNoAuth;
        if (p->ephemeral_owner != 0) return NodeResult::kEphemeralParent;
        // From the top down, so that each one's parent exists.
        for (auto it = missing.rbegin(); it != missing.rend(); ++it)
            create(*it, {}, 0, false, nullptr);
        return NodeResult::kOk;
    };
    auto failed = [&](NodeResult result, int index) {
        outcome.result = result;
        outcome.failed_op = index;
        outcome.ops.clear();
        return outcome;
    };
    for (int index = 0; index < view.ops.ops_size(); ++index) {
        const pb::NodeOp& op = view.ops.ops(index);
        std::string path = op.path();
        const bool sequential = op.sequential() && op.kind() == pb::NodeOp::CREATE;
        // A sequential create's path may end in '/': the suffix is its name.
        if (!valid_path(sequential ? path + "0" : path)) return failed(NodeResult::kBadPath, index);
        if (sequential) {
            if (NodeResult r = parents_ok(path + "0", op.make_parents()); r != NodeResult::kOk)
                return failed(r, index);
            char suffix[16];
            std::snprintf(suffix, sizeof suffix, "%010d",
                          lookup(parent_of(path + "0"))->children_created);
            path += suffix;
        }
        std::optional<TreeNode> current = lookup(path);
        // Only -1 means any version (ZooKeeper answers BADVERSION to -2).
        const bool version_ok =
            op.expected_version() == -1 || (current && current->version == op.expected_version());
        switch (op.kind()) {
            case pb::NodeOp::CREATE:
            case pb::NodeOp::PUT: {
                if (current && op.kind() == pb::NodeOp::PUT) {
                    // Set: only a node of the same kind and owner.
                    if (current->ephemeral_owner != op.ephemeral_owner())
                        return failed(NodeResult::kNodeExists, index);
                    if (!acl_allows(current->acl, who, kPermWrite))
                        return failed(NodeResult::kNoAuth, index);
                    if (!version_ok) return failed(NodeResult::kBadVersion, index);
                    set(path, *current, op.data());
                    break;
                }
                // The parent first: no permission there is told before the
                // node exists (as ZooKeeper tells it).
                if (!sequential) {
                    if (NodeResult r = parents_ok(path, op.make_parents()); r != NodeResult::kOk)
                        return failed(r, index);
                }
                if (current) return failed(NodeResult::kNodeExists, index);
                // A PUT that expects a version expects the node to exist.
                if (op.kind() == pb::NodeOp::PUT && op.expected_version() >= 0)
                    return failed(NodeResult::kNoNode, index);
                if (op.ephemeral_owner() != 0 && !sessions_.count(op.ephemeral_owner()))
                    return failed(NodeResult::kNoSession, index);
                create(path, op.data(), op.ephemeral_owner(),
                       op.container() && op.ephemeral_owner() == 0, stored_acl(op.acl()));
                break;
            }
            case pb::NodeOp::DELETE: {
                // The parent's DELETE permission, then the node (ZooKeeper's
                // order: NOAUTH even for a node that is not there).
                const std::optional<TreeNode> parent = lookup(parent_of(path));
                if (parent && !acl_allows(parent->acl, who, kPermDelete))
                    return failed(NodeResult::kNoAuth, index);
                if (!current) return failed(NodeResult::kNoNode, index);
                if (!version_ok) return failed(NodeResult::kBadVersion, index);
                // The sweeper's delete: only an emptied container (not a
                // node made at its path since the sweeper looked).
                if (op.container() &&
                    !(current->container && current->num_children == 0 && current->cversion > 0))
                    return failed(NodeResult::kBadVersion, index);
                if (current->num_children > 0) return failed(NodeResult::kNotEmpty, index);
                overlay[path] = std::nullopt;
                changed.insert(path);
                count_in_parent(path, -1);
                events.push_back({NodeEventKind::kDeleted, path, current->acl});
                events.push_back({NodeEventKind::kChildrenChanged, parent_of(path), nullptr});
                break;
            }
            case pb::NodeOp::SET:
                if (!current) return failed(NodeResult::kNoNode, index);
                if (!acl_allows(current->acl, who, kPermWrite))
                    return failed(NodeResult::kNoAuth, index);
                if (!version_ok) return failed(NodeResult::kBadVersion, index);
                set(path, *current, op.data());
                break;
            case pb::NodeOp::CHECK:
                if (!current) return failed(NodeResult::kNoNode, index);
                if (!acl_allows(current->acl, who, kPermRead))
                    return failed(NodeResult::kNoAuth, index);
                if (!version_ok) return failed(NodeResult::kBadVersion, index);
                break;
            case pb::NodeOp::SET_ACL: {
                if (!current) return failed(NodeResult::kNoNode, index);
                if (!acl_allows(current->acl, who, kPermAdmin))
                    return failed(NodeResult::kNoAuth, index);
                // Its version is the ACL's.
                if (op.expected_version() != -1 && current->aversion != op.expected_version())
                    return failed(NodeResult::kBadVersion, index);
                if (op.acl().empty()) return failed(NodeResult::kInvalidAcl, index);
                current->acl = stored_acl(op.acl());
                current->aversion += 1;
                // No watch hears of it (as in ZooKeeper): not `changed`.
                overlay[path] = *current;
                break;
            }
            default:
                return failed(NodeResult::kBadPath, index);
        }
        const std::optional<TreeNode> after = lookup(path);
        outcome.ops.push_back({std::move(path), after ? after->stat() : NodeStat{}});
    }
    for (auto& [path, node] : overlay) {
        if (path == "/") {
            root_ = std::move(*node);
            continue;
        }
        auto old = nodes_.find(path);
        if (old != nodes_.end() && old->second.ephemeral_owner != 0) {
            ephemerals_[old->second.ephemeral_owner].erase(path);
        }
        if (node) {
            if (node->ephemeral_owner != 0) ephemerals_[node->ephemeral_owner].insert(path);
            nodes_[path] = std::move(*node);
        } else {
            nodes_.erase(path);
        }
    }
    for (const std::string& path : changed) check_container(path);
    for (const std::string& path : parents_changed) check_container(path);
    // Only now, with every change applied, may watchers look.
    for (const std::string& path : changed) touched(path);
    if (listener_.node_event) {
        for (Event& e : events) {
            // A parent's ACL as the transaction left it (it may have set it).
            if (e.kind == NodeEventKind::kChildrenChanged) {
                if (const TreeNode* n = find_node(e.path)) e.acl = n->acl;
            }
            listener_.node_event(e.kind, e.path, zxid, e.acl.get());
        }
    }
    return outcome;
}

void Tracker::check_container(const std::string& path) {
    const TreeNode* n = node(path);
    if (n && n->container && n->num_children == 0 && n->cversion > 0) {
        empty_containers_.insert(path);
    } else {
        empty_containers_.erase(path);
    }
}

void Tracker::touched(const std::string& path) {
    std::string group = group_of(path);
    if (!group.empty()) touched_groups_.insert(std::move(group));
}

void Tracker::finish_delivery() {
    for (const std::string& group : touched_groups_) {
        const int64_t version = ++group_versions_[group];
        if (listener_.group_changed) listener_.group_changed(group, version);
    }
    touched_groups_.clear();
}

void Tracker::deliver(const zab::Txn& txn) {
    if (txn.type != kTrackerType) return;
    pb::TrackerTxn change;
    CHORUS_ASSERT(change.ParseFromString(txn.data), "a committed tracker transaction must parse");
    TxnKind kind = TxnKind::kNodes;
    switch (change.change_case()) {
        case pb::TrackerTxn::kOpened:
            kind = TxnKind::kOpen;
            break;
        case pb::TrackerTxn::kClosed:
            kind = TxnKind::kClose;
            break;
        case pb::TrackerTxn::kRevalidated:
            kind = TxnKind::kRevalidate;
            break;
        case pb::TrackerTxn::kExpired:
            kind = TxnKind::kExpire;
            break;
        default:
            break;
    }
    ++counters_.log_records[static_cast<size_t>(kind)];
    counters_.log_bytes[static_cast<size_t>(kind)] += txn.data.size();
    switch (change.change_case()) {
        case pb::TrackerTxn::kOpened: {
            const uint64_t id = session_id_of(txn.zxid);
            clear_deadline(id);  // replayed: the index must not keep the old deadline
            sessions_[id] = SessionInfo{change.opened().owner(), change.opened().timeout_ms()};
            if (leading_) set_deadline(id, now_ms_ + change.opened().timeout_ms());
            ++counters_.sessions_opened;
            break;
        }
        case pb::TrackerTxn::kClosed:
            if (sessions_.count(change.closed().session_id())) ++counters_.sessions_closed;
            drop_session(change.closed().session_id(), txn.zxid);
            break;
        case pb::TrackerTxn::kRevalidated: {
            auto s = sessions_.find(change.revalidated().session_id());
            if (s == sessions_.end()) break;
            s->second.owner = change.revalidated().owner();
            if (leading_) set_deadline(s->first, now_ms_ + s->second.timeout_ms);
            break;
        }
        case pb::TrackerTxn::kExpired:
            for (uint64_t id : change.expired().session_ids()) {
                if (sessions_.count(id)) ++counters_.sessions_expired;
                drop_session(id, txn.zxid);
            }
            break;
        case pb::TrackerTxn::kNodes: {
            recent_results_[txn.zxid] = apply_node_ops(NodeOpsView(change.nodes()), txn.zxid);
            while (recent_results_.size() > kRememberedResults)
                recent_results_.erase(recent_results_.begin());
            break;
        }
        default:
            break;
    }
    finish_delivery();
}

void Tracker::role_changed(zab::Role role, zab::ServerId /*leader*/, uint64_t /*epoch*/) {
    const bool leading = role == zab::Role::kLeading;
    if (leading) {
        // A new leader does not know the old one's deadlines: every session
        // gets a fresh full timeout from now. Again at each report while it
        // leads — the last comes when it starts serving, after syncing its
        // followers (which can take longer than a short session timeout),
        // and a new epoch is a new term.
        clear_deadlines();
        for (const auto& [id, s] : sessions_) set_deadline(id, now_ms_ + s.timeout_ms);
    } else {
        clear_deadlines();
    }
    leading_ = leading;
}

std::vector<uint64_t> Tracker::due_for_expiry(size_t limit) const {
    // The index is ordered by deadline: this costs O(limit), not O(sessions).
    std::vector<uint64_t> ids;
    for (auto it = by_deadline_.begin();
         it != by_deadline_.end() && it->first <= now_ms_ && ids.size() < limit; ++it) {
        ids.push_back(it->second);
    }
    return ids;
}

void Tracker::set_deadline(uint64_t id, uint64_t deadline) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    uint64_t& current = it->second.deadline_ms;
    if (current != 0) by_deadline_.erase({current, id});
    current = std::max<uint64_t>(deadline, 1);  // 0 means none
    by_deadline_.insert({current, id});
}

void Tracker::clear_deadline(uint64_t id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end() || it->second.deadline_ms == 0) return;
    by_deadline_.erase({it->second.deadline_ms, id});
    it->second.deadline_ms = 0;
}

void Tracker::clear_deadlines() {
    for (const auto& [deadline, id] : by_deadline_) {
        auto it = sessions_.find(id);
        if (it != sessions_.end()) it->second.deadline_ms = 0;
    }
    by_deadline_.clear();
}

bool operator==(const TreeNode& a, const TreeNode& b) {
    const bool same_acl = (a.acl ? *a.acl : AclList{}) == (b.acl ? *b.acl : AclList{});
    return same_acl && a.data == b.data && a.version == b.version &&
           a.ephemeral_owner == b.ephemeral_owner && a.czxid == b.czxid && a.mzxid == b.mzxid &&
           a.pzxid == b.pzxid && a.ctime_ms == b.ctime_ms && a.mtime_ms == b.mtime_ms &&
           a.cversion == b.cversion && a.num_children == b.num_children &&
           a.children_created == b.children_created && a.container == b.container &&
           a.aversion == b.aversion;
}

NodeStat TreeNode::stat() const {
    NodeStat s;
    s.czxid = czxid;
    s.mzxid = mzxid;
    s.pzxid = pzxid;
    s.ctime_ms = ctime_ms;
    s.mtime_ms = mtime_ms;
    s.version = version;
    s.cversion = cversion;
    s.aversion = aversion;
    s.ephemeral_owner = ephemeral_owner;
    s.data_length = static_cast<int32_t>(data.size());
    s.num_children = num_children;
    s.container = container;
    return s;
}

const TreeNode* Tracker::node(const std::string& path) const {
    if (path == "/") return &root_;
    auto it = nodes_.find(path);
    return it == nodes_.end() ? nullptr : &it->second;
}

std::vector<std::string> Tracker::children(const std::string& path) const {
    const std::string prefix = path == "/" ? "/" : path + "/";
    std::vector<std::string> names;
    auto it = nodes_.lower_bound(prefix);
    while (it != nodes_.end() && it->first.starts_with(prefix)) {
        std::string_view rest = std::string_view(it->first).substr(prefix.size());
        const size_t slash = rest.find('/');
        if (slash == std::string_view::npos) {
            names.emplace_back(rest);
            ++it;
        } else {
            // A grandchild: skip the child's whole subtree ("c/..." sorts
            // below "c0", '0' being the byte after '/').
            it = nodes_.lower_bound(prefix + std::string(rest.substr(0, slash)) + '0');
        }
    }
    return names;
}

size_t Tracker::descendants(const std::string& path) const {
    if (path == "/") return nodes_.size();
    const std::string prefix = path + "/";
    size_t n = 0;
    for (auto it = nodes_.lower_bound(prefix); it != nodes_.end() && it->first.starts_with(prefix);
         ++it) {
        ++n;
    }
    return n;
}

std::vector<std::string> Tracker::ephemerals_of(uint64_t session_id) const {
    auto it = ephemerals_.find(session_id);
    if (it == ephemerals_.end()) return {};
    return {it->second.begin(), it->second.end()};
}

int64_t Tracker::group_version(const std::string& group) const {
    auto it = group_versions_.find(group);
    return it == group_versions_.end() ? 0 : it->second;
}

std::optional<uint64_t> Tracker::deadline_ms(uint64_t session_id) const {
    auto it = sessions_.find(session_id);
    if (it == sessions_.end() || it->second.deadline_ms == 0) return std::nullopt;
    return it->second.deadline_ms;
}

std::optional<NodeResult> Tracker::node_result(Zxid zxid) const {
    const NodeOutcome* outcome = node_outcome(zxid);
    if (!outcome) return std::nullopt;
    return outcome->result;
}

const NodeOutcome* Tracker::node_outcome(Zxid zxid) const {
    auto it = recent_results_.find(zxid);
    return it == recent_results_.end() ? nullptr : &it->second;
}

// The state, copied flat: what a snapshot serialises.
struct Tracker::Image {
    std::vector<uint64_t> session_ids, owners, timeouts;
    std::vector<std::pair<std::string, TreeNode>> nodes;
    std::vector<std::pair<std::string, int64_t>> groups;
};

Tracker::Image Tracker::image() const {
    Image image;
    image.session_ids.reserve(sessions_.size());
    image.owners.reserve(sessions_.size());
    image.timeouts.reserve(sessions_.size());
    for (const auto& [id, s] : sessions_) {
        image.session_ids.push_back(id);
        image.owners.push_back(s.owner);
        image.timeouts.push_back(s.timeout_ms);
    }
    image.nodes.reserve(nodes_.size() + 1);
    // The root only once it has a Stat worth keeping: an empty tracker's
    // snapshot stays empty.
    if (!(root_ == TreeNode{})) image.nodes.emplace_back("/", root_);
    image.nodes.insert(image.nodes.end(), nodes_.begin(), nodes_.end());
    image.groups.assign(group_versions_.begin(), group_versions_.end());
    return image;
}

std::string Tracker::encode(const Image& image) {
    pb::TrackerSnapshot snap;
    snap.mutable_session_ids()->Add(image.session_ids.begin(), image.session_ids.end());
    snap.mutable_session_owners()->Add(image.owners.begin(), image.owners.end());
    snap.mutable_session_timeouts_ms()->Add(image.timeouts.begin(), image.timeouts.end());
    for (const auto& [path, n] : image.nodes) {
        auto* out = snap.add_nodes();
        out->set_path(path);
        out->set_data(n.data.str());
        out->set_version(n.version);
        out->set_ephemeral_owner(n.ephemeral_owner);
        out->set_czxid_epoch(n.czxid.epoch);
        out->set_czxid_counter(n.czxid.counter);
        out->set_mzxid_epoch(n.mzxid.epoch);
        out->set_mzxid_counter(n.mzxid.counter);
        out->set_pzxid_epoch(n.pzxid.epoch);
        out->set_pzxid_counter(n.pzxid.counter);
        out->set_ctime_ms(n.ctime_ms);
        out->set_mtime_ms(n.mtime_ms);
        out->set_cversion(n.cversion);
        out->set_container(n.container);
        out->set_children_created(n.children_created);
        if (n.acl) {
            for (const AclEntry& e : *n.acl) {
                auto* a = out->add_acl();
                a->set_perms(e.perms);
                a->set_scheme(e.scheme);
                a->set_id(e.id);
            }
        }
        out->set_aversion(n.aversion);
    }
    for (const auto& [name, version] : image.groups) {
        auto* out = snap.add_groups();
        out->set_name(name);
        out->set_version(version);
    }
    return snap.SerializeAsString();
}

std::string Tracker::save() { return encode(image()); }

std::function<std::string()> Tracker::snapshot() {
    auto copy = std::make_shared<const Image>(image());
    return [copy] { return encode(*copy); };
}

void Tracker::restore(const std::string& snapshot) {
    clear_deadlines();
    sessions_.clear();
    nodes_.clear();
    root_ = TreeNode{};
    ephemerals_.clear();
    empty_containers_.clear();
    recent_results_.clear();
    group_versions_.clear();
    clear_deadlines();
    if (snapshot.empty()) {
        if (listener_.restored) listener_.restored();
        return;
    }
    pb::TrackerSnapshot snap;
    CHORUS_ASSERT(snap.ParseFromString(snapshot), "a tracker snapshot must parse");
    auto add_session = [this](uint64_t id, uint64_t owner, uint64_t timeout_ms) {
        sessions_.emplace_hint(sessions_.end(), id, SessionInfo{owner, timeout_ms});
        if (leading_) set_deadline(id, now_ms_ + timeout_ms);
    };
    for (const auto& s : snap.sessions()) add_session(s.id(), s.owner(), s.timeout_ms());
    CHORUS_ASSERT(snap.session_ids_size() == snap.session_owners_size() &&
                      snap.session_ids_size() == snap.session_timeouts_ms_size(),
                  "a tracker snapshot's session arrays must have one length");
    for (int i = 0; i < snap.session_ids_size(); ++i)
        add_session(snap.session_ids(i), snap.session_owners(i), snap.session_timeouts_ms(i));
    for (const auto& n : snap.nodes()) {
        TreeNode node;
        node.data = n.data();
        node.version = n.version();
        node.ephemeral_owner = n.ephemeral_owner();
        node.czxid = Zxid{n.czxid_epoch(), n.czxid_counter()};
        node.mzxid = Zxid{n.mzxid_epoch(), n.mzxid_counter()};
        node.pzxid = Zxid{n.pzxid_epoch(), n.pzxid_counter()};
        node.ctime_ms = n.ctime_ms();
        node.mtime_ms = n.mtime_ms();
        node.cversion = n.cversion();
        node.container = n.container();
        node.children_created = n.children_created();
        node.acl = acl_of(n.acl());
        node.aversion = n.aversion();
        if (n.path() == "/") {
            root_ = std::move(node);
            continue;
        }
        nodes_[n.path()] = std::move(node);
        if (n.ephemeral_owner() != 0) ephemerals_[n.ephemeral_owner()].insert(n.path());
    }
    // Children are counted, not stored.
    for (const auto& [path, n] : nodes_) {
        if (TreeNode* parent = find_node(parent_of(path))) parent->num_children += 1;
    }
    for (const auto& [path, n] : nodes_) {
        if (n.container) check_container(path);
    }
    for (const auto& g : snap.groups()) group_versions_[g.name()] = g.version();
    if (listener_.restored) listener_.restored();
}

}  // namespace chorus::session
