// RawConnection: a blocking TCP connection to 127.0.0.1 for sending bytes a
// well-behaved client never would. Every read is bounded in time.
#pragma once

#include <cstdint>
#include <string>

namespace chorus::testing {

class RawConnection {
 public:
    explicit RawConnection(uint16_t port, int timeout_ms = 5000);
    ~RawConnection();
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    void send_bytes(const std::string& bytes);
    // A 4-byte big-endian length, then `body`.
    void send_frame(const std::string& body);
    // The next frame's body ("" on timeout or close).
    std::string read_frame();
    // True once the peer has closed (waits up to the timeout).
    bool closed_by_peer();
    // What one read returns ("" on timeout or close).
    std::string read_some();
    // Every byte until the peer closes or a read times out; `closed` says
    // which.
    std::string read_until_close(bool* closed);

 private:
    bool read_exactly(char* out, size_t n);
    int fd_ = -1;
};

}  // namespace chorus::testing
