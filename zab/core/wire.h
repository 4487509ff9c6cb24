// Conversions between the core's value types and their protobuf messages.
#pragma once

#include "zab/core/types.h"

namespace chorus::zab {

// Whether `vote`'s sender holds history or knows an ensemble exists: a
// durable currentEpoch, a transaction, a changed membership, a joined mark.
bool vote_shows_history(const pb::Vote& vote);

inline Zxid from_pb(const pb::Zxid& z) { return Zxid{z.epoch(), z.counter()}; }

inline void to_pb(Zxid zxid, pb::Zxid* out) {
    out->set_epoch(zxid.epoch);
    out->set_counter(zxid.counter);
}

void to_pb(const Txn& txn, pb::Txn* out);
Txn from_pb(const pb::Txn& txn);

}  // namespace chorus::zab
