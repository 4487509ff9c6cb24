// The session workload (zab-sim --sessions): every simulated server runs the
// real session::Tracker as its state machine, and simulated clients open
// sessions, create ephemeral nodes and heartbeat to their owner — under every
// fault the simulator injects. SessionChecker (session_checker.h) checks the
// tracker's invariants as the run goes.
//
// What each server's driver does, as a real one would:
//   - every tick: set_now_ms(simulated time); forward the heartbeats its
//     clients sent since the last tick as one Heartbeats request;
//   - as the serving leader: submit ExpireSessions for due_for_expiry(),
//     at most kExpiryBudget new sessions per tick;
//   - deliver, save, restore and role_changed exactly as zab/runtime does.
//
// Clients: each opens a session at a random server (its owner), creates and
// deletes ephemeral nodes, and heartbeats every 100-300 ms. Some go silent
// (their session must expire), some close; when its owner is down or cut
// off, a "mover" client moves to another server and revalidates there, a
// loyal one keeps trying its owner.
#pragma once

#include <cstdint>
#include <memory>

#include "tests/sim/session_mutant.h"
#include "tests/sim/workload.h"

namespace chorus::sim {

std::unique_ptr<Workload> make_session_workload(uint64_t seed, SessionMutation mutation);

}  // namespace chorus::sim
