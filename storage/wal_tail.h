// Looks at the tail of RocksDB's newest write-ahead log before RocksDB opens
// it, to tell whether the last write was torn (cut short by a crash before
// its sync returned).
//
// RocksDB, in the recovery mode we use (kTolerateCorruptedTailRecords),
// silently discards such a record. It was never acknowledged, so dropping it
// is right; doing it without a word is not. RocksLog::open calls this first
// and logs what will be dropped.
//
// The format read here is RocksDB's documented log format: 32 KiB blocks of
// physical records, each with a 7-byte header (masked CRC, 2-byte length,
// type) or 11 bytes for the recyclable types; a logical record is one FULL
// physical record or FIRST, MIDDLE..., LAST.
#pragma once

#include <optional>
#include <string>

namespace chorus::storage {

// A description of the torn tail of the newest "*.log" file in `db_dir`
// ("<file>: the last N bytes hold an incomplete record ..."), or nullopt
// when that file ends on a record boundary (or there is none).
std::optional<std::string> describe_torn_wal_tail(const std::string& db_dir);

}  // namespace chorus::storage
