// MasterElection: one master's run for active master, through the session
// service of its own server (in process, no network between them).
//
//   - It opens a session of its own and heartbeats it.
//   - It makes sure /hbase, /hbase/rs and /hbase/backup-masters exist, and
//     creates /hbase/hbaseid with a new cluster id if no master has yet
//     (so the id is made once, by whichever master comes first).
//   - While no master is active it creates the ephemeral /hbase/master
//     holding its name: the first create wins. One that finds the node
//     there lists itself as the ephemeral /hbase/backup-masters/<name> and
//     stands by; when the active master's session ends its node goes with
//     it, and the standbys race again.
//   - It counts itself active only while /hbase/master names it and it
//     holds a lease on its session: every quarter of the session timeout
//     it sends a heartbeat the leader confirms
//     (SessionService::heartbeat_confirmed), then a logged no-op write (a
//     CHECK of /hbase) that the leader orders after everything it decided
//     before; if its replica still has the session once the write's answer
//     comes, the session lived when the leader took the heartbeat (an
//     expiry decided before it would have been delivered first), so it
//     lives until at least a full timeout after the heartbeat was sent. The lease runs
//     that long, less a fifth of the timeout. It is checked against the
//     clock wherever state() is read, so a master cut off from the quorum,
//     or whose core thread stalls, or whose replica lags after a partition
//     heals, stops calling itself active before the ensemble can expire its
//     session and let another win. (This needs the masters' clocks to run
//     at about the same rate, not to agree.)
//   - A session the ensemble expired (lost) is replaced by a new one, and
//     the run starts again.
//
// Whether /hbase/master names it is read from the registry's cache (the
// caller passes its view in): the cache follows every change delivered to
// this replica, so even a create whose answer was lost (UNCERTAIN) is
// settled by what the tree says.
//
// Threads: tick() on the node's core thread (a front end's tick); the
// service answers there too. state() and the counters from any thread.
// resign() from any thread but the core thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "examples/registry/registry_cache.h"

namespace chorus {
class Node;
namespace session {
class SessionService;
}
}  // namespace chorus

namespace chorus::registry {

struct ElectionOptions {
    ServerName self;                     // this master's name, the data of /hbase/master
    uint64_t session_timeout_ms = 3000;  // of the master's own session
    std::string new_cluster_id;          // written to /hbase/hbaseid if there is none
};

enum class MasterState : uint8_t {
    // No session yet, the setup writes not done, or named by /hbase/master
    // without a lease (its session's life is unknown).
    kStarting,
    kBackup,  // standing by (listed under /hbase/backup-masters once done)
    kActive,  // /hbase/master names this master and its session lives
};
const char* master_state_name(MasterState state);  // "starting", "backup", "active"

class MasterElection {
 public:
    // `service` and `node` (the node it runs on) must outlive the election.
    MasterElection(ElectionOptions options, session::SessionService& service, Node& node);
    ~MasterElection();

    // One step (core thread): renew the lease when due, retry what failed,
    // run for active when /hbase/master is free. `view` is the cache as this
    // replica has delivered it; `serving`, whether this server serves now
    // (no writes are tried while it does not).
    void tick(uint64_t now_ms, const RegistryView& view, bool serving);

    // Closes the session (so /hbase/master, or this backup's node, goes at
    // once instead of at its timeout) and waits up to `wait_ms` for the
    // answer. After it, tick() does nothing. Not on the core thread.
    void resign(uint64_t wait_ms);

    // From the lease and the replica, against the clock now (any thread).
    MasterState state() const;
    uint64_t session_id() const;     // 0: none now
    uint64_t times_won() const;      // times this master became active
    uint64_t sessions_lost() const;  // sessions the ensemble expired under it

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;  // the service's answers hold it weakly
};

}  // namespace chorus::registry
