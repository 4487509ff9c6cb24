#include "session/zookeeper/jute.h"

namespace chorus::zookeeper {
namespace {

void put_be(std::string& out, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_be(const char* at, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(at[i]);
    return v;
}

}  // namespace

void JuteWriter::write_int(int32_t v) { put_be(out_, static_cast<uint32_t>(v), 4); }

void JuteWriter::write_long(int64_t v) { put_be(out_, static_cast<uint64_t>(v), 8); }

void JuteWriter::write_bool(bool v) { out_.push_back(v ? 1 : 0); }

void JuteWriter::write_buffer(std::string_view bytes) {
    write_int(static_cast<int32_t>(bytes.size()));
    out_.append(bytes);
}

bool JuteReader::fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
}

bool JuteReader::take(const char* what, size_t n, const char** at) {
    if (!ok()) return false;
    if (remaining() < n) {
        return fail(std::string(what) + ": " + std::to_string(n) + " byte(s) wanted at byte " +
                    std::to_string(pos_) + ", but " + std::to_string(remaining()) + " are left");
    }
    *at = in_.data() + pos_;
    pos_ += n;
    return true;
}

bool JuteReader::read_be(const char* what, int bytes, uint64_t* out) {
    const char* at = nullptr;
    if (!take(what, static_cast<size_t>(bytes), &at)) return false;
    *out = get_be(at, bytes);
    return true;
}

bool JuteReader::read_int(const char* what, int32_t* out) {
    uint64_t v = 0;
    if (read_be(what, 4, &v)) *out = static_cast<int32_t>(static_cast<uint32_t>(v));
    return ok();
}

bool JuteReader::read_long(const char* what, int64_t* out) {
    uint64_t v = 0;
    if (read_be(what, 8, &v)) *out = static_cast<int64_t>(v);
    return ok();
}

bool JuteReader::read_bool(const char* what, bool* out) {
    const char* at = nullptr;
    if (!take(what, 1, &at)) return false;
    *out = *at != 0;
    return true;
}

bool JuteReader::read_length(const char* what, int32_t* length) {
    const size_t at = pos_;
    int32_t n = 0;
    if (!read_int(what, &n)) return false;
    if (n < -1 || (n > 0 && static_cast<size_t>(n) > max_length_)) {
        return fail(std::string(what) + ": an unreasonable length of " + std::to_string(n) +
                    " at byte " + std::to_string(at) + " (the limit is " +
                    std::to_string(max_length_) + ")");
    }
    if (n > 0 && static_cast<size_t>(n) > remaining()) {
        return fail(std::string(what) + ": a length of " + std::to_string(n) + " at byte " +
                    std::to_string(at) + ", but " + std::to_string(remaining()) +
                    " bytes are left");
    }
    *length = n;
    return true;
}

bool JuteReader::read_buffer(const char* what, std::optional<std::string>* out) {
    int32_t n = 0;
    if (!read_length(what, &n)) return false;
    if (n == -1) {
        *out = std::nullopt;
        return true;
    }
    const char* at = nullptr;
    if (!take(what, static_cast<size_t>(n), &at)) return false;
    *out = std::string(at, static_cast<size_t>(n));
    return true;
}

bool JuteReader::read_string(const char* what, std::string* out) {
    std::optional<std::string> s;
    if (!read_buffer(what, &s)) return false;
    *out = s ? std::move(*s) : std::string();
    return true;
}

bool JuteReader::expect_end(const char* record) {
    if (!ok()) return false;
    if (remaining() == 0) return true;
    return fail(std::string(record) + ": " + std::to_string(remaining()) +
                " byte(s) after its last field, at byte " + std::to_string(pos_));
}

bool JuteReader::read_vector_size(const char* what, int32_t* out, int32_t max_count) {
    const size_t at = pos_;
    int32_t n = 0;
    if (!read_int(what, &n)) return false;
    if (n == -1) n = 0;
    if (n < 0 || n > max_count || static_cast<size_t>(n) > remaining()) {
        return fail(std::string(what) + ": an unreasonable count of " + std::to_string(n) +
                    " at byte " + std::to_string(at) + " (" + std::to_string(remaining()) +
                    " bytes left, at most " + std::to_string(max_count) + ")");
    }
    *out = n;
    return true;
}

}  // namespace chorus::zookeeper
