// Storage benchmark: durable appends to RocksLog against the physical limit.
//
// RocksLogAppend/N appends batches of N 100-byte entries, one sync each, and
// reports entries/s and syncs/s. RawWriteFdatasync measures, on the same
// filesystem and in the same run, the rate of one small appending write()
// plus fdatasync(): the most a log that syncs every write can do. The summary
// printed at the end gives the ratios the goals are stated in.
//
// The files go to $CHORUS_BENCH_DIR, or a scratch directory under the current
// one; either is removed afterwards. Goals (docs/benchmarks.md): at batch 256
// at least 200,000 durable entries/s; at batch 1 at least 80% of the raw
// fdatasync rate.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "storage/rocks_log.h"

namespace {

namespace fs = std::filesystem;
using chorus::Zxid;
using chorus::storage::Entry;
using chorus::storage::RocksLog;

constexpr size_t kPayloadBytes = 100;

std::string& bench_dir() {
    static std::string dir;
    return dir;
}

std::string fresh_dir(const std::string& name) {
    std::string path = bench_dir() + "/" + name;
    fs::remove_all(path);
    return path;
}

void RocksLogAppend(benchmark::State& state) {
    const auto batch_size = static_cast<uint64_t>(state.range(0));
    const std::string path = fresh_dir("rocks-" + std::to_string(batch_size));
    {
        auto opened = RocksLog::open(path);
        if (!opened.is_ok()) {
            state.SkipWithError(opened.status().str().c_str());
            return;
        }
        RocksLog& log = *opened.value();
        if (!log.set_accepted_epoch(1).is_ok()) state.SkipWithError("cannot set the epoch");
        std::vector<Entry> batch(batch_size);
        for (Entry& e : batch) e.payload.assign(kPayloadBytes, 'p');
        uint64_t next = 1;
        for (auto _ : state) {
            for (Entry& e : batch) e.zxid = Zxid{1, next++};
            if (!log.append(batch).is_ok()) {
                state.SkipWithError("append failed");
                break;
            }
        }
        state.counters["entries/s"] = benchmark::Counter(
            static_cast<double>(state.iterations() * batch_size), benchmark::Counter::kIsRate);
        state.counters["syncs/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                       benchmark::Counter::kIsRate);
    }
    fs::remove_all(path);
}

void RawWriteFdatasync(benchmark::State& state) {
    const std::string path = fresh_dir("raw-fdatasync");
    fs::create_directories(path);
    const std::string file = path + "/file";
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        state.SkipWithError("cannot create the file");
        return;
    }
    // About what one encoded 100-byte entry takes in a write-ahead log.
    const std::string record(kPayloadBytes + 40, 'r');
    for (auto _ : state) {
        if (::write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size()) ||
            ::fdatasync(fd) != 0) {
            state.SkipWithError("write or fdatasync failed");
            break;
        }
    }
    ::close(fd);
    state.counters["syncs/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    fs::remove_all(path);
}

BENCHMARK(RawWriteFdatasync)->UseRealTime()->MinTime(2.0);
BENCHMARK(RocksLogAppend)->Arg(1)->Arg(16)->Arg(256)->UseRealTime()->MinTime(2.0);

// Prints the usual table and keeps each run's counters for the summary.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const Run& run : runs) {
            if (run.error_occurred) continue;
            auto& counters = results_[run.benchmark_name()];
            for (const auto& [name, counter] : run.counters) counters[name] = counter.value;
        }
    }
    // The counter of the run whose name starts with `prefix` ("RocksLogAppend/1/").
    double get(const std::string& prefix, const std::string& counter) const {
        for (const auto& [name, counters] : results_) {
            if (name.rfind(prefix, 0) != 0) continue;
            auto c = counters.find(counter);
            return c == counters.end() ? 0 : c->second;
        }
        return 0;
    }

 private:
    std::map<std::string, std::map<std::string, double>> results_;
};

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_default_logger(spdlog::stderr_color_mt("bench"));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

    const char* env_dir = std::getenv("CHORUS_BENCH_DIR");
    bool scratch = false;
    if (env_dir && *env_dir) {
        bench_dir() = env_dir;
    } else {
        bench_dir() =
            (fs::current_path() / ("chorus-storage-bench-" + std::to_string(::getpid()))).string();
        scratch = true;
    }
    fs::create_directories(bench_dir());
    std::printf("storage benchmark: files in %s\n", bench_dir().c_str());

    SummaryReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    if (scratch) fs::remove_all(bench_dir());

    const double raw = reporter.get("RawWriteFdatasync/", "syncs/s");
    const double b1 = reporter.get("RocksLogAppend/1/", "entries/s");
    const double b16 = reporter.get("RocksLogAppend/16/", "entries/s");
    const double b256 = reporter.get("RocksLogAppend/256/", "entries/s");
    if (raw <= 0 || b1 <= 0 || b256 <= 0) return 0;  // a filtered run: no summary
    std::printf("\nSummary (100-byte entries, every batch synced)\n");
    std::printf("  raw write+fdatasync on this filesystem : %10.0f syncs/s\n", raw);
    std::printf(
        "  RocksLog, batch 1                      : %10.0f entries/s = %5.1f%% of raw (goal >= "
        "80%%): %s\n",
        b1, 100.0 * b1 / raw, b1 >= 0.8 * raw ? "met" : "NOT met");
    if (b16 > 0) std::printf("  RocksLog, batch 16                     : %10.0f entries/s\n", b16);
    std::printf(
        "  RocksLog, batch 256                    : %10.0f entries/s (goal >= 200,000): %s\n", b256,
        b256 >= 200000 ? "met" : "NOT met");
    return 0;
}
