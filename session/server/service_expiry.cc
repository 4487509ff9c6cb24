// The expiry driver: while this server leads and serves, each tick submits
// the sessions whose deadline passed, at most `expiries_per_second` spread
// over the ticks, so that a failover never causes an expiry storm.
#include <spdlog/spdlog.h>

#include "session/server/service_impl.h"

namespace chorus::session {

void SessionService::Impl::drive_expiry(uint64_t elapsed_ms) {
    if (role != zab::Role::kLeading || !serving()) return;
    const double rate = options.expiries_per_second;
    // Credit accrues with time and is capped at one second's worth.
    expiry_credit = std::min(rate, expiry_credit + rate * static_cast<double>(elapsed_ms) / 1000.0);
    const size_t budget =
        std::min<size_t>(static_cast<size_t>(expiry_credit), options.max_expiries_per_txn);
    if (budget == 0) return;
    std::vector<uint64_t> due = tracker.due_for_expiry(budget);
    if (due.empty()) return;
    expiry_credit -= static_cast<double>(due.size());
    pb::TrackerRequest r;
    for (uint64_t id : due) r.mutable_expire()->add_session_ids(id);
    node->submit(tracker_request(r), [](Status, Completion) {});
    // One line a second at most, however many expiry transactions.
    expiring_since_log += due.size();
    if (now_ms >= last_expiry_log_ms + 1000) {
        spdlog::info("server {}: expiring {} session(s) whose deadline passed", options.id,
                     expiring_since_log);
        expiring_since_log = 0;
        last_expiry_log_ms = now_ms;
    }
}

}  // namespace chorus::session
