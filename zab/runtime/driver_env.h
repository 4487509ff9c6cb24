// DriverEnv: what the one Ready driver (driver.h) needs from the world,
// and StorageJob, the durable work it hands to the storage side.
// Node implements it with Asio, the Transport, the StorageWorker and a
// thread; the simulator with simulated links, disks and time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zab/core/membership.h"
#include "zab/core/types.h"

namespace chorus::runtime {

// Durable work for the storage side, in the order given.
struct StorageJob {
    std::vector<zab::Write> writes;
    // Save the state machine's snapshot (taken on the driver thread) at zxid.
    // Shared, not copied: it may be a gigabyte, and the driver keeps it too
    // (for SNAP syncs).
    struct SavedSnapshot {
        Zxid zxid;
        std::shared_ptr<const std::string> data;
    };
    std::optional<SavedSnapshot> save_snapshot;
    // Runs on the driver thread once everything above is durable. Jobs with
    // writes complete in the order they were handed over; one that only
    // saves a snapshot may complete before or after them (a snapshot file
    // does not wait for the log, nor the log for it).
    std::function<void()> done;
};

enum class LogLevel : uint8_t { kInfo, kWarn, kError, kCritical };

// What a driver needs from the world. Each call is made on the driver
// thread; each function handed over is run on the driver thread too, and
// never from inside the call that hands it over.
class DriverEnv {
 public:
    virtual ~DriverEnv() = default;
    // Sends one frame to `to` if a link is up (dropped otherwise; the core
    // copes). Never reports a broken link from inside the call.
    virtual void send(zab::ServerId to, const zab::pb::PeerMessage& message) = 0;
    // Closes the link to `peer`; on_disconnected comes later.
    virtual void reset_link(zab::ServerId peer) = 0;
    // Carries out `job` durably, then runs job.done (see StorageJob for the
    // order). A failed durable write is fatal for the process.
    virtual void write(StorageJob job) = 0;
    // Runs `fn` after what is already queued for the driver thread. The one
    // call that may also come from the work given to run_off_thread.
    virtual void post(std::function<void()> fn) = 0;
    // Runs `fn` after `delay_us` microseconds (or later).
    virtual void run_after(uint64_t delay_us, std::function<void()> fn) = 0;
    // Runs `work` on another thread (one piece of work at a time: the
    // driver hands over the next only after the last one posted back).
    // `work` must not touch the driver: it posts what it made back.
    virtual void run_off_thread(std::function<void()> work) = 0;
    // A monotonic clock in microseconds, for yielding and slow-work warnings.
    virtual uint64_t now_us() = 0;
    virtual void log(LogLevel level, const std::string& line) = 0;
    // The membership the core counts with is now `membership` (R1 of
    // docs/protocol.md: the last CONFIG in its log, committed or not, or
    // the stored one): once after the first Ready, then at every change.
    // The Node links with its servers' addresses; others may ignore it.
    virtual void membership_in_force(const zab::Membership& membership) { (void)membership; }
};

}  // namespace chorus::runtime
