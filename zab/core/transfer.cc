// Leadership transfer (docs/protocol.md, "Leadership transfer").
//
// The leader stops taking requests, tells every follower and observer to
// refuse theirs (Handover), and waits until
//   - everything it accepted is proposed, committed and delivered here,
//   - the target has acknowledged all of it (it holds the leader's history),
//   - every follower heard from has answered a ping sent after its Handover
//     (so no request it forwarded is still on the way) and acknowledged the
//     last transaction of its own requests (so it delivers them first), and
//   - no read barrier is waiting;
// then it sends TAKE_OVER to the target and to the others, and goes looking
// in the same Ready. Every server that takes the TAKE_OVER votes for the
// target at once, the target marked `take_over`, which ranks it above an
// equal history (never above more history: the rank's first terms are
// unchanged, and discovery re-checks histories as after any election). So
// the target is elected within a round trip, and no client request is left
// with an unknown outcome by the handover: what was accepted committed
// before it, and what came later was refused as "not serving", which the
// client library retries.
//
// If the handover does not happen within an election timeout, the transfer
// is abandoned (kTimeout) and the leader goes on leading. Nothing here is
// needed for safety: a TAKE_OVER only starts an election early, with a
// candidate whose history is the newest.
#include <tuple>

#include "zab/core/core.h"
#include "zab/core/wire.h"

namespace chorus::zab {

Status Core::transfer_leadership(uint64_t request_id, ServerId target) {
    if (role_ == Role::kFollowing && serving()) {
        if (holding_requests()) {
            return Status(Code::kNotLeader, "the leader is handing over; retry shortly");
        }
        pb::PeerMessage m;
        auto* r = m.mutable_transfer_request();
        r->set_epoch(epoch_);
        r->set_request_id(request_id);
        r->set_target(target);
        send(leader_, std::move(m));
        return Status::ok();
    }
    ServerId chosen = 0;
    if (Status s = check_transfer(target, &chosen); !s.is_ok()) return s;
    start_transfer(config_.id, request_id, chosen);
    return Status::ok();
}

Status Core::check_transfer(ServerId target, ServerId* chosen) const {
    if (role_ != Role::kLeading || phase_ != Phase::kBroadcast) {
        return Status(Code::kNotLeader, "no leader is serving yet; retry shortly");
    }
    if (transfer_) {
        return Status(Code::kBusy, "leadership is already being handed to server " +
                                       std::to_string(transfer_->target));
    }
    if (target == config_.id) {
        return Status::invalid_argument("server " + std::to_string(target) + " leads already");
    }
    if (target != 0 && !voter(target)) {
        return Status::invalid_argument("server " + std::to_string(target) +
                                        " is not a voter of the membership " +
                                        membership_.version.str() + ": only a voter can lead");
    }
    if (config_uncommitted()) {
        return Status(Code::kBusy, "a membership change is in flight; retry once it has committed");
    }
    ServerId best = 0;
    Zxid best_acked;
    for (const auto& [peer, f] : followers_) {
        const bool in_touch = voter(peer) && f.synced && f.acked_new_leader &&
                              now_tick_ - f.last_heard_tick <= config_.election_timeout_ticks;
        if (!in_touch || (target != 0 && peer != target)) continue;
        if (best == 0 || f.acked > best_acked) {
            best = peer;
            best_acked = f.acked;
        }
    }
    if (best == 0) {
        return Status(Code::kBusy, target != 0
                                       ? "server " + std::to_string(target) +
                                             " does not follow this leader now (not synced or "
                                             "not heard from); retry once it does"
                                       : std::string("no other voter follows this leader now"));
    }
    *chosen = best;
    return Status::ok();
}

void Core::start_transfer(ServerId origin, uint64_t request_id, ServerId target) {
    transfer_ = Transfer{target, origin, request_id, now_tick_};
    notice("handing leadership over to server " + std::to_string(target) +
           ": taking no new requests until it holds everything committed");
    for (auto& [peer, f] : followers_) {
        if (f.acked_new_leader) send_handover(peer, f);
    }
    send_pings();  // the answers that confirm the followers hold their requests
}

void Core::send_handover(ServerId peer, FollowerState& follower) {
    pb::PeerMessage m;
    m.mutable_handover()->set_epoch(epoch_);
    m.mutable_handover()->set_holding(true);
    send(peer, std::move(m));
    follower.hold_ping_seq = ping_seq_ + 1;
}

void Core::on_transfer_request(ServerId from, const pb::TransferRequest& request) {
    if (phase_ != Phase::kBroadcast || request.epoch() != epoch_) return;
    ServerId chosen = 0;
    Status s = check_transfer(request.target(), &chosen);
    if (s.is_ok()) return start_transfer(from, request.request_id(), chosen);
    answer_transfer(Transfer{request.target(), from, request.request_id(), now_tick_}, s);
}

bool Core::handover_ready() const {
    if (!transfer_ || role_ != Role::kLeading || phase_ != Phase::kBroadcast) return false;
    // Delivered here too (so committed, and durable on our disk): a looking
    // server delivers nothing, and our own requests would be left unknown.
    if (!pending_txns_.empty() || delivered_ != last_zxid() || !barriers_.empty()) return false;
    auto target = followers_.find(transfer_->target);
    if (target == followers_.end() || !target->second.acked_new_leader ||
        target->second.acked < last_zxid()) {
        return false;
    }
    for (const auto& [peer, f] : followers_) {
        // One that is not serving, or has gone silent, forwards nothing we
        // could still answer; the others must have confirmed their hold.
        if (!f.acked_new_leader || now_tick_ - f.last_heard_tick > config_.election_timeout_ticks) {
            continue;
        }
        if (f.hold_ping_seq == 0 || f.ping_acked < f.hold_ping_seq) return false;
        // It holds its own requests durably, so it delivers them (and
        // answers its clients) before it reads our TAKE_OVER.
        if (f.acked < f.last_origin_zxid) return false;
    }
    return true;
}

void Core::hand_over() {
    const Transfer transfer = *transfer_;
    transfer_.reset();
    answer_transfer(transfer, Status::ok());
    // The target's candidacy: its history is ours (it acknowledged our last
    // zxid, and we proposed nothing since).
    pb::Vote candidate;
    candidate.set_leader(transfer.target);
    candidate.set_leader_current_epoch(current_epoch_);
    to_pb(last_zxid(), candidate.mutable_leader_last_zxid());
    candidate.set_take_over(true);
    // The target first: on every link TAKE_OVER comes before our LOOKING vote.
    std::vector<ServerId> order = {transfer.target};
    for (const auto& [peer, f] : followers_)
        if (peer != transfer.target) order.push_back(peer);
    for (ServerId peer : order) {
        pb::PeerMessage m;
        auto* t = m.mutable_take_over();
        t->set_epoch(epoch_);
        to_pb(last_zxid(), t->mutable_last_zxid());
        t->set_target(transfer.target);
        send(peer, std::move(m));
    }
    handed_vote_ = candidate;
    handed_until_tick_ = now_tick_ + config_.election_timeout_ticks;
    enter_looking("handed leadership over to server " + std::to_string(transfer.target));
}

void Core::end_transfer(const Status& outcome) {
    const Transfer transfer = *transfer_;
    transfer_.reset();
    for (auto& [peer, f] : followers_) {
        if (f.hold_ping_seq == 0) continue;
        f.hold_ping_seq = 0;
        pb::PeerMessage m;
        m.mutable_handover()->set_epoch(epoch_);
        m.mutable_handover()->set_holding(false);
        send(peer, std::move(m));
    }
    notice("leadership transfer to server " + std::to_string(transfer.target) +
           " abandoned: " + outcome.message());
    answer_transfer(transfer, outcome);
}

void Core::answer_transfer(const Transfer& transfer, const Status& outcome) {
    if (transfer.origin == config_.id) {
        ready_.completions.push_back(Completion{
            transfer.request_id,
            outcome.is_ok() ? Completion::Outcome::kAbsorbed : Completion::Outcome::kRefused,
            Zxid{}, outcome});
        return;
    }
    pb::PeerMessage m;
    if (outcome.is_ok()) {
        m.mutable_forward_absorbed()->set_epoch(epoch_);
        m.mutable_forward_absorbed()->set_request_id(transfer.request_id);
    } else {
        auto* r = m.mutable_forward_refused();
        r->set_epoch(epoch_);
        r->set_request_id(transfer.request_id);
        r->set_code(static_cast<uint32_t>(outcome.code()));
        r->set_message(outcome.message());
    }
    send(transfer.origin, std::move(m));
}

void Core::transfer_tick() {
    if (!transfer_ || now_tick_ - transfer_->start_tick <= config_.election_timeout_ticks) return;
    end_transfer(Status(Code::kTimeout, "server " + std::to_string(transfer_->target) +
                                            " did not catch up within an election timeout (" +
                                            std::to_string(config_.election_timeout_ticks) +
                                            " ticks); this server goes on leading"));
}

void Core::on_handover(const pb::Handover& message) {
    holding_until_tick_ =
        message.holding() ? now_tick_ + 2 * uint64_t{config_.election_timeout_ticks} : 0;
}

void Core::on_take_over(const pb::TakeOver& message) {
    const ServerId target = message.target();
    const Zxid last = from_pb(message.last_zxid());
    const ServerId from = leader_;
    // Only for a history at least ours (a vote never moves to less), and
    // as the target only if we hold all of it and may lead.
    bool valid = std::tuple(epoch_, last) >= std::tuple(current_epoch_, last_zxid());
    if (target == config_.id) {
        valid = valid && phase_ == Phase::kBroadcast && last_zxid() == last && voting_ &&
                campaigns() && !own_disk_overdue();
    }
    if (valid) {
        handed_vote_ = pb::Vote{};
        handed_vote_.set_leader(target);
        handed_vote_.set_leader_current_epoch(epoch_);
        to_pb(last, handed_vote_.mutable_leader_last_zxid());
        handed_vote_.set_take_over(true);
        handed_until_tick_ = now_tick_ + config_.election_timeout_ticks;
    } else {
        notice("ignoring the TAKE_OVER of server " + std::to_string(from) + " for server " +
               std::to_string(target) + " at " + last.str() + ": this server holds up to " +
               last_zxid().str() + " and may not take it");
    }
    const std::string reason = "server " + std::to_string(from) +
                               " handed leadership over to server " + std::to_string(target);
    if (deliveries_waiting()) {
        // Our own requests may be among them: deliver first (the review of
        // the transfer: nine 1 MiB writes, or a snapshot falling due, left
        // the last ones unknown to their clients though committed).
        take_over_deferred_ = true;
        take_over_reason_ = reason;
        return;
    }
    enter_looking(reason);
}

void Core::look_after_deferred_take_over() {
    if (!take_over_deferred_ || role_ != Role::kFollowing || deliveries_waiting()) return;
    take_over_deferred_ = false;
    enter_looking(take_over_reason_);
}

bool Core::deferring_as_target() const {
    return take_over_deferred_ && handed_vote_.leader() == config_.id;
}

bool Core::holding_requests() const {
    return role_ == Role::kFollowing && now_tick_ < holding_until_tick_;
}

bool Core::handed_vote_valid() const {
    // Only for the election it was given for: not once we hold more history
    // than it names (the review: a target that led, wrote and crashed was
    // still voted for, with its old history, for an election timeout).
    return handed_vote_.leader() != 0 && now_tick_ < handed_until_tick_ &&
           std::tuple(handed_vote_.leader_current_epoch(),
                      from_pb(handed_vote_.leader_last_zxid())) >=
               std::tuple(current_epoch_, last_zxid());
}

}  // namespace chorus::zab
