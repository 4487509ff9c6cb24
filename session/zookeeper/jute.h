// Jute: the binary encoding of ZooKeeper's client protocol (issue 15), as
// the 3.4–3.8 clients write it. Pure: bytes in, values out; no sockets.
//
//   int     4 bytes, big-endian, two's complement
//   long    8 bytes, big-endian
//   bool    1 byte (0 false; a reader takes any other byte as true)
//   buffer  an int length, then that many bytes; length -1 is null
//   ustring the same as a buffer, holding UTF-8
//   vector  an int count (-1 is null), then each element
//
// A record (a request header, a ConnectRequest, a Stat, ...) is its fields
// one after the other, with no tags and no padding, so a reader must know
// the type it reads: the opcode in the request header says which.
//
// The reader never trusts the input: a read past the end, or a length
// below -1 or above the limit, fails with a message naming what was read
// and where, and every later read fails too (check ok() once at the end of
// a record, or any read's result). Nothing is allocated for a length before
// the bytes behind it are known to be there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chorus::zookeeper {

// ZooKeeper's default jute.maxbuffer: the largest buffer or string a
// reader accepts (and, in the front end, the largest frame).
constexpr size_t kDefaultMaxBuffer = 0xfffff;

class JuteWriter {
 public:
    void write_int(int32_t v);
    void write_long(int64_t v);
    void write_bool(bool v);
    // A buffer or a string: its length, then its bytes.
    void write_buffer(std::string_view bytes);
    void write_string(std::string_view utf8) { write_buffer(utf8); }
    // A null buffer, string or vector: length -1.
    void write_null() { write_int(-1); }
    // A vector's count; the caller then writes each element.
    void write_vector_size(int32_t count) { write_int(count); }

    const std::string& bytes() const { return out_; }
    std::string take() { return std::move(out_); }

 private:
    std::string out_;
};

class JuteReader {
 public:
    // Reads `bytes`, which must outlive the reader. Buffers, strings and
    // vectors longer than `max_length` are refused.
    explicit JuteReader(std::string_view bytes, size_t max_length = kDefaultMaxBuffer)
        : in_(bytes), max_length_(max_length) {}

    // Each returns false (and leaves *out alone) once the input is
    // malformed; `what` names the field in the error message.
    bool read_int(const char* what, int32_t* out);
    bool read_long(const char* what, int64_t* out);
    bool read_bool(const char* what, bool* out);
    // A null buffer reads as nullopt.
    bool read_buffer(const char* what, std::optional<std::string>* out);
    // A null string reads as empty (ZooKeeper's clients send null only
    // where empty means the same).
    bool read_string(const char* what, std::string* out);
    // A vector's count, -1 (null) read as 0. At most `max_count` (and at
    // most one element per byte left: an element takes at least one).
    bool read_vector_size(const char* what, int32_t* out, int32_t max_count = 1 << 20);

    // True if everything was read; otherwise (bytes left over) sets the
    // error "<record>: N byte(s) after its last field, at byte P".
    bool expect_end(const char* record);

    bool ok() const { return error_.empty(); }
    // What was wrong, e.g. "path: a length of 9 at byte 12, but 3 bytes are left".
    const std::string& error() const { return error_; }
    // Bytes not read yet.
    size_t remaining() const { return in_.size() - pos_; }
    bool at_end() const { return ok() && remaining() == 0; }

 private:
    bool take(const char* what, size_t n, const char** at);
    bool read_be(const char* what, int bytes, uint64_t* out);  // an unsigned big-endian value
    bool read_length(const char* what, int32_t* length);
    bool fail(std::string message);

    std::string_view in_;
    size_t pos_ = 0;
    size_t max_length_;
    std::string error_;
};

}  // namespace chorus::zookeeper
