#include "zab/core/validate.h"

#include <algorithm>

namespace chorus::zab {
namespace {

bool big(uint64_t v) { return v >= kMaxPlausible; }
bool big(const pb::Zxid& z) { return big(z.epoch()) || big(z.counter()); }

// A zxid that may appear in a message of `epoch`: not from a later epoch.
bool fits(const pb::Zxid& z, uint64_t epoch) { return !big(z) && z.epoch() <= epoch; }

// A transaction's own zxid: counters start at 1.
bool txn_zxid_ok(const pb::Zxid& z) { return !big(z) && z.epoch() >= 1 && z.counter() >= 1; }

const char* check_txns(const google::protobuf::RepeatedPtrField<pb::Txn>& txns, uint64_t epoch,
                       bool same_epoch) {
    for (const pb::Txn& t : txns) {
        if (!txn_zxid_ok(t.zxid())) return "a transaction with an impossible zxid";
        if (t.zxid().epoch() > epoch) return "a transaction from a later epoch";
        if (same_epoch && t.zxid().epoch() != epoch) return "a proposal of another epoch";
        if (t.type() == kConfigTxnType &&
            !Membership::decode(Zxid{t.zxid().epoch(), t.zxid().counter()}, t.data()).is_ok())
            return "a CONFIG transaction that does not decode";
    }
    return nullptr;
}

}  // namespace

const char* implausible(const pb::PeerMessage& m) {
    using B = pb::PeerMessage::BodyCase;
    // Every message of an epoch names one: 0 is "none yet".
    auto epoch_ok = [](uint64_t e) { return e >= 1 && !big(e); };
    switch (m.body_case()) {
        case B::kVote: {
            const pb::Vote& v = m.vote();
            // (A vote for a server that is not a voter here is possible: the
            // sender, or its candidate, may hold a membership this server
            // does not, R1. Each counting server judges with its own.)
            if (big(v.leader_current_epoch()) || big(v.leader_last_zxid()) || big(v.round()) ||
                big(v.accepted_epoch()) || big(v.current_epoch()) || big(v.sender_last_zxid()) ||
                v.sender_last_zxid().epoch() > v.accepted_epoch())
                return "a vote with an impossible epoch, zxid or round";
            if (v.current_epoch() > v.accepted_epoch())
                return "a vote whose currentEpoch is above its acceptedEpoch";
            return nullptr;
        }
        case B::kFollowerInfo:
            return big(m.follower_info().accepted_epoch()) ? "an impossible acceptedEpoch"
                                                           : nullptr;
        case B::kNewEpoch:
            return epoch_ok(m.new_epoch().epoch()) ? nullptr : "a NEWEPOCH of an impossible epoch";
        case B::kAckEpoch: {
            const pb::AckEpoch& a = m.ack_epoch();
            if (!epoch_ok(a.epoch()) || a.current_epoch() > a.epoch())
                return "an ACKEPOCH with impossible epochs";
            if (!fits(a.last_zxid(), a.epoch()) || !fits(a.log_base(), a.epoch()))
                return "an ACKEPOCH with a zxid beyond its epoch";
            const pb::Zxid* prev = &a.log_base();
            for (const pb::Zxid& end : a.epoch_ends()) {
                if (!fits(end, a.epoch()) || std::tuple(end.epoch(), end.counter()) <=
                                                 std::tuple(prev->epoch(), prev->counter()))
                    return "an ACKEPOCH whose epoch ends are out of order";
                prev = &end;
            }
            if (std::tuple(prev->epoch(), prev->counter()) >
                std::tuple(a.last_zxid().epoch(), a.last_zxid().counter()))
                return "an ACKEPOCH whose epoch ends pass its last zxid";
            return nullptr;
        }
        case B::kTrunc:
            return epoch_ok(m.trunc().epoch()) && fits(m.trunc().to(), m.trunc().epoch())
                       ? nullptr
                       : "a TRUNC with an impossible epoch or target";
        case B::kSnap: {
            const pb::Snap& s = m.snap();
            if (!epoch_ok(s.epoch()) || !fits(s.zxid(), s.epoch()))
                return "a SNAP with an impossible epoch or zxid";
            // Its membership was made by a CONFIG at or below the snapshot.
            const Zxid version{s.membership_version().epoch(), s.membership_version().counter()};
            if (!s.membership().empty() &&
                (!Membership::decode(version, s.membership()).is_ok() || version.is_zero() ||
                 version > Zxid{s.zxid().epoch(), s.zxid().counter()}))
                return "a SNAP whose membership does not decode";
            return nullptr;
        }
        case B::kDiff:
            if (!epoch_ok(m.diff().epoch()) || !fits(m.diff().prev(), m.diff().epoch()))
                return "a DIFF of an impossible epoch or start";
            return check_txns(m.diff().txns(), m.diff().epoch(), false);
        case B::kNewLeader:
            return epoch_ok(m.new_leader().epoch()) &&
                           fits(m.new_leader().last_zxid(), m.new_leader().epoch())
                       ? nullptr
                       : "a NEWLEADER with an impossible epoch or zxid";
        case B::kAckNewLeader:
            return epoch_ok(m.ack_new_leader().epoch())
                       ? nullptr
                       : "an ACK of NEWLEADER of an impossible epoch";
        case B::kUpToDate:
            return epoch_ok(m.up_to_date().epoch()) &&
                           fits(m.up_to_date().committed(), m.up_to_date().epoch())
                       ? nullptr
                       : "an UPTODATE with an impossible epoch or zxid";
        case B::kProposal:
            if (!epoch_ok(m.proposal().epoch()) || !fits(m.proposal().prev(), m.proposal().epoch()))
                return "a PROPOSAL of an impossible epoch or start";
            return check_txns(m.proposal().txns(), m.proposal().epoch(), true);
        case B::kAck:
            return epoch_ok(m.ack().epoch()) && fits(m.ack().zxid(), m.ack().epoch())
                       ? nullptr
                       : "an ACK with an impossible epoch or zxid";
        case B::kCommit:
            return epoch_ok(m.commit().epoch()) && fits(m.commit().zxid(), m.commit().epoch())
                       ? nullptr
                       : "a COMMIT with an impossible epoch or zxid";
        case B::kPing:
            return epoch_ok(m.ping().epoch()) && fits(m.ping().committed(), m.ping().epoch()) &&
                           fits(m.ping().last(), m.ping().epoch())
                       ? nullptr
                       : "a PING with an impossible epoch or zxid";
        case B::kPingAck:
            return epoch_ok(m.ping_ack().epoch()) && fits(m.ping_ack().zxid(), m.ping_ack().epoch())
                       ? nullptr
                       : "a PING answer of an impossible epoch";
        case B::kForward:
            return epoch_ok(m.forward().epoch()) ? nullptr
                                                 : "a forwarded request of an impossible epoch";
        case B::kForwardAbsorbed:
            return epoch_ok(m.forward_absorbed().epoch())
                       ? nullptr
                       : "an absorbed answer of an impossible epoch";
        case B::kForwardRefused:
            // A refusal carries a code a request may end with; kOk (or one
            // past the last) is no refusal.
            return epoch_ok(m.forward_refused().epoch()) && m.forward_refused().code() != 0 &&
                           m.forward_refused().code() <=
                               static_cast<uint32_t>(Code::kUnknownOutcome)
                       ? nullptr
                       : "a refusal of an impossible epoch or code";
        case B::kSyncRequest:
            return epoch_ok(m.sync_request().epoch()) ? nullptr : "a sync of an impossible epoch";
        case B::kSyncReply:
            return epoch_ok(m.sync_reply().epoch()) &&
                           fits(m.sync_reply().zxid(), m.sync_reply().epoch())
                       ? nullptr
                       : "a sync answer with an impossible epoch or zxid";
        case B::kGoodbye:
            return epoch_ok(m.goodbye().epoch()) ? nullptr : "a goodbye of an impossible epoch";
        case B::kTransferRequest:
            return epoch_ok(m.transfer_request().epoch())
                       ? nullptr
                       : "a transfer request of an impossible epoch";
        case B::kHandover:
            return epoch_ok(m.handover().epoch()) ? nullptr : "a handover of an impossible epoch";
        case B::kTakeOver:
            return epoch_ok(m.take_over().epoch()) && m.take_over().target() != 0 &&
                           fits(m.take_over().last_zxid(), m.take_over().epoch())
                       ? nullptr
                       : "a TAKE_OVER with an impossible epoch, zxid or target";
        case B::kHello:
        case B::kSnapChunk:
            return "a message meant for the transport";
        case B::BODY_NOT_SET:
            return "a message with no body";
    }
    return "a message of an unknown kind";
}

}  // namespace chorus::zab
