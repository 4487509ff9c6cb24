// DataDir: everything one server keeps on disk, opened and checked together.
//
//   <data-dir>/log/        RocksLog (entries, epochs, base)
//   <data-dir>/snapshots/  SnapshotStore
//
// Besides the checks each part makes on its own, opening checks that they
// agree: a log compacted through zxid Z needs a snapshot at Z or later (else
// committed entries are missing), and no snapshot may come from an epoch
// newer than the log's acceptedEpoch. A disagreement is kCorrupt naming the
// file and zxid; nothing is repaired silently.
#pragma once

#include <memory>
#include <string>

#include "storage/rocks_log.h"
#include "storage/snapshot_store.h"

namespace chorus::storage {

struct DataDir {
    std::unique_ptr<RocksLog> log;
    std::unique_ptr<SnapshotStore> snapshots;
};

struct DataDirOptions {
    // See RocksLogOptions::create_if_missing.
    bool create_if_missing = true;
};

Result<DataDir> open_data_dir(const std::string& path, DataDirOptions options = {});

}  // namespace chorus::storage
