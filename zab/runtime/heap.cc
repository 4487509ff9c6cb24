#include "zab/runtime/heap.h"

#include <malloc.h>

#include <cstddef>

// jemalloc's control interface, if the program links jemalloc.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));

namespace chorus::runtime {

uint64_t heap_bytes_in_use() {
    if (mallctl != nullptr) {
        // jemalloc's statistics are refreshed when the epoch moves on.
        uint64_t epoch = 1;
        size_t length = sizeof epoch;
        mallctl("epoch", &epoch, &length, &epoch, length);
        size_t allocated = 0;
        length = sizeof allocated;
        if (mallctl("stats.allocated", &allocated, &length, nullptr, 0) == 0) return allocated;
        return 0;
    }
    const struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;  // small blocks in use + mmapped ones
}

}  // namespace chorus::runtime
