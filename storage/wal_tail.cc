#include "storage/wal_tail.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace chorus::storage {
namespace {

namespace fs = std::filesystem;

constexpr size_t kBlockSize = 32768;
constexpr size_t kHeaderSize = 7;
constexpr size_t kRecyclableHeaderSize = 11;

enum RecordType : uint8_t {
    kZeroType = 0,
    kFullType = 1,
    kFirstType = 2,
    kMiddleType = 3,
    kLastType = 4,
    kRecyclableFullType = 5,
    kRecyclableFirstType = 6,
    kRecyclableMiddleType = 7,
    kRecyclableLastType = 8,
};

// Newest = highest file number ("000123.log").
fs::path newest_wal(const std::string& db_dir) {
    fs::path best;
    uint64_t best_number = 0;
    std::error_code ec;
    for (const auto& file : fs::directory_iterator(db_dir, ec)) {
        if (file.path().extension() != ".log") continue;
        const std::string stem = file.path().stem().string();
        if (stem.empty() || stem.find_first_not_of("0123456789") != std::string::npos) continue;
        const uint64_t number = std::stoull(stem);
        if (best.empty() || number > best_number) {
            best = file.path();
            best_number = number;
        }
    }
    return best;
}

}  // namespace

std::optional<std::string> describe_torn_wal_tail(const std::string& db_dir) {
    const fs::path wal = newest_wal(db_dir);
    if (wal.empty()) return std::nullopt;
    std::ifstream in(wal, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

    size_t pos = 0;
    size_t logical_start = 0;    // where the logical record being assembled began
    bool in_fragmented = false;  // seen FIRST (and maybe MIDDLEs) without LAST
    while (pos < bytes.size()) {
        const size_t left_in_block = kBlockSize - pos % kBlockSize;
        if (left_in_block < kHeaderSize) {  // block trailer: zero padding
            pos += left_in_block;
            continue;
        }
        if (bytes.size() - pos < kHeaderSize) {
            const size_t start = in_fragmented ? logical_start : pos;
            return wal.string() + ": the last " + std::to_string(bytes.size() - start) +
                   " bytes hold a record cut short by a crash (an incomplete header); RocksDB "
                   "drops it";
        }
        const auto* h = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
        const size_t length = static_cast<size_t>(h[4]) | (static_cast<size_t>(h[5]) << 8);
        const uint8_t type = h[6];
        if (type == kZeroType && length == 0) break;  // preallocated, never written
        const bool recyclable = type >= kRecyclableFullType && type <= kRecyclableLastType;
        const size_t header = recyclable ? kRecyclableHeaderSize : kHeaderSize;
        if (pos + header + length > bytes.size()) {
            const size_t start = in_fragmented ? logical_start : pos;
            return wal.string() + ": the last " + std::to_string(bytes.size() - start) +
                   " bytes hold a record cut short by a crash; RocksDB drops it (it was never "
                   "acknowledged)";
        }
        switch (type) {
            case kFirstType:
            case kRecyclableFirstType:
                in_fragmented = true;
                logical_start = pos;
                break;
            case kFullType:
            case kRecyclableFullType:
            case kLastType:
            case kRecyclableLastType:
                in_fragmented = false;
                break;
            default:
                break;
        }
        pos += header + length;
    }
    if (in_fragmented) {
        return wal.string() + ": the last " + std::to_string(pos - logical_start) +
               " bytes hold the start of a record whose end never reached the disk; RocksDB drops "
               "it";
    }
    return std::nullopt;
}

}  // namespace chorus::storage
