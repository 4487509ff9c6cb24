// Status and Result: expected operating errors as values.
//
// An error a caller can meet in normal operation (corrupt data on disk, a bad
// argument, not the leader, ...) is a `Status` with a code and a message that
// a person can act on. A broken invariant is not a Status: it is a bug, and
// CHORUS_ASSERT aborts (see assert.h). No exceptions cross these interfaces.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "base/assert.h"

namespace chorus {

enum class Code : uint8_t {
    kOk = 0,
    kInvalidArgument,  // the caller asked for something that is not allowed
    kNotFound,         // the thing asked for does not exist
    kCorrupt,          // durable data failed a check; the message names file and zxid
    kIoError,          // the operating system refused a file operation
    kNotLeader,        // no leader serves (or this server is stopping): not applied, retry
    kBusy,             // a bounded queue is full: not applied, retry later
    // The two a request may end with after it was taken, when its outcome
    // is not known: it may or may not have been applied (retry only if it
    // is idempotent, or read first).
    kTimeout,         // no outcome within the request timeout
    kUnknownOutcome,  // the leader changed, or the server stopped, before the outcome came
};

const char* code_name(Code code);

class [[nodiscard]] Status {
 public:
    Status() = default;
    static Status ok() { return Status(); }
    static Status invalid_argument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
    static Status not_found(std::string m) { return {Code::kNotFound, std::move(m)}; }
    static Status corrupt(std::string m) { return {Code::kCorrupt, std::move(m)}; }
    static Status io_error(std::string m) { return {Code::kIoError, std::move(m)}; }

    Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

    bool is_ok() const { return code_ == Code::kOk; }
    Code code() const { return code_; }
    const std::string& message() const { return message_; }
    // "Corrupt: <message>", or "OK".
    std::string str() const;

 private:
    Code code_ = Code::kOk;
    std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
    Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit on purpose
    Result(Status status) : status_(std::move(status)) {  // NOLINT
        CHORUS_ASSERT(!status_.is_ok(), "a Result made from a Status must carry an error");
    }

    bool is_ok() const { return value_.has_value(); }
    const Status& status() const { return status_; }

    T& value() & {
        CHORUS_ASSERT(value_.has_value(), status_.str().c_str());
        return *value_;
    }
    const T& value() const& {
        CHORUS_ASSERT(value_.has_value(), status_.str().c_str());
        return *value_;
    }
    T&& value() && {
        CHORUS_ASSERT(value_.has_value(), status_.str().c_str());
        return std::move(*value_);
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }

 private:
    std::optional<T> value_;
    Status status_;
};

}  // namespace chorus
