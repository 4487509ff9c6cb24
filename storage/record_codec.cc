#include "storage/record_codec.h"

#include "storage/crc32c.h"
#include "storage/records.pb.h"

namespace chorus::storage {
namespace {

void put_u64_be(char* out, uint64_t v) {
    for (int i = 7; i >= 0; --i) {
        out[i] = static_cast<char>(v & 0xFFu);
        v >>= 8;
    }
}

uint64_t get_u64_be(const char* in) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
    return v;
}

}  // namespace

ZxidKey encode_zxid_key(Zxid zxid) {
    ZxidKey key;
    put_u64_be(key.data(), zxid.epoch);
    put_u64_be(key.data() + 8, zxid.counter);
    return key;
}

bool decode_zxid_key(std::string_view key, Zxid* zxid) {
    if (key.size() != kZxidKeySize) return false;
    zxid->epoch = get_u64_be(key.data());
    zxid->counter = get_u64_be(key.data() + 8);
    return true;
}

uint32_t record_checksum(Zxid zxid, uint32_t type, std::string_view payload) {
    ZxidKey key = encode_zxid_key(zxid);
    char type_be[4] = {static_cast<char>(type >> 24), static_cast<char>(type >> 16),
                       static_cast<char>(type >> 8), static_cast<char>(type)};
    uint32_t crc = crc32c_extend(0, key.data(), key.size());
    crc = crc32c_extend(crc, type_be, sizeof type_be);
    return crc32c_extend(crc, payload.data(), payload.size());
}

void encode_record(const Entry& entry, std::string* out) {
    pb::LogRecord record;
    record.set_epoch(entry.zxid.epoch);
    record.set_counter(entry.zxid.counter);
    record.set_type(entry.type);
    record.set_payload(entry.payload);
    record.set_checksum(record_checksum(entry.zxid, entry.type, entry.payload));
    out->clear();
    record.SerializeToString(out);
}

Result<Entry> decode_record(std::string_view key, std::string_view value,
                            const std::string& where) {
    Zxid key_zxid;
    if (!decode_zxid_key(key, &key_zxid)) {
        return Status::corrupt(where + ": a log key of " + std::to_string(key.size()) +
                               " bytes (expected 16) follows zxid-ordered keys");
    }
    pb::LogRecord record;
    if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        return Status::corrupt(where + ": the log record at zxid " + key_zxid.str() +
                               " does not parse");
    }
    Entry entry{Zxid{record.epoch(), record.counter()}, record.type(), record.payload()};
    if (entry.zxid != key_zxid) {
        return Status::corrupt(where + ": the log record under zxid " + key_zxid.str() +
                               " says it is zxid " + entry.zxid.str());
    }
    if (record_checksum(entry.zxid, entry.type, entry.payload) != record.checksum()) {
        return Status::corrupt(where + ": checksum mismatch in the log record at zxid " +
                               key_zxid.str());
    }
    return entry;
}

}  // namespace chorus::storage
