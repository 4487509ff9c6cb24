// zab-sim: runs the deterministic simulator over a range of seeds.
//
//   zab-sim --seeds 2000 --start 1 --servers 3     every seed must pass
//   zab-sim --seeds 1 --start 417 --trace          replay one seed, with a trace
//   zab-sim --mutation skip-trunc --expect-failure the planted bug must be caught
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "tests/sim/sim.h"

namespace {

using chorus::sim::SimOptions;
using chorus::sim::SimResult;
using chorus::zab::Mutation;

volatile std::sig_atomic_t g_current_seed = 0;
int g_servers = 3;

void on_abort(int) {
    char line[200];
    const int n = std::snprintf(
        line, sizeof line,
        "\nzab-sim: seed %d hit an assertion; replay: zab-sim --seeds 1 --start %d "
        "--servers %d --trace\n",
        static_cast<int>(g_current_seed), static_cast<int>(g_current_seed), g_servers);
    if (n > 0) (void)!::write(STDERR_FILENO, line, static_cast<size_t>(n));
    std::signal(SIGABRT, SIG_DFL);
    std::raise(SIGABRT);
}

std::string replay_command(uint64_t seed, const SimOptions& o, const std::string& mutation) {
    std::string cmd = "zab-sim --seeds 1 --start " + std::to_string(seed) + " --servers " +
                      std::to_string(o.servers);
    if (!mutation.empty()) cmd += " --mutation " + mutation;
    return cmd + " --trace";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"zab-sim: the chorus Zab core under simulated faults, one seed at a time"};
    uint64_t seeds = 100;
    uint64_t start = 1;
    SimOptions options;
    std::string mutation;
    bool expect_failure = false;
    std::vector<uint64_t> seed_list;
    bool require_scenarios = false;
    app.add_option("--seeds", seeds, "how many seeds to run")->capture_default_str();
    app.add_option("--start", start, "the first seed")->capture_default_str();
    app.add_option("--servers", options.servers, "servers in the ensemble")
        ->check(CLI::IsMember({3, 5}))
        ->capture_default_str();
    app.add_option("--seed", seed_list, "run these seeds (repeatable; instead of --seeds/--start)");
    app.add_flag("--trace", options.trace, "print every event (use with one seed)");
    app.add_option("--fault-ticks", options.fault_ticks, "ticks with faults")
        ->capture_default_str();
    app.add_option("--liveness-ticks", options.liveness_ticks, "ticks after the faults stop")
        ->capture_default_str();
    const std::map<std::string, Mutation> mutations = {
        {"ack-before-durable", Mutation::kAckBeforeDurable},
        {"commit-on-minority", Mutation::kCommitOnMinority},
        {"skip-trunc", Mutation::kSkipTrunc},
    };
    app.add_option("--mutation", mutation,
                   "plant a bug: ack-before-durable, commit-on-minority, skip-trunc")
        ->check(CLI::IsMember({"ack-before-durable", "commit-on-minority", "skip-trunc"}));
    app.add_flag("--require-scenarios", require_scenarios,
                 "fail unless the seeds covered crashes mid-sync, cut-off leaders, truncations and "
                 "snapshots");
    app.add_flag("--expect-failure", expect_failure,
                 "succeed only if some seed fails (proves the checks catch a planted bug)");
    CLI11_PARSE(app, argc, argv);
    if (!mutation.empty()) options.mutation = mutations.at(mutation);
    if (seed_list.empty()) {
        for (uint64_t seed = start; seed < start + seeds; ++seed) seed_list.push_back(seed);
    }
    g_servers = options.servers;

    const auto began = std::chrono::steady_clock::now();
    if (expect_failure) {
        // Each seed in its own process: a planted bug may trip an assertion.
        for (uint64_t seed : seed_list) {
            std::fflush(stdout);
            const pid_t pid = ::fork();
            if (pid == 0) {
                options.seed = seed;
                SimResult r = chorus::sim::run_simulation(options);
                if (!r.ok) std::printf("caught: %s\n", r.failure.c_str());
                std::fflush(stdout);
                std::_Exit(r.ok ? 0 : 1);
            }
            int status = 0;
            ::waitpid(pid, &status, 0);
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
            std::printf(
                "zab-sim: mutation %s caught at seed %llu (%s); replay: %s\n",
                mutation.empty() ? "(none)" : mutation.c_str(),
                static_cast<unsigned long long>(seed),
                WIFSIGNALED(status) ? "an assertion stopped the run" : "an invariant check failed",
                replay_command(seed, options, mutation).c_str());
            return 0;
        }
        std::printf("zab-sim: mutation %s was NOT caught in %zu seeds\n", mutation.c_str(),
                    seed_list.size());
        return 1;
    }

    std::signal(SIGABRT, on_abort);
    uint64_t committed = 0, acked = 0, elections = 0, crashes = 0, snaps = 0, truncs = 0;
    uint64_t sync_crashes = 0, cut_off = 0, longer = 0;
    for (uint64_t seed : seed_list) {
        g_current_seed = static_cast<int>(seed);
        options.seed = seed;
        SimResult r = chorus::sim::run_simulation(options);
        if (!r.ok) {
            std::printf("zab-sim: seed %llu FAILED: %s\nreplay: %s\n",
                        static_cast<unsigned long long>(seed), r.failure.c_str(),
                        replay_command(seed, options, mutation).c_str());
            std::printf("0 passed, 1 failed\n");
            return 1;
        }
        committed += r.committed;
        acked += r.acked;
        elections += r.elections;
        crashes += r.crashes;
        snaps += r.snapshots_sent;
        truncs += r.truncations;
        sync_crashes += r.crashes_during_sync;
        cut_off += r.leaders_cut_off;
        longer += r.restarts_with_longer_log;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    std::printf(
        "zab-sim: %zu seeds (%llu..%llu), %d servers, all invariants held, every run live again "
        "after its faults\n"
        "  %llu transactions committed, %llu acknowledged, %llu epochs established, %llu crashes, "
        "%llu snapshot syncs, %llu truncations; %.1f s\n",
        seed_list.size(), static_cast<unsigned long long>(seed_list.front()),
        static_cast<unsigned long long>(seed_list.back()), options.servers,
        static_cast<unsigned long long>(committed), static_cast<unsigned long long>(acked),
        static_cast<unsigned long long>(elections), static_cast<unsigned long long>(crashes),
        static_cast<unsigned long long>(snaps), static_cast<unsigned long long>(truncs), seconds);
    std::printf(
        "  scenarios: %llu crashes mid-sync, %llu serving leaders cut off with a minority, "
        "%llu restarts with a log longer than what was committed\n",
        static_cast<unsigned long long>(sync_crashes), static_cast<unsigned long long>(cut_off),
        static_cast<unsigned long long>(longer));
    if (require_scenarios &&
        (sync_crashes == 0 || cut_off == 0 || longer == 0 || truncs == 0 || snaps == 0)) {
        std::printf("zab-sim: these seeds did not cover every scenario (see the counts above)\n");
        return 1;
    }
    std::printf("%zu passed, 0 failed\n", seed_list.size());
    return 0;
}
