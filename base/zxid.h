// Zxid: the identity and position of a transaction in Zab's total order.
//
// A zxid is the pair (epoch, counter), ordered as a pair. Both halves are 64
// bits wide, so the counter never runs out in practice (ZooKeeper packs both
// into one 64-bit value and has to force an election when the 32-bit counter
// rolls over, ZOOKEEPER-1669; chorus does not inherit that).
//
// Within an epoch the leader numbers transactions 1, 2, 3, ... with no gaps
// (an absorbed request takes no number). A new epoch starts again at 1. So a
// replica's log is always a contiguous sequence in the sense of
// `is_successor`, and storage refuses anything else.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace chorus {

struct Zxid {
    uint64_t epoch = 0;
    uint64_t counter = 0;

    friend constexpr auto operator<=>(const Zxid&, const Zxid&) = default;

    // The zero zxid: "nothing yet". No transaction has it.
    static constexpr Zxid zero() { return Zxid{}; }
    constexpr bool is_zero() const { return epoch == 0 && counter == 0; }

    // The next zxid in the same epoch.
    constexpr Zxid next() const { return Zxid{epoch, counter + 1}; }

    // Human-readable form used in every log line and error: "3:17".
    std::string str() const { return std::to_string(epoch) + ":" + std::to_string(counter); }
};

// True when `next` may directly follow `prev` in a log: the next counter of
// the same epoch, or the first transaction (counter 1) of a later epoch.
constexpr bool is_successor(Zxid prev, Zxid next) {
    if (next.epoch == prev.epoch) return next.counter == prev.counter + 1;
    return next.epoch > prev.epoch && next.counter == 1;
}

}  // namespace chorus
