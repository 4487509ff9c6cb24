// Sanity checks on peer messages, before the core acts on one.
//
// A message that no correct server could have sent — an epoch so large that
// the next one would wrap to 0, a proposal whose transactions belong to
// another epoch, an ACKEPOCH claiming a history from the future — is dropped
// and counted (Core::dropped_messages), never acted on. These checks look
// at one message alone; checks that need the receiver's state (an ACK of a
// zxid the leader never proposed) live in the handlers.
#pragma once

#include <cstdint>

#include "zab/core/types.h"

namespace chorus::zab {

// No real ensemble gets near this many epochs or transactions (one election
// or one write at a time, it would take millennia); a value above it is
// corrupt or forged. Also keeps epoch + 1 and counter + 1 from wrapping.
inline constexpr uint64_t kMaxPlausible = uint64_t{1} << 62;

// Null when a correct server could have sent `message` to
// this core; otherwise a short phrase saying what is impossible about it. Runtime-only messages
// (Hello, SnapChunk) never reach the core: they are implausible here too.
const char* implausible(const pb::PeerMessage& message);

}  // namespace chorus::zab
