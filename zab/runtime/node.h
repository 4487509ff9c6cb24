// chorus::Node — run one replica of a replicated state machine.
//
//   MyStateMachine sm;
//   chorus::NodeOptions options = ...;  // or from flags: options.h, add_node_flags
//   chorus::Node node(options, sm);
//   if (auto s = node.start(); !s.is_ok()) { ... }
//   node.submit({.type = 1, .data = "..."}, [](chorus::Status s, chorus::zab::Completion c) { ...
//   });
//   ... node.stop();  (cli/stop_signals.h stops on SIGTERM/SIGINT, for programs that want it)
//
// Threads: start/stop/submit/sync/status may be called from any thread.
// Everything the node calls back — the state machine and the completion
// callbacks — runs on the node's one core thread, one call at a time, so
// the state machine needs no locks of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/status.h"
#include "net/endpoint.h"
#include "zab/core/state_machine.h"
#include "zab/core/types.h"

namespace chorus {

using zab::Request;
using zab::Role;
using zab::ServerId;
using zab::Txn;

struct NodeOptions {
    ServerId id = 0;
    std::map<ServerId, net::Endpoint> peers;  // every server, this one included
    std::string data_dir;
    bool bootstrap = false;  // the first start of a new ensemble (see docs/operations.md)
    uint32_t tick_ms = 10;
    uint32_t election_timeout_ticks = 20;  // 200 ms with the default tick
    uint32_t heartbeat_interval_ticks = 2;
    uint32_t max_inflight_proposals = 64;
    uint32_t max_batch_txns = 1024;
    uint64_t snapshot_every_txns = 100000;
    uint64_t snapshot_every_bytes = 256ull << 20;      // or after this much transaction data
    uint64_t snapshot_send_bytes_per_s = 64ull << 20;  // throttle for SNAP transfers
    uint64_t log_tail_keep_txns = 10000;
    size_t max_frame_bytes = 64 << 20;
};

struct NodeStatus {
    Role role = Role::kLooking;
    ServerId leader = 0;
    uint64_t epoch = 0;
    Zxid last_zxid;
    Zxid committed;
    Zxid delivered;
    bool serving = false;
    bool voting = false;
    // Transactions this server appended to its log since it started, and
    // their payload bytes (every transaction, whatever its type).
    uint64_t log_records_appended = 0;
    uint64_t log_bytes_appended = 0;
};

class Node {
 public:
    // `state_machine` must outlive the node.
    Node(NodeOptions options, StateMachine& state_machine);
    ~Node();  // stops the node if it runs

    // Opens and checks the data directory, restores the newest snapshot,
    // listens for peers and starts the core thread. Errors: a data
    // directory that cannot be trusted (kCorrupt, naming file and zxid), an
    // address that cannot be bound (kIoError).
    Status start();
    // A clean stop: a leader says goodbye (followers elect at once), the
    // writes in flight finish, links close. Pending requests fail. Do not
    // call it from a callback (it waits for the core thread).
    void stop();

    using Done = std::function<void(Status, zab::Completion)>;
    // Submits a request (any server; a follower forwards it). `done` runs on
    // the core thread: OK with the outcome once committed (or absorbed), or
    // an error — kNotLeader (retryable) while no leader serves, or if the
    // leader changed before the outcome was known (it may have committed);
    // kBusy if no outcome came within 10 s; kInvalidArgument if the request
    // is over a quarter of --max-frame-bytes. `done` is always called.
    void submit(Request request, Done done);
    // Read barrier: `done` runs once this replica has delivered everything
    // the leader had proposed when the barrier reached it.
    void sync(std::function<void(Status, Zxid)> done);

    NodeStatus status() const;
    // Runs `fn` on the core thread (for reading the state machine safely).
    void post(std::function<void()> fn);

 private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chorus
