// RocksLog: the Log contract on RocksDB.
//
// Layout in the RocksDB directory: column family "entries" maps the zxid as
// 16 big-endian bytes to a LogRecord (records.proto); column family "meta"
// holds the epochs and the log's base. Every change is one WriteBatch written
// with sync = true: one append of many entries costs one fsync (group commit).
//
// Opening checks everything it finds and refuses, with kCorrupt and a message
// naming the directory (or RocksDB's file) and the zxid, any data it cannot
// trust: a record whose checksum or zxid does not match, a gap between
// entries, a log that does not continue from its base, epochs that
// contradict each other or the log. The one thing dropped on open is a torn
// write at the very tail of RocksDB's write-ahead log — a batch cut by a crash
// before its sync returned, so never acknowledged. RocksDB discards it
// (WALRecoveryMode::kTolerateCorruptedTailRecords) and its warning is
// forwarded to our log.
#pragma once

#include <memory>
#include <string>

#include "storage/log.h"

namespace chorus::storage {

struct RocksLogOptions {
    // Create an empty log when `dir` holds none. When false, a missing log is
    // kNotFound: a server that lost its disk must notice, not start afresh.
    bool create_if_missing = true;
};

class RocksLog final : public Log {
 public:
    // Opens (or creates) the log in directory `dir` and checks it.
    static Result<std::unique_ptr<RocksLog>> open(const std::string& dir,
                                                  RocksLogOptions options = {});
    ~RocksLog() override;

    Status append(std::span<const Entry> entries) override;
    Result<std::vector<Entry>> read(Zxid first, Zxid last, ReadLimits limits = {}) override;
    Zxid first_zxid() const override { return first_; }
    Zxid last_zxid() const override { return last_; }
    Zxid base() const override { return base_; }
    Status truncate_after(Zxid zxid) override;
    Status compact_through(Zxid zxid) override;
    Status reset_to(Zxid zxid) override;
    uint64_t accepted_epoch() const override { return accepted_epoch_; }
    uint64_t current_epoch() const override { return current_epoch_; }
    Status set_accepted_epoch(uint64_t epoch) override;
    Status set_current_epoch(uint64_t epoch) override;
    bool joined_ensemble() const override { return joined_; }
    Status set_joined_ensemble() override;
    bool original_member() const override { return original_; }
    Status set_original_member() override;
    std::optional<StoredMembership> membership() const override { return membership_; }
    Status set_membership(StoredMembership membership) override;

    // Moves what RocksDB holds in memory (and its write-ahead log) into table
    // files. Not needed for durability — every write is already synced —
    // but shortens the next open's replay.
    Status flush();

    const std::string& dir() const { return dir_; }

 private:
    struct Db;  // RocksDB handles; kept out of this header so users need no RocksDB headers
    RocksLog(std::string dir, std::unique_ptr<Db> db);

    Status load_and_check();
    Status write_epochs(uint64_t accepted, uint64_t current);

    std::string dir_;
    std::unique_ptr<Db> db_;
    Zxid base_;
    Zxid first_;
    Zxid last_;
    uint64_t accepted_epoch_ = 0;
    uint64_t current_epoch_ = 0;
    // Writes a one-byte mark under `key`, durably, once (`held` says so).
    Status set_mark(const char* key, const char* record, bool* held);
    bool joined_ = false;
    bool original_ = false;
    std::optional<StoredMembership> membership_;
    std::string scratch_;  // reused encoding buffer
};

}  // namespace chorus::storage
