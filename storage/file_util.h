// Small POSIX file helpers for storage: whole writes, reads, fsyncs.
#pragma once

#include <cstddef>
#include <string>

#include "base/status.h"

namespace chorus::storage {

// An owned file descriptor, closed on destruction.
class Fd {
 public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

 private:
    int fd_ = -1;
};

// Writes all `size` bytes, retrying short writes and EINTR.
Status write_all(int fd, const void* data, size_t size, const std::string& path);
// Reads exactly `size` bytes at `offset`.
Status pread_exact(int fd, void* data, size_t size, uint64_t offset, const std::string& path);
// fdatasync/fsync of a file, or of a directory (so a rename in it is durable).
// A failure here is fatal: the process aborts with a log line.
void sync_or_die(int fd, const std::string& path);
void sync_dir_or_die(const std::string& dir);

std::string errno_text(int err);

}  // namespace chorus::storage
