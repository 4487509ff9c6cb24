#include "zab/runtime/storage_worker.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <cstdlib>

namespace chorus::runtime {
namespace {

// Storage refusing a write the core asked for means the two disagree about
// the log: a bug. Stop before anything wrong is acknowledged.
void check(const Status& status, const char* what) {
    if (status.is_ok()) return;
    spdlog::critical("storage refused {}: {}", what, status.str());
    spdlog::shutdown();
    std::abort();
}

}  // namespace

StorageWorker::StorageWorker(storage::DataDir& dir, boost::asio::io_context& io)
    : dir_(dir),
      io_(io),
      thread_([this] { run(); }),
      snapshot_thread_([this] { run_snapshots(); }) {}

StorageWorker::~StorageWorker() { stop(); }

void StorageWorker::submit(StorageJob job) {
    {
        std::lock_guard lock(mutex_);
        if (job.writes.empty() && job.save_snapshot) {
            snapshot_jobs_.push_back(std::move(job));
        } else {
            jobs_.push_back(std::move(job));
        }
    }
    wake_.notify_all();
}

void StorageWorker::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !thread_.joinable() && !snapshot_thread_.joinable()) return;
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (snapshot_thread_.joinable()) snapshot_thread_.join();
}

StorageWorker::Counters StorageWorker::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

void StorageWorker::flush_append(std::vector<storage::Entry>* pending) {
    if (pending->empty()) return;
    size_t bytes = 0;
    for (const auto& e : *pending) bytes += e.payload.size();
    check(dir_.log->append(*pending), "an append");
    std::lock_guard lock(mutex_);
    counters_.syncs++;
    counters_.entries += pending->size();
    counters_.entry_bytes += bytes;
    pending->clear();
}

void StorageWorker::apply(const zab::Write& write, std::vector<storage::Entry>* pending) {
    if (const auto* w = std::get_if<zab::AppendTxns>(&write)) {
        for (const zab::Txn& txn : w->txns) {
            pending->push_back(storage::Entry{txn.zxid, txn.type, zab::encode_txn_payload(txn)});
        }
        return;
    }
    flush_append(pending);  // everything else is ordered after the appends before it
    if (const auto* w = std::get_if<zab::SetAcceptedEpoch>(&write)) {
        check(dir_.log->set_accepted_epoch(w->epoch), "acceptedEpoch");
    } else if (const auto* w = std::get_if<zab::SetCurrentEpoch>(&write)) {
        check(dir_.log->set_current_epoch(w->epoch), "currentEpoch");
    } else if (const auto* w = std::get_if<zab::TruncateAfter>(&write)) {
        check(dir_.log->truncate_after(w->zxid), "a truncation");
    } else if (const auto* w = std::get_if<zab::InstallSnapshot>(&write)) {
        save_snapshot(w->zxid, w->data, /*keep_previous=*/false);
        check(dir_.log->reset_to(w->zxid), "a reset to the snapshot");
    } else if (const auto* w = std::get_if<zab::CompactThrough>(&write)) {
        check(dir_.log->compact_through(w->zxid), "a compaction");
    } else if (std::holds_alternative<zab::MarkJoinedEnsemble>(write)) {
        check(dir_.log->set_joined_ensemble(), "the joined-ensemble mark");
    } else if (std::holds_alternative<zab::MarkOriginalMember>(write)) {
        check(dir_.log->set_original_member(), "the original-member mark");
    } else if (const auto* w = std::get_if<zab::SetMembership>(&write)) {
        check(dir_.log->set_membership(storage::StoredMembership{w->version, w->record}),
              "the membership");
    }
}

void StorageWorker::save_snapshot(Zxid zxid, const std::string& data, bool keep_previous) {
    std::lock_guard lock(snapshots_mutex_);
    const auto& list = dir_.snapshots->list();
    if (list.empty() || list.back().zxid < zxid) {
        auto writer = dir_.snapshots->begin(zxid);
        check(writer.status(), "a snapshot");
        check((*writer)->append(data), "a snapshot");
        check((*writer)->commit().status(), "a snapshot");
    }
    if (!keep_previous) {
        // Installed from the leader: what came before is another history.
        check(dir_.snapshots->delete_older_than(zxid), "deleting old snapshots");
    } else if (list.size() > 2) {
        // Keep the newest two: the older one may still be streaming to a follower.
        check(dir_.snapshots->delete_older_than(list[list.size() - 2].zxid), "pruning");
    }
}

void StorageWorker::run_snapshots() {
    for (;;) {
        StorageJob job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !snapshot_jobs_.empty(); });
            if (snapshot_jobs_.empty() && stopping_) return;
            job = std::move(snapshot_jobs_.front());
            snapshot_jobs_.pop_front();
        }
        save_snapshot(job.save_snapshot->zxid, *job.save_snapshot->data, /*keep_previous=*/true);
        if (job.done) boost::asio::post(io_, std::move(job.done));
    }
}

void StorageWorker::run() {
    for (;;) {
        std::deque<StorageJob> batch;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty() && stopping_) return;
            batch.swap(jobs_);
        }
        // One group: consecutive appends across jobs share one sync.
        std::vector<storage::Entry> pending;
        for (StorageJob& job : batch) {
            for (const zab::Write& w : job.writes) apply(w, &pending);
            if (job.save_snapshot) {
                flush_append(&pending);
                save_snapshot(job.save_snapshot->zxid, *job.save_snapshot->data, true);
            }
        }
        flush_append(&pending);
        for (StorageJob& job : batch) {
            if (job.done) boost::asio::post(io_, std::move(job.done));
        }
    }
}

}  // namespace chorus::runtime
