// How many bytes the process's allocator has handed out and not had back:
// the live heap, without the allocator's caches and free pages that
// resident memory also counts. jemalloc's stats.allocated when the program
// links jemalloc (looked up at run time: the library does not link it),
// glibc's mallinfo2() otherwise. 0 if neither answers.
#pragma once

#include <cstdint>

namespace chorus::runtime {

uint64_t heap_bytes_in_use();

}  // namespace chorus::runtime
