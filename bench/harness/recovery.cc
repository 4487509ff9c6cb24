#include "bench/harness/recovery.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>

namespace chorus::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Tags keep drivers' keys apart (driver.h); the reader must use the
// writer's to read its keys.
constexpr int kTag = 3000;

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string mib(uint64_t bytes) {
    char b[32];
    std::snprintf(b, sizeof b, "%.0f MiB", static_cast<double>(bytes) / (1 << 20));
    return b;
}

// Writes through one driver with at most `window` in flight, issued from
// the calling thread; completions (on client threads) free a place.
class WindowedWriter {
 public:
    WindowedWriter(Driver& driver, int window) : driver_(driver), window_(window) {}
    ~WindowedWriter() { drain(std::chrono::seconds(10)); }

    // Waits for a free place (at most 10 s: false), then sends the write.
    bool write(int key, const std::string& value) {
        {
            std::unique_lock lock(state_->mutex);
            if (!state_->freed.wait_for(lock, std::chrono::seconds(10),
                                        [&] { return state_->in_flight < window_; }))
                return false;
            ++state_->in_flight;
        }
        driver_.write(key, value, [state = state_](bool ok) {
            std::lock_guard lock(state->mutex);
            --state->in_flight;
            if (ok) {
                ++state->ok;
                state->last_ok = Clock::now();
            } else {
                ++state->failed;
            }
            state->freed.notify_all();
        });
        return true;
    }
    // Waits until no write is in flight; false if some did not answer in time.
    bool drain(std::chrono::milliseconds timeout) {
        std::unique_lock lock(state_->mutex);
        return state_->freed.wait_for(lock, timeout, [&] { return state_->in_flight == 0; });
    }
    uint64_t ok() const {
        std::lock_guard lock(state_->mutex);
        return state_->ok;
    }
    uint64_t failed() const {
        std::lock_guard lock(state_->mutex);
        return state_->failed;
    }
    Clock::time_point last_ok() const {
        std::lock_guard lock(state_->mutex);
        return state_->last_ok;
    }

 private:
    // Shared with the completions, which may outlive a writer that gave up.
    struct State {
        mutable std::mutex mutex;
        std::condition_variable freed;
        int in_flight = 0;
        uint64_t ok = 0, failed = 0;
        Clock::time_point last_ok = Clock::now();
    };
    Driver& driver_;
    const int window_;
    std::shared_ptr<State> state_ = std::make_shared<State>();
};

// Writes keys round robin until `until` or `enough()`; the next key is
// `*next % keys`. An error message, or "" if it ran to the end.
std::string write_until(WindowedWriter& writer, const std::string& value, int keys, uint64_t* next,
                        Clock::time_point until, const std::function<bool()>& enough) {
    while (Clock::now() < until && !enough()) {
        if (!writer.write(static_cast<int>(*next % static_cast<uint64_t>(keys)), value))
            return "no write answered within 10 s";
        ++*next;
        // A failed write frees its place at once: do not spin on failures.
        if (Clock::now() - writer.last_ok() > std::chrono::seconds(30))
            return "no write succeeded for 30 s";
        if (writer.failed() > 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return "";
}

}  // namespace

RecoveryResult run_recovery(Ensemble& ensemble, const DriverFactory& make_driver,
                            const RecoveryOptions& o,
                            const std::function<void(const std::string&)>& progress) {
    RecoveryResult r;
    const int leader = ensemble.leader();
    if (leader == 0) {
        r.error = "no leader";
        return r;
    }
    for (int id = 1; id <= ensemble.size(); ++id) {
        if (id != leader) r.server = id;  // the last follower
    }
    // A fixed key set: the live state stays bounded (ZooKeeper keeps it all
    // on its Java heap, -Xmx1g), the log and snapshots grow as keys are
    // overwritten.
    const uint64_t want_keys = (o.data_dir_bytes + o.value_bytes - 1) / o.value_bytes;
    r.keys =
        static_cast<int>(std::clamp<uint64_t>(want_keys, 1, o.max_state_bytes / o.value_bytes));

    // Writes go to the leader alone, so killing a follower does not touch
    // the writer's connection.
    auto writer_driver = make_driver({ensemble.client_address(leader)}, kTag);
    std::string error;
    if (!writer_driver->connect(30000, &error) || !writer_driver->prepare(r.keys, "", &error)) {
        r.error = "writer: " + error;
        return r;
    }
    const std::string value(o.value_bytes, 'v');
    WindowedWriter writer(*writer_driver, o.window);
    uint64_t next = 0;
    progress("recovery: filling server " + std::to_string(r.server) + "'s data directory to " +
             mib(o.data_dir_bytes) + ": " + std::to_string(o.value_bytes >> 10) +
             " KiB values over " + std::to_string(r.keys) + " keys, window " +
             std::to_string(o.window) + ", through leader " + std::to_string(leader));

    const auto fill_start = Clock::now();
    auto next_check = fill_start;
    auto next_report = fill_start + std::chrono::seconds(10);
    uint64_t on_disk = 0;
    // Measured five times a second: walking the directory is cheap, but
    // not free.
    auto full = [&] {
        const auto now = Clock::now();
        if (now >= next_check) {
            on_disk = ensemble.data_dir_bytes(r.server);
            next_check = now + std::chrono::milliseconds(200);
        }
        if (now >= next_report) {
            const double s = std::chrono::duration<double>(now - fill_start).count();
            progress(
                "recovery: server " + std::to_string(r.server) + " holds " + mib(on_disk) + "; " +
                std::to_string(writer.ok()) + " values written (" +
                mib(static_cast<uint64_t>(static_cast<double>(writer.ok() * o.value_bytes) / s)) +
                "/s)");
            next_report = now + std::chrono::seconds(10);
        }
        // Every key once at least, so the state is what was announced.
        return on_disk >= o.data_dir_bytes && next >= static_cast<uint64_t>(r.keys);
    };
    error = write_until(writer, value, r.keys, &next,
                        fill_start + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(o.fill_timeout_s)),
                        full);
    writer.drain(std::chrono::seconds(30));
    r.fill_seconds = std::chrono::duration<double>(Clock::now() - fill_start).count();
    r.values_written = writer.ok();
    r.fill_values_per_s = static_cast<double>(r.values_written) / r.fill_seconds;
    r.state_bytes = std::min<uint64_t>(r.values_written, r.keys) * o.value_bytes;
    if (error.empty() && on_disk < o.data_dir_bytes) {
        error = "server " + std::to_string(r.server) + " held only " + mib(on_disk) + " after " +
                std::to_string(static_cast<int>(o.fill_timeout_s)) + " s of writes";
    }
    if (!error.empty()) {
        r.error = error;
        r.failed = writer.failed();
        return r;
    }
    if (ensemble.leader() == r.server) {
        r.error = "server " + std::to_string(r.server) + " became the leader while filling";
        return r;
    }

    ensemble.kill(r.server);
    r.data_dir_bytes = ensemble.data_dir_bytes(r.server);
    progress("recovery: server " + std::to_string(r.server) + " SIGKILLed holding " +
             mib(r.data_dir_bytes) + " (" + std::to_string(r.values_written) + " values in " +
             std::to_string(static_cast<int>(r.fill_seconds)) + " s); writing " +
             std::to_string(o.catch_up_values) + " more values while it is down");
    const uint64_t caught_up = next + static_cast<uint64_t>(o.catch_up_values);
    error = write_until(writer, value, r.keys, &next, Clock::now() + std::chrono::seconds(60),
                        [&] { return next >= caught_up; });
    if (error.empty() && next < caught_up) error = "the writes took over 60 s";
    if (!writer.drain(std::chrono::seconds(30)) && error.empty())
        error = "writes did not finish within 30 s";
    r.values_written = writer.ok();
    r.failed = writer.failed();
    r.state_bytes = std::min<uint64_t>(r.values_written, r.keys) * o.value_bytes;
    if (!error.empty()) {
        r.error = "while server " + std::to_string(r.server) + " was down: " + error;
        return r;
    }
    const int last_key = static_cast<int>((next - 1) % static_cast<uint64_t>(r.keys));

    const auto restarted = Clock::now();
    const auto until = restarted + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(o.rejoin_timeout_s));
    ensemble.start(r.server);
    while (!ensemble.following(r.server)) {
        if (Clock::now() > until) {
            r.error = "server " + std::to_string(r.server) + " did not follow within " +
                      std::to_string(static_cast<int>(o.rejoin_timeout_s)) + " s of its restart";
            return r;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    r.recovery_ms = ms_between(restarted, Clock::now());
    progress("recovery: server " + std::to_string(r.server) + " follows again " +
             std::to_string(static_cast<int>(r.recovery_ms)) + " ms after its restart");

    // A sync+read through the restarted server alone: it answers with the
    // state as of now, so with the last key written too.
    auto reader = make_driver({ensemble.client_address(r.server)}, kTag);
    const auto left_ms = [&] {
        return std::max<int64_t>(
            0, std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count());
    };
    if (!reader->connect(static_cast<int>(left_ms()), &error)) {
        r.error = "reader on server " + std::to_string(r.server) + ": " + error;
        return r;
    }
    while (true) {
        auto done = std::make_shared<std::promise<bool>>();
        reader->read(last_key, true, [done](bool ok) { done->set_value(ok); });
        auto f = done->get_future();
        if (f.wait_for(std::chrono::seconds(10)) == std::future_status::ready && f.get()) break;
        if (Clock::now() > until) {
            r.error = "no read through server " + std::to_string(r.server) + " answered within " +
                      std::to_string(static_cast<int>(o.rejoin_timeout_s)) + " s of its restart";
            return r;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    r.first_read_ms = ms_between(restarted, Clock::now());
    progress("recovery: a sync+read through server " + std::to_string(r.server) + " answered " +
             std::to_string(static_cast<int>(r.first_read_ms)) + " ms after its restart");
    return r;
}

}  // namespace chorus::bench
