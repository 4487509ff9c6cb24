// Driver: the one place that carries out a zab::Core's Readys.
//
// chorus::Node (real sockets, RocksDB, threads) and the simulator (seeded
// network, disks and clocks, tests/sim) both run this class, so the
// simulator tests the code production runs (FoundationDB's way): the order
// of a Ready's parts, one Ready for everything that arrived together, the
// yield between long runs of Readys, SNAP transfers cut into paced chunks
// and reassembled, snapshots produced off the driver's thread, request and
// sync deadlines, and which callbacks run when.
//
// The driver reaches the world only through DriverEnv (below): frames to
// peers, durable writes, "run this later", timers, a second thread, a
// clock for yielding and warnings, and a log. It includes no Asio, no
// RocksDB and no clock of its own.
//
// Thread: one thread (the "driver thread": Node's core thread, or the
// simulator) makes every call and runs every callback. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "base/status.h"
#include "zab/core/core.h"
#include "zab/core/state_machine.h"
#include "zab/runtime/driver_env.h"
#include "zab/runtime/snapshot_transfer.h"

namespace chorus::runtime {

struct DriverOptions {
    uint32_t tick_ms = 10;                  // to turn the deadline below into ticks
    uint64_t request_timeout_ms = 10000;    // a request or sync without outcome fails then
    uint64_t first_request_id = 1;          // ids must not repeat across restarts
    size_t snapshot_chunk_bytes = 1 << 20;  // SNAPs larger than this go in paced chunks
    uint64_t snapshot_bytes_per_s = 64ull << 20;
    uint64_t yield_after_us = 5000;   // a long run of Readys yields after this
    uint32_t max_readys_per_run = 0;  // ... or after this many (0: no bound)
    uint64_t slow_warning_ms = 50;    // state machine calls slower than this are logged
};

struct DriverStats {
    uint64_t log_records_appended = 0;  // transactions written to this server's log
    uint64_t log_bytes_appended = 0;    // their payload bytes
    uint64_t snapshots_sent = 0;        // SNAP syncs started
    uint64_t snapshots_installed = 0;
    uint64_t yields = 0;  // runs of Readys cut short to let other work in
};

class Driver {
 public:
    using Done = std::function<void(Status, zab::Completion)>;
    using SyncDone = std::function<void(Status, Zxid)>;

    // `state_machine` and `env` must outlive the driver. The state machine
    // has been restored to `snapshot_data` (at durable.snapshot_zxid), the
    // newest snapshot on the disk.
    Driver(zab::Config config, zab::DurableState durable,
           std::shared_ptr<const std::string> snapshot_data, StateMachine& state_machine,
           DriverEnv& env, DriverOptions options);
    ~Driver();

    // Hands out the Readys the core has from its start.
    void start();

    // Inputs from the transport.
    void on_message(zab::ServerId from, zab::pb::PeerMessage& message);
    void on_connected(zab::ServerId peer);
    void on_disconnected(zab::ServerId peer);
    // Frames to `peer` left this process (the kernel took them).
    void on_written(zab::ServerId peer);
    // One tick of the driver's timer: request deadlines, then Core::tick.
    void tick();

    // Submits `request` (any server; a follower forwards it) and assigns
    // its id (returned in `id`). A refusal comes back at once, and the
    // request was not applied — kNotLeader while no leader serves or the
    // driver is stopping, kBusy when the waiting queue is full,
    // kInvalidArgument for a request over the limit — and `done` is then
    // never called. Otherwise `done` is called once: OK with the outcome;
    // or, when the outcome is not known (it may or may not have been
    // applied), kUnknownOutcome if the leader changed or the driver shut
    // down first, kTimeout if no outcome came within request_timeout_ms.
    // Not from inside a callback of this driver (Node defers those).
    Status submit(zab::Request request, Done done, uint64_t* id = nullptr);
    // Proposes `next` as the membership (leader only; zab::Core::reconfigure
    // says what is refused). Ids, refusals and `done` as for submit().
    Status reconfigure(zab::Membership next, Done done, uint64_t* id = nullptr);
    // Hands leadership to `target` (0: the leader picks;
    // zab::Core::transfer_leadership says what is refused). `done` gets OK
    // once the leader has handed over (it no longer leads), or the refusal.
    Status transfer_leadership(zab::ServerId target, Done done, uint64_t* id = nullptr);
    // The id the next submit() will assign (a checker may record it first).
    uint64_t next_request_id() const { return next_request_; }
    // Requests, membership changes, transfers and syncs taken and not yet answered.
    size_t requests_in_flight() const { return pending_.size() + pending_syncs_.size(); }
    // Read barrier: `done` runs once this replica has delivered everything
    // the leader had proposed when the barrier reached it. Refusals as for
    // submit(); once taken, `done` gets OK, kNotLeader if the leader
    // changed or the driver shut down first, or kTimeout.
    Status sync(SyncDone done);

    // A clean stop begins: a leader says goodbye, pending requests fail,
    // nothing new is taken.
    void shutdown();

    // Called after every run of Readys (Node publishes its status there).
    void set_after_process(std::function<void()> fn) { after_process_ = std::move(fn); }

    // True while a run of Readys is being carried out (callbacks run then).
    bool processing() const { return processing_; }
    const zab::Core& core() const { return *core_; }
    const DriverStats& stats() const { return stats_; }
    Zxid snapshot_zxid() const { return snapshot_zxid_; }

 private:
    void process();       // never inside itself: a nested call is folded in
    void process_soon();  // after the handlers already queued (batching)
    void process_once();
    void carry_out(zab::Ready& ready);
    void take_snapshot(Zxid at);
    void expire_pending();
    // Answers every pending request with `requests_status` and every
    // pending sync with `syncs_status` (a sync changes nothing, so its
    // outcome is never in doubt).
    void fail_pending(const Status& requests_status, const Status& syncs_status);
    void warn_if_slow(const char* what, size_t count, uint64_t start_us);

    DriverOptions options_;
    StateMachine& sm_;
    DriverEnv& env_;
    std::unique_ptr<zab::Core> core_;
    SnapshotSender sender_;
    SnapshotAssembler assembler_;
    DriverStats stats_;

    bool processing_ = false;
    bool process_again_ = false;
    bool process_posted_ = false;
    bool stopping_ = false;
    std::function<void()> after_process_;
    // The membership last handed to env_.membership_in_force.
    std::optional<zab::Membership> membership_told_;

    // The newest snapshot's bytes, for SNAP syncs. When a newer one comes,
    // the one before is kept until the next Ready has been carried out: a
    // SNAP the core queued before it heard of the new one names the old.
    Zxid snapshot_zxid_;
    std::shared_ptr<const std::string> snapshot_data_;
    Zxid previous_snapshot_zxid_;
    std::shared_ptr<const std::string> previous_snapshot_data_;
    void set_snapshot(Zxid zxid, std::shared_ptr<const std::string> data);

    uint64_t next_request_;
    std::map<uint64_t, Done> pending_;
    uint64_t next_sync_ = 1;
    std::map<uint64_t, SyncDone> pending_syncs_;
    // Every request and sync gets an answer: oldest first (tick, id, is_sync).
    std::deque<std::tuple<uint64_t, uint64_t, bool>> deadlines_;
    uint64_t ticks_ = 0;

    // Callbacks posted to the env check this first: the driver may be gone
    // by the time they run only if the env outlives it, which Node's does.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace chorus::runtime
