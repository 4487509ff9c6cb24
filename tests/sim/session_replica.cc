#include "tests/sim/session_replica.h"

#include <set>

namespace chorus::sim {
namespace {

bool parse_change(const zab::Txn& txn, session::pb::TrackerTxn* change) {
    return txn.type == session::kTrackerType && change->ParseFromString(txn.data);
}

}  // namespace

SessionReplica::SessionReplica(ServerId id, SessionMutation mutation, bool victim, SimControl& sim,
                               SessionChecker& checker, Events& events)
    : id_(id), mutant_(mutation, victim), sim_(sim), checker_(checker), events_(events) {
    // A new process reads the clock before anything can make it lead.
    set_clock(sim.now());
}

void SessionReplica::set_clock(int64_t now_ms) {
    clock_ms_ = now_ms;
    mutant_.set_now_ms(static_cast<uint64_t>(now_ms));
}

std::optional<zab::Txn> SessionReplica::preprocess(const zab::Request& request) {
    session::pb::TrackerRequest r;
    const bool parsed = request.type == session::kTrackerType && r.ParseFromString(request.data);
    const bool heartbeats = parsed && r.has_heartbeats();
    if (heartbeats) {
        // A correct tracker moves these deadlines to clock + timeout now.
        for (uint64_t id : r.heartbeats().session_ids()) {
            if (!tracker().sessions().count(id)) continue;
            checker_.granted(id_, id, sim_.now(), clock_ms_);
            events_.heartbeat_absorbed(id_, id);
        }
    }
    std::optional<zab::Txn> txn = mutant_.preprocess(request);
    if (!txn) return txn;
    if (heartbeats) checker_.heartbeats_proposed(id_, request.id);
    session::pb::TrackerTxn change;
    if (parse_change(*txn, &change)) {
        // (preprocess changes deadlines only: the sessions are still there)
        for (uint64_t id : change.expired().session_ids()) {
            auto s = tracker().sessions().find(id);
            events_.expiry_decided(id_, id,
                                   s == tracker().sessions().end() ? 0 : s->second.timeout_ms);
        }
    }
    return txn;
}

void SessionReplica::deliver(const zab::Txn& txn) {
    session::pb::TrackerTxn change;
    const bool parsed = parse_change(txn, &change);
    bool revalidates_existing = false;
    size_t ephemerals_expired = 0;
    if (parsed && change.has_revalidated()) {
        revalidates_existing = tracker().sessions().count(change.revalidated().session_id()) > 0;
    }
    if (parsed && change.has_expired()) {
        const std::set<uint64_t> ids(change.expired().session_ids().begin(),
                                     change.expired().session_ids().end());
        for (const auto& [path, node] : tracker().nodes()) {
            if (ids.count(node.ephemeral_owner)) ++ephemerals_expired;
        }
    }
    mutant_.deliver(txn);
    position_ = txn.zxid;
    if (leading_ && parsed) {
        // A leading tracker starts a fresh deadline for an opened or
        // revalidated session.
        if (change.has_opened()) {
            checker_.granted(id_, session::session_id_of(txn.zxid), sim_.now(), clock_ms_);
        } else if (revalidates_existing) {
            checker_.granted(id_, change.revalidated().session_id(), sim_.now(), clock_ms_);
        }
    }
    const bool first = checker_.on_state(id_, position_, tracker(), mutant_.save(), &txn);
    if (first && parsed) events_.committed(change, txn.zxid, ephemerals_expired);
}

void SessionReplica::restore(const std::string& snapshot) {
    mutant_.restore(snapshot);
    if (leading_) {
        for (const auto& [id, info] : tracker().sessions()) {
            checker_.granted(id_, id, sim_.now(), clock_ms_);
        }
    }
}

void SessionReplica::restored(Zxid zxid) {
    position_ = zxid;
    (void)checker_.on_state(id_, zxid, tracker(), mutant_.save(), nullptr);
}

void SessionReplica::role_changed(zab::Role role, zab::ServerId leader, uint64_t epoch) {
    // The driver reads its clock for a role change, as SessionService does
    // (session/server): a new leader's fresh deadlines start from now.
    set_clock(sim_.now());
    const bool leading = role == zab::Role::kLeading;
    mutant_.role_changed(role, leader, epoch);
    // Within one term the core reports kLeading with epoch 0 (elected), then
    // with the new epoch (chosen, then established). Another epoch means a
    // new term whose other reports were folded into one Ready: the tracker,
    // which looks at the role only, would keep the old term's deadlines, so
    // the checker is told of a new term all the same.
    const bool new_term_unseen = leading && leading_ && term_epoch_ != 0 && epoch != term_epoch_;
    if (new_term_unseen) {
        events_.unseen_term(id_);
        checker_.leading_ended(id_);
    }
    if (leading && (!leading_ || new_term_unseen)) {
        checker_.leading_started(id_, sim_.now(), clock_ms_);
    }
    if (!leading && leading_) {
        checker_.leading_ended(id_);
    }
    leading_ = leading;
    term_epoch_ = leading ? epoch : 0;
    const zab::Core* core = sim_.core(id_);
    if (leading && core && core->serving()) checker_.serving(id_, sim_.now());
}

void SessionReplica::crashed() {
    if (leading_) {
        checker_.leading_ended(id_);
    }
    leading_ = false;
}

}  // namespace chorus::sim
