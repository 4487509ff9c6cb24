// StateMachine: what an application implements to be replicated by chorus.
// Pure: it is driven by zab/runtime (chorus::Node) and by tests alike.
//
// The vocabulary an application uses lives in one namespace, chorus:
// chorus::Request, Txn, Completion, Role, ServerId (the protocol's own
// types, declared in chorus::zab, zab/core/types.h) and chorus::StateMachine.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "zab/core/types.h"

namespace chorus {

using zab::Completion;
using zab::Request;
using zab::Role;
using zab::ServerId;
using zab::Txn;

// Threads: every method is called on the node's core thread, one call at a
// time, except the function snapshot() returns.
class StateMachine : public zab::Preprocessor {
 public:
    // std::optional<Txn> preprocess(const Request&), from zab::Preprocessor:
    // leader only, in arrival order: return the transaction to broadcast,
    // or nullopt to absorb the request (a heartbeat, say).
    // Every replica, in zxid order, exactly once per committed transaction.
    virtual void deliver(const Txn& txn) = 0;
    // The whole state as of the last delivered transaction.
    virtual std::string save() = 0;
    // Replaces the state with one saved by save() (empty: the initial state).
    virtual void restore(const std::string& snapshot) = 0;
    // This server's role changed (leader 0: none known yet).
    virtual void role_changed(Role /*role*/, ServerId /*leader*/, uint64_t /*epoch*/) {}
    // A membership change committed, in zxid order among deliveries: `txn`
    // is the core's CONFIG transaction (type zab::kConfigTxnType), never
    // handed to deliver(); `membership` is what it made (docs/protocol.md,
    // "Reconfiguration"). The default ignores it.
    virtual void membership_committed(const Txn& /*txn*/, const zab::Membership& /*membership*/) {}

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
