// The recovery workload: how long a server that holds a lot of data takes
// to rejoin its ensemble after a crash, the same way for every system.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/harness/driver.h"
#include "bench/harness/ensemble.h"

namespace chorus::bench {

struct RecoveryOptions {
    uint64_t data_dir_bytes = 1ull << 30;     // fill the follower's data directory to this
    size_t value_bytes = 64 << 10;            // each write sets a value this big
    uint64_t max_state_bytes = 256ull << 20;  // distinct keys x value_bytes, at most
    int window = 16;                          // writes in flight
    double fill_timeout_s = 600;              // give up filling after this
    // Writes while the follower is down, for it to catch up on: a count,
    // not a time, so that every system gets the same to catch up on.
    int catch_up_values = 256;
    double rejoin_timeout_s = 120;  // give up waiting for it after this
};

struct RecoveryResult {
    int server = 0;               // the follower that was killed and restarted
    int keys = 0;                 // distinct keys written over and over
    uint64_t state_bytes = 0;     // min(values_written, keys) x value_bytes
    uint64_t values_written = 0;  // acknowledged writes, filling and catching up
    uint64_t failed = 0;          // writes that failed
    double fill_seconds = 0;
    double fill_values_per_s = 0;
    uint64_t data_dir_bytes = 0;  // Ensemble::data_dir_bytes() of `server` once killed
    double recovery_ms = 0;       // restart -> following (back in the quorum)
    double first_read_ms = 0;     // restart -> a sync+read through it answered
    std::string error;            // why it stopped early, if it did
};

// Makes a driver talking to `servers` only, with `tag` as in driver.h.
using DriverFactory =
    std::function<std::unique_ptr<Driver>(const std::vector<std::string>& servers, int tag)>;

// Writes values through one driver connected to the leader, overwriting a
// fixed set of keys, until a follower's data directory holds
// `options.data_dir_bytes`; SIGKILLs that follower, writes
// `options.catch_up_values` more, restarts it and times its way back: until it
// follows, and until a sync+read of the last key written, through a driver
// connected to it alone, answers. `progress` is told of each step.
RecoveryResult run_recovery(Ensemble& ensemble, const DriverFactory& make_driver,
                            const RecoveryOptions& options,
                            const std::function<void(const std::string&)>& progress);

}  // namespace chorus::bench
