// The leader: discovery, synchronisation and broadcast.
//
// Discovery (Zab 3.2, phase 1): collect FOLLOWERINFO(acceptedEpoch) from a
// quorum of voting servers, pick e above all of them, make acceptedEpoch = e
// durable and only then send NEWEPOCH(e) (after_persist: a leader that
// crashed with NEWEPOCH out but e not on its disk could pick e again, and
// the follower that accepted it would count for two leaders of one epoch);
// collect ACKEPOCH(currentEpoch, lastZxid) from a quorum of followers that
// accepted e anew (one that had accepted e before may have promised it to
// another leader: it is synced but not counted). If any of them has a more
// recent history than ours, we are not fit to lead: step down.
//
// Synchronisation (phase 2): make currentEpoch = e durable, bring each
// follower to our history (TRUNC and/or DIFF, or SNAP when it is behind our
// retained log), then NEWLEADER. Once a quorum (us included, durably) has
// acknowledged NEWLEADER our whole history is committed: UPTODATE.
//
// Broadcast (phase 3): requests waiting at one moment become one PROPOSAL
// batch and one write; up to max_inflight_proposals batches are in flight.
// A zxid commits once a quorum has it durable; COMMITs go out in zxid order.
#include <algorithm>

#include "zab/core/core.h"
#include "zab/core/mutation.h"
#include "zab/core/validate.h"
#include "zab/core/wire.h"

namespace chorus::zab {

bool Core::counts_for_quorum(const FollowerState& follower) const {
    return follower.voting || follower.acked_new_leader;
}

// An acknowledgement made in an earlier sync attempt of `from` (see
// FollowerInfo.attempt in zab.proto): true, and dropped, unless it is of the
// attempt we are syncing.
bool Core::stale_attempt(ServerId from, const FollowerState& f, uint64_t attempt) {
    if (attempt == f.attempt || mutated(config_, Mutation::kAckOfEarlierAttemptCounts))
        return false;
    drop(from, "an acknowledgement from an earlier sync attempt");
    return true;
}

bool Core::counted(ServerId peer) const {
    return voter(peer) || mutated(config_, Mutation::kObserverCounts);
}

void Core::become_leader() {
    handed_vote_ = pb::Vote{};  // its election is over
    followers_.clear();
    phase_ = Phase::kDiscovery;
    epoch_ = 0;
    self_new_leader_durable_ = false;
    set_role(Role::kLeading, config_.id);
    maybe_choose_epoch();  // a one-server ensemble needs nobody else
}

void Core::on_follower_info(ServerId from, const pb::FollowerInfo& info) {
    auto it = followers_.find(from);
    if (it != followers_.end() && (it->second.acked_epoch || it->second.attempt != info.attempt()))
        followers_.erase(it);  // starting over
    max_accepted_seen_ = std::max(max_accepted_seen_, info.accepted_epoch());
    if (phase_ != Phase::kDiscovery && info.accepted_epoch() > epoch_) {
        // It promised an epoch above ours to a leader that never got going,
        // and cannot follow us. Elect again: the next leader picks an epoch
        // above every one it has heard of (max_accepted_seen_). A server
        // that does not vote too: it would refuse our NEWEPOCH, look again,
        // find us again, for ever — and never be synced (the review of issue
        // 13: in five servers, two failures then stopped the ensemble).
        enter_looking("server " + std::to_string(from) + " has accepted epoch " +
                      std::to_string(info.accepted_epoch()) + ", above ours");
        return;
    }
    FollowerState& f = followers_[from];
    f.attempt = info.attempt();
    f.voting = info.voting();
    f.accepted_epoch = info.accepted_epoch();
    f.last_heard_tick = now_tick_;
    if (phase_ == Phase::kDiscovery) {
        maybe_choose_epoch();
    } else {
        // Again if sent before: it asks anew, so the last one (or its
        // answer) may have been lost.
        send_new_epoch(from, f);
    }
}

void Core::send_new_epoch(ServerId peer, FollowerState& f) {
    pb::PeerMessage m;
    m.mutable_new_epoch()->set_epoch(epoch_);
    // Behind our own SetAcceptedEpoch: it must be durable first (a later
    // Ready's after_persist waits for the earlier writes too).
    if (mutated(config_, Mutation::kNewEpochBeforeDurable)) {
        send(peer, std::move(m));
    } else {
        send_after_persist(peer, std::move(m));
    }
    f.sent_new_epoch = true;
}

void Core::maybe_choose_epoch() {
    if (phase_ != Phase::kDiscovery) return;
    size_t count = self_count();
    uint64_t highest = std::max(accepted_epoch_, max_accepted_seen_);
    for (const auto& [peer, f] : followers_) {
        if (!f.voting) continue;
        if (counted(peer)) ++count;
        highest = std::max(highest, f.accepted_epoch);
    }
    if (count < membership_.quorum()) return;
    // Every input was checked against kMaxPlausible (validate.h, and the
    // disk's values at start): no wrap to 0.
    CHORUS_ASSERT(highest + 1 < kMaxPlausible, "an impossible epoch got through the checks");
    epoch_ = highest + 1;
    if (mutated(config_, Mutation::kEpochNotAboveAccepted)) epoch_ = std::max<uint64_t>(highest, 1);
    accepted_epoch_ = epoch_;
    ready_.writes.push_back(SetAcceptedEpoch{epoch_});
    phase_ = Phase::kAckEpoch;
    ready_.role_change = RoleChange{Role::kLeading, config_.id, epoch_, ""};
    for (auto& [peer, f] : followers_) send_new_epoch(peer, f);
    maybe_start_sync();
}

void Core::on_ack_epoch(ServerId from, const pb::AckEpoch& ack) {
    auto it = followers_.find(from);
    if (it == followers_.end() || ack.epoch() != epoch_ || it->second.acked_epoch) return;
    if (stale_attempt(from, it->second, ack.attempt())) return;
    FollowerState& f = it->second;
    f.last_heard_tick = now_tick_;
    if (phase_ == Phase::kAckEpoch && f.voting && counted(from)) {
        // Our history must be at least as recent as that of every member of
        // the quorum that makes this epoch; otherwise a committed write
        // could be missing from it.
        const auto theirs = std::tuple(ack.current_epoch(), from_pb(ack.last_zxid()));
        const auto ours = std::tuple(current_epoch_, last_zxid());
        if (theirs > ours) {
            enter_looking("server " + std::to_string(from) + " holds a more recent history (" +
                          from_pb(ack.last_zxid()).str() + ")");
            return;
        }
    }
    f.acked_epoch = true;
    f.epoch_counted = ack.newly_accepted() || mutated(config_, Mutation::kCountEqualAckEpoch);
    // Used only to choose the sync below.
    f.acked = from_pb(ack.last_zxid());
    f.log_base = from_pb(ack.log_base());
    f.epoch_ends.clear();
    for (const pb::Zxid& end : ack.epoch_ends()) f.epoch_ends.push_back(from_pb(end));
    f.epoch_ends_complete = ack.epoch_ends_complete();
    if (phase_ == Phase::kAckEpoch) {
        maybe_start_sync();
    } else {
        sync_follower(from, f);
    }
}

void Core::maybe_start_sync() {
    if (phase_ != Phase::kAckEpoch) return;
    size_t count = self_count();
    for (const auto& [peer, f] : followers_) {
        if (f.voting && f.acked_epoch && f.epoch_counted && counted(peer)) ++count;
    }
    if (count < membership_.quorum()) return;
    epoch_quorum_.clear();
    for (const auto& [peer, f] : followers_) {
        if (f.voting && f.acked_epoch && f.epoch_counted && counted(peer))
            epoch_quorum_.push_back(peer);
    }
    phase_ = Phase::kSync;
    initial_history_last_ = last_zxid();
    if (current_epoch_ == 0) ready_makes_voting_ = true;
    current_epoch_ = epoch_;
    ready_.writes.push_back(SetCurrentEpoch{epoch_});
    ready_new_leader_epoch_ = epoch_;
    for (auto& [peer, f] : followers_) {
        if (f.acked_epoch) sync_follower(peer, f);
    }
    maybe_establish();
}

std::optional<Zxid> Core::held_at_or_below(Zxid zxid) const {
    if (zxid < log_base_) return std::nullopt;
    const size_t at = index_after(zxid);
    return at == 0 ? log_base_ : log_[at - 1].zxid;
}

std::optional<Zxid> Core::common_point(const FollowerState& f) const {
    // An epoch has one leader (discovery makes sure), so a zxid names one
    // transaction everywhere, and two logs holding entries of epoch E agree
    // on everything up to the shorter one's last entry of E. Walk the
    // follower's epochs from the newest: the first one we hold entries of
    // is where the histories part.
    const Zxid theirs = f.acked;
    if (theirs == last_zxid()) return theirs;
    for (auto it = f.epoch_ends.rbegin(); it != f.epoch_ends.rend(); ++it) {
        const std::optional<Zxid> ours = held_at_or_below(Zxid{it->epoch, UINT64_MAX});
        if (!ours) return std::nullopt;          // that far back we hold only a snapshot
        if (ours->epoch != it->epoch) continue;  // none of that epoch here: theirs goes
        const Zxid common = std::min(*it, *ours);
        // Below our log (compacted), or below what they have compacted
        // (committed there, so we should hold it): only a snapshot helps.
        if (common < log_base_ || common < f.log_base) return std::nullopt;
        return common;
    }
    if (!f.epoch_ends_complete) return std::nullopt;
    // Nothing after their base is ours. Their base is committed, so ours
    // holds it — unless we compacted it away.
    const std::optional<Zxid> base = held_at_or_below(f.log_base);
    if (base && *base == f.log_base) return f.log_base;
    return std::nullopt;
}

void Core::sync_follower(ServerId peer, FollowerState& f) {
    const Zxid theirs = f.acked;  // their lastZxid from ACKEPOCH
    const std::optional<Zxid> common = common_point(f);
    Zxid diff_from;
    if (!common) {
        // Behind what we keep, or parted from us where we keep no log: send
        // the snapshot, then everything after it. (The driver fills in the
        // data of our snapshot at snapshot_zxid_.)
        pb::PeerMessage m;
        m.mutable_snap()->set_epoch(epoch_);
        to_pb(snapshot_zxid_, m.mutable_snap()->mutable_zxid());
        if (const Membership at = membership_at(snapshot_zxid_); !at.version.is_zero()) {
            m.mutable_snap()->set_membership(at.encode());
            to_pb(at.version, m.mutable_snap()->mutable_membership_version());
        }
        send(peer, std::move(m));
        diff_from = snapshot_zxid_;
    } else {
        if (*common != theirs && !mutated(config_, Mutation::kSkipTrunc)) {
            pb::PeerMessage m;
            m.mutable_trunc()->set_epoch(epoch_);
            to_pb(*common, m.mutable_trunc()->mutable_to());
            send(peer, std::move(m));
        }
        diff_from = *common;
    }
    // DIFF: everything after diff_from, a chunk per Ready (continue_diff),
    // so that a follower far behind does not hold this thread (and the
    // heartbeats of everyone else) for as long as its whole history takes
    // to copy. Proposals made meanwhile reach it through the DIFF too.
    f.synced = false;
    f.diffing = true;
    f.diff_sent = diff_from;
    f.diff_acked = Zxid{};
    f.diff_chunk_ends.clear();
    f.acked = Zxid{};
    continue_diff(peer, f);
}

bool Core::may_send_diff(const FollowerState& f) const {
    // The follower acknowledges each chunk once durable: at most
    // kDiffChunksInFlight unacknowledged, so a follower that writes slower
    // than we copy does not pile the DIFF up in our send queue.
    size_t in_flight = 0;
    for (Zxid end : f.diff_chunk_ends) in_flight += end > f.diff_acked ? 1 : 0;
    return in_flight < kDiffChunksInFlight;
}

void Core::continue_diff(ServerId peer, FollowerState& f) {
    if (f.diff_sent < log_base_) {
        // A compaction overtook the DIFF (snapshot_saved() should never let
        // it): start over, from the snapshot.
        ++stats_.diff_restarts;
        f.acked = f.diff_sent;
        f.epoch_ends.clear();
        f.epoch_ends_complete = false;
        sync_follower(peer, f);
        return;
    }
    while (!f.diff_chunk_ends.empty() && f.diff_chunk_ends.front() <= f.diff_acked)
        f.diff_chunk_ends.pop_front();
    if (!may_send_diff(f)) return;  // on an ACK
    pb::PeerMessage diff;
    to_pb(f.diff_sent, diff.mutable_diff()->mutable_prev());
    size_t bytes = 0;
    for (size_t i = index_after(f.diff_sent); i < log_.size(); ++i) {
        if (bytes > 0 && bytes >= config_.max_sync_chunk_bytes) break;
        to_pb(log_[i], diff.mutable_diff()->add_txns());
        bytes += log_[i].data.size() + 32;
        f.diff_sent = log_[i].zxid;
    }
    if (diff.diff().txns_size() > 0) {
        diff.mutable_diff()->set_epoch(epoch_);
        send(peer, std::move(diff));
        f.diff_chunk_ends.push_back(f.diff_sent);
    }
    if (f.diff_sent != last_zxid()) return;  // more next time
    const Zxid ours = last_zxid();
    pb::PeerMessage m;
    m.mutable_new_leader()->set_epoch(epoch_);
    to_pb(ours, m.mutable_new_leader()->mutable_last_zxid());
    send(peer, std::move(m));
    f.diffing = false;
    f.synced = true;
    f.new_leader_zxid = ours;
}

void Core::continue_diffs() {
    for (auto& [peer, f] : followers_) {
        if (f.diffing) continue_diff(peer, f);
    }
}

bool Core::diffs_pending() const {
    if (role_ != Role::kLeading) return false;
    for (const auto& [peer, f] : followers_) {
        if (f.diffing && may_send_diff(f)) return true;
    }
    return false;
}

void Core::on_ack_new_leader(ServerId from, const pb::AckNewLeader& ack) {
    auto it = followers_.find(from);
    if (it == followers_.end() || ack.epoch() != epoch_ || !it->second.synced) return;
    if (stale_attempt(from, it->second, ack.attempt())) return;
    FollowerState& f = it->second;
    f.last_heard_tick = now_tick_;
    f.acked_new_leader = true;
    f.acked = std::max(f.acked, f.new_leader_zxid);
    if (phase_ == Phase::kBroadcast) {
        pb::PeerMessage m;
        m.mutable_up_to_date()->set_epoch(epoch_);
        to_pb(committed_, m.mutable_up_to_date()->mutable_committed());
        send(from, std::move(m));
        // Serving from now: it must hold its requests too.
        if (transfer_) send_handover(from, f);
        advance_commit();
    } else {
        maybe_establish();
    }
}

void Core::maybe_establish() {
    if (phase_ != Phase::kSync || !self_new_leader_durable_) return;
    size_t count = self_count();
    for (const auto& [peer, f] : followers_) {
        if (f.acked_new_leader && counted(peer)) ++count;
    }
    if (count < membership_.quorum()) return;
    // A quorum holds our history durably: all of it is committed.
    phase_ = Phase::kBroadcast;
    committed_ = std::max(committed_, initial_history_last_);
    next_counter_ = 1;
    ready_.role_change = RoleChange{Role::kLeading, config_.id, epoch_, ""};
    for (const auto& [peer, f] : followers_) {
        if (!f.acked_new_leader) continue;
        pb::PeerMessage m;
        m.mutable_up_to_date()->set_epoch(epoch_);
        to_pb(committed_, m.mutable_up_to_date()->mutable_committed());
        send(peer, std::move(m));
    }
    deliver();
    step_down_if_not_voter();
}

void Core::on_ack(ServerId from, const pb::Ack& ack) {
    auto it = followers_.find(from);
    if (it == followers_.end() || ack.epoch() != epoch_) return;
    if (stale_attempt(from, it->second, ack.attempt())) return;
    if (from_pb(ack.zxid()) > last_zxid()) {
        drop(from, "an ACK of a zxid this leader never proposed");
        return;
    }
    if (it->second.diffing) {
        // A DIFF chunk is durable there: room for the next one (it counts
        // for nothing else until NEWLEADER is acknowledged).
        it->second.last_heard_tick = now_tick_;
        it->second.diff_acked = std::max(it->second.diff_acked, from_pb(ack.zxid()));
        if (mutated(config_, Mutation::kCommitOldEpochByCount)) commit_by_count_in_sync();
        return;
    }
    if (!it->second.synced) return;
    it->second.last_heard_tick = now_tick_;
    it->second.acked = std::max(it->second.acked, from_pb(ack.zxid()));
    advance_commit();
}

void Core::commit_by_count_in_sync() {
    // The planted bug kCommitOldEpochByCount: the initial history counted as
    // committed once a quorum holds it, before NEWLEADER makes its epoch.
    if (phase_ != Phase::kSync) return;
    std::vector<Zxid> held = {durable_};
    for (const auto& [peer, f] : followers_) {
        if (f.acked_epoch && counted(peer)) held.push_back(std::max(f.diff_acked, f.acked));
    }
    if (held.size() < membership_.quorum()) return;
    std::sort(held.begin(), held.end(), std::greater<>());
    const Zxid candidate = std::min(held[membership_.quorum() - 1], initial_history_last_);
    if (candidate > committed_) {
        committed_ = candidate;
        deliver();
    }
}

void Core::advance_commit() {
    if (phase_ != Phase::kBroadcast) return;
    // The highest zxid durable on a quorum: sort what each holds, take the
    // quorum-th highest.
    std::vector<Zxid> held;
    if (self_count() > 0) held.push_back(durable_);
    for (const auto& [peer, f] : followers_) {
        if (f.acked_new_leader && counted(peer)) held.push_back(f.acked);
    }
    const size_t quorum =
        mutated(config_, Mutation::kCommitOnMinority) ? size_t{1} : membership_.quorum();
    if (held.size() < quorum) return;
    std::sort(held.begin(), held.end(), std::greater<>());
    Zxid candidate = std::min(held[quorum - 1], last_zxid());
    if (mutated(config_, Mutation::kCommitOnMinority)) candidate = last_zxid();
    if (candidate <= committed_ || candidate.epoch != epoch_) return;
    committed_ = candidate;
    while (!inflight_batches_.empty() && inflight_batches_.front() <= committed_) {
        inflight_batches_.pop_front();
    }
    for (const auto& [peer, f] : followers_) {
        if (!f.synced) continue;
        send_commit(peer, committed_);
    }
    deliver();
    step_down_if_not_voter();
}

void Core::accept_request(ServerId origin, Request request) {
    std::optional<Txn> txn = preprocessor_.preprocess(request);
    if (!txn) {
        if (origin == config_.id) {
            ready_.completions.push_back(
                Completion{request.id, Completion::Outcome::kAbsorbed, Zxid{}});
        } else {
            pb::PeerMessage m;
            m.mutable_forward_absorbed()->set_epoch(epoch_);
            m.mutable_forward_absorbed()->set_request_id(request.id);
            send(origin, std::move(m));
        }
        return;
    }
    CHORUS_ASSERT(txn->type != kConfigTxnType,
                  "the application's preprocess returned the core's reserved CONFIG type");
    txn->origin = origin;
    txn->request_id = request.id;
    pending_txns_.push_back(std::move(*txn));
}

void Core::propose_batches() {
    while (proposals_possible()) {
        std::vector<Txn> batch;
        size_t bytes = 0;
        while (!pending_txns_.empty() && batch.size() < config_.max_batch_txns &&
               (batch.empty() ||
                bytes + pending_txns_.front().data.size() <= config_.max_batch_bytes)) {
            Txn txn = std::move(pending_txns_.front());
            pending_txns_.pop_front();
            txn.zxid = Zxid{epoch_, next_counter_++};
            if (txn.origin != config_.id) {
                auto origin = followers_.find(txn.origin);
                if (origin != followers_.end()) origin->second.last_origin_zxid = txn.zxid;
            }
            bytes += txn.data.size();
            batch.push_back(std::move(txn));
        }
        inflight_batches_.push_back(batch.back().zxid);
        for (const auto& [peer, f] : followers_) {
            if (!f.synced) continue;
            pb::PeerMessage m;
            m.mutable_proposal()->set_epoch(epoch_);
            to_pb(last_zxid(), m.mutable_proposal()->mutable_prev());
            for (const Txn& txn : batch) to_pb(txn, m.mutable_proposal()->add_txns());
            send(peer, std::move(m));
        }
        append_local(std::move(batch));
    }
}

void Core::on_forward(ServerId from, const pb::Forward& forward) {
    if (phase_ != Phase::kBroadcast || forward.epoch() != epoch_) return;
    // A membership change is answered, also when refused (over the size
    // limit too: check_reconfigure).
    if (forward.type() == kConfigTxnType) return on_forwarded_reconfigure(from, forward);
    // Dropped: the follower's client times out and retries.
    if (pending_txns_.size() >= config_.max_pending_requests) return;
    if (forward.data().size() > config_.max_request_bytes) return;
    accept_request(from, Request{forward.request_id(), forward.type(), forward.data()});
}

void Core::on_forwarded_reconfigure(ServerId from, const pb::Forward& forward) {
    // Judged as a change built on the follower's membership (config_base).
    Result<Membership> next = Membership::decode(from_pb(forward.config_base()), forward.data());
    Status s = next.is_ok() ? check_reconfigure(next.value())
                            : Status::invalid_argument(next.status().message());
    if (s.is_ok()) return accept_reconfigure(from, forward.request_id(), next.value());
    pb::PeerMessage m;
    auto* r = m.mutable_forward_refused();
    r->set_epoch(epoch_);
    r->set_request_id(forward.request_id());
    r->set_code(static_cast<uint32_t>(s.code()));
    r->set_message(s.message());
    send(from, std::move(m));
}

void Core::on_sync_request(ServerId from, const pb::SyncRequest& request) {
    if (phase_ != Phase::kBroadcast || request.epoch() != epoch_) return;
    barriers_.push_back(Barrier{from, request.id(), last_zxid(), ping_seq_ + 1});
    send_pings();
}

void Core::send_pings() {
    ++ping_seq_;
    last_ping_tick_ = now_tick_;
    for (const auto& [peer, f] : followers_) {
        if (!f.sent_new_epoch) continue;
        pb::PeerMessage m;
        m.mutable_ping()->set_epoch(epoch_);
        m.mutable_ping()->set_seq(ping_seq_);
        to_pb(phase_ == Phase::kBroadcast ? committed_ : Zxid{},
              m.mutable_ping()->mutable_committed());
        to_pb(last_zxid(), m.mutable_ping()->mutable_last());
        send(peer, std::move(m));
    }
    check_barriers();  // a one-server ensemble confirms itself
}

void Core::on_ping_ack(ServerId from, const pb::PingAck& ack) {
    auto it = followers_.find(from);
    if (it == followers_.end() || ack.epoch() != epoch_) return;
    if (stale_attempt(from, it->second, ack.attempt())) return;
    FollowerState& f = it->second;
    f.last_heard_tick = now_tick_;
    f.ping_acked = std::max(f.ping_acked, ack.seq());
    // The answer left once the follower's log was durable up to ack.zxid:
    // a cumulative ACK (answers sent before NEWLEADER arrive before its ACK,
    // so only a follower that acknowledged NEWLEADER holds our history).
    const Zxid zxid = from_pb(ack.zxid());
    if (f.acked_new_leader && zxid <= last_zxid() && zxid > f.acked) {
        f.acked = zxid;
        advance_commit();
    }
    check_barriers();
}

void Core::check_barriers() {
    if (barriers_.empty()) return;
    auto confirmed = [&](const Barrier& b) {
        if (mutated(config_, Mutation::kSyncWithoutQuorum)) return true;
        size_t count = self_count();
        for (const auto& [peer, f] : followers_) {
            if (f.acked_new_leader && f.ping_acked >= b.seq && counted(peer)) ++count;
        }
        return count >= membership_.quorum();
    };
    for (const Barrier& b : barriers_) {
        if (!confirmed(b)) continue;
        if (b.origin == config_.id) {
            waiting_syncs_.push_back(Waiting{b.id, b.zxid});
        } else {
            pb::PeerMessage m;
            m.mutable_sync_reply()->set_epoch(epoch_);
            m.mutable_sync_reply()->set_id(b.id);
            to_pb(b.zxid, m.mutable_sync_reply()->mutable_zxid());
            send(b.origin, std::move(m));
        }
    }
    std::erase_if(barriers_, confirmed);
    complete_waiting_syncs();
}

void Core::leader_tick() {
    if (own_disk_overdue() && !mutated(config_, Mutation::kLeaderIgnoresStuckDisk)) {
        // We cannot make anything durable, so we cannot commit; our
        // followers would wait for us as long as the disk is stuck.
        ++stats_.disk_step_downs;
        enter_looking("this server's disk has not finished a write in " +
                      std::to_string(now_tick_ - pending_writes_.front().issued_tick) + " ticks");
        return;
    }
    if ((phase_ == Phase::kDiscovery || phase_ == Phase::kAckEpoch) &&
        now_tick_ - role_start_tick_ > 2 * uint64_t{config_.election_timeout_ticks}) {
        // No quorum took up a new epoch with us in time (followers that had
        // accepted our epoch before do not count: they may be stuck that way).
        enter_looking("no quorum took up a new epoch in time");
        return;
    }
    if (phase_ != Phase::kDiscovery &&
        now_tick_ - last_ping_tick_ >= config_.heartbeat_interval_ticks) {
        send_pings();
    }
    transfer_tick();
    // Step down unless a quorum has been heard from within the timeout: a
    // leader cut off from its quorum must stop acting as one.
    size_t alive = self_count();
    for (const auto& [peer, f] : followers_) {
        if (counts_for_quorum(f) && counted(peer) &&
            now_tick_ - f.last_heard_tick <= config_.election_timeout_ticks) {
            ++alive;
        }
    }
    if (alive < membership_.quorum() &&
        now_tick_ - role_start_tick_ > config_.election_timeout_ticks &&
        !mutated(config_, Mutation::kLeaderNeverStepsDown)) {
        enter_looking("lost touch with a quorum");
    }
}

}  // namespace chorus::zab
