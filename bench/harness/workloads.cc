#include "bench/harness/workloads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

namespace chorus::bench {

using Clock = std::chrono::steady_clock;

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

LatencySummary summarise(std::vector<double> latencies) {
    LatencySummary s;
    if (latencies.empty()) return s;
    std::sort(latencies.begin(), latencies.end());
    auto at = [&](double q) {
        const size_t i = std::min(latencies.size() - 1, static_cast<size_t>(q * latencies.size()));
        return latencies[i];
    };
    s.p50_ms = at(0.50);
    s.p99_ms = at(0.99);
    s.p999_ms = at(0.999);
    s.max_ms = latencies.back();
    return s;
}

namespace {

// The shared state of one closed-loop run. Completions come on client
// threads; each starts the next write of its slot until `stopping`.
struct WriteRun : std::enable_shared_from_this<WriteRun> {
    std::vector<Driver*> drivers;
    Op op = Op::kWrite;
    std::vector<uint8_t> member_in;  // kChurn: whether slot's member is in the group
    std::string value;
    std::atomic<bool> stopping{false};
    std::atomic<bool> measuring{false};
    Clock::time_point measure_start;
    std::mutex mutex;
    std::condition_variable idle;
    int outstanding = 0;  // under mutex
    std::vector<double> latencies;
    uint64_t ok = 0, failed = 0;

    void issue(int slot) {
        Driver* d = drivers[slot % drivers.size()];
        const int key = slot / static_cast<int>(drivers.size());
        const auto start = Clock::now();
        auto done = [self = shared_from_this(), slot, start](bool success) {
            self->completed(slot, start, success);
        };
        if (op == Op::kWrite) {
            d->write(key, value, std::move(done));
        } else if (op == Op::kChurn) {
            if (member_in[slot]) {
                d->leave(key, std::move(done));
            } else {
                d->join(key, std::move(done));
            }
        } else {
            d->read(key, op == Op::kSyncRead, std::move(done));
        }
    }

    void completed(int slot, Clock::time_point start, bool success) {
        const auto now = Clock::now();
        if (success && op == Op::kChurn) member_in[slot] = !member_in[slot];
        {
            std::lock_guard lock(mutex);
            if (measuring && start >= measure_start) {
                if (success) {
                    ++ok;
                    latencies.push_back(ms_between(start, now));
                } else {
                    ++failed;
                }
            }
            if (stopping) {
                if (--outstanding == 0) idle.notify_all();
                return;
            }
        }
        if (!success) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // no spin
        issue(slot);
    }
};

}  // namespace

const char* op_name(Op op) {
    switch (op) {
        case Op::kWrite:
            return "write";
        case Op::kRead:
            return "read";
        case Op::kSyncRead:
            return "sync_read";
        case Op::kChurn:
            return "churn";
    }
    return "?";
}

WriteResult run_ops(const std::vector<Driver*>& drivers, Op op, int window,
                    const std::string& value, double warmup_seconds, double seconds) {
    auto run = std::make_shared<WriteRun>();
    run->drivers = drivers;
    run->op = op;
    run->member_in.assign(static_cast<size_t>(window), 0);
    auto stop_watching = std::make_shared<std::atomic<bool>>(false);
    auto notifications = std::make_shared<std::atomic<uint64_t>>(0);
    auto counting = std::make_shared<std::atomic<bool>>(false);
    if (op == Op::kChurn) {
        for (Driver* d : drivers) {
            d->watch_group(stop_watching, [notifications, counting] {
                if (*counting) ++*notifications;
            });
        }
    }
    run->value = value;
    run->outstanding = window;
    run->latencies.reserve(1 << 20);
    for (int slot = 0; slot < window; ++slot) run->issue(slot);
    std::this_thread::sleep_for(std::chrono::duration<double>(warmup_seconds));
    {
        std::lock_guard lock(run->mutex);
        run->measure_start = Clock::now();
        run->measuring = true;
        *counting = true;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    WriteResult r;
    {
        std::lock_guard lock(run->mutex);
        r.seconds = ms_between(run->measure_start, Clock::now()) / 1000;
        run->measuring = false;
        *counting = false;
        r.notifications = *notifications;
        run->stopping = true;
        r.ok = run->ok;
        r.failed = run->failed;
        r.latency = summarise(std::move(run->latencies));
    }
    r.ops_per_s = static_cast<double>(r.ok) / r.seconds;
    // Let the writes in flight finish (bounded: a lost one is not waited for).
    std::unique_lock lock(run->mutex);
    run->idle.wait_for(lock, std::chrono::seconds(10), [&] { return run->outstanding == 0; });
    *stop_watching = true;
    return r;
}

FailoverResult run_failover(Ensemble& ensemble, Driver& driver, const std::string& value, int kills,
                            const std::function<void(const std::string&)>& progress,
                            bool graceful) {
    FailoverResult result;
    for (int k = 0; k < kills; ++k) {
        const int leader = ensemble.leader();
        if (leader == 0) {
            result.error = "no leader before kill " + std::to_string(k + 1);
            return result;
        }
        // Window-1 writes in this thread's loop, completions timestamped.
        std::atomic<bool> stop{false};
        std::mutex mutex;
        // (start, end) of every write that succeeded.
        std::vector<std::pair<Clock::time_point, Clock::time_point>> completed;
        std::thread writer([&] {
            while (!stop) {
                const auto start = Clock::now();
                auto done = std::make_shared<std::promise<bool>>();
                driver.write(0, value, [done](bool ok) { done->set_value(ok); });
                auto f = done->get_future();
                if (f.wait_for(std::chrono::seconds(15)) != std::future_status::ready) continue;
                if (f.get()) {
                    std::lock_guard lock(mutex);
                    completed.emplace_back(start, Clock::now());
                } else {
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                }
            }
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        const auto killed_at = Clock::now();
        if (graceful) {
            ensemble.terminate_async(leader);
        } else {
            ensemble.kill(leader);
        }
        // Wait for writes to flow again (at most 30 s).
        const auto until = killed_at + std::chrono::seconds(30);
        bool resumed = false;
        while (Clock::now() < until && !resumed) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            std::lock_guard lock(mutex);
            resumed = !completed.empty() && completed.back().first > killed_at;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        stop = true;
        writer.join();
        if (!resumed) {
            result.error = "no write completed within 30 s of killing the leader";
            return result;
        }
        // A write in flight at the kill may still complete (committed just
        // before it): availability is back only with the first write that
        // *started* after the kill. Unavailability is the longest stretch
        // without a completed write, from the last completion before the
        // kill up to that first write's completion.
        size_t first = 0;
        while (completed[first].first <= killed_at) ++first;
        const auto first_after = completed[first].second;
        size_t from = 0;
        for (size_t i = 0; i < completed.size(); ++i) {
            if (completed[i].second <= killed_at) from = i;
        }
        double longest = 0;
        for (size_t i = from; i < first; ++i)
            longest = std::max(longest, ms_between(completed[i].second, completed[i + 1].second));
        if (completed[from].second > killed_at)  // nothing completed before the kill
            longest = std::max(longest, ms_between(killed_at, completed[from].second));
        result.unavailable_ms.push_back(longest);
        result.first_write_ms.push_back(ms_between(killed_at, first_after));
        progress(std::string(graceful ? "SIGTERM " : "kill ") + std::to_string(k + 1) + "/" +
                 std::to_string(kills) + ": server " + std::to_string(leader) +
                 "; writes stopped for " +
                 std::to_string(static_cast<int>(result.unavailable_ms.back())) + " ms");
        if (graceful && ensemble.wait_exit(leader, 20000) != 0)
            progress("server " + std::to_string(leader) + " did not exit cleanly on SIGTERM");
        ensemble.start(leader);
        const auto settle = Clock::now() + std::chrono::seconds(60);
        while (Clock::now() < settle && !(ensemble.leader() != 0 && ensemble.all_serving()))
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    return result;
}

SessionResult run_sessions(Ensemble& ensemble, const std::vector<SessionHolder>& holders, int count,
                           int timeout_ms,
                           const std::function<void(const std::string&)>& progress) {
    SessionResult r;
    r.sessions = count;
    const int leader = ensemble.leader();
    if (leader == 0) {
        r.error = "no leader";
        return r;
    }
    const uint64_t log0 = ensemble.log_bytes(leader);
    const uint64_t mem0 = ensemble.memory_in_use(leader, &r.memory_measure);
    std::vector<testing::ChildProcess> children(holders.size());
    for (size_t i = 0; i < holders.size(); ++i) children[i].start(holders[i].argv, holders[i].log);
    auto kill_all = [&] {
        for (auto& child : children) child.kill();
    };
    // Wait for "opened N in MS ms" (or a failure) from each; the slowest
    // decides how long opening them all took.
    double ms = 0;
    const auto until = Clock::now() + std::chrono::seconds(180);
    for (const SessionHolder& holder : holders) {
        std::string line;
        while (Clock::now() < until) {
            std::ifstream in(holder.log);
            std::getline(in, line);
            if (line.rfind("opened", 0) == 0 || line.rfind("failed", 0) == 0) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        double holder_ms = 0;
        if (std::sscanf(line.c_str(), "opened %*d in %lf ms", &holder_ms) != 1) {
            r.error = line.empty() ? "a session holder did not open its sessions in time" : line;
            kill_all();
            return r;
        }
        ms = std::max(ms, holder_ms);
    }
    r.creates_per_s = count / (ms / 1000);
    const uint64_t log1 = ensemble.log_bytes(leader);
    progress(std::to_string(count) + " sessions opened in " + std::to_string(static_cast<int>(ms)) +
             " ms; holding them for " + std::to_string(2 * timeout_ms) + " ms");
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * timeout_ms));
    const uint64_t log2 = ensemble.log_bytes(leader);
    const uint64_t mem2 = ensemble.memory_in_use(leader, &r.memory_measure);
    r.heartbeats = static_cast<double>(count) * 2 * timeout_ms / (timeout_ms / 3.0);
    kill_all();
    // Expiry: the timeout, then at most 1,000 a second (chorus's default
    // budget), then a margin.
    const int wait_ms = timeout_ms + count + 4000;
    progress("clients killed; waiting " + std::to_string(wait_ms) +
             " ms for the sessions to expire");
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    const uint64_t log3 = ensemble.log_bytes(leader);
    r.log_bytes_per_create = static_cast<double>(log1 - log0) / count;
    r.log_bytes_per_heartbeat = static_cast<double>(log2 - log1) / r.heartbeats;
    r.log_bytes_per_expire = static_cast<double>(log3 - log2) / count;
    r.leader_bytes_per_session = mem2 > mem0 ? static_cast<double>(mem2 - mem0) / count : 0;
    return r;
}

}  // namespace chorus::bench
