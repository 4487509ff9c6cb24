// Log: a replica's durable transaction log and its two epochs.
//
// The log is a contiguous run of entries (see `is_successor` in zxid.h) that
// starts right after `base()` — the zxid the log was compacted or reset to,
// zero for a log that was never compacted — and ends at `last_zxid()`.
//
// Contract shared by every implementation (tests/storage/log_conformance_test
// runs the same suite over each):
//   - A call that returns OK has made its change durable: after a crash and
//     reopen, it is there. A batch is atomic: after a crash either all of it
//     is present or none of it.
//   - Appends that are not contiguous with the last entry are refused with
//     kInvalidArgument and change nothing.
//   - A failed durable write (the disk refused an fsync) is fatal: the
//     implementation aborts the process, because retrying after a failed
//     fsync can silently lose data. Recovery is a restart from disk.
//   - Not thread-safe: one thread (the runtime's storage thread, or the
//     simulator) owns a Log.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/zxid.h"

namespace chorus::storage {

// One transaction as it is kept in the log. `type` is defined by the layer
// above (zab); storage keeps it and counts by it, nothing more.
struct Entry {
    Zxid zxid;
    uint32_t type = 0;
    std::string payload;

    friend bool operator==(const Entry&, const Entry&) = default;
};

// Bounds for a read: whichever is reached first ends it. At least one entry
// is returned when one exists in range, even if it alone exceeds max_bytes.
struct ReadLimits {
    size_t max_entries = SIZE_MAX;
    size_t max_bytes = SIZE_MAX;
};

// The membership in force at a log's base (docs/protocol.md,
// "Reconfiguration"): the zxid of the CONFIG that made it, and its
// record (zab's MembershipRecord; storage neither reads nor checks it).
struct StoredMembership {
    Zxid version;
    std::string record;

    friend bool operator==(const StoredMembership&, const StoredMembership&) = default;
};

class Log {
 public:
    virtual ~Log() = default;

    // Appends `entries` in order as one durable batch (one sync). The first
    // must be the successor of last_zxid() (or of base() when the log is
    // empty), each the successor of the one before, and none from an epoch
    // above accepted_epoch(). An empty batch is OK.
    virtual Status append(std::span<const Entry> entries) = 0;

    // Entries with first <= zxid <= last in zxid order, within `limits`.
    // Asking for entries at or below base() is kNotFound: they were compacted.
    virtual Result<std::vector<Entry>> read(Zxid first, Zxid last, ReadLimits limits = {}) = 0;

    // The zxid of the first entry held, or zero when the log is empty.
    virtual Zxid first_zxid() const = 0;
    // The zxid of the last entry held; base() when the log is empty.
    virtual Zxid last_zxid() const = 0;
    // The zxid the log continues from (everything at or below it is gone).
    virtual Zxid base() const = 0;

    // Drops every entry above `zxid` (Zab's TRUNC). `zxid` must be between
    // base() and last_zxid(), both included.
    virtual Status truncate_after(Zxid zxid) = 0;

    // Deletes every entry at or below `zxid` (compaction after a snapshot);
    // base() becomes `zxid`. `zxid` must be between base() and last_zxid().
    virtual Status compact_through(Zxid zxid) = 0;

    // Drops the whole log and makes it continue from `zxid`: base() and
    // last_zxid() become `zxid` (after installing a snapshot taken at it).
    // `zxid` may not be from an epoch above accepted_epoch().
    virtual Status reset_to(Zxid zxid) = 0;

    // Durable epochs (Zab: acceptedEpoch is the last NEWEPOCH acknowledged,
    // currentEpoch the last NEWLEADER acknowledged). Zero on a new log.
    // current_epoch <= accepted_epoch always; setting one that would break
    // that, or moving either backwards, is kInvalidArgument.
    virtual uint64_t accepted_epoch() const = 0;
    virtual uint64_t current_epoch() const = 0;
    virtual Status set_accepted_epoch(uint64_t epoch) = 0;
    virtual Status set_current_epoch(uint64_t epoch) = 0;

    // True once this disk has learned that it belongs to an ensemble that
    // already held an established history (a server started with bootstrap
    // on an empty disk heard of one): bootstrap then no longer makes it a
    // voter, even after a crash in the middle of its first sync. Durable;
    // never goes back; untouched by truncation, compaction and reset.
    virtual bool joined_ensemble() const = 0;
    virtual Status set_joined_ensemble() = 0;

    // True once this disk's server confirmed the bootstrap of a new
    // ensemble (it heard from every member that none held history): it is
    // an original member, and votes after a restart even with nothing in
    // its log. Durable; never goes back; untouched by truncation,
    // compaction and reset (a wipe takes it, with everything else).
    virtual bool original_member() const = 0;
    virtual Status set_original_member() = 0;

    // The membership that holds at base() (and after it, until a CONFIG in
    // the log replaces it); nullopt until one is set. The core sets it
    // before the compaction or reset that would take the CONFIG behind it
    // away, so a crash between the two leaves a membership no older than
    // the log's. Durable; replaced whole by each set; untouched by
    // truncation, compaction and reset (a wipe takes it).
    virtual std::optional<StoredMembership> membership() const = 0;
    virtual Status set_membership(StoredMembership membership) = 0;
};

// Checks that `entries` may be appended to a log ending at `last` whose
// acceptedEpoch is `accepted_epoch` (no entry may come from a later epoch):
// returns kInvalidArgument naming the offending zxid otherwise. Shared by the
// implementations so they refuse exactly the same things.
Status check_append(Zxid last, uint64_t accepted_epoch, std::span<const Entry> entries);

// Checks the argument of reset_to.
Status check_reset(Zxid zxid, uint64_t accepted_epoch);

// Checks the arguments of truncate_after / compact_through.
Status check_in_range(const char* operation, Zxid zxid, Zxid base, Zxid last);

// At start, with the newest snapshot at `snapshot`: unless the log holds that
// zxid (as its base or an entry), it is reset to it. A crash can fall between
// installing a snapshot from the leader and resetting the log, and the old
// log may then run past the snapshot along another history; holding the
// snapshot's zxid proves it does not (a zxid names one transaction). Sets
// `*reset` when it reset the log.
Status align_log_to_snapshot(Log& log, Zxid snapshot, bool* reset);

// Checks an epoch change from (old_accepted, old_current) to (accepted,
// current): neither moves backwards, and current <= accepted.
Status check_epoch_update(uint64_t old_accepted, uint64_t old_current, uint64_t accepted,
                          uint64_t current);

}  // namespace chorus::storage
