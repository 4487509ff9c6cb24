// Core: construction, the driver-facing calls, writes and delivery.
// Election, leader and follower behaviour live in election.cc, leader.cc and
// follower.cc.
#include "zab/core/core.h"

#include <algorithm>

#include "zab/core/mutation.h"
#include "zab/core/validate.h"
#include "zab/core/wire.h"

namespace chorus::zab {

const char* role_name(Role role) {
    switch (role) {
        case Role::kLooking:
            return "looking";
        case Role::kFollowing:
            return "following";
        case Role::kLeading:
            return "leading";
    }
    return "?";
}

Core::Core(Config config, DurableState durable, Preprocessor& preprocessor)
    : config_(std::move(config)), preprocessor_(preprocessor) {
    CHORUS_ASSERT(config_.election_timeout_ticks >= 2, "election timeout too short");
    const bool membership_stored = durable.membership.has_value();
    base_membership_ = membership_stored ? std::move(*durable.membership) : bootstrap_membership();
    CHORUS_ASSERT(check_servers(base_membership_).is_ok(), "the base membership is impossible");
    membership_ = base_membership_;
    accepted_epoch_ = durable.accepted_epoch;
    current_epoch_ = durable.current_epoch;
    snapshot_zxid_ = durable.snapshot_zxid;
    log_base_ = durable.log_base;
    note_configs(durable.log);  // (says which membership, if a CONFIG made it)
    known_servers_ = bootstrap_universe();
    refresh_membership();  // (adds the servers of base_membership_ and the log's CONFIGs)
    // A server outside a membership it learned (removed, then restarted)
    // goes on as one that does not vote; the bootstrap one must name it.
    CHORUS_ASSERT(membership_stored || !log_configs_.empty() || membership_.contains(config_.id),
                  "a server must be one of the members or observers");
    for (Txn& txn : durable.log) log_.push_back(std::move(txn));
    CHORUS_ASSERT(log_base_ <= snapshot_zxid_, "the log must continue from the snapshot or before");
    CHORUS_ASSERT(last_zxid() >= snapshot_zxid_, "the log must reach the snapshot");
    CHORUS_ASSERT(accepted_epoch_ < kMaxPlausible && current_epoch_ <= accepted_epoch_ &&
                      last_zxid().epoch < kMaxPlausible && last_zxid().counter < kMaxPlausible,
                  "the durable epochs or zxids are impossible (storage should have refused them)");
    durable_ = last_zxid();
    committed_ = snapshot_zxid_;
    delivered_ = snapshot_zxid_;
    // A server that has acknowledged a NEWLEADER holds an established
    // history; anything less (even an acceptedEpoch, or a partial DIFF) does
    // not make an emptied disk trustworthy for voting.
    durable_current_epoch_ = current_epoch_;
    const bool has_history = current_epoch_ > 0;
    // A disk that learned it belongs to an existing ensemble (it heard of an
    // committed history while empty, then perhaps got half a sync before
    // a crash) is not bootstrapping, whatever the flag says.
    joined_ = durable.joined_ensemble;
    stats_.bootstrap_ignored = config_.bootstrap && !has_history && durable.joined_ensemble &&
                               !mutated(config_, Mutation::kEmptyDiskVotes);
    const bool bootstrapping = config_.bootstrap && !has_history && !stats_.bootstrap_ignored;
    // An empty disk with the flag may be a new ensemble's, or a wiped one
    // whose flag was left on: it waits to hear from every member (election.cc).
    // A disk that accepted an epoch while bootstrapping did so after that
    // wait (or marked itself joined first): an original member, it votes.
    // A disk marked original confirmed once already: the flag left on
    // must not make it wait, hear history and demote itself (the review of
    // the original-member mark: seed 132695's stall came back that way).
    bootstrap_unconfirmed_ = bootstrapping && accepted_epoch_ == 0 && last_zxid().is_zero() &&
                             bootstrap_universe().size() > 1 && !durable.original_member &&
                             !mutated(config_, Mutation::kEmptyDiskVotes);
    // And it stays one whether or not the flag is given again (operations.md
    // says to restart without it): such a disk — currentEpoch 0, no mark, an
    // epoch accepted or entries held — is made only by a server that voted
    // empty (confirmed, or an original member), since every other empty
    // server marks its disk before it accepts an epoch (become_follower).
    // (The fourth review of issue 13: restarted without the flag, an
    // original member did not vote, got marked as a joiner, and one disk
    // loss later the ensemble stalled for good.)
    const bool original_member =
        !has_history && !durable.joined_ensemble &&
        (accepted_epoch_ > 0 || !last_zxid().is_zero() || durable.original_member) &&
        !mutated(config_, Mutation::kOriginalMemberNeedsFlag);
    voting_ = has_history || original_member || (bootstrapping && !bootstrap_unconfirmed_) ||
              mutated(config_, Mutation::kEmptyDiskVotes) ||
              mutated(config_, Mutation::kBootstrapWithoutEveryone);  // the rule of 0de384e
    enter_looking("");
}

void Core::notice(std::string line) { ready_.notices.push_back(std::move(line)); }

void Core::drop(ServerId from, const char* why) {
    ++stats_.dropped_messages;
    const uint64_t n = ++drops_by_reason_[why];
    if ((n & (n - 1)) == 0) {  // 1, 2, 4, 8, ...
        notice("dropped " + std::string(why) + " from server " + std::to_string(from) + " (" +
               std::to_string(n) + (n == 1 ? " so far)" : " of this kind so far)"));
    }
}

bool Core::own_disk_overdue() const {
    return !pending_writes_.empty() &&
           now_tick_ - pending_writes_.front().issued_tick > config_.election_timeout_ticks;
}

bool Core::serving() const {
    return (role_ == Role::kLeading || role_ == Role::kFollowing) && phase_ == Phase::kBroadcast;
}

void Core::send(ServerId to, pb::PeerMessage message) {
    ready_.messages.push_back(Outgoing{to, std::move(message)});
}

void Core::send_after_persist(ServerId to, pb::PeerMessage message) {
    ready_.after_persist.push_back(Outgoing{to, std::move(message)});
}

namespace {

// The last message to `to` in `queue`, if any.
pb::PeerMessage* last_to(std::vector<Outgoing>& queue, ServerId to) {
    for (auto it = queue.rbegin(); it != queue.rend(); ++it) {
        if (it->to == to) return &it->message;
    }
    return nullptr;
}

}  // namespace

void Core::send_commit(ServerId to, Zxid zxid) {
    // Under load many ACKs arrive between two Readys, each advancing the
    // commit point: the follower needs only the last COMMIT of a run.
    pb::PeerMessage* last = last_to(ready_.messages, to);
    if (last && last->has_commit() && last->commit().epoch() == epoch_) {
        to_pb(zxid, last->mutable_commit()->mutable_zxid());
        return;
    }
    pb::PeerMessage m;
    m.mutable_commit()->set_epoch(epoch_);
    to_pb(zxid, m.mutable_commit()->mutable_zxid());
    send(to, std::move(m));
}

void Core::send_ack_after_persist(ServerId to, Zxid zxid) {
    // Proposals that arrive together are written together: one ACK of the
    // last covers them all.
    pb::PeerMessage* last = last_to(ready_.after_persist, to);
    if (last && last->has_ack() && last->ack().epoch() == epoch_ &&
        last->ack().attempt() == sync_attempt_) {
        to_pb(zxid, last->mutable_ack()->mutable_zxid());
        return;
    }
    pb::PeerMessage m;
    m.mutable_ack()->set_epoch(epoch_);
    m.mutable_ack()->set_attempt(sync_attempt_);
    to_pb(zxid, m.mutable_ack()->mutable_zxid());
    send_after_persist(to, std::move(m));
}

size_t Core::index_after(Zxid zxid) const {
    auto it = std::upper_bound(log_.begin(), log_.end(), zxid,
                               [](Zxid z, const Txn& t) { return z < t.zxid; });
    return static_cast<size_t>(it - log_.begin());
}

const Txn* Core::log_entry(Zxid zxid) const {
    const size_t at = index_after(zxid);
    if (at == 0 || log_[at - 1].zxid != zxid) return nullptr;
    return &log_[at - 1];
}

void Core::append_local(std::vector<Txn> txns) {
    if (txns.empty()) return;
    for (const Txn& txn : txns) {
        CHORUS_ASSERT(is_successor(last_zxid(), txn.zxid), "the log must stay contiguous");
        log_.push_back(txn);
    }
    note_configs(txns);  // R1: in force from now on
    if (!ready_.writes.empty()) {
        if (auto* append = std::get_if<AppendTxns>(&ready_.writes.back())) {
            for (Txn& txn : txns) append->txns.push_back(std::move(txn));
            return;
        }
    }
    ready_.writes.push_back(AppendTxns{std::move(txns)});
}

void Core::persisted(uint64_t write_id) {
    while (!pending_writes_.empty() && pending_writes_.front().id <= write_id) {
        const PendingWrite done = pending_writes_.front();
        pending_writes_.pop_front();
        durable_ = done.log_last;
        durable_current_epoch_ = done.current_epoch;
        if (done.makes_voting) voting_ = true;
        if (done.new_leader_epoch != 0 && role_ == Role::kLeading &&
            done.new_leader_epoch == epoch_) {
            self_new_leader_durable_ = true;
        }
    }
    if (durable_ > last_zxid()) durable_ = last_zxid();  // a later truncation is pending
    if (role_ == Role::kLeading) {
        maybe_establish();
        advance_commit();
    }
    deliver();
}

void Core::deliver() {
    // Followers deliver only once UPTODATE has told them the commit point:
    // what a sync brings is committed only once a quorum has acknowledged
    // NEWLEADER (a leader that fails before may be followed by one that
    // lacks it).
    if (role_ == Role::kFollowing && phase_ != Phase::kBroadcast) {
        if (!mutated(config_, Mutation::kDeliverBeforeUpToDate) || phase_ != Phase::kSync) return;
        committed_ = std::max(committed_, last_zxid());  // the planted bug
    }
    if (role_ == Role::kLooking) return;
    // A restore, or a snapshot due, ends this Ready's deliveries (the
    // snapshot must hold exactly what was delivered up to it): the next
    // take_ready() goes on.
    if (ready_.restore || ready_.snapshot_due) return;
    const Zxid limit = std::min(committed_, durable_);
    if (delivered_ >= limit) return;
    // Bounded per Ready (the rest waits for the next take_ready()), so a
    // follower catching up on a long history delivers it in slices and its
    // driver can yield between them.
    for (size_t i = index_after(delivered_); i < log_.size() && log_[i].zxid <= limit; ++i) {
        if (ready_.committed.size() >= kMaxDeliveriesPerReady ||
            ready_committed_bytes_ >= kMaxDeliveryBytesPerReady)
            break;
        const Txn& txn = log_[i];
        ready_committed_bytes_ += txn.data.size();
        ready_.committed.push_back(txn);
        if (txn.origin == config_.id && txn.request_id != 0) {
            ready_.completions.push_back(
                Completion{txn.request_id, Completion::Outcome::kCommitted, txn.zxid});
        }
        delivered_ = txn.zxid;
        ++delivered_since_snapshot_;
        delivered_bytes_since_snapshot_ += txn.data.size();
    }
    complete_waiting_syncs();
    const bool enough_txns =
        config_.snapshot_every_txns > 0 && delivered_since_snapshot_ >= config_.snapshot_every_txns;
    const bool enough_bytes = config_.snapshot_every_bytes > 0 &&
                              delivered_bytes_since_snapshot_ >= config_.snapshot_every_bytes;
    if (!snapshot_requested_ && (enough_txns || enough_bytes)) {
        snapshot_requested_ = true;
        ready_.snapshot_due = delivered_;
    }
}

bool Core::deliveries_waiting() const {
    if (role_ == Role::kLooking) return false;
    Zxid committed = committed_;
    if (role_ == Role::kFollowing && phase_ != Phase::kBroadcast) {
        if (!mutated(config_, Mutation::kDeliverBeforeUpToDate) || phase_ != Phase::kSync)
            return false;
        committed = last_zxid();
    }
    const Zxid limit = std::min(committed, durable_);
    if (delivered_ >= limit) return false;
    const size_t next = index_after(delivered_);
    return next < log_.size() && log_[next].zxid <= limit;
}

void Core::complete_waiting_syncs() {
    auto done = [&](const Waiting& w) { return w.zxid <= delivered_; };
    for (const Waiting& w : waiting_syncs_) {
        if (done(w)) ready_.syncs.push_back(SyncDone{w.id, delivered_});
    }
    std::erase_if(waiting_syncs_, done);
}

void Core::snapshot_saved(Zxid zxid) {
    snapshot_requested_ = false;
    delivered_since_snapshot_ = 0;
    delivered_bytes_since_snapshot_ = 0;
    if (zxid <= snapshot_zxid_) return;
    snapshot_zxid_ = zxid;
    // Compact below the snapshot, keeping a tail for DIFF sync — and never
    // past what a DIFF under way has still to send (it would have to start
    // over from a SNAP, and could again, and again, while writes go on).
    Zxid keep_after = zxid;
    if (role_ == Role::kLeading && !mutated(config_, Mutation::kCompactPastDiff)) {
        for (const auto& [peer, f] : followers_) {
            if (f.diffing) keep_after = std::min(keep_after, f.diff_sent);
        }
    }
    const size_t at = index_after(keep_after);  // entries [0, at) are <= keep_after
    if (at <= config_.log_tail_keep_txns) return;
    const size_t drop = at - config_.log_tail_keep_txns;
    const Zxid through = log_[drop - 1].zxid;
    log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(drop));
    log_base_ = through;
    move_membership_base(through);
    ready_.writes.push_back(CompactThrough{through});
}

void Core::set_role(Role role, ServerId leader, const std::string& reason) {
    role_ = role;
    leader_ = leader;
    role_start_tick_ = now_tick_;
    ready_.role_change = RoleChange{role, leader, epoch_, reason};
}

void Core::tick() {
    ++now_tick_;
    switch (role_) {
        case Role::kLooking:
            if (now_tick_ - last_vote_tick_ >= config_.vote_resend_ticks) broadcast_vote();
            break;
        case Role::kFollowing:
            follower_tick();
            break;
        case Role::kLeading:
            leader_tick();
            break;
    }
}

void Core::step(ServerId from, const pb::PeerMessage& message) {
    if (from == config_.id || (!known_servers_.count(from) && !stranger_heard(message))) {
        drop(from, "a message from a server that is not another member");
        return;
    }
    if (const char* why = implausible(message)) {
        drop(from, why);
        return;
    }
    using B = pb::PeerMessage::BodyCase;
    switch (message.body_case()) {
        case B::kVote:
            on_vote(from, message.vote());
            return;
        case B::kFollowerInfo:
            if (role_ == Role::kLeading) {
                on_follower_info(from, message.follower_info());
            } else if (role_ == Role::kFollowing && !deferring_as_target()) {
                // It thinks we lead; tell it whom we follow instead of leaving
                // it to time out. (Not while we defer a TAKE_OVER naming us:
                // we are about to look, and lead it; it asks again.)
                pb::PeerMessage m;
                *m.mutable_vote() = current_vote_message();
                send(from, std::move(m));
            }
            return;
        case B::kAckEpoch:
            if (role_ == Role::kLeading) on_ack_epoch(from, message.ack_epoch());
            return;
        case B::kAckNewLeader:
            if (role_ == Role::kLeading) on_ack_new_leader(from, message.ack_new_leader());
            return;
        case B::kAck:
            if (role_ == Role::kLeading) on_ack(from, message.ack());
            return;
        case B::kPingAck:
            if (role_ == Role::kLeading) on_ping_ack(from, message.ping_ack());
            return;
        case B::kForward:
            if (role_ == Role::kLeading) on_forward(from, message.forward());
            return;
        case B::kSyncRequest:
            if (role_ == Role::kLeading) on_sync_request(from, message.sync_request());
            return;
        case B::kTransferRequest:
            if (role_ == Role::kLeading) on_transfer_request(from, message.transfer_request());
            return;
        default:
            if (role_ == Role::kFollowing && from == leader_) on_leader_message(message);
            return;
    }
}

Status Core::submit(Request request) {
    if (request.data.size() > config_.max_request_bytes) {
        return Status::invalid_argument("a request of " + std::to_string(request.data.size()) +
                                        " bytes is over the limit of " +
                                        std::to_string(config_.max_request_bytes));
    }
    if (request.type == kConfigTxnType) {
        return Status::invalid_argument(
            "request type 0xFFFFFF01 is the core's own (membership changes go through "
            "reconfigure)");
    }
    if (!serving()) {
        return Status(Code::kNotLeader, "no leader is serving yet; retry shortly");
    }
    if (transfer_ || holding_requests()) {
        return Status(Code::kNotLeader, "leadership is being handed over; retry shortly");
    }
    if (role_ == Role::kLeading) {
        if (pending_txns_.size() >= config_.max_pending_requests) {
            return Status(Code::kBusy, "too many requests are waiting for a proposal");
        }
        accept_request(config_.id, std::move(request));
        return Status::ok();
    }
    pb::PeerMessage m;
    auto* f = m.mutable_forward();
    f->set_epoch(epoch_);
    f->set_request_id(request.id);
    f->set_type(request.type);
    f->set_data(std::move(request.data));
    send(leader_, std::move(m));
    return Status::ok();
}

Status Core::sync(uint64_t id) {
    if (!serving()) {
        return Status(Code::kNotLeader, "no leader is serving yet; retry shortly");
    }
    if (transfer_ || holding_requests()) {
        return Status(Code::kNotLeader, "leadership is being handed over; sync again shortly");
    }
    if (role_ == Role::kLeading) {
        barriers_.push_back(Barrier{config_.id, id, last_zxid(), ping_seq_ + 1});
        send_pings();
        return Status::ok();
    }
    pb::PeerMessage m;
    m.mutable_sync_request()->set_epoch(epoch_);
    m.mutable_sync_request()->set_id(id);
    send(leader_, std::move(m));
    return Status::ok();
}

void Core::heard_from(ServerId peer) {
    if (role_ == Role::kFollowing && peer == leader_) {
        last_heard_leader_tick_ = now_tick_;
        last_sync_progress_tick_ = now_tick_;  // a snapshot chunk
    } else if (role_ == Role::kLeading) {
        auto it = followers_.find(peer);
        if (it != followers_.end()) it->second.last_heard_tick = now_tick_;
    }
}

void Core::connected(ServerId peer) {
    if (role_ == Role::kLooking) {
        pb::PeerMessage m;
        *m.mutable_vote() = current_vote_message();
        send(peer, std::move(m));
    } else if (role_ == Role::kFollowing && peer == leader_ && phase_ == Phase::kDiscovery) {
        send(peer, follower_info_message());
    }
}

void Core::disconnected(ServerId peer) {
    if (role_ == Role::kFollowing && peer == leader_) {
        // After its TAKE_OVER we look once what is committed is delivered
        // (look_after_deferred_take_over): a stopping leader closes its
        // links soon after the handover, and the last of our own requests
        // may still wait for delivery (the ninth review).
        if (take_over_deferred_) return;
        enter_looking("the link to the leader broke");
    } else if (role_ == Role::kLeading) {
        followers_.erase(peer);
    }
}

void Core::shutdown() {
    if (role_ != Role::kLeading) return;
    for (const auto& [peer, follower] : followers_) {
        pb::PeerMessage m;
        m.mutable_goodbye()->set_epoch(epoch_);
        send(peer, std::move(m));
    }
}

bool Core::proposals_possible() const {
    // Also bounded by what our own disk has not caught up with: fast
    // followers can commit without us, but our write queue must not grow
    // without end.
    const uint64_t not_durable = last_zxid().epoch == durable_.epoch
                                     ? last_zxid().counter - durable_.counter
                                     : last_zxid().counter;
    return role_ == Role::kLeading && phase_ == Phase::kBroadcast && !pending_txns_.empty() &&
           inflight_batches_.size() < config_.max_inflight_proposals &&
           not_durable < uint64_t{config_.max_inflight_proposals} * config_.max_batch_txns;
}

Ready Core::take_ready() {
    if (role_ == Role::kLeading) {
        propose_batches();
        continue_diffs();
        if (handover_ready()) hand_over();
    }
    deliver();
    look_after_deferred_take_over();  // catches up on deliveries held back behind a restore
    if (!ready_.writes.empty() || !ready_.after_persist.empty()) {
        ready_.write_id = ++next_write_id_;
        pending_writes_.push_back(PendingWrite{ready_.write_id, now_tick_, last_zxid(),
                                               current_epoch_, ready_new_leader_epoch_,
                                               ready_makes_voting_});
    }
    ready_new_leader_epoch_ = 0;
    ready_makes_voting_ = false;
    ready_committed_bytes_ = 0;
    Ready out = std::move(ready_);
    ready_ = Ready{};
    return out;
}

}  // namespace chorus::zab
