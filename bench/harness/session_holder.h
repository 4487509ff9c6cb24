// The sessions workload's client: a child process of chorus-bench
// (`chorus-bench hold-sessions SYSTEM N TIMEOUT_MS SERVERS`) that opens N
// sessions, prints "opened N in MS ms", and keeps them alive (each
// system's client heartbeats on its own) until it is SIGKILLed — so the
// sessions then expire, as they do when a real client dies.
#pragma once

#include <string>
#include <vector>

namespace chorus::bench {

// Runs the holder; returns the exit status (only on failure: on success it
// holds until killed).
int hold_sessions(const std::string& system, int count, int timeout_ms,
                  const std::vector<std::string>& servers);

}  // namespace chorus::bench
