#include "storage/memory_log.h"

#include <algorithm>

namespace chorus::storage {

Status MemoryLog::append(std::span<const Entry> entries) {
    if (Status s = check_append(last_zxid(), accepted_epoch_, entries); !s.is_ok()) return s;
    entries_.insert(entries_.end(), entries.begin(), entries.end());
    return Status::ok();
}

size_t MemoryLog::lower_bound(Zxid zxid) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), zxid,
                               [](const Entry& e, Zxid z) { return e.zxid < z; });
    return static_cast<size_t>(it - entries_.begin());
}

Result<std::vector<Entry>> MemoryLog::read(Zxid first, Zxid last, ReadLimits limits) {
    if (!base_.is_zero() && first <= base_) {
        return Status::not_found("read from " + first.str() +
                                 " refused: the log was compacted through " + base_.str());
    }
    std::vector<Entry> out;
    size_t bytes = 0;
    for (size_t i = lower_bound(first); i < entries_.size(); ++i) {
        const Entry& entry = entries_[i];
        if (entry.zxid > last || out.size() >= limits.max_entries) break;
        if (!out.empty() && bytes + entry.payload.size() > limits.max_bytes) break;
        bytes += entry.payload.size();
        out.push_back(entry);
    }
    return out;
}

Zxid MemoryLog::first_zxid() const {
    return entries_.empty() ? Zxid::zero() : entries_.front().zxid;
}

Zxid MemoryLog::last_zxid() const { return entries_.empty() ? base_ : entries_.back().zxid; }

Status MemoryLog::truncate_after(Zxid zxid) {
    if (Status s = check_in_range("truncate", zxid, base_, last_zxid()); !s.is_ok()) return s;
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(lower_bound(zxid.next())),
                   entries_.end());
    return Status::ok();
}

Status MemoryLog::compact_through(Zxid zxid) {
    if (Status s = check_in_range("compaction", zxid, base_, last_zxid()); !s.is_ok()) return s;
    while (!entries_.empty() && entries_.front().zxid <= zxid) entries_.pop_front();
    base_ = zxid;
    return Status::ok();
}

Status MemoryLog::reset_to(Zxid zxid) {
    if (Status s = check_reset(zxid, accepted_epoch_); !s.is_ok()) return s;
    entries_.clear();
    base_ = zxid;
    return Status::ok();
}

Status MemoryLog::set_accepted_epoch(uint64_t epoch) {
    if (Status s = check_epoch_update(accepted_epoch_, current_epoch_, epoch, current_epoch_);
        !s.is_ok()) {
        return s;
    }
    accepted_epoch_ = epoch;
    return Status::ok();
}

Status MemoryLog::set_current_epoch(uint64_t epoch) {
    if (Status s = check_epoch_update(accepted_epoch_, current_epoch_, accepted_epoch_, epoch);
        !s.is_ok()) {
        return s;
    }
    current_epoch_ = epoch;
    return Status::ok();
}

}  // namespace chorus::storage
