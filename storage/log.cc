#include "storage/log.h"

namespace chorus::storage {

Status check_append(Zxid last, uint64_t accepted_epoch, std::span<const Entry> entries) {
    Zxid prev = last;
    for (const Entry& entry : entries) {
        if (entry.zxid.epoch > accepted_epoch) {
            return Status::invalid_argument("append of zxid " + entry.zxid.str() +
                                            " refused: its epoch is above acceptedEpoch " +
                                            std::to_string(accepted_epoch));
        }
        if (entry.zxid <= prev) {
            return Status::invalid_argument("append of zxid " + entry.zxid.str() +
                                            " refused: not greater than the last zxid " +
                                            prev.str());
        }
        if (!is_successor(prev, entry.zxid)) {
            return Status::invalid_argument("append of zxid " + entry.zxid.str() +
                                            " refused: it would leave a gap after " + prev.str());
        }
        prev = entry.zxid;
    }
    return Status::ok();
}

Status check_reset(Zxid zxid, uint64_t accepted_epoch) {
    if (zxid.epoch > accepted_epoch) {
        return Status::invalid_argument("reset to zxid " + zxid.str() +
                                        " refused: its epoch is above acceptedEpoch " +
                                        std::to_string(accepted_epoch));
    }
    return Status::ok();
}

Status check_in_range(const char* operation, Zxid zxid, Zxid base, Zxid last) {
    if (zxid < base || zxid > last) {
        return Status::invalid_argument(std::string(operation) + " to " + zxid.str() +
                                        " refused: the log holds " + base.str() + " (base) to " +
                                        last.str());
    }
    return Status::ok();
}

Status align_log_to_snapshot(Log& log, Zxid snapshot, bool* reset) {
    *reset = false;
    if (snapshot.is_zero() || snapshot == log.base()) return Status::ok();
    if (snapshot > log.base() && snapshot <= log.last_zxid()) {
        auto held = log.read(snapshot, snapshot);
        if (held.is_ok() && held.value().size() == 1 && held.value().front().zxid == snapshot)
            return Status::ok();
    }
    *reset = true;
    return log.reset_to(snapshot);
}

Status check_epoch_update(uint64_t old_accepted, uint64_t old_current, uint64_t accepted,
                          uint64_t current) {
    if (accepted < old_accepted) {
        return Status::invalid_argument("acceptedEpoch " + std::to_string(accepted) +
                                        " refused: it may not go back from " +
                                        std::to_string(old_accepted));
    }
    if (current < old_current) {
        return Status::invalid_argument("currentEpoch " + std::to_string(current) +
                                        " refused: it may not go back from " +
                                        std::to_string(old_current));
    }
    if (current > accepted) {
        return Status::invalid_argument("currentEpoch " + std::to_string(current) +
                                        " refused: it may not exceed acceptedEpoch " +
                                        std::to_string(accepted));
    }
    return Status::ok();
}

}  // namespace chorus::storage
