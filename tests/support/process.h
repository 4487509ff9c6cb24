// Child processes for process-level tests: started with fork+exec, output to
// a log file, stopped only by their own PID. Loopback ports are picked at
// random below the ephemeral range and checked free.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace chorus::testing {

// A TCP port on 127.0.0.1 that was free a moment ago, below the kernel's
// ephemeral range, and never one this process was given before (thread-safe).
uint16_t free_port();

class ChildProcess {
 public:
    ChildProcess() = default;
    ~ChildProcess();  // SIGKILLs the child if it still runs
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // Starts `argv[0]` with `argv`, stdout and stderr appended to `log_file`.
    void start(const std::vector<std::string>& argv, const std::string& log_file);
    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    void signal(int sig);
    // SIGKILL and reap.
    void kill();
    // SIGTERM, then wait up to `timeout_ms` for it to exit; SIGKILL after.
    // Returns the exit status (-1 if it had to be killed).
    int terminate(int timeout_ms = 5000);
    // Waits up to `timeout_ms` for it to exit by itself; SIGKILL after.
    // Returns the exit status (-1 if it was killed, or died of a signal).
    int wait_exit(int timeout_ms = 5000);

 private:
    pid_t pid_ = -1;
};

}  // namespace chorus::testing
