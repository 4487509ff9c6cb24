// MemoryLog: the Log contract kept in memory, for unit tests and the
// deterministic simulator. "Durable" means "in this object": a simulated
// crash that loses only un-synced writes is modelled by the simulator's disk,
// which decides when to call append; whatever MemoryLog accepted survives.
//
// Pure: standard library only, so zab/core tests and tests/sim may use it.
#pragma once

#include <deque>

#include "storage/log.h"

namespace chorus::storage {

class MemoryLog final : public Log {
 public:
    MemoryLog() = default;

    Status append(std::span<const Entry> entries) override;
    Result<std::vector<Entry>> read(Zxid first, Zxid last, ReadLimits limits = {}) override;
    Zxid first_zxid() const override;
    Zxid last_zxid() const override;
    Zxid base() const override { return base_; }
    Status truncate_after(Zxid zxid) override;
    Status compact_through(Zxid zxid) override;
    Status reset_to(Zxid zxid) override;
    uint64_t accepted_epoch() const override { return accepted_epoch_; }
    uint64_t current_epoch() const override { return current_epoch_; }
    Status set_accepted_epoch(uint64_t epoch) override;
    Status set_current_epoch(uint64_t epoch) override;
    bool joined_ensemble() const override { return joined_; }
    Status set_joined_ensemble() override {
        joined_ = true;
        return Status::ok();
    }
    bool original_member() const override { return original_; }
    Status set_original_member() override {
        original_ = true;
        return Status::ok();
    }
    std::optional<StoredMembership> membership() const override { return membership_; }
    Status set_membership(StoredMembership membership) override {
        membership_ = std::move(membership);
        return Status::ok();
    }

 private:
    // Index of the first entry with zxid >= `zxid` (entries_ is sorted).
    size_t lower_bound(Zxid zxid) const;

    std::deque<Entry> entries_;
    Zxid base_;
    uint64_t accepted_epoch_ = 0;
    uint64_t current_epoch_ = 0;
    bool joined_ = false;
    bool original_ = false;
    std::optional<StoredMembership> membership_;
};

}  // namespace chorus::storage
