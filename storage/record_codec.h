// Encoding of log entries as RocksDB keys and values (records.proto).
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "storage/log.h"

namespace chorus::storage {

inline constexpr size_t kZxidKeySize = 16;
using ZxidKey = std::array<char, kZxidKeySize>;

// The zxid as 16 big-endian bytes: byte order equals zxid order.
ZxidKey encode_zxid_key(Zxid zxid);
// Parses a key written by encode_zxid_key; false if it has the wrong size.
bool decode_zxid_key(std::string_view key, Zxid* zxid);

// The checksum stored in a record: CRC-32C over key, type and payload.
uint32_t record_checksum(Zxid zxid, uint32_t type, std::string_view payload);

// Serialises `entry` into `out` (replacing its contents).
void encode_record(const Entry& entry, std::string* out);

// Parses and checks a record read under `key`: it must parse, repeat the
// key's zxid and match its checksum. On failure returns kCorrupt with a
// message naming the zxid and `where` (a file or directory).
Result<Entry> decode_record(std::string_view key, std::string_view value, const std::string& where);

}  // namespace chorus::storage
