// Crash test: a child process appends synced batches (with the odd snapshot,
// compaction and epoch change in between) and reports each zxid that append
// acknowledged; the parent SIGKILLs it at many different points, reopens the
// data directory and checks that
//   - it opens (nothing the crash left behind is mistaken for corruption),
//   - every acknowledged zxid is present with the right payload (or was
//     compacted into a snapshot that exists), and
//   - the log is one contiguous run from its base.
// The same directory is reused across kills, so recovery also runs on data
// that has itself been recovered many times.
//
// The child is this same binary, started as `crash_test --crash-child DIR SEED`.
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "storage/data_dir.h"
#include "tests/support/temp_dir.h"

namespace chorus::storage {
namespace {

// Payload of the entry at `zxid`, so the parent can check content too.
std::string payload_for(Zxid zxid) {
    std::string p = "entry " + zxid.str() + " ";
    p.resize(40 + (zxid.counter * 13) % 160, static_cast<char>('a' + zxid.counter % 26));
    return p;
}

void report(const char* line) {
    const size_t n = std::strlen(line);
    // One write() per line: atomic for a pipe, so a kill never splits a line.
    if (::write(STDOUT_FILENO, line, n) != static_cast<ssize_t>(n)) std::_Exit(3);
}

// The child: runs until it is killed.
int run_child(const std::string& path, unsigned seed) {
    // stdout carries the acknowledgements; logs go to stderr.
    spdlog::set_default_logger(spdlog::stderr_color_mt("crash-child"));
    auto opened = open_data_dir(path);
    if (!opened.is_ok()) {
        std::fprintf(stderr, "child: %s\n", opened.status().str().c_str());
        return 2;
    }
    DataDir dir = std::move(opened).value();
    Log& log = *dir.log;
    std::mt19937 rng(seed);
    if (log.accepted_epoch() == 0) {
        if (!log.set_accepted_epoch(1).is_ok() || !log.set_current_epoch(1).is_ok()) return 2;
    }
    report("ready\n");
    for (uint64_t round = 0;; ++round) {
        const int action = static_cast<int>(rng() % 100);
        if (action < 2) {
            // A new epoch: accepted first, then current, as Zab does.
            const uint64_t epoch = log.accepted_epoch() + 1;
            if (!log.set_accepted_epoch(epoch).is_ok() || !log.set_current_epoch(epoch).is_ok())
                return 2;
            continue;
        }
        if (action < 6 && !log.last_zxid().is_zero()) {
            // Snapshot at the last zxid (big enough that kills land inside it),
            // then compact the log below it, keeping a tail.
            const Zxid at = log.last_zxid();
            if (dir.snapshots->list().empty() || dir.snapshots->list().back().zxid < at) {
                auto writer = dir.snapshots->begin(at);
                if (!writer.is_ok()) return 2;
                std::string chunk(64 * 1024, static_cast<char>('A' + at.counter % 26));
                for (int i = 0; i < 16; ++i) {
                    if (!(*writer)->append(chunk).is_ok()) return 2;
                }
                if (!(*writer)->commit().is_ok()) return 2;
            }
            auto tail = log.read(log.base().next(), at, ReadLimits{.max_entries = 50});
            if (tail.is_ok() && tail->size() == 50) {
                if (!log.compact_through(tail->back().zxid).is_ok()) return 2;
            }
            if (!dir.snapshots->delete_older_than(at).is_ok()) return 2;
            continue;
        }
        // The common case: one batch of 1..64 entries.
        const Zxid last = log.last_zxid();
        Zxid next =
            last.epoch == log.accepted_epoch() ? last.next() : Zxid{log.accepted_epoch(), 1};
        std::vector<Entry> batch;
        const size_t size = 1 + rng() % 64;
        for (size_t i = 0; i < size; ++i) {
            batch.push_back(Entry{next, 1, payload_for(next)});
            next = next.next();
        }
        if (!log.append(batch).is_ok()) return 2;
        char line[96];
        std::snprintf(line, sizeof line, "acked %llu %llu\n",
                      static_cast<unsigned long long>(batch.back().zxid.epoch),
                      static_cast<unsigned long long>(batch.back().zxid.counter));
        report(line);
    }
}

std::string self_exe() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return {};
    return std::string(buf, static_cast<size_t>(n));
}

struct Child {
    pid_t pid = -1;
    int out = -1;  // read end of the child's stdout
};

Child spawn_child(const std::string& path, unsigned seed) {
    int fds[2];
    if (::pipe(fds) != 0) return {};
    const std::string exe = self_exe();
    const std::string seed_text = std::to_string(seed);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::close(fds[0]);
        ::close(fds[1]);
        ::execl(exe.c_str(), exe.c_str(), "--crash-child", path.c_str(), seed_text.c_str(),
                nullptr);
        std::_Exit(127);
    }
    ::close(fds[1]);
    return Child{pid, fds[0]};
}

// Reads whole lines from `fd` into `buffer`; false at end of file.
bool read_lines(int fd, std::string* buffer) {
    char chunk[4096];
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer->append(chunk, static_cast<size_t>(n));
    return true;
}

// Parses "acked E C" lines out of `text`.
std::vector<Zxid> parse_acks(const std::string& text, bool* ready) {
    std::vector<Zxid> acks;
    std::istringstream in(text);
    std::string word;
    while (in >> word) {
        if (word == "ready") {
            *ready = true;
        } else if (word == "acked") {
            Zxid z;
            in >> z.epoch >> z.counter;
            acks.push_back(z);
        }
    }
    return acks;
}

TEST(CrashTest, EveryAcknowledgedBatchSurvivesSigkillAtManyPoints) {
    testing::TempDir tmp;
    const std::string path = tmp.sub("data");
    constexpr int kKills = 60;
    std::mt19937 rng(20261122);
    std::set<Zxid> kill_points;  // the last acknowledged zxid at each kill
    Zxid highest_acked;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(150);

    for (int kill = 0; kill < kKills; ++kill) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the crash test ran out of time";
        Child child = spawn_child(path, static_cast<unsigned>(rng()));
        ASSERT_GT(child.pid, 0);
        // Let it acknowledge a varying number of batches, then a varying
        // extra delay, so kills land before, inside and between writes.
        const size_t wait_for_acks = 1 + rng() % 40;
        const auto extra_delay = std::chrono::microseconds(rng() % 3000);
        std::string output;
        bool ready = false;
        std::vector<Zxid> acks;
        const auto child_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (acks.size() < wait_for_acks && std::chrono::steady_clock::now() < child_deadline) {
            if (!read_lines(child.out, &output)) break;
            acks = parse_acks(output, &ready);
        }
        std::this_thread::sleep_for(extra_delay);
        ::kill(child.pid, SIGKILL);
        int status = 0;
        ::waitpid(child.pid, &status, 0);
        while (read_lines(child.out, &output)) {
        }
        ::close(child.out);
        acks = parse_acks(output, &ready);
        ASSERT_TRUE(ready) << "the child did not start; exit status " << status;
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "the child stopped on its own (status " << status << ") before it was killed";
        ASSERT_FALSE(acks.empty()) << "kill " << kill << ": no batch was acknowledged";
        kill_points.insert(acks.back());
        for (Zxid z : acks) highest_acked = std::max(highest_acked, z);

        // Recovery: open and check.
        auto opened = open_data_dir(path);
        ASSERT_TRUE(opened.is_ok()) << "kill " << kill << ": " << opened.status().str();
        DataDir dir = std::move(opened).value();
        Log& log = *dir.log;
        ASSERT_GE(log.last_zxid(), highest_acked)
            << "kill " << kill << ": an acknowledged batch is missing";
        auto all = log.read(log.base().next(), log.last_zxid());
        ASSERT_TRUE(all.is_ok()) << all.status().str();
        Zxid prev = log.base();
        for (const Entry& e : all.value()) {
            ASSERT_TRUE(is_successor(prev, e.zxid))
                << "gap: " << e.zxid.str() << " after " << prev.str();
            ASSERT_EQ(e.payload, payload_for(e.zxid)) << "wrong content at " << e.zxid.str();
            prev = e.zxid;
        }
        ASSERT_EQ(prev, log.last_zxid());
        for (Zxid z : acks) {
            if (z <= log.base()) {
                // Compacted: a snapshot must cover it.
                ASSERT_FALSE(dir.snapshots->list().empty());
                ASSERT_GE(dir.snapshots->list().back().zxid, z);
            } else {
                auto one = log.read(z, z);
                ASSERT_TRUE(one.is_ok() && one->size() == 1)
                    << "acknowledged zxid " << z.str() << " is missing";
            }
        }
    }
    std::printf("crash test: %d kills at %zu distinct points, log now ends at %s\n", kKills,
                kill_points.size(), highest_acked.str().c_str());
    EXPECT_GE(kill_points.size(), 50u) << "kills should land at no fewer than 50 different points";
}

}  // namespace
}  // namespace chorus::storage

int main(int argc, char** argv) {
    if (argc == 4 && std::strcmp(argv[1], "--crash-child") == 0) {
        return chorus::storage::run_child(argv[2], static_cast<unsigned>(std::stoul(argv[3])));
    }
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
