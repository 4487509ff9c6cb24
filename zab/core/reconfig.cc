// The core's membership: which one is in force (R1 of docs/protocol.md,
// "Reconfiguration": the last CONFIG in the log, committed or not), how it
// follows the log through appends, truncation, compaction and snapshots,
// and the leader's CONFIG proposals (R2-R4, R7). Counting with it is done
// where the counting is (election.cc, leader.cc).
#include <algorithm>

#include "zab/core/core.h"
#include "zab/core/mutation.h"
#include "zab/core/wire.h"

namespace chorus::zab {

Membership Core::bootstrap_membership() const {
    auto address = [&](ServerId id) {
        auto it = config_.addresses.find(id);
        return it != config_.addresses.end() ? it->second : "server-" + std::to_string(id);
    };
    Membership m;
    for (ServerId id : config_.members) m.voters.emplace(id, address(id));
    for (ServerId id : config_.observers) m.observers.emplace(id, address(id));
    return m;
}

std::set<ServerId> Core::bootstrap_universe() const {
    std::set<ServerId> all(config_.members.begin(), config_.members.end());
    all.insert(config_.observers.begin(), config_.observers.end());
    return all;
}

Membership Core::membership_at(Zxid zxid) const {
    auto it = log_configs_.upper_bound(zxid);
    if (it == log_configs_.begin()) return base_membership_;
    return std::prev(it)->second;
}

void Core::refresh_membership() {
    // Only ever grows within an incarnation: a server once known may still
    // lead, or need syncing.
    for (const Membership* m : {&base_membership_, &membership_}) {
        for (const auto& [id, address] : m->voters) known_servers_.insert(id);
        for (const auto& [id, address] : m->observers) known_servers_.insert(id);
    }
    for (const auto& [zxid, m] : log_configs_) {
        for (const auto& [id, address] : m.voters) known_servers_.insert(id);
        for (const auto& [id, address] : m.observers) known_servers_.insert(id);
    }
    const Membership& now = log_configs_.empty() ? base_membership_ : log_configs_.rbegin()->second;
    if (now.version == membership_.version && now.same_servers(membership_)) return;
    const bool was_voter = voter(config_.id);
    membership_ = now;
    notice("membership version " + membership_.version.str() + ": " + membership_.str() +
           (was_voter && !voter(config_.id) ? " (this server no longer votes)" : ""));
}

void Core::note_configs(const std::vector<Txn>& txns) {
    bool any = false;
    for (const Txn& txn : txns) {
        if (txn.type != kConfigTxnType) continue;
        Result<Membership> m = Membership::decode(txn.zxid, txn.data);
        // validate.h drops a peer's CONFIG that does not decode, the leader
        // encodes its own, and storage checks what it reads back.
        CHORUS_ASSERT(m.is_ok(), "a CONFIG transaction that does not decode reached the log");
        log_configs_[txn.zxid] = std::move(m).value();
        any = true;
    }
    if (any) refresh_membership();
}

void Core::move_membership_base(Zxid base) {
    Membership at = membership_at(base);
    if (at.version != base_membership_.version) {
        // First the membership, then the compaction: a crash between them
        // leaves a base membership no older than the log's.
        ready_.writes.push_back(SetMembership{at.version, at.encode()});
        base_membership_ = std::move(at);
    }
    log_configs_.erase(log_configs_.begin(), log_configs_.upper_bound(base));
}

bool Core::config_uncommitted() const {
    if (!log_configs_.empty() && log_configs_.rbegin()->first > committed_) return true;
    for (const Txn& txn : pending_txns_) {
        if (txn.type == kConfigTxnType) return true;
    }
    return false;
}

size_t Core::reachable_voters(const Membership& m, std::vector<ServerId>* away) const {
    size_t reachable = 0;
    for (const auto& [id, address] : m.voters) {
        bool in_touch = id == config_.id;
        if (auto it = followers_.find(id); it != followers_.end()) {
            const FollowerState& f = it->second;
            in_touch = f.synced && f.acked_new_leader &&
                       now_tick_ - f.last_heard_tick <= config_.election_timeout_ticks;
        }
        if (in_touch) {
            ++reachable;
        } else {
            away->push_back(id);
        }
    }
    return reachable;
}

size_t Core::removed_self_count() const {
    if (!mutated(config_, Mutation::kRemovedStillVotes)) return 0;
    const std::vector<ServerId>& first = config_.members;
    const bool was_voter = std::find(first.begin(), first.end(), config_.id) != first.end();
    return was_voter ? 1 : 0;
}

bool Core::campaigns() const {
    if (self_count() == 1) return true;  // a voter (or removed-still-votes)
    // Taken out by an uncommitted CONFIG, it may hold the newest history,
    // which only it can bring to a quorum: it campaigns (without counting
    // itself), commits that CONFIG as leader, then steps down. Otherwise
    // the voters could elect, again and again, a leader that discovery then
    // finds behind it (seed 132 of --observers 2 --reconfig).
    if (log_configs_.empty() || log_configs_.rbegin()->first <= committed_) return false;
    auto last = std::prev(log_configs_.end());
    const Membership& before =
        last == log_configs_.begin() ? base_membership_ : std::prev(last)->second;
    return before.is_voter(config_.id);
}

void Core::step_down_if_not_voter() {
    if (role_ != Role::kLeading || phase_ != Phase::kBroadcast || voter(config_.id) ||
        config_uncommitted())
        return;
    enter_looking("this server is no longer a voter (membership " + membership_.version.str() +
                  ", committed)");
}

Status Core::reconfigure(uint64_t request_id, Membership next) {
    if (role_ == Role::kFollowing && serving()) {
        if (holding_requests()) {
            return Status(Code::kNotLeader, "the leader is handing over; retry shortly");
        }
        // The leader checks and proposes it; a refusal comes back as a
        // ForwardRefused, a success as the CONFIG's commit.
        pb::PeerMessage m;
        auto* f = m.mutable_forward();
        f->set_epoch(epoch_);
        f->set_request_id(request_id);
        f->set_type(kConfigTxnType);
        f->set_data(next.encode());
        to_pb(next.version, f->mutable_config_base());
        send(leader_, std::move(m));
        return Status::ok();
    }
    if (Status s = check_reconfigure(next); !s.is_ok()) return s;
    accept_reconfigure(config_.id, request_id, next);
    return Status::ok();
}

Status Core::check_reconfigure(const Membership& next) const {
    if (role_ != Role::kLeading || phase_ != Phase::kBroadcast) {
        return Status(Code::kNotLeader,
                      "only a serving leader changes the membership (R4: once its epoch is "
                      "established); retry shortly");
    }
    if (transfer_) {
        return Status(Code::kBusy, "leadership is being handed over; retry once a leader serves");
    }
    if (config_uncommitted() && !mutated(config_, Mutation::kConfigTwoAtOnce)) {
        return Status(Code::kBusy,
                      "a membership change is still in flight: one at a time (R3); retry once "
                      "it has committed");
    }
    // Built from the membership in force here, or from one a change has
    // replaced since: applied now, a whole membership built on an older one
    // would undo that change (the seventh review).
    if (next.version != membership_.version) {
        return Status(Code::kBusy, "the membership changed (to " + membership_.version.str() +
                                       ") since this change was built from " + next.version.str() +
                                       ": build it again from the current one");
    }
    if (Status s = check_change(membership_, next);
        !s.is_ok() && !mutated(config_, Mutation::kConfigTwoVoters)) {
        return s;
    }
    // Every server must be able to read it back (an address that is not
    // text would make a CONFIG that does not decode), and it must fit a
    // request's limit like any other transaction.
    const std::string encoded = next.encode();
    if (Result<Membership> back = Membership::decode(Zxid{}, encoded); !back.is_ok()) {
        return Status::invalid_argument("the membership cannot be stored: " +
                                        back.status().message());
    }
    if (encoded.size() > config_.max_request_bytes) {
        return Status::invalid_argument("a membership of " + std::to_string(encoded.size()) +
                                        " bytes is over the request limit of " +
                                        std::to_string(config_.max_request_bytes));
    }
    if (!next.is_voter(config_.id)) {
        return Status::invalid_argument(
            "the change would remove the leader (server " + std::to_string(config_.id) +
            ") from the voters: transfer leadership first, then remove it (R7)");
    }
    // R8: a voter added must already follow, caught up, so that no quorum
    // waits for a server still loading its state.
    if (config_.promote_max_lag_txns != 0) {
        for (const auto& [id, address] : next.voters) {
            if (membership_.is_voter(id)) continue;
            auto it = followers_.find(id);
            const bool in_touch =
                it != followers_.end() && it->second.synced && it->second.acked_new_leader &&
                now_tick_ - it->second.last_heard_tick <= config_.election_timeout_ticks;
            if (!in_touch) {
                return Status(Code::kBusy,
                              "server " + std::to_string(id) +
                                  " does not follow this leader yet: add it as an observer "
                                  "first, and promote it once it has caught up (R8)");
            }
            // It acknowledged NEWLEADER, so it holds our initial history:
            // what it lacks is of this epoch, whose counters start at 1.
            const Zxid acked = it->second.acked;
            const Zxid last = last_zxid();
            const uint64_t behind = acked >= last               ? 0
                                    : acked.epoch == last.epoch ? last.counter - acked.counter
                                                                : last.counter;
            if (behind > config_.promote_max_lag_txns) {
                return Status(Code::kBusy,
                              "server " + std::to_string(id) + " has acknowledged up to " +
                                  acked.str() + ", " + std::to_string(behind) +
                                  " transactions behind this leader's " + last.str() +
                                  " (at most " + std::to_string(config_.promote_max_lag_txns) +
                                  " for a promotion, R8); retry once it has caught up");
            }
        }
    }
    // A change that could not commit would stop the ensemble until its
    // voters came back: refused while they make no quorum of it.
    std::vector<ServerId> away;
    if (reachable_voters(next, &away) < next.quorum()) {
        std::string ids;
        for (ServerId id : away) ids += (ids.empty() ? "" : ",") + std::to_string(id);
        return Status(Code::kBusy,
                      "the new voters this leader is in touch with make no quorum of them (not "
                      "synced or not heard from: " +
                          ids + "); retry once they have caught up");
    }
    if (pending_txns_.size() >= config_.max_pending_requests) {
        return Status(Code::kBusy, "too many requests are waiting for a proposal");
    }
    return Status::ok();
}

void Core::accept_reconfigure(ServerId origin, uint64_t request_id, const Membership& next) {
    Txn txn;
    txn.type = kConfigTxnType;
    txn.data = next.encode();
    txn.origin = origin;
    txn.request_id = request_id;
    pending_txns_.push_back(std::move(txn));
}

}  // namespace chorus::zab
