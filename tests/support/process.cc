#include "tests/support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "base/assert.h"

namespace chorus::testing {

uint16_t free_port() {
    // Below the kernel's ephemeral range (32768 and up by default): a port
    // bind(0) handed out may be handed out again as the local port of some
    // outgoing connection before our server binds it; these never are.
    // Never the same port twice in one process: a port that is free now is
    // still free when asked again before its server binds it (a peer port
    // and a client port of one ensemble once came out equal, and the
    // second server could not listen).
    static std::mutex mutex;
    static std::mt19937 rng(std::random_device{}());
    static std::set<uint16_t> handed_out;
    std::lock_guard lock(mutex);
    for (int attempt = 0; attempt < 1000; ++attempt) {
        const auto port =
            static_cast<uint16_t>(std::uniform_int_distribution<int>(20000, 31999)(rng));
        if (!handed_out.insert(port).second) continue;
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        CHORUS_ASSERT(fd >= 0, "socket failed");
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port);
        const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        if (free) return port;
    }
    CHORUS_ASSERT(false, "no free port in 20000-31999");
    return 0;
}

ChildProcess::~ChildProcess() {
    if (running()) kill();
}

void ChildProcess::start(const std::vector<std::string>& argv, const std::string& log_file) {
    CHORUS_ASSERT(!running(), "the child already runs");
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    CHORUS_ASSERT(pid >= 0, "fork failed");
    if (pid == 0) {
        const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    pid_ = pid;
}

void ChildProcess::signal(int sig) {
    if (running()) ::kill(pid_, sig);
}

void ChildProcess::kill() {
    if (!running()) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

int ChildProcess::terminate(int timeout_ms) {
    if (!running()) return -1;
    ::kill(pid_, SIGTERM);
    return wait_exit(timeout_ms);
}

int ChildProcess::wait_exit(int timeout_ms) {
    if (!running()) return -1;
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill();
    return -1;
}

}  // namespace chorus::testing
