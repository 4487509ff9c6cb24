// RegistryClient: how a client finds an HBase-style cluster's masters and
// meta without ZooKeeper (HBASE-18095): it is given the masters' lookup
// addresses and asks any of them (registry.proto).
//
//   chorus::registry::RegistryClient client({.masters = {"m1:16000", "m2:16000", "m3:16000"}});
//   auto active = client.active_master();   // Result<ServerName>
//   if (!active.is_ok()) ... active.status().message() ...
//
// What it does:
// - Spread: each lookup starts at a master picked at random, so no master
//   is a hot spot; by default it probes the others, in random order too,
//   until one answers or the list is exhausted.
// - Hedging (hedge > 1): each step asks that many masters at once, chosen
//   at random (not in list order); the first good answer wins.
// - A master that does not answer within attempt_timeout_ms (stopped,
//   partitioned, overloaded), or says it is not serving, is passed over for
//   the next. When every master said it is not serving or could not be
//   reached (an election, a restart), the lookup is tried again after a
//   short pause. One overall timeout (timeout_ms) bounds every lookup.
// - A cache: an answer is reused for cache_ttl_ms (the staleness bound),
//   then fetched again; invalidate() drops it at once, for a caller that
//   found an answer wrong (the active master it named refused it).
// - set_masters() changes the list without a restart; the masters' own
//   list (masters()) is there to build it from.
//
// Errors: kNotFound (nothing there yet: no meta location; no active
// master — which active_master() waits out, within the timeout, since a
// failover shows as a moment without one), kNotLeader (every master asked said it is not serving),
// kTimeout (no answer within timeout_ms, or none of the masters could be
// reached), kInvalidArgument (a request a master refused as malformed).
//
// Threads: any thread may call anything; calls block until answered. One
// I/O thread of its own holds a connection per master.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "examples/registry/registry_cache.h"

namespace chorus::registry {

struct RegistryClientOptions {
    std::vector<std::string> masters;    // "host:port" of every master's lookup port
    uint32_t hedge = 1;                  // >1: ask that many masters at once
    uint64_t timeout_ms = 5000;          // a whole lookup
    uint64_t attempt_timeout_ms = 1000;  // one master's answer (then the next)
    uint64_t cache_ttl_ms = 1000;        // 0: no cache
    uint64_t seed = 0;                   // for picking masters; 0: random
};

struct RegionServerInfo {
    ServerName name;
    std::string metadata;
};

struct Masters {
    std::optional<ServerName> active;
    std::vector<ServerName> backups;
};

// The outcome of set_meta_location: applied, or refused because the
// version was not the one expected (then `now` is the one there, if any).
struct MetaWrite {
    bool applied = false;
    std::optional<MetaLocation> now;
};

// Where an answer came from, for tests and registry-admin.
struct LookupCounters {
    uint64_t lookups = 0;     // calls
    uint64_t cache_hits = 0;  // answered from the cache
    uint64_t requests = 0;    // requests sent to masters (hedges included)
    uint64_t failovers = 0;   // a master passed over (no answer, not serving, unreachable)
};

class RegistryClient {
 public:
    explicit RegistryClient(RegistryClientOptions options);
    ~RegistryClient();

    Result<std::string> cluster_id();
    Result<ServerName> active_master();
    Result<MetaLocation> meta_location();
    Result<std::vector<RegionServerInfo>> region_servers();
    Result<Masters> masters();
    // Never cached, never hedged, and sent to another master only when the
    // one asked surely did not apply it (not serving, unreachable); without
    // an answer it is kUnknownOutcome: read the meta location. A refusal
    // whose `now` names `server` means an earlier try applied.
    // expected_version -1: only if none is set yet.
    Result<MetaWrite> set_meta_location(const ServerName& server, int64_t expected_version);

    // Drops every cached answer.
    void invalidate();
    // Takes effect for the next lookup; connections to masters no longer
    // listed are closed.
    void set_masters(std::vector<std::string> masters);
    // The master that gave the last answer ("host:port"), "" if none yet.
    std::string last_master() const;
    LookupCounters counters() const;

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chorus::registry
