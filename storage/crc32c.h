// CRC-32C (Castagnoli), the checksum of log records and snapshot files.
// Uses the SSE4.2 instruction when the CPU has it, a table otherwise; both
// give the same value (tests/storage/crc32c_test checks known vectors).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace chorus::storage {

// Extends `crc` (the value returned for the data before) over `data`.
// Start with 0.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size);

inline uint32_t crc32c(std::string_view data) { return crc32c_extend(0, data.data(), data.size()); }

}  // namespace chorus::storage
