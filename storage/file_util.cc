#include "storage/file_util.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace chorus::storage {

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

std::string errno_text(int err) { return std::strerror(err); }

Status write_all(int fd, const void* data, size_t size, const std::string& path) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Status::io_error(path + ": write failed: " + errno_text(errno));
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
    return Status::ok();
}

Status pread_exact(int fd, void* data, size_t size, uint64_t offset, const std::string& path) {
    char* p = static_cast<char*>(data);
    while (size > 0) {
        ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            return Status::io_error(path + ": read failed: " + errno_text(errno));
        }
        if (n == 0) return Status::corrupt(path + ": file ends early");
        p += n;
        size -= static_cast<size_t>(n);
        offset += static_cast<uint64_t>(n);
    }
    return Status::ok();
}

void sync_or_die(int fd, const std::string& path) {
    if (::fsync(fd) == 0) return;
    spdlog::critical("{}: fsync failed: {} — stopping the process; restart recovers from disk",
                     path, errno_text(errno));
    spdlog::shutdown();
    std::abort();
}

void sync_dir_or_die(const std::string& dir) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
        spdlog::critical("{}: cannot open the directory to fsync it: {}", dir, errno_text(errno));
        spdlog::shutdown();
        std::abort();
    }
    sync_or_die(fd.get(), dir);
}

}  // namespace chorus::storage
