// Conversions between the core's value types and their protobuf messages.
#pragma once

#include "zab/core/types.h"

namespace chorus::zab {

inline Zxid from_pb(const pb::Zxid& z) { return Zxid{z.epoch(), z.counter()}; }

inline void to_pb(Zxid zxid, pb::Zxid* out) {
    out->set_epoch(zxid.epoch);
    out->set_counter(zxid.counter);
}

void to_pb(const Txn& txn, pb::Txn* out);
Txn from_pb(const pb::Txn& txn);

}  // namespace chorus::zab
