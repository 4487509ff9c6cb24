#include "storage/data_dir.h"

#include <filesystem>

namespace chorus::storage {

Result<DataDir> open_data_dir(const std::string& path, DataDirOptions options) {
    namespace fs = std::filesystem;
    DataDir dir;
    Result<std::unique_ptr<RocksLog>> log = RocksLog::open(
        (fs::path(path) / "log").string(), RocksLogOptions{options.create_if_missing});
    if (!log.is_ok()) return log.status();
    dir.log = std::move(log).value();

    Result<std::unique_ptr<SnapshotStore>> snapshots =
        SnapshotStore::open((fs::path(path) / "snapshots").string());
    if (!snapshots.is_ok()) return snapshots.status();
    dir.snapshots = std::move(snapshots).value();

    const Zxid base = dir.log->base();
    const auto& list = dir.snapshots->list();
    if (!base.is_zero() && (list.empty() || list.back().zxid < base)) {
        return Status::corrupt(dir.log->dir() + " (log): the log continues from zxid " +
                               base.str() + " but " +
                               (list.empty() ? std::string("there is no snapshot")
                                             : "the newest snapshot " + list.back().path +
                                                   " is at zxid " + list.back().zxid.str()) +
                               ": the transactions up to " + base.str() + " are missing");
    }
    for (const SnapshotInfo& info : list) {
        if (info.zxid.epoch > dir.log->accepted_epoch()) {
            return Status::corrupt(info.path + ": snapshot at zxid " + info.zxid.str() +
                                   " is from an epoch newer than acceptedEpoch " +
                                   std::to_string(dir.log->accepted_epoch()) + " in " +
                                   dir.log->dir());
        }
    }
    return dir;
}

}  // namespace chorus::storage
