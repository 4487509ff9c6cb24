#include "bench/harness/session_holder.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "bench/harness/driver.h"
#include "client/client.h"

namespace chorus::bench {

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void hold_forever() {
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

int hold_chorus(int count, int timeout_ms, const std::vector<std::string>& servers) {
    Client client(ClientOptions{.servers = servers,
                                .session_timeout_ms = static_cast<uint64_t>(timeout_ms),
                                .request_timeout_ms = 30000});
    std::mutex mutex;
    std::condition_variable all_done;
    int opened = 0, failed = 0, next = 0;
    constexpr int kWindow = 256;
    const auto start = Clock::now();
    std::function<void()> open_one = [&] {
        client.open_session([&](ClientStatus s, uint64_t) {
            std::lock_guard lock(mutex);
            (s.ok() ? opened : failed)++;
            if (next < count) {
                ++next;
                open_one();
            }
            if (opened + failed == count) all_done.notify_all();
        });
    };
    {
        std::unique_lock lock(mutex);
        for (; next < std::min(count, kWindow); ++next) open_one();
        all_done.wait(lock, [&] { return opened + failed == count; });
    }
    const auto ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (failed) {
        std::printf("failed to open %d of %d sessions\n", failed, count);
        return 1;
    }
    std::printf("opened %d in %.1f ms\n", opened, ms);
    std::fflush(stdout);
    hold_forever();
}

}  // namespace

int hold_sessions(const std::string& system, int count, int timeout_ms,
                  const std::vector<std::string>& servers) {
    if (system == "chorus") return hold_chorus(count, timeout_ms, servers);
    if (system == "zookeeper") {
        std::string error;
        double ms = 0;
        if (!zookeeper_hold_sessions(count, timeout_ms, servers, &ms, &error)) {
            std::printf("failed: %s\n", error.c_str());
            return 1;
        }
        std::printf("opened %d in %.1f ms\n", count, ms);
        std::fflush(stdout);
        hold_forever();
    }
    std::printf("unknown system %s\n", system.c_str());
    return 2;
}

}  // namespace chorus::bench
