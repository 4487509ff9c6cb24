// chorus::Node — run one replica of a replicated state machine.
//
//   MyStateMachine sm;
//   chorus::NodeOptions options = ...;  // or from flags: cli/node_flags.h
//   chorus::Node node(options, sm);
//   if (auto s = node.start(); !s.is_ok()) { ... }
//   node.submit({.type = 1, .data = "..."}, [](chorus::Status s, chorus::Completion c) { ... });
//   ... node.stop();  (cli/stop_signals.h stops on SIGTERM/SIGINT, for programs that want it)
//
// Threads: start/stop/submit/sync/status/post may be called from any
// thread. Everything the node calls back — the state machine, the tick
// hooks and the completion callbacks — runs on the node's one core thread,
// one call at a time, so the state machine needs no locks of its own. The
// one exception: a submit() or sync() made while the node is not running
// is answered at once, on the caller's thread, inside the call.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/status.h"
#include "net/endpoint.h"
#include "zab/core/membership.h"
#include "zab/core/state_machine.h"
#include "zab/core/types.h"

namespace chorus {

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
    // R8 (docs/protocol.md): a change that adds a voter is refused until
    // that server follows the leader at most this many transactions behind.
    uint64_t promote_max_lag_txns = 1000;
    // A leader's stop() first hands leadership to a caught-up voter
    // (transfer_leadership), waiting at most an election timeout, so that
    // writes stall for a round trip rather than an election timeout. (Any
    // server's stop() then waits, up to an election timeout and half a
    // second, for the requests it took to be answered.)
    bool transfer_on_stop = true;
    // Joining a running ensemble (--join): called by start() when the data
    // directory holds no membership yet, to learn the ensemble's from one
    // of its members (cli/join.h asks a member's HTTP port). The answer is
    // stored and `peers` then needs to name only this server. Once joined,
    // the stored membership is used and this is not called again. Set, the
    // server never bootstraps: it is not a voter until a change makes it one.
    std::function<Result<zab::Membership>()> join;
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
    // A clean stop: new requests are refused (kNotLeader); a leader hands
    // leadership over (transfer_on_stop) or else says goodbye (followers
    // elect at once); the requests taken are answered (waiting up to an
    // election timeout and half a second; those still pending then fail
    // with kUnknownOutcome); the writes in flight finish, links close. Do
    // not call it from a callback (it waits for the core thread).
    void stop();

    using Done = std::function<void(Status, Completion)>;
    // Submits a request (any server; a follower forwards it). `done` runs on
    // the core thread: OK with the outcome once committed (or absorbed), or
    // an error. Not applied, retry: kNotLeader while no leader serves (or
    // the node is not running), kBusy if too many requests wait. Outcome
    // unknown — it may or may not have been applied: kUnknownOutcome if the
    // leader changed or the node stopped first, kTimeout if no outcome came
    // within 10 s. Never applied: kInvalidArgument if the request is over a
    // quarter of --max-frame-bytes. `done` is always called,
    // exactly once: if the node is not running (before start(), after
    // stop()), at once on the caller's thread with kNotLeader; if it is
    // stopping, later on the core thread with kNotLeader. (The one gap: a
    // submit() from another thread that races with stop() may be dropped
    // uncalled once the core thread has ended — stop the callers first.)
    // Called on the core thread outside a delivery (from a tick hook, say),
    // the request is taken at once; otherwise it is queued.
    void submit(Request request, Done done);
    // Read barrier: `done` runs once this replica has delivered everything
    // the leader had proposed when the barrier reached it. Answered like
    // submit(): once, on the core thread, or at once on the caller's
    // thread with kNotLeader if the node is not running.
    void sync(std::function<void(Status, Zxid)> done);
    // Proposes `next` as the membership (docs/protocol.md,
    // "Reconfiguration"), on any server: a follower or observer forwards it
    // to the leader, which judges it. `done` is called once, on the core
    // thread: OK once the CONFIG commits; kNotLeader while no leader serves;
    // kBusy for a change still in flight, one whose new voters in touch make
    // no quorum, or one adding a voter that has not caught up (R8); kInvalidArgument
    // for more than one voter changed, the leader removed, or an impossible
    // membership; kUnknownOutcome if the leader changed first, kTimeout if
    // no answer came in 10 s. Build `next` from membership() and keep its
    // version: a change built on a membership the leader has replaced since
    // is refused with kBusy (build it again). Addresses are the servers'
    // peer addresses (IP:PORT).
    void reconfigure(zab::Membership next, Done done);
    // Hands leadership over (docs/protocol.md, "Leadership transfer") to
    // voter `target`, or with 0 to the caught-up voter the leader picks; on
    // any server (a follower or observer asks the leader). The leader takes
    // no new request meanwhile (they are refused as not serving, and the
    // client library retries them), commits what it took, and hands over
    // once the target holds all of it: writes stall for about a round trip.
    // `done` once, on the core thread: OK once the leader has handed over
    // (the target is then elected within a round trip; status() shows it);
    // kTimeout if the target did not catch up within an election timeout
    // (the leader goes on leading); kNotLeader while no leader serves, or if
    // it stepped down first; kInvalidArgument for a target that leads
    // already or is not a voter; kBusy while a transfer or a membership
    // change is in flight, or if the target does not follow the leader now.
    void transfer_leadership(zab::ServerId target, Done done);

    // The membership in force on this server (docs/protocol.md, R1: that of
    // the last CONFIG it holds, committed or not), as of the core thread's
    // last step; empty before start(). Any thread.
    zab::Membership membership() const;

    // True from a successful start() until stop() begins (any thread).
    bool running() const;
    // A copy of the node's state as of the core thread's last step (any
    // thread; never blocks on the core thread).
    NodeStatus status() const;
    // Queues `fn` to run on the core thread (for reading the state machine
    // safely); it always goes to the back of the queue, even when called
    // from the core thread. Posted before start(), it runs once the node
    // starts; posted after stop() has begun, it may never run.
    void post(std::function<void()> fn);

    // Before start(): `hook` runs on the core thread once per tick
    // (--tick-ms), after the protocol's own tick, with the steady clock in
    // milliseconds. For the periodic work of a service on the node
    // (heartbeat flushes, expiry) without a thread of its own. Hooks run in
    // the order they were added; they stop when stop() begins.
    void on_tick(std::function<void(uint64_t now_ms)> hook);

 private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chorus
