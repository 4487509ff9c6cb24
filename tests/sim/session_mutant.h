// MutantTracker: the session tracker as the simulator runs it — the real
// session::Tracker, with planted bugs that prove the session checks can
// fail. With SessionMutation::kNone every call goes straight through.
//
// The bugs live here, around the Tracker, and not in session/: they model
// mistakes a tracker or its driver could make, without touching the code
// under test.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "session/tracker.h"

namespace chorus::sim {

enum class SessionMutation : uint8_t {
    kNone,
    kHeartbeatsIgnored,       // the leader absorbs heartbeats without moving any deadline
    kHeartbeatsLogged,        // the leader moves deadlines but also logs every heartbeat batch
    kExpiryKeepsEphemerals,   // one follower drops expired sessions but keeps their ephemerals
    kStaleDeadlines,          // the tracker hears only of its first term as leader, so
                              // when it leads again it still has that term's deadlines
    kClockInTicks,            // the driver passes ticks where milliseconds are expected
    kReplicaSkipsRevalidate,  // one follower ignores revalidations (its owners diverge)
    kBatchKeepsFirst,         // an owner forwards only the first heartbeat of each batch
                              // (a driver bug: see session_workload.cc)
};

// The command-line name of each mutation ("none" for kNone), and back.
const char* session_mutation_name(SessionMutation mutation);
std::optional<SessionMutation> session_mutation_from_name(const std::string& name);
std::vector<std::string> session_mutation_names();  // without "none"

class MutantTracker final : public StateMachine {
 public:
    // `victim`: this replica is the one that misbehaves, for the mutations
    // that hit one follower.
    MutantTracker(SessionMutation mutation, bool victim) : mutation_(mutation), victim_(victim) {}

    std::optional<zab::Txn> preprocess(const zab::Request& request) override;
    void deliver(const zab::Txn& txn) override;
    std::string save() override { return tracker_.save(); }
    void restore(const std::string& snapshot) override { tracker_.restore(snapshot); }
    void role_changed(zab::Role role, zab::ServerId leader, uint64_t epoch) override;

    void set_now_ms(uint64_t now_ms);
    std::vector<uint64_t> due_for_expiry(size_t limit) const {
        return tracker_.due_for_expiry(limit);
    }
    const session::Tracker& tracker() const { return tracker_; }

 private:
    bool follower_victim() const { return victim_ && !leading_; }

    session::Tracker tracker_;
    SessionMutation mutation_;
    bool victim_;
    bool leading_ = false;
    bool led_once_ = false;  // kStaleDeadlines
};

}  // namespace chorus::sim
