#include "base/status.h"

#include <cstdio>
#include <cstdlib>

namespace chorus {

const char* code_name(Code code) {
    switch (code) {
        case Code::kOk:
            return "OK";
        case Code::kInvalidArgument:
            return "InvalidArgument";
        case Code::kNotFound:
            return "NotFound";
        case Code::kCorrupt:
            return "Corrupt";
        case Code::kIoError:
            return "IoError";
        case Code::kNotLeader:
            return "NotLeader";
        case Code::kBusy:
            return "Busy";
        case Code::kTimeout:
            return "Timeout";
        case Code::kUnknownOutcome:
            return "UnknownOutcome";
    }
    return "Unknown";
}

std::string Status::str() const {
    if (is_ok()) return "OK";
    return std::string(code_name(code_)) + ": " + message_;
}

namespace detail {
void assert_failed(const char* condition, const char* message, const char* file, int line) {
    std::fprintf(stderr, "chorus: assertion failed at %s:%d: %s (%s)\n", file, line, message,
                 condition);
    std::fflush(stderr);
    std::abort();
}
}  // namespace detail

}  // namespace chorus
