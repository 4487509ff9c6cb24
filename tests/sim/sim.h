// The deterministic simulator: 3 or 5 servers in one process, each running
// the very Ready driver chorus::Node runs (zab/runtime/driver.h) over a
// simulated network, disk, clock and snapshot thread, all driven by one
// seeded random number generator. A seed reproduces a run exactly.
//
// The fault model (sim.cc has the details), chosen per seed in swarm
// fashion — each seed enables its own mix of fault kinds, at its own
// rates, as TigerBeetle's VOPR and FoundationDB's simulator do:
//   network   FIFO links with random delays, sometimes far longer than the
//             election timeout (everything behind waits too); connections
//             reset with both ends told, each at its own time, sometimes
//             much later (half-open links); silent partitions — isolate
//             one, split majority/minority, a bridge, one way only — that
//             either drop messages unannounced or hold them until the heal
//             (as TCP retransmits), the connection sometimes reset at the
//             heal or long after;
//   processes crashes (sometimes two at once, sometimes with a wiped disk),
//             restarts, pauses (a SIGSTOP: nothing runs, then one late
//             tick, as the runtime's timer does), tick rates that differ
//             per server;
//   disks     random latency with group commit, slow and stuck periods,
//             fsync failure (fatal: the server crashes and recovers), a
//             crash losing what was not durable, a torn tail write;
//   clients   writes and syncs at random servers, and register clients
//             whose history is checked for linearizability.
//
// A run has a fault phase and then a liveness phase with every fault healed
// and every server up (but perhaps one whose disk stays stuck): by its end
// the ensemble must serve again, acknowledge writes, and every server (but
// that one) must have delivered the whole committed sequence. Invariants
// are checked while the run goes (checker.h) and the run stops at the first
// violation.
//
// What runs on the drivers is a register application with a hash chain for
// the checker, or a Workload (workload.h) such as the session tracker.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "zab/core/mutation.h"
#include "zab/core/types.h"

namespace chorus::sim {

struct SimOptions {
    uint64_t seed = 1;
    int servers = 3;
    bool trace = false;  // print every event
    zab::Mutation mutation = zab::Mutation::kNone;
    int fault_ticks = 400;     // ticks of faults
    int liveness_ticks = 300;  // ticks after the faults stop, for progress
    // The fault model of the simulator before issue 13 (announced faults
    // only, short delays, no pauses, disk faults or swarm): for comparing.
    bool classic_faults = false;
    // Issue 17: servers beyond `servers` that start as observers, and
    // membership changes (promote an observer, demote a voter) proposed at
    // random moments of the faults.
    int observers = 0;
    bool reconfig = false;
    // With reconfig: changes are also asked of followers and observers
    // (forwarded to the leader, built from their view of the membership),
    // and R8's catch-up bound is on in some seeds.
    bool forwarded_changes = false;
    // Leadership transfers asked of random servers (to a random member, or
    // to whomever the leader picks) at random moments of the faults.
    bool transfer = false;
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
    std::map<std::string, uint64_t> fault_counts;     // faults injected and what they caused
    std::map<std::string, uint64_t> workload_counts;  // Workload::counts()
    std::string fault_mix;                            // this seed's swarm choice, in words
};

class Workload;

// `workload` (may be null: the register application) must outlive the call
// and be used for one run only.
SimResult run_simulation(const SimOptions& options, Workload* workload = nullptr);

}  // namespace chorus::sim
