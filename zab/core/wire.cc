#include "zab/core/wire.h"

namespace chorus::zab {

void to_pb(const Txn& txn, pb::Txn* out) {
    to_pb(txn.zxid, out->mutable_zxid());
    out->set_type(txn.type);
    out->set_data(txn.data);
    out->set_origin(txn.origin);
    out->set_request_id(txn.request_id);
}

Txn from_pb(const pb::Txn& txn) {
    return Txn{from_pb(txn.zxid()), txn.type(), txn.data(), txn.origin(), txn.request_id()};
}

std::string encode_txn_payload(const Txn& txn) {
    pb::TxnPayload payload;
    payload.set_data(txn.data);
    payload.set_origin(txn.origin);
    payload.set_request_id(txn.request_id);
    return payload.SerializeAsString();
}

bool decode_txn_payload(Zxid zxid, uint32_t type, const std::string& bytes, Txn* out) {
    pb::TxnPayload payload;
    if (!payload.ParseFromString(bytes)) return false;
    *out = Txn{zxid, type, payload.data(), payload.origin(), payload.request_id()};
    return true;
}

bool vote_shows_history(const pb::Vote& vote) {
    return vote.current_epoch() > 0 || !from_pb(vote.sender_last_zxid()).is_zero() ||
           !from_pb(vote.membership_version()).is_zero() || vote.joined();
}

}  // namespace chorus::zab
