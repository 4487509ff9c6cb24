// Small helpers of process tests: where a program under test is, and how
// long something took.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace chorus::testing {

// The program's path from the environment variable meson sets (`variable`),
// else `fallback` (found on PATH).
inline std::string binary(const char* variable, const char* fallback) {
    const char* path = std::getenv(variable);
    return path ? path : fallback;
}

inline int64_t ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start)
        .count();
}

}  // namespace chorus::testing
