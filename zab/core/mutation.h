// The planted bugs of the simulator's mutation tests (tests/meson.build,
// zab-sim --mutation): each breaks one rule of the protocol, and a check of
// the simulator must catch it (docs/testing.md says which).
//
// They exist only in the simulator's build of the core (chorus_core_sim,
// compiled with CHORUS_SIM_MUTATIONS). In the library's build mutated() is
// a constant false, so the compiler drops every hook and the library never
// runs one, whatever Config::mutation holds. Both builds compile the same
// code, so a hook cannot rot. Not installed.
#pragma once

#include <cstdint>

#include "zab/core/types.h"

namespace chorus::zab {

// Deliberate bugs for proving that the simulator's checks catch them. Never
// set outside tests.
// Each names the rule it breaks; docs/testing.md lists the check that
// catches each one.
enum class Mutation : uint8_t {
    kNone,
    kAckBeforeDurable,           // a follower acknowledges a proposal before it is durable
    kCommitOnMinority,           // the leader commits with its own acknowledgement alone
    kSkipTrunc,                  // the leader sends DIFF where TRUNC is needed
    kNewEpochBeforeDurable,      // NEWEPOCH leaves before the leader's acceptedEpoch is durable
    kAckEpochBeforeDurable,      // ACKEPOCH leaves before the follower's acceptedEpoch is durable
    kAckNewLeaderBeforeDurable,  // the NEWLEADER ack leaves before currentEpoch is durable
    kEmptyDiskVotes,             // a server with an empty disk votes as if it held history
    kBootstrapWithoutEveryone,   // an empty bootstrapping server votes before hearing from all
    kJoinerNotMarked,            // an empty server without the flag follows without the joined mark
    kOriginalMemberNeedsFlag,    // an original member votes only with the flag (1939610)
    kEpochNotAboveAccepted,      // the new epoch is the highest acceptedEpoch heard, not above it
    kSkipNewLeaderCheck,         // a follower acks NEWLEADER whatever its last zxid
    kCommitOldEpochByCount,      // the leader commits a previous epoch's entries by counting acks
    kDeliverBeforeUpToDate,      // a follower delivers committed entries before UPTODATE
    kSyncWithoutQuorum,          // the leader answers sync() without a quorum's ping round
    kLeaderNeverStepsDown,       // a leader cut off from its quorum keeps leading
    kCompactPastDiff,            // a snapshot compacts the log past what a DIFF has to send
    kCountEqualAckEpoch,         // an ACKEPOCH of an epoch accepted before counts for the quorum
    kLeaderIgnoresStuckDisk,     // a leader whose own disk is stuck keeps leading
    kOriginalMemberForgotten,    // a confirmed bootstrapper does not mark its disk original
    kConfigTwoAtOnce,            // a CONFIG proposed while another is uncommitted (R3 off)
    kConfigTwoVoters,            // a CONFIG may change two voters or more at once (R2 off)
    kObserverCounts,             // an observer's acknowledgements count toward commits
    kRemovedStillVotes,  // a bootstrap voter taken out still campaigns and counts itself (R7 off)
    kAckOfEarlierAttemptCounts,  // a leader counts acknowledgements of a sync the follower left
};

#ifdef CHORUS_SIM_MUTATIONS
inline constexpr bool kMutationsBuilt = true;
#else
inline constexpr bool kMutationsBuilt = false;
#endif

// Whether `config` plants `m` (always false outside the simulator's build).
inline bool mutated(const Config& config, Mutation m) {
    return kMutationsBuilt && static_cast<Mutation>(config.mutation) == m;
}

}  // namespace chorus::zab
