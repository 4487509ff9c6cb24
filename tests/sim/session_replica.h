// SessionReplica: one server's session tracker as the simulator drives it —
// the StateMachine its core's preprocess, deliver, save, restore and
// role_changed reach — and the probe that tells the SessionChecker what the
// tracker was given and what it decided.
//
// It wraps a MutantTracker: the probe sits outside any planted bug, so it
// records what a correct tracker must do with the inputs it saw, and the
// checker compares that with what came out.
//
// One per incarnation of a server (a restart is a new process: a new
// replica, in the initial state, then restored from the disk's snapshot).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "session/session.pb.h"
#include "session/tracker.h"
#include "tests/sim/session_checker.h"
#include "tests/sim/session_mutant.h"
#include "tests/sim/workload.h"

namespace chorus::sim {

class SessionReplica final : public StateMachine {
 public:
    // What the replica reports to the workload. Calls come from inside the
    // core's calls: they must not submit.
    class Events {
     public:
        // `leader`'s preprocess made a transaction that expires `session`.
        virtual void expiry_decided(ServerId leader, uint64_t session, uint64_t timeout_ms) = 0;
        // `leader` absorbed a heartbeat for `session`, which it has.
        virtual void heartbeat_absorbed(ServerId leader, uint64_t session) = 0;
        // `change` at `zxid` joined the committed sequence (its first
        // delivery anywhere); `ephemerals_expired`: the ephemeral nodes its
        // expiry removed on that replica.
        virtual void committed(const session::pb::TrackerTxn& change, Zxid zxid,
                               size_t ephemerals_expired) = 0;
        // `id` reported kLeading in another epoch without a role change in
        // between (a new term the tracker cannot tell from the old one).
        virtual void unseen_term(ServerId id) = 0;

     protected:
        ~Events() = default;
    };

    // `sim`, `checker` and `events` must outlive the replica.
    SessionReplica(ServerId id, SessionMutation mutation, bool victim, SimControl& sim,
                   SessionChecker& checker, Events& events);

    // StateMachine.
    std::optional<zab::Txn> preprocess(const zab::Request& request) override;
    void deliver(const zab::Txn& txn) override;
    std::string save() override { return mutant_.save(); }
    void restore(const std::string& snapshot) override;
    void role_changed(zab::Role role, zab::ServerId leader, uint64_t epoch) override;

    // The driver's clock, read once per tick (Tracker::set_now_ms).
    void set_clock(int64_t now_ms);
    // The simulator reset this replica to a snapshot at `zxid`.
    void restored(Zxid zxid);
    // The process dies.
    void crashed();

    std::vector<uint64_t> due_for_expiry(size_t limit) const {
        return mutant_.due_for_expiry(limit);
    }
    const session::Tracker& tracker() const { return mutant_.tracker(); }
    Zxid position() const { return position_; }

 private:
    ServerId id_;
    MutantTracker mutant_;
    SimControl& sim_;
    SessionChecker& checker_;
    Events& events_;
    int64_t clock_ms_ = 0;
    bool leading_ = false;     // as the tracker must see it: the last role report
    uint64_t term_epoch_ = 0;  // the epoch of the last kLeading report
    Zxid position_;            // last delivered, or restored
};

}  // namespace chorus::sim
