// registry-admin watch: lookups without end, as a client that never stops
// asking sees the registry through a failover, a partition or a roll.
//
// Every interval it looks up the active master and the live region
// servers (through one RegistryClient, so with its probing, hedging and
// timeouts), and prints a line when the answer changes or a lookup fails;
// at the end, a summary: lookups, failures, latency percentiles, changes of
// active master. With json set, each line is a JSON object instead
// ({"event": "change" | "failed" | "summary", "t_ms": ...}), for tests.
//
// It runs for duration_ms (0: until stop() is called, from a signal
// handler for instance) and returns 0 if no lookup failed, else 1.
#pragma once

#include <atomic>
#include <cstdint>

#include "examples/registry/registry_client.h"

namespace chorus::registry {

struct WatchOptions {
    uint64_t interval_ms = 100;  // between one round's end and the next's start
    uint64_t duration_ms = 0;    // 0: until *stop is set
    bool json = false;
};

// Runs the loop on the calling thread until duration_ms has passed or *stop
// is set (checked between lookups and during the waits).
int watch_registry(RegistryClient& client, const WatchOptions& options,
                   const std::atomic<bool>& stop);

}  // namespace chorus::registry
