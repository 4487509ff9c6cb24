#include "tests/sim/session_mutant.h"

#include <set>

#include "session/session.pb.h"

namespace chorus::sim {
namespace {

struct Named {
    SessionMutation mutation;
    const char* name;
};
constexpr Named kNames[] = {
    {SessionMutation::kNone, "none"},
    {SessionMutation::kHeartbeatsIgnored, "heartbeats-ignored"},
    {SessionMutation::kHeartbeatsLogged, "heartbeats-logged"},
    {SessionMutation::kExpiryKeepsEphemerals, "expiry-keeps-ephemerals"},
    {SessionMutation::kStaleDeadlines, "stale-deadlines"},
    {SessionMutation::kClockInTicks, "clock-in-ticks"},
    {SessionMutation::kReplicaSkipsRevalidate, "replica-skips-revalidate"},
    {SessionMutation::kBatchKeepsFirst, "batch-keeps-first"},
};

bool parse_change(const zab::Txn& txn, session::pb::TrackerTxn* change) {
    return txn.type == session::kTrackerType && change->ParseFromString(txn.data);
}

}  // namespace

const char* session_mutation_name(SessionMutation mutation) {
    for (const Named& n : kNames) {
        if (n.mutation == mutation) return n.name;
    }
    return "?";
}

std::optional<SessionMutation> session_mutation_from_name(const std::string& name) {
    for (const Named& n : kNames) {
        if (name == n.name) return n.mutation;
    }
    return std::nullopt;
}

std::vector<std::string> session_mutation_names() {
    std::vector<std::string> names;
    for (const Named& n : kNames) {
        if (n.mutation != SessionMutation::kNone) names.push_back(n.name);
    }
    return names;
}

std::optional<zab::Txn> MutantTracker::preprocess(const zab::Request& request) {
    if (mutation_ == SessionMutation::kHeartbeatsIgnored ||
        mutation_ == SessionMutation::kHeartbeatsLogged) {
        session::pb::TrackerRequest r;
        if (request.type == session::kTrackerType && r.ParseFromString(request.data) &&
            r.has_heartbeats()) {
            if (mutation_ == SessionMutation::kHeartbeatsIgnored) return std::nullopt;
            (void)tracker_.preprocess(request);
            // A record of the batch in the log: an empty change, delivered as a no-op.
            zab::Txn txn;
            txn.type = session::kTrackerType;
            txn.data = session::pb::TrackerTxn().SerializeAsString();
            return txn;
        }
    }
    return tracker_.preprocess(request);
}

void MutantTracker::deliver(const zab::Txn& txn) {
    if (!follower_victim() || (mutation_ != SessionMutation::kExpiryKeepsEphemerals &&
                               mutation_ != SessionMutation::kReplicaSkipsRevalidate)) {
        tracker_.deliver(txn);
        return;
    }
    session::pb::TrackerTxn change;
    if (!parse_change(txn, &change)) {
        tracker_.deliver(txn);
        return;
    }
    if (mutation_ == SessionMutation::kReplicaSkipsRevalidate) {
        if (!change.has_revalidated()) tracker_.deliver(txn);
        return;
    }
    // kExpiryKeepsEphemerals: expire as usual, then put the ephemerals back.
    if (!change.has_expired()) {
        tracker_.deliver(txn);
        return;
    }
    const std::set<uint64_t> ids(change.expired().session_ids().begin(),
                                 change.expired().session_ids().end());
    std::vector<std::pair<std::string, session::TreeNode>> kept;
    for (const auto& [path, node] : tracker_.nodes()) {
        if (ids.count(node.ephemeral_owner)) kept.emplace_back(path, node);
    }
    tracker_.deliver(txn);
    if (kept.empty()) return;
    session::pb::TrackerSnapshot snapshot;
    (void)snapshot.ParseFromString(tracker_.save());
    for (const auto& [path, node] : kept) {
        auto* n = snapshot.add_nodes();
        n->set_path(path);
        n->set_data(node.data.str());
        n->set_version(node.version);
        n->set_ephemeral_owner(node.ephemeral_owner);
    }
    tracker_.restore(snapshot.SerializeAsString());
}

void MutantTracker::role_changed(zab::Role role, zab::ServerId leader, uint64_t epoch) {
    leading_ = role == zab::Role::kLeading;
    if (mutation_ == SessionMutation::kStaleDeadlines) {
        // The tracker hears only of its first term as leader: when it leads
        // again it still holds the deadlines of that old term.
        if (led_once_) return;
        led_once_ = leading_;
    }
    tracker_.role_changed(role, leader, epoch);
}

void MutantTracker::set_now_ms(uint64_t now_ms) {
    // The tick is 100 ms in the simulator.
    tracker_.set_now_ms(mutation_ == SessionMutation::kClockInTicks ? now_ms / 100 : now_ms);
    // The wall clock the leader stamps on node transactions: the simulated
    // time, since 2026, so that replicas must carry it to agree.
    tracker_.set_wall_ms(1'767'225'600'000 + static_cast<int64_t>(now_ms));
}

}  // namespace chorus::sim
