// eventually(): polls a condition every 20 ms until it holds or the time is
// up — how process tests wait for something another process does.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace chorus::testing {

inline bool eventually(const std::function<bool()>& done, int timeout_ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
}

}  // namespace chorus::testing
