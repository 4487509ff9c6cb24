#include "examples/registry/registry_watch.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace chorus::registry {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// The q-quantile of sorted samples (nearest rank); 0 when there are none.
double quantile(const std::vector<double>& sorted, double q) {
    if (sorted.empty()) return 0;
    const size_t rank = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(rank, sorted.size() - 1)];
}

// What one round saw, to tell a change from the same answer again.
struct Answer {
    std::string active;  // "" when no active master was found
    std::vector<std::string> servers;
    bool operator==(const Answer&) const = default;
};

class Watcher {
 public:
    Watcher(RegistryClient& client, const WatchOptions& options)
        : client_(client), options_(options), start_(Clock::now()) {}

    // One round: both lookups; a line if the answer changed or one failed.
    void round() {
        Answer now;
        const auto active = timed([&] { return client_.active_master(); });
        if (active.is_ok()) {
            now.active = active.value().str();
        } else {
            failed("active-master", active.status());
        }
        const auto servers = timed([&] { return client_.region_servers(); });
        if (servers.is_ok()) {
            for (const auto& s : servers.value()) now.servers.push_back(s.name.str());
            std::sort(now.servers.begin(), now.servers.end());
        } else {
            failed("list-servers", servers.status());
        }
        if (!active.is_ok() || !servers.is_ok()) return;  // a failure is not an answer
        if (seen_ && now == last_) return;
        if (seen_ && now.active != last_.active) ++active_changes_;
        seen_ = true;
        last_ = now;
        if (options_.json) {
            emit({{"event", "change"}, {"active", now.active}, {"servers", now.servers}});
        } else {
            std::printf("%+9.3fs  active %s, %zu region server(s)\n", elapsed_ms() / 1000,
                        now.active.c_str(), now.servers.size());
            std::fflush(stdout);
        }
    }

    int summary() {
        std::sort(latencies_.begin(), latencies_.end());
        const double p50 = quantile(latencies_, 0.50), p99 = quantile(latencies_, 0.99);
        const double max = latencies_.empty() ? 0 : latencies_.back();
        if (options_.json) {
            emit({{"event", "summary"},
                  {"lookups", latencies_.size()},
                  {"failed", failures_},
                  {"p50_ms", p50},
                  {"p99_ms", p99},
                  {"max_ms", max},
                  {"active_changes", active_changes_}});
        } else {
            std::printf(
                "%zu lookups, %llu failed; p50 %.2f ms, p99 %.2f ms, max %.1f ms; the active "
                "master changed %llu time(s)\n",
                latencies_.size(), static_cast<unsigned long long>(failures_), p50, p99, max,
                static_cast<unsigned long long>(active_changes_));
        }
        return failures_ == 0 ? 0 : 1;
    }

    double elapsed_ms() const { return ms_between(start_, Clock::now()); }

 private:
    template <typename F>
    auto timed(F&& lookup) -> decltype(lookup()) {
        const auto begin = Clock::now();
        auto result = lookup();
        latencies_.push_back(ms_between(begin, Clock::now()));
        return result;
    }

    void failed(const char* what, const Status& status) {
        ++failures_;
        if (options_.json) {
            emit({{"event", "failed"}, {"lookup", what}, {"error", status.str()}});
        } else {
            std::printf("%+9.3fs  %s FAILED: %s\n", elapsed_ms() / 1000, what,
                        status.str().c_str());
            std::fflush(stdout);
        }
    }

    void emit(json line) {
        line["t_ms"] = static_cast<int64_t>(elapsed_ms());
        std::printf("%s\n", line.dump().c_str());
        std::fflush(stdout);
    }

    RegistryClient& client_;
    const WatchOptions options_;
    const Clock::time_point start_;
    std::vector<double> latencies_;
    uint64_t failures_ = 0;
    uint64_t active_changes_ = 0;
    bool seen_ = false;
    Answer last_;
};

}  // namespace

int watch_registry(RegistryClient& client, const WatchOptions& options,
                   const std::atomic<bool>& stop) {
    Watcher watcher(client, options);
    const auto over = [&] {
        return stop.load() || (options.duration_ms > 0 &&
                               watcher.elapsed_ms() >= static_cast<double>(options.duration_ms));
    };
    while (!over()) {
        watcher.round();
        // Sleep in short steps, so that a stop is seen at once.
        const auto wake = Clock::now() + std::chrono::milliseconds(options.interval_ms);
        while (!over() && Clock::now() < wake)
            std::this_thread::sleep_for(
                std::min<Clock::duration>(std::chrono::milliseconds(20), wake - Clock::now()));
    }
    return watcher.summary();
}

}  // namespace chorus::registry
