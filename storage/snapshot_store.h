// SnapshotStore: snapshot files in one directory, named by zxid.
//
// A snapshot is written under a temporary name, fsynced, renamed to
// `snapshot-<epoch>-<counter>.snap` (16 hex digits each, so name order is
// zxid order), and then the directory is fsynced: after a crash a snapshot
// file is either whole or absent. Each file carries a footer with its
// SnapshotMeta (records.proto): zxid, body size and CRC-32C of the body.
//
// File layout: "CHSNAP1\n" | body | SnapshotMeta | meta length (4 bytes, BE) |
// "CHSNAPF\n".
//
// Not thread-safe; a writer and a reader may be handed to another thread
// (the runtime writes snapshots off the core thread) as long as the store is
// not used meanwhile for the same file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/zxid.h"

namespace chorus::storage {

struct SnapshotInfo {
    Zxid zxid;
    uint64_t size = 0;      // body bytes
    uint32_t checksum = 0;  // CRC-32C of the body
    std::string path;
};

// Streams a new snapshot to disk. Nothing is visible under the final name
// until commit() returns OK; a writer destroyed before that removes its
// temporary file.
class SnapshotWriter {
 public:
    virtual ~SnapshotWriter() = default;
    // Adds bytes to the body.
    virtual Status append(std::string_view bytes) = 0;
    // Writes the footer, fsyncs, renames into place and fsyncs the directory.
    // A failed fsync is fatal (the process aborts), as for the log.
    virtual Result<SnapshotInfo> commit() = 0;
};

// Reads a snapshot's body. The store checks the whole body's checksum
// before it hands out a reader, so what it returns can be trusted.
class SnapshotReader {
 public:
    virtual ~SnapshotReader() = default;
    virtual const SnapshotInfo& info() const = 0;
    // Reads up to `max_bytes` more of the body into `out` (replacing its
    // contents); an empty `out` means the end.
    virtual Status read(size_t max_bytes, std::string* out) = 0;
    // The whole remaining body.
    Result<std::string> read_all();
};

class SnapshotStore {
 public:
    // Opens (creating if needed) the snapshot directory `dir`. Leftover
    // temporary files from a crash are removed, each with a log line. Every
    // snapshot's name and footer are checked; the newest one's body is also
    // checked against its checksum. Anything wrong is kCorrupt naming the
    // file and its zxid.
    static Result<std::unique_ptr<SnapshotStore>> open(const std::string& dir);

    // Starts a snapshot of the state as of `zxid`. It must be newer than
    // every snapshot already here.
    Result<std::unique_ptr<SnapshotWriter>> begin(Zxid zxid);

    // The snapshots here, oldest first.
    const std::vector<SnapshotInfo>& list() const { return snapshots_; }

    // A reader of the newest snapshot (kNotFound when there is none), or of
    // the one at `zxid`. Checks the body's checksum first: kCorrupt names the
    // file and zxid.
    Result<std::unique_ptr<SnapshotReader>> open_latest() const;
    Result<std::unique_ptr<SnapshotReader>> open_at(Zxid zxid) const;

    // Removes every snapshot older than `zxid`, then fsyncs the directory.
    Status delete_older_than(Zxid zxid);

    const std::string& dir() const { return dir_; }

 private:
    explicit SnapshotStore(std::string dir) : dir_(std::move(dir)) {}
    friend class FileSnapshotWriter;
    void committed(SnapshotInfo info) { snapshots_.push_back(std::move(info)); }

    std::string dir_;
    std::vector<SnapshotInfo> snapshots_;  // sorted by zxid
};

// The file name of the snapshot at `zxid`.
std::string snapshot_file_name(Zxid zxid);

}  // namespace chorus::storage
