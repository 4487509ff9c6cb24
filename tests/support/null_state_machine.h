// A state machine that keeps nothing and absorbs every request: for tests
// of a Node itself (its start, its data directory), not of replication.
#pragma once

#include <optional>
#include <string>

#include "zab/core/state_machine.h"

namespace chorus::testing {

class NullStateMachine : public StateMachine {
 public:
    std::optional<zab::Txn> preprocess(const zab::Request&) override { return std::nullopt; }
    void deliver(const zab::Txn&) override {}
    std::string save() override { return ""; }
    void restore(const std::string&) override {}
};

}  // namespace chorus::testing
