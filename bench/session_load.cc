// session-load: opens many sessions on a running ensemble, holds them
// heartbeating, and reports what it cost the servers.
//
//   session-load --servers 127.0.0.1:9001,127.0.0.1:9002,127.0.0.1:9003
//                --sessions 1000000 --hold-seconds 30 [--pids 123,124,125]
//
// One chorus::Client per server (sessions spread evenly), at most --window
// opens in flight per client. Prints: session opens per second; log
// records and bytes each server appended per open; during the hold, log
// bytes per heartbeat (should be 0) and the leader's heartbeats absorbed;
// with --pids, each server's resident memory and bytes per session.
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "client/client.h"

namespace {

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> parts;
    std::stringstream in(text);
    for (std::string part; std::getline(in, part, ',');) {
        if (!part.empty()) parts.push_back(part);
    }
    return parts;
}

// Resident memory of a process, in bytes (0 if unknown).
uint64_t rss_bytes(const std::string& pid) {
    std::ifstream status("/proc/" + pid + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
    }
    return 0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"session-load: hold many sessions on a chorus ensemble"};
    std::string servers, pids;
    uint64_t sessions = 10000, timeout_ms = 30000;
    int hold_seconds = 10;
    size_t window = 2000;
    app.add_option("--servers", servers, "client addresses, comma-separated")->required();
    app.add_option("--sessions", sessions, "sessions to open")->capture_default_str();
    app.add_option("--timeout-ms", timeout_ms, "session timeout")->capture_default_str();
    app.add_option("--hold-seconds", hold_seconds, "how long to hold them")->capture_default_str();
    app.add_option("--window", window, "opens in flight per server")->capture_default_str();
    app.add_option("--pids", pids, "server PIDs (same order as --servers), for memory");
    CLI11_PARSE(app, argc, argv);
    const std::vector<std::string> addresses = split(servers);
    const std::vector<std::string> pid_list = split(pids);

    std::vector<std::unique_ptr<chorus::SyncClient>> clients;
    for (const std::string& a : addresses) {
        clients.push_back(std::make_unique<chorus::SyncClient>(chorus::ClientOptions{
            .servers = {a}, .session_timeout_ms = timeout_ms, .request_timeout_ms = 60000}));
    }
    auto stats_all = [&] {
        std::vector<chorus::ServerStats> all;
        for (auto& c : clients) all.push_back(c->stats().value);
        return all;
    };
    std::vector<uint64_t> rss_before;
    for (const std::string& pid : pid_list) rss_before.push_back(rss_bytes(pid));
    const auto before = stats_all();

    std::mutex mutex;
    std::condition_variable cv;
    std::vector<size_t> inflight(clients.size(), 0);
    std::atomic<uint64_t> opened{0}, failed{0};
    const auto t0 = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < sessions; ++i) {
        const size_t k = i % clients.size();
        {
            std::unique_lock lock(mutex);
            cv.wait(lock, [&] { return inflight[k] < window; });
            ++inflight[k];
        }
        clients[k]->async().open_session([&, k](chorus::ClientStatus s, uint64_t) {
            (s.ok() ? opened : failed)++;
            std::lock_guard lock(mutex);
            --inflight[k];
            cv.notify_all();
        });
        if (i % 100000 == 99999)
            std::fprintf(stderr, "  %llu sessions requested, %.1f s\n",
                         static_cast<unsigned long long>(i + 1), seconds_since(t0));
    }
    {
        std::unique_lock lock(mutex);
        cv.wait(lock, [&] {
            for (size_t n : inflight)
                if (n) return false;
            return true;
        });
    }
    const double open_s = seconds_since(t0);
    const auto after_open = stats_all();
    std::printf("opened %llu sessions (%llu failed) in %.1f s: %.0f opens/s\n",
                static_cast<unsigned long long>(opened.load()),
                static_cast<unsigned long long>(failed.load()), open_s,
                static_cast<double>(opened.load()) / open_s);
    for (size_t k = 0; k < clients.size(); ++k) {
        const double records = static_cast<double>(after_open[k].log_records_appended -
                                                   before[k].log_records_appended);
        const double bytes =
            static_cast<double>(after_open[k].log_bytes_appended - before[k].log_bytes_appended);
        std::printf("  server %llu: %.2f log records and %.1f payload bytes per open\n",
                    static_cast<unsigned long long>(after_open[k].server_id),
                    records / static_cast<double>(opened.load()),
                    bytes / static_cast<double>(opened.load()));
    }

    std::this_thread::sleep_for(std::chrono::seconds(hold_seconds));
    const auto after_hold = stats_all();
    uint64_t absorbed = 0, received = 0, log_bytes = 0;
    for (size_t k = 0; k < clients.size(); ++k) {
        absorbed += after_hold[k].heartbeats_absorbed - after_open[k].heartbeats_absorbed;
        received += after_hold[k].heartbeats_received - after_open[k].heartbeats_received;
        log_bytes += after_hold[k].log_bytes_appended - after_open[k].log_bytes_appended;
    }
    std::printf(
        "held for %d s: %llu heartbeats received, %llu absorbed by the leader, %llu log bytes "
        "appended (%.3f per heartbeat), %llu sessions live on server %llu\n",
        hold_seconds, static_cast<unsigned long long>(received),
        static_cast<unsigned long long>(absorbed), static_cast<unsigned long long>(log_bytes),
        received ? static_cast<double>(log_bytes) / static_cast<double>(received) : 0.0,
        static_cast<unsigned long long>(after_hold[0].sessions),
        static_cast<unsigned long long>(after_hold[0].server_id));
    for (size_t k = 0; k < pid_list.size() && k < rss_before.size(); ++k) {
        const uint64_t rss = rss_bytes(pid_list[k]);
        std::printf("  pid %s: resident %.1f MiB (+%.1f MiB, %.0f bytes per session)\n",
                    pid_list[k].c_str(), static_cast<double>(rss) / (1 << 20),
                    static_cast<double>(rss - rss_before[k]) / (1 << 20),
                    static_cast<double>(rss - rss_before[k]) /
                        static_cast<double>(std::max<uint64_t>(opened.load(), 1)));
    }
    return failed.load() == 0 ? 0 : 1;
}
