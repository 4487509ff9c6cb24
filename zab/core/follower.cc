// The follower: discovery, synchronisation and broadcast, the other side.
//
// Every acknowledgement a follower sends (ACKEPOCH, ACK of NEWLEADER, ACK of
// proposals, and the answer to the leader's heartbeat) goes out only once
// the writes before it are durable (Ready::after_persist). So a follower
// whose disk is stuck stops answering and the leader stops counting it.
#include <algorithm>

#include "zab/core/core.h"
#include "zab/core/mutation.h"
#include "zab/core/wire.h"

namespace chorus::zab {

void Core::become_follower(ServerId leader) {
    if (!voting_ && current_epoch_ == 0 && !joined_ &&
        !mutated(config_, Mutation::kJoinerNotMarked)) {
        // An empty server that joins a leader without voting (a new or
        // wiped disk, or a bootstrapping one not yet sure the ensemble is
        // new) marks its disk before it accepts any epoch: or a restart
        // with --bootstrap would take that epoch for an original member's
        // and vote with an empty disk (the third review of issue 13 lost a
        // committed write so, after a disk replaced as docs/operations.md
        // says and a later start with the flag).
        ready_.writes.push_back(MarkJoinedEnsemble{});
        joined_ = true;
        joined_without_evidence_ = !leader_showed_history(leader);
    }
    if (bootstrap_unconfirmed_) {
        // A leader already serves, and we have not heard from every member:
        // we cannot know we are a new ensemble's, so we join as a new member.
        bootstrap_unconfirmed_ = false;
        stats_.bootstrap_ignored = true;
        if (mutated(config_, Mutation::kJoinerNotMarked)) {
            ready_.writes.push_back(MarkJoinedEnsemble{});
            joined_ = true;
        }
        notice("ignoring --bootstrap: server " + std::to_string(leader) +
               " already leads, and not every server has answered yet; this server joins as a "
               "new member and votes once the leader has synced it");
    }
    phase_ = Phase::kDiscovery;
    epoch_ = 0;
    holding_until_tick_ = 0;
    take_over_deferred_ = false;
    handed_vote_ = pb::Vote{};  // its election is over
    set_role(Role::kFollowing, leader);
    last_heard_leader_tick_ = now_tick_;
    ++sync_attempt_;
    send(leader, follower_info_message());
}

// Whether the answer we have from `leader` shows that an ensemble exists:
// a durable currentEpoch, a transaction, a changed membership or a joined
// mark. With no answer at hand we cannot tell, and count it as history.
bool Core::leader_showed_history(ServerId leader) const {
    auto said = out_of_election_.find(leader);
    if (said == out_of_election_.end()) return true;
    return vote_shows_history(said->second);
}

pb::PeerMessage Core::follower_info_message() const {
    pb::PeerMessage m;
    m.mutable_follower_info()->set_accepted_epoch(accepted_epoch_);
    m.mutable_follower_info()->set_voting(voting_);
    m.mutable_follower_info()->set_attempt(sync_attempt_);
    return m;
}

void Core::follower_tick() {
    if (now_tick_ - last_heard_leader_tick_ > config_.election_timeout_ticks) {
        enter_looking("the leader went silent");
        return;
    }
    if (phase_ == Phase::kSync &&
        now_tick_ - last_sync_progress_tick_ > 2 * uint64_t{config_.election_timeout_ticks}) {
        // Pings still come, but the sync does not move: a message of it was
        // lost (an ACKEPOCH, a NEWLEADER, an UPTODATE, ...). Start over.
        enter_looking("the sync with the leader stalled");
        return;
    }
    if (phase_ == Phase::kDiscovery && now_tick_ - role_start_tick_ >= config_.vote_resend_ticks &&
        (now_tick_ - role_start_tick_) % config_.vote_resend_ticks == 0) {
        // The leader may have been looking when our FOLLOWERINFO arrived.
        send(leader_, follower_info_message());
    }
}

void Core::on_leader_message(const pb::PeerMessage& message) {
    using B = pb::PeerMessage::BodyCase;
    if (message.body_case() == B::kNewEpoch) {
        on_new_epoch(message.new_epoch());
        return;
    }
    if (phase_ == Phase::kDiscovery) return;  // from an earlier exchange with this leader
    // Every other message carries the epoch; one from another epoch is stale.
    uint64_t epoch = 0;
    switch (message.body_case()) {
        case B::kTrunc:
            epoch = message.trunc().epoch();
            break;
        case B::kSnap:
            epoch = message.snap().epoch();
            break;
        case B::kDiff:
            epoch = message.diff().epoch();
            break;
        case B::kNewLeader:
            epoch = message.new_leader().epoch();
            break;
        case B::kUpToDate:
            epoch = message.up_to_date().epoch();
            break;
        case B::kProposal:
            epoch = message.proposal().epoch();
            break;
        case B::kCommit:
            epoch = message.commit().epoch();
            break;
        case B::kPing:
            epoch = message.ping().epoch();
            break;
        case B::kForwardAbsorbed:
            epoch = message.forward_absorbed().epoch();
            break;
        case B::kForwardRefused:
            epoch = message.forward_refused().epoch();
            break;
        case B::kSyncReply:
            epoch = message.sync_reply().epoch();
            break;
        case B::kGoodbye:
            epoch = message.goodbye().epoch();
            break;
        case B::kHandover:
            epoch = message.handover().epoch();
            break;
        case B::kTakeOver:
            epoch = message.take_over().epoch();
            break;
        default:
            return;
    }
    if (epoch != epoch_) return;
    last_heard_leader_tick_ = now_tick_;
    switch (message.body_case()) {
        case B::kTrunc:
        case B::kSnap:
        case B::kDiff:
        case B::kNewLeader:
            last_sync_progress_tick_ = now_tick_;
            break;
        default:
            break;
    }
    switch (message.body_case()) {
        case B::kTrunc:
            on_trunc(message.trunc());
            break;
        case B::kSnap:
            on_snap(message.snap());
            break;
        case B::kDiff:
            on_txns(message.diff().txns(), from_pb(message.diff().prev()), false);
            break;
        case B::kNewLeader:
            on_new_leader(message.new_leader());
            break;
        case B::kUpToDate:
            if (!synced_with_leader_) {
                // Its NEWLEADER never reached us (lost): we do not hold its history.
                enter_looking("UPTODATE came before this server's sync was complete");
                return;
            }
            phase_ = Phase::kBroadcast;
            ready_.role_change = RoleChange{Role::kFollowing, leader_, epoch_, ""};
            on_commit_point(from_pb(message.up_to_date().committed()));
            break;
        case B::kProposal:
            if (!synced_with_leader_) {
                // Proposals follow NEWLEADER on the link: some of the sync was lost.
                enter_looking("a proposal came before this server's sync was complete");
                return;
            }
            on_txns(message.proposal().txns(), from_pb(message.proposal().prev()), true);
            break;
        case B::kCommit:
            on_commit_point(from_pb(message.commit().zxid()));
            break;
        case B::kPing: {
            if (synced_with_leader_ && from_pb(message.ping().last()) > last_zxid() &&
                !mutated(config_, Mutation::kSkipNewLeaderCheck)) {
                // It went out before this ping and never arrived: a gap in
                // the stream. Start over rather than wait for ever (the
                // leader's window would stay full of what we never got).
                // (kSkipNewLeaderCheck drops this guard of the same rule.)
                enter_looking("proposals up to " + from_pb(message.ping().last()).str() +
                              " never arrived (this log ends at " + last_zxid().str() + ")");
                return;
            }
            pb::PeerMessage m;
            m.mutable_ping_ack()->set_epoch(epoch_);
            m.mutable_ping_ack()->set_seq(message.ping().seq());
            m.mutable_ping_ack()->set_attempt(sync_attempt_);
            to_pb(last_zxid(), m.mutable_ping_ack()->mutable_zxid());
            send_after_persist(leader_, std::move(m));
            on_commit_point(from_pb(message.ping().committed()));
            break;
        }
        case B::kForwardAbsorbed:
            ready_.completions.push_back(Completion{message.forward_absorbed().request_id(),
                                                    Completion::Outcome::kAbsorbed, Zxid{}});
            break;
        case B::kForwardRefused: {
            const pb::ForwardRefused& r = message.forward_refused();
            ready_.completions.push_back(Completion{
                r.request_id(), Completion::Outcome::kRefused, Zxid{},
                Status(static_cast<Code>(r.code()), "the leader refused: " + r.message())});
            break;
        }
        case B::kSyncReply:
            waiting_syncs_.push_back(
                Waiting{message.sync_reply().id(), from_pb(message.sync_reply().zxid())});
            complete_waiting_syncs();
            break;
        case B::kGoodbye:
            enter_looking("the leader said goodbye");
            break;
        case B::kHandover:
            on_handover(message.handover());
            break;
        case B::kTakeOver:
            on_take_over(message.take_over());
            break;
        default:
            break;
    }
}

void Core::on_new_epoch(const pb::NewEpoch& message) {
    if (phase_ != Phase::kDiscovery) return;
    const uint64_t epoch = message.epoch();
    if (epoch < accepted_epoch_) {
        // We promised a later leader already: this one is stale.
        enter_looking("the leader's epoch " + std::to_string(epoch) +
                      " is below the one this server accepted");
        return;
    }
    last_heard_leader_tick_ = now_tick_;
    // An epoch accepted before is acknowledged again (so that we can be
    // synced) but marked: it may be a promise made to another leader, and
    // one epoch is promised once.
    const bool newly = epoch > accepted_epoch_;
    if (newly) {
        accepted_epoch_ = epoch;
        ready_.writes.push_back(SetAcceptedEpoch{epoch});
    }
    epoch_ = epoch;
    phase_ = Phase::kSync;
    last_sync_progress_tick_ = now_tick_;
    synced_with_leader_ = false;
    pb::PeerMessage m;
    pb::AckEpoch* ack = m.mutable_ack_epoch();
    ack->set_epoch(epoch);
    ack->set_current_epoch(current_epoch_);
    ack->set_newly_accepted(newly);
    ack->set_attempt(sync_attempt_);
    to_pb(last_zxid(), ack->mutable_last_zxid());
    fill_epoch_ends(ack);
    if (mutated(config_, Mutation::kAckEpochBeforeDurable)) {
        send(leader_, std::move(m));
    } else {
        send_after_persist(leader_, std::move(m));  // acceptedEpoch is durable first
    }
}

void Core::fill_epoch_ends(pb::AckEpoch* ack) const {
    to_pb(log_base_, ack->mutable_log_base());
    std::vector<Zxid> ends;
    for (size_t i = 0; i < log_.size(); ++i) {
        if (i + 1 == log_.size() || log_[i + 1].zxid.epoch != log_[i].zxid.epoch)
            ends.push_back(log_[i].zxid);
    }
    const size_t skip = ends.size() > kMaxEpochEnds ? ends.size() - kMaxEpochEnds : 0;
    for (size_t i = skip; i < ends.size(); ++i) to_pb(ends[i], ack->add_epoch_ends());
    ack->set_epoch_ends_complete(skip == 0);
}

void Core::on_trunc(const pb::Trunc& message) {
    const Zxid to = from_pb(message.to());
    if (to >= last_zxid()) return;
    const size_t keep = index_after(to);
    // What we have committed (and maybe delivered) stays: a leader asking
    // us to drop it is broken. And the leader's history must continue from
    // a zxid we hold, or the DIFF that follows would not fit. Either way,
    // refuse (never abort on a peer's word) and start over.
    const bool below_commit = to < committed_;
    const bool not_held = !(to == log_base_ || (keep > 0 && log_[keep - 1].zxid == to));
    if (below_commit || not_held) {
        ++stats_.refused_truncs;
        const std::string why = below_commit
                                    ? "below this server's commit point " + committed_.str()
                                    : "a zxid this server's log does not hold (log " +
                                          log_base_.str() + ".." + last_zxid().str() + ")";
        notice("refused a TRUNC from server " + std::to_string(leader_) + " to " + to.str() + ": " +
               why);
        enter_looking("refused the leader's TRUNC");
        return;
    }
    log_.erase(log_.begin() + static_cast<std::ptrdiff_t>(keep), log_.end());
    durable_ = std::min(durable_, to);
    ready_.writes.push_back(TruncateAfter{to});
    // R1: a CONFIG truncated away takes its membership with it.
    log_configs_.erase(log_configs_.upper_bound(to), log_configs_.end());
    refresh_membership();
}

void Core::on_snap(const pb::Snap& message) {
    const Zxid zxid = from_pb(message.zxid());
    // The membership in force at the snapshot comes with it (validate.h
    // checked that it decodes), written before the snapshot resets the log.
    Membership at = bootstrap_membership();
    if (!message.membership().empty()) {
        at =
            Membership::decode(from_pb(message.membership_version()), message.membership()).value();
    }
    if (at.version != base_membership_.version || !at.same_servers(base_membership_))
        ready_.writes.push_back(SetMembership{at.version, at.encode()});
    base_membership_ = std::move(at);
    log_configs_.clear();
    refresh_membership();
    log_.clear();
    log_base_ = zxid;
    snapshot_zxid_ = zxid;
    durable_ = std::min(durable_, zxid);
    delivered_ = zxid;
    committed_ = std::max(committed_, zxid);
    delivered_since_snapshot_ = 0;
    delivered_bytes_since_snapshot_ = 0;
    snapshot_requested_ = false;
    ready_.snapshot_due.reset();  // the state machine is about to be replaced
    InstallSnapshot install{zxid, message.data()};
    ready_.restore = install;  // applied after this Ready's deliveries; none follow it (deliver())
    ready_.writes.push_back(std::move(install));
}

void Core::on_txns(const google::protobuf::RepeatedPtrField<pb::Txn>& txns, Zxid prev,
                   bool is_proposal) {
    std::vector<Txn> fresh;
    Zxid before = prev;  // what the next txn follows in the leader's log
    for (const pb::Txn& t : txns) {
        Txn txn = from_pb(t);
        const Zxid ours = fresh.empty() ? last_zxid() : fresh.back().zxid;
        if (txn.zxid <= ours) {  // already held (an epoch has one leader: the same txn)
            before = txn.zxid;
            continue;
        }
        // (The planted bugs kSkipTrunc and kSkipNewLeaderCheck drop this check
        // too: it is one more guard of the rules they break.)
        const bool unchecked = mutated(config_, Mutation::kSkipTrunc) ||
                               (mutated(config_, Mutation::kSkipNewLeaderCheck) && !is_proposal);
        if (before != ours && !unchecked) {
            // Part of the stream went missing (a lost message): appending this
            // would put it after the wrong entry.
            enter_looking("the leader's stream follows " + before.str() + ", this log ends at " +
                          ours.str());
            return;
        }
        before = txn.zxid;
        if (!is_successor(ours, txn.zxid)) {
            // The leader's stream does not continue our log: we cannot follow it.
            enter_looking("the leader's stream skips " + prev.str() + ".." + txn.zxid.str());
            return;
        }
        fresh.push_back(std::move(txn));
    }
    if (!fresh.empty() || is_proposal) append_local(std::move(fresh));
    // A DIFF chunk is acknowledged too (the leader sends the next ones as
    // these become durable); only proposals' ACKs count towards commits.
    if (mutated(config_, Mutation::kAckBeforeDurable)) {
        pb::PeerMessage m;
        m.mutable_ack()->set_epoch(epoch_);
        m.mutable_ack()->set_attempt(sync_attempt_);
        to_pb(last_zxid(), m.mutable_ack()->mutable_zxid());
        send(leader_, std::move(m));
    } else {
        send_ack_after_persist(leader_, last_zxid());
    }
}

void Core::on_new_leader(const pb::NewLeader& message) {
    if (last_zxid() != from_pb(message.last_zxid()) &&
        !mutated(config_, Mutation::kSkipNewLeaderCheck)) {
        // The sync did not bring us to the leader's history (a SNAP or DIFF
        // went missing): acknowledging would let it count a history we lack.
        enter_looking("the sync ended at " + last_zxid().str() + ", not at the leader's " +
                      from_pb(message.last_zxid()).str());
        return;
    }
    if (current_epoch_ == 0) ready_makes_voting_ = true;
    synced_with_leader_ = true;
    current_epoch_ = message.epoch();
    ready_.writes.push_back(SetCurrentEpoch{message.epoch()});
    pb::PeerMessage m;
    m.mutable_ack_new_leader()->set_epoch(message.epoch());
    m.mutable_ack_new_leader()->set_attempt(sync_attempt_);
    if (mutated(config_, Mutation::kAckNewLeaderBeforeDurable)) {
        send(leader_, std::move(m));
    } else {
        send_after_persist(leader_, std::move(m));  // currentEpoch is durable first
    }
}

void Core::on_commit_point(Zxid committed) {
    if (phase_ != Phase::kBroadcast) return;  // UPTODATE carries the commit point
    if (committed > last_zxid() && !mutated(config_, Mutation::kSkipNewLeaderCheck)) {
        // On one link the leader sends us every entry before any commit
        // point that covers it: one past our log means part of the stream
        // was lost (found by the review of issue 13: a follower missing the
        // tail of the stream served stale data for ever).
        enter_looking("the leader has committed " + committed.str() + ", past this log's end " +
                      last_zxid().str());
        return;
    }
    if (committed > committed_) committed_ = std::min(committed, last_zxid());
    deliver();
}

}  // namespace chorus::zab
