#include "tests/support/raw_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/assert.h"
#include "net/frame.h"

namespace chorus::testing {

RawConnection::RawConnection(uint16_t port, int timeout_ms) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    CHORUS_ASSERT(fd_ >= 0, "socket failed");
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    CHORUS_ASSERT(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0,
                  "connect failed");
}

RawConnection::~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
}

void RawConnection::send_bytes(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return;
        sent += static_cast<size_t>(n);
    }
}

void RawConnection::send_frame(const std::string& body) { send_bytes(net::frame_of_bytes(body)); }

bool RawConnection::read_exactly(char* out, size_t n) {
    size_t got = 0;
    while (got < n) {
        const ssize_t r = ::recv(fd_, out + got, n - got, 0);
        if (r <= 0) return false;
        got += static_cast<size_t>(r);
    }
    return true;
}

std::string RawConnection::read_frame() {
    unsigned char header[4];
    if (!read_exactly(reinterpret_cast<char*>(header), 4)) return {};
    const uint32_t size = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                          (uint32_t{header[2]} << 8) | uint32_t{header[3]};
    std::string body(size, '\0');
    if (!read_exactly(body.data(), size)) return {};
    return body;
}

bool RawConnection::closed_by_peer() {
    char byte;
    return ::recv(fd_, &byte, 1, 0) == 0;
}

std::string RawConnection::read_some() {
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
}

std::string RawConnection::read_until_close(bool* closed) {
    std::string out;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n <= 0) {
            *closed = n == 0;
            return out;
        }
        out.append(buffer, static_cast<size_t>(n));
    }
}

}  // namespace chorus::testing
