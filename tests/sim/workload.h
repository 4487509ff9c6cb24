// The seam between the fault simulator (sim.cc) and an application run on
// top of its cores: each server's state machine, that server's driver work
// once per tick, and the clients that use the ensemble.
//
// Without a workload the simulator runs its own hash-chain application and
// random clients (zab-sim). With one (zab-sim --sessions) the simulator
// still owns every fault, link, disk and core, and the zab checker still
// checks the log; the workload adds its own state machine and invariants.
//
// Thread: one thread, the simulator's. Every call happens inside one
// simulated event, at SimControl::now().
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "zab/core/core.h"
#include "zab/core/state_machine.h"

namespace chorus::sim {

using zab::ServerId;

// What the simulator shows a workload and lets it do.
class SimControl {
 public:
    // Simulated time: 100 units per tick (the session workload reads a unit
    // as one millisecond).
    virtual int64_t now() const = 0;
    virtual int64_t tick_time() const = 0;
    // The longest a peer message takes from send to arrival (while its link
    // stays up).
    virtual int64_t max_message_delay() const = 0;
    // Silence after which a follower or leader gives up (Config), in time units.
    virtual int64_t election_timeout() const = 0;
    // When clients should stop starting new work, so that the run can
    // quiesce before its end (the liveness check wants every server to have
    // delivered the whole committed sequence).
    virtual int64_t quiet_time() const = 0;
    virtual const std::vector<ServerId>& members() const = 0;
    // The server's core while it is up; nullptr while it is down.
    virtual const zab::Core* core(ServerId id) const = 0;
    // Bumped at every start of the server.
    virtual uint64_t incarnation(ServerId id) const = 0;
    // The peer link between two servers, and a number that changes whenever
    // it breaks or comes back (whatever was in flight on it was lost then).
    virtual bool link_up(ServerId a, ServerId b) const = 0;
    virtual uint64_t link_generation(ServerId a, ServerId b) const = 0;
    // Submits on server `id` as its driver would (Core::submit), then
    // carries out the Ready. Fills in request.id (unique in the run) and
    // records the request for the zab checker's integrity check.
    virtual Status submit(ServerId id, zab::Request& request) = 0;
    // True for a server whose disk stays stuck through the liveness phase:
    // it cannot catch up, and the end-of-run checks leave it out.
    virtual bool sick(ServerId id) const = 0;
    // Calls Workload::wake(token) at time `at`.
    virtual void wake_at(int64_t at, uint64_t token) = 0;
    virtual void trace(const std::string& line) = 0;

 protected:
    ~SimControl() = default;
};

class Workload {
 public:
    virtual ~Workload() = default;
    // Once, before any server starts.
    virtual void begin(SimControl& sim) = 0;
    // Server `id` starts (a new process): its state machine, in the initial
    // state; the simulator restores it next. Valid until crashed(id).
    virtual StateMachine& start(ServerId id) = 0;
    // The state machine of `id` was reset to a snapshot at `zxid` (at start,
    // or a SNAP from the leader).
    virtual void restored(ServerId id, Zxid zxid) = 0;
    virtual void crashed(ServerId id) = 0;
    // Server `id`'s driver, once per tick, before Core::tick().
    virtual void tick(ServerId id) = 0;
    // Server `id` is stopped (SIGSTOP) until `until`: nothing of it runs,
    // then one late tick. SimControl::core(id) is null meanwhile.
    virtual void paused(ServerId /*id*/, int64_t /*until*/) {}
    // A request submitted on `id` finished (committed or absorbed).
    virtual void completed(ServerId id, const zab::Completion& completion) = 0;
    virtual void wake(uint64_t token) = 0;
    // After every simulated event (for checks that watch time pass).
    virtual void observe() = 0;
    // After the liveness phase, when every fault has healed.
    virtual void check_end() = 0;
    // Empty while every check of the workload holds.
    virtual const std::string& failure() const = 0;
    // Counters for the run's summary, by name.
    virtual std::map<std::string, uint64_t> counts() const = 0;
};

}  // namespace chorus::sim
