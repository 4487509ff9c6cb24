// QuorumWitness: the simulator's own account of what each disk durably
// held, to check the leader's counting against (docs/protocol.md,
// "Reconfiguration", the commit and NEWLEADER quorums).
//
// The core decides a commit from the acknowledgements it counts; the
// witness decides from the simulated disks. After every completed disk
// write it records, per server and per durable currentEpoch, the highest
// zxid the disk has held. A leader of epoch e that commits up to z (or
// establishes e with initial history up to h) must then find a quorum of
// the voters of the membership it counts with, each of whose disks has
// held z (or h) while its currentEpoch was e. What a disk held before it
// was wiped still counts: the leader may have counted that acknowledgement,
// and the premise (a quorum of every membership keeps its disks) covers the
// rest. Observers and removed servers are never counted, whatever they hold.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "zab/core/membership.h"

namespace chorus::sim {

class QuorumWitness {
 public:
    // `server`'s disk, its write done, holds a log up to `last` with
    // currentEpoch `epoch` (nothing is recorded for epoch 0).
    void on_durable(zab::ServerId server, uint64_t epoch, Zxid last);

    // "" if a quorum of `counted`'s voters held `zxid` in `epoch`; otherwise
    // what is missing, for the failure line.
    std::string check(const zab::Membership& counted, uint64_t epoch, Zxid zxid) const;

 private:
    std::map<zab::ServerId, std::map<uint64_t, Zxid>> held_;  // server -> epoch -> highest
};

}  // namespace chorus::sim
