// Assertions that stay on in every build, release included.
//
// A failed CHORUS_ASSERT means the program's own invariants are broken: going
// on could write wrong data to disk or to peers, so it prints where and why,
// then aborts. Expected errors are Status values instead (status.h).
#pragma once

namespace chorus::detail {
[[noreturn]] void assert_failed(const char* condition, const char* message, const char* file,
                                int line);
}  // namespace chorus::detail

#define CHORUS_ASSERT(condition, message)                                               \
    do {                                                                                \
        if (!(condition)) [[unlikely]]                                                  \
            ::chorus::detail::assert_failed(#condition, (message), __FILE__, __LINE__); \
    } while (0)
