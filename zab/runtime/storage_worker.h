// StorageWorker: the storage thread. It carries out the core's durable
// writes on RocksLog and the SnapshotStore, off the core thread, and posts
// each completion back to the core thread.
//
// Group commit: jobs that arrive while a sync is running wait, and then all
// go together — their appends become one RocksDB batch with one fsync.
// Jobs with writes complete in the order they were submitted. A job that
// only saves a snapshot of the state machine goes to a thread of its own:
// writing a gigabyte must not hold up the log (a leader whose log writes
// stall past the election timeout steps down), and nothing waits on the
// order of the two (the core compacts only once told the snapshot is
// saved). A failed durable write is fatal (the storage layer aborts the
// process).
//
// Thread: submit() from the core thread; `done` runs on the core thread (via
// the io_context). The worker owns its thread; stop() joins it after the
// jobs already submitted are done.
#pragma once

#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "storage/data_dir.h"
#include "zab/core/types.h"
#include "zab/runtime/driver_env.h"

namespace chorus::runtime {

class StorageWorker {
 public:
    // `dir` and `io` must outlive the worker.
    StorageWorker(storage::DataDir& dir, boost::asio::io_context& io);
    ~StorageWorker();

    void submit(StorageJob job);
    // Finishes the jobs already submitted, then stops the thread.
    void stop();

    // Log records and bytes written, by kind (read on any thread).
    struct Counters {
        uint64_t syncs = 0;
        uint64_t entries = 0;
        uint64_t entry_bytes = 0;
    };
    Counters counters() const;

 private:
    void run();
    void run_snapshots();
    void apply(const zab::Write& write, std::vector<storage::Entry>* pending_append);
    void flush_append(std::vector<storage::Entry>* pending_append);
    // Writes the snapshot at `zxid` unless one as new is there (under
    // snapshots_mutex_: both threads use the store).
    void save_snapshot(Zxid zxid, const std::string& data, bool keep_previous);

    storage::DataDir& dir_;
    boost::asio::io_context& io_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<StorageJob> jobs_;
    std::deque<StorageJob> snapshot_jobs_;
    bool stopping_ = false;
    Counters counters_;
    std::mutex snapshots_mutex_;  // the SnapshotStore, used by both threads
    std::thread thread_;
    std::thread snapshot_thread_;
};

}  // namespace chorus::runtime
