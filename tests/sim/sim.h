// The deterministic simulator: 3 or 5 Zab cores in one process, driven by a
// seeded random number generator over simulated links, disks and clients.
//
// Links are FIFO connections with random delays; a connection can break
// (everything in flight is lost, both ends are told) and comes back later.
// Partitions cut a group of servers off. Disks finish writes after a random
// delay, several queued writes at once (group commit); a crash loses what
// was not yet durable (or, for a group in progress, all but a random prefix).
// Servers crash and restart at any point, sometimes with a wiped disk.
// Clients submit requests and syncs to random servers.
//
// A run has a fault phase and then a liveness phase with every fault healed
// and every server up: by its end the ensemble must serve again and every
// server must have delivered the whole committed sequence.
//
// What runs on the cores is a hash-chain application with random clients,
// or a Workload (workload.h) such as the session tracker (session_workload.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "zab/core/types.h"

namespace chorus::sim {

struct SimOptions {
    uint64_t seed = 1;
    int servers = 3;
    bool trace = false;  // print every event
    zab::Mutation mutation = zab::Mutation::kNone;
    int fault_ticks = 400;     // ticks of faults
    int liveness_ticks = 200;  // ticks after the faults stop, for progress
};

struct SimResult {
    bool ok = true;
    std::string failure;  // what went wrong, when !ok
    uint64_t committed = 0;
    uint64_t acked = 0;
    uint64_t elections = 0;  // times a leader established an epoch
    uint64_t crashes = 0;
    uint64_t snapshots_sent = 0;
    uint64_t truncations = 0;
    // How often the scenarios that bit others came up:
    uint64_t crashes_during_sync = 0;  // a follower crashed mid TRUNC/SNAP/DIFF (ZOOKEEPER-5094)
    uint64_t leaders_cut_off = 0;      // a serving leader left with a minority
    uint64_t restarts_with_longer_log = 0;            // restarted holding more than is committed
    std::map<std::string, uint64_t> workload_counts;  // Workload::counts()
};

class Workload;

// `workload` (may be null: the hash-chain application) must outlive the call
// and be used for one run only.
SimResult run_simulation(const SimOptions& options, Workload* workload = nullptr);

}  // namespace chorus::sim
