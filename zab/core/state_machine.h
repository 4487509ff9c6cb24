// StateMachine: what an application implements to be replicated by chorus.
// Pure: it is driven by zab/runtime (chorus::Node) and by tests alike.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "zab/core/types.h"

namespace chorus {

class StateMachine : public zab::Preprocessor {
 public:
    // (preprocess, from Preprocessor) leader only, in arrival order: return
    // the transaction to broadcast, or nullopt to absorb the request.
    // Every replica, in zxid order, exactly once per committed transaction.
    virtual void deliver(const zab::Txn& txn) = 0;
    // The whole state as of the last delivered transaction.
    virtual std::string save() = 0;
    // Replaces the state with one saved by save() (empty: the initial state).
    virtual void restore(const std::string& snapshot) = 0;
    virtual void role_changed(zab::Role /*role*/, zab::ServerId /*leader*/, uint64_t /*epoch*/) {}

    // Taking a snapshot without stopping the core. Called on the core
    // thread when a snapshot is due; returns a function that produces the
    // state as of this moment. The function runs on another thread while
    // the core goes on delivering, so it may only read a view the state
    // machine has set aside for it (a frozen copy-on-write version, say).
    // The default copies the whole state here with save(): simple, but it
    // stalls the core thread for as long as the copy takes.
    virtual std::function<std::string()> snapshot() {
        return [state = save()]() { return state; };
    }
    // Core thread: the function returned by snapshot() has finished.
    virtual void snapshot_done() {}
};

}  // namespace chorus
