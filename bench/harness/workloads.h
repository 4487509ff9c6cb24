// What chorus-bench measures, the same way for every system.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/harness/driver.h"
#include "bench/harness/ensemble.h"

namespace chorus::bench {

struct LatencySummary {
    double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
};
LatencySummary summarise(std::vector<double> latencies_ms);

struct WriteResult {
    uint64_t notifications = 0;  // kChurn: change notifications all watchers received
    uint64_t ok = 0;
    uint64_t failed = 0;
    double seconds = 0;
    double ops_per_s = 0;
    LatencySummary latency;
};

// kChurn: each slot's member joins the group, leaves, joins... (each join
// or leave is one operation).
enum class Op { kWrite, kRead, kSyncRead, kChurn };
const char* op_name(Op op);  // "write", "read", "sync_read", "churn"

// Closed loop: `window` operations always in flight, spread over the
// drivers; each completion starts the next. Measures for `seconds` after
// `warmup_seconds`. Writes set `value`; reads read it back.
// With kChurn, every driver also watches the group (re-arming after each
// notification) while it runs.
WriteResult run_ops(const std::vector<Driver*>& drivers, Op op, int window,
                    const std::string& value, double warmup_seconds, double seconds);

struct FailoverResult {
    std::vector<double> unavailable_ms;  // per kill: no write completed for this long
    std::vector<double> first_write_ms;  // per kill: from the kill to the next completed write
    std::string error;                   // why it stopped early, if it did
};

// Window-1 writes through `driver` while the leader is stopped `kills`
// times: SIGKILLed, or with `graceful` SIGTERMed (a chorus leader then
// hands leadership over first); after each, the stopped server is restarted
// and the ensemble given time to settle. `progress` is told of each stop.
FailoverResult run_failover(Ensemble& ensemble, Driver& driver, const std::string& value, int kills,
                            const std::function<void(const std::string&)>& progress,
                            bool graceful = false);

struct SessionResult {
    int sessions = 0;
    double creates_per_s = 0;
    double log_bytes_per_create = 0;
    double log_bytes_per_expire = 0;
    double log_bytes_per_heartbeat = 0;
    double heartbeats = 0;                // sent while held (estimated: count x held / interval)
    double leader_bytes_per_session = 0;  // Ensemble::memory_in_use() growth while held
    std::string memory_measure;           // how it was measured
    std::string error;
};

// A child process that opens sessions: its argv, and the file its output
// goes to (it prints "opened N in MS ms", or "failed: ...").
struct SessionHolder {
    std::vector<std::string> argv;
    std::string log;
};

// `count` sessions opened by child processes (`holders`, all started at
// once, their counts adding up to `count`), held for two timeouts while
// they heartbeat, then left to expire (the children are SIGKILLed). Log
// bytes and memory are read off the leader.
SessionResult run_sessions(Ensemble& ensemble, const std::vector<SessionHolder>& holders, int count,
                           int timeout_ms, const std::function<void(const std::string&)>& progress);

}  // namespace chorus::bench
