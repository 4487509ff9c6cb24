// zab-sim: runs the deterministic simulator over a range of seeds.
//
//   zab-sim --seeds 2000 --start 1 --servers 3     every seed must pass
//   zab-sim --seeds 1 --start 417 --trace          replay one seed, with a trace
//   zab-sim --mutation skip-trunc --expect-failure the planted bug must be caught
//   zab-sim --sessions --seeds 300                 the session tracker on every server
//   zab-sim --mutation stale-deadlines --expect-failure --expect-check "sessions (b) leader"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/sim/session_workload.h"
#include "tests/sim/sim.h"
#include "tests/sim/workload.h"

namespace {

using chorus::sim::SessionMutation;
using chorus::sim::SimOptions;
using chorus::sim::SimResult;
using chorus::zab::Mutation;

volatile std::sig_atomic_t g_current_seed = 0;
int g_servers = 3;
bool g_sessions = false;
bool g_classic = false;

void on_abort(int) {
    char line[200];
    const int n =
        std::snprintf(line, sizeof line,
                      "\nzab-sim: seed %d hit an assertion; replay: zab-sim --seed %d "
                      "--servers %d%s%s --trace\n",
                      static_cast<int>(g_current_seed), static_cast<int>(g_current_seed), g_servers,
                      g_sessions ? " --sessions" : "", g_classic ? " --classic-faults" : "");
    if (n > 0) (void)!::write(STDERR_FILENO, line, static_cast<size_t>(n));
    std::signal(SIGABRT, SIG_DFL);
    std::raise(SIGABRT);
}

std::string replay_command(uint64_t seed, const SimOptions& o, const std::string& mutation) {
    std::string cmd =
        "zab-sim --seed " + std::to_string(seed) + " --servers " + std::to_string(o.servers);
    if (g_sessions) cmd += " --sessions";
    if (o.observers > 0) cmd += " --observers " + std::to_string(o.observers);
    if (o.reconfig) cmd += " --reconfig";
    if (o.forwarded_changes) cmd += " --forwarded-changes";
    if (o.transfer) cmd += " --transfer";
    if (o.classic_faults) cmd += " --classic-faults";
    if (!mutation.empty()) cmd += " --mutation " + mutation;
    return cmd + " --trace";
}

// Counters named "max ..." keep the largest value, the others add up.
void accumulate(std::map<std::string, uint64_t>& total,
                const std::map<std::string, uint64_t>& run) {
    for (const auto& [name, value] : run) {
        uint64_t& t = total[name];
        t = name.starts_with("max ") ? std::max(t, value) : t + value;
    }
}

// What --require-scenarios asks of the fault model (not --classic-faults).
const char* const kFaultScenarios[] = {
    "silent partitions",
    "one-way partitions",
    "bridge partitions",
    "messages delayed past the election timeout",
    "messages lost on lossy links",
    "pauses past the election timeout",
    "stuck disk periods",
    "slow disk periods",
    "fsync failures",
    "torn appends at a crash",
    "connection resets noticed late",
    "leaders stepping down for a stuck disk",
    "liveness phases with a stuck disk",
    "snapshot chunks sent",
    "register operations checked",
};

// What --require-scenarios asks of a sessions run.
const char* const kSessionScenarios[] = {
    "silent sessions expired",
    "ephemerals deleted by expiry",
    "revalidations after an owner crash",
    "sessions kept across a leader change",
    "snapshots holding sessions",
};

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
    app.add_option("--observers", options.observers,
                   "servers that start as observers, beside --servers voters (issue 17)")
        ->check(CLI::Range(0, 2))
        ->capture_default_str();
    app.add_flag("--reconfig", options.reconfig,
                 "propose membership changes (promote an observer, demote a voter) during the "
                 "faults; use with --observers");
    app.add_flag("--forwarded-changes", options.forwarded_changes,
                 "with --reconfig: changes asked of followers and observers too (forwarded), "
                 "and R8's catch-up bound on in some seeds");
    app.add_flag("--transfer", options.transfer,
                 "ask for leadership transfers during the faults, of random servers");
    app.add_flag("--classic-faults", options.classic_faults,
                 "the fault model before issue 13: announced faults only (crashes, partitions "
                 "that reset connections, resets), short delays, no pauses, disk faults or swarm");
    const std::map<std::string, Mutation> mutations = {
        {"ack-before-durable", Mutation::kAckBeforeDurable},
        {"commit-on-minority", Mutation::kCommitOnMinority},
        {"skip-trunc", Mutation::kSkipTrunc},
        {"new-epoch-before-durable", Mutation::kNewEpochBeforeDurable},
        {"ack-epoch-before-durable", Mutation::kAckEpochBeforeDurable},
        {"ack-new-leader-before-durable", Mutation::kAckNewLeaderBeforeDurable},
        {"empty-disk-votes", Mutation::kEmptyDiskVotes},
        {"bootstrap-without-everyone", Mutation::kBootstrapWithoutEveryone},
        {"joiner-not-marked", Mutation::kJoinerNotMarked},
        {"original-member-needs-flag", Mutation::kOriginalMemberNeedsFlag},
        {"original-member-forgotten", Mutation::kOriginalMemberForgotten},
        {"epoch-not-above-accepted", Mutation::kEpochNotAboveAccepted},
        {"skip-new-leader-check", Mutation::kSkipNewLeaderCheck},
        {"commit-old-epoch-by-count", Mutation::kCommitOldEpochByCount},
        {"deliver-before-up-to-date", Mutation::kDeliverBeforeUpToDate},
        {"sync-without-quorum", Mutation::kSyncWithoutQuorum},
        {"leader-never-steps-down", Mutation::kLeaderNeverStepsDown},
        {"compact-past-diff", Mutation::kCompactPastDiff},
        {"count-equal-ack-epoch", Mutation::kCountEqualAckEpoch},
        {"leader-ignores-stuck-disk", Mutation::kLeaderIgnoresStuckDisk},
        {"config-two-at-once", Mutation::kConfigTwoAtOnce},
        {"config-two-voters", Mutation::kConfigTwoVoters},
        {"observer-counts", Mutation::kObserverCounts},
        {"removed-still-votes", Mutation::kRemovedStillVotes},
        {"ack-of-earlier-attempt-counts", Mutation::kAckOfEarlierAttemptCounts},
    };
    std::vector<std::string> mutation_names;
    for (const auto& [name, m] : mutations) mutation_names.push_back(name);
    for (const std::string& name : chorus::sim::session_mutation_names())
        mutation_names.push_back(name);
    bool sessions = false;
    std::string expect_check;
    app.add_flag("--sessions", sessions,
                 "run the session tracker on every server, with clients that open sessions, "
                 "create ephemeral nodes and heartbeat (tests/sim/session_workload.h)");
    app.add_option("--mutation", mutation,
                   "plant a bug (the session ones imply --sessions; see docs/testing.md)")
        ->check(CLI::IsMember(mutation_names));
    app.add_flag("--require-scenarios", require_scenarios,
                 "fail unless the seeds covered crashes mid-sync, cut-off leaders, truncations and "
                 "snapshots (with --sessions: silent sessions expiring with their ephemerals, "
                 "revalidation after an owner crash, sessions kept across a leader change, "
                 "snapshots holding sessions)");
    app.add_flag("--expect-failure", expect_failure,
                 "succeed only if some seed fails (proves the checks catch a planted bug)");
    app.add_option("--expect-check", expect_check,
                   "with --expect-failure: only a failure whose message contains this counts");
    CLI11_PARSE(app, argc, argv);
    SessionMutation session_mutation = SessionMutation::kNone;
    if (auto m = chorus::sim::session_mutation_from_name(mutation)) {
        session_mutation = *m;
        sessions = true;
    } else if (!mutation.empty()) {
        options.mutation = mutations.at(mutation);
    }
    g_sessions = sessions;
    auto run_seed = [&](uint64_t seed) {
        options.seed = seed;
        std::unique_ptr<chorus::sim::Workload> workload;
        if (sessions) workload = chorus::sim::make_session_workload(seed, session_mutation);
        return chorus::sim::run_simulation(options, workload.get());
    };
    if (seed_list.empty()) {
        for (uint64_t seed = start; seed < start + seeds; ++seed) seed_list.push_back(seed);
    }
    g_servers = options.servers;
    g_classic = options.classic_faults;

    const auto began = std::chrono::steady_clock::now();
    if (expect_failure) {
        // Each seed in its own process: a planted bug may trip an assertion.
        for (uint64_t seed : seed_list) {
            std::fflush(stdout);
            const pid_t pid = ::fork();
            if (pid == 0) {
                SimResult r = run_seed(seed);
                if (r.ok) std::_Exit(0);
                const bool expected = r.failure.find(expect_check) != std::string::npos;
                std::printf("%s: %s\n", expected ? "caught" : "failed another way",
                            r.failure.c_str());
                std::fflush(stdout);
                std::_Exit(expected ? 1 : 3);
            }
            int status = 0;
            ::waitpid(pid, &status, 0);
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
            // An assertion cannot say which check it is: it counts only without --expect-check.
            if ((WIFEXITED(status) && WEXITSTATUS(status) == 3) ||
                (WIFSIGNALED(status) && !expect_check.empty())) {
                continue;
            }
            std::printf(
                "zab-sim: mutation %s caught at seed %llu (%s); replay: %s\n",
                mutation.empty() ? "(none)" : mutation.c_str(),
                static_cast<unsigned long long>(seed),
                WIFSIGNALED(status) ? "an assertion stopped the run" : "an invariant check failed",
                replay_command(seed, options, mutation).c_str());
            return 0;
        }
        std::printf("zab-sim: mutation %s was NOT caught%s in %zu seeds\n", mutation.c_str(),
                    expect_check.empty() ? "" : (" by \"" + expect_check + "\"").c_str(),
                    seed_list.size());
        return 1;
    }

    std::signal(SIGABRT, on_abort);
    uint64_t committed = 0, acked = 0, elections = 0, crashes = 0, snaps = 0, truncs = 0;
    uint64_t sync_crashes = 0, cut_off = 0, longer = 0;
    std::map<std::string, uint64_t> workload_counts;
    std::map<std::string, uint64_t> fault_counts;
    for (uint64_t seed : seed_list) {
        g_current_seed = static_cast<int>(seed);
        SimResult r = run_seed(seed);
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
        accumulate(workload_counts, r.workload_counts);
        accumulate(fault_counts, r.fault_counts);
        if (options.trace || seed_list.size() == 1)
            std::printf("zab-sim: seed %llu fault mix: %s\n", static_cast<unsigned long long>(seed),
                        r.fault_mix.c_str());
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    std::printf(
        "zab-sim: %zu seeds (%llu..%llu), %d servers%s, all invariants held, every run live again "
        "after its faults\n"
        "  %llu transactions committed, %llu acknowledged, %llu epochs established, %llu crashes, "
        "%llu snapshot syncs, %llu truncations; %.1f s\n",
        seed_list.size(), static_cast<unsigned long long>(seed_list.front()),
        static_cast<unsigned long long>(seed_list.back()), options.servers,
        sessions ? " running the session tracker" : "", static_cast<unsigned long long>(committed),
        static_cast<unsigned long long>(acked), static_cast<unsigned long long>(elections),
        static_cast<unsigned long long>(crashes), static_cast<unsigned long long>(snaps),
        static_cast<unsigned long long>(truncs), seconds);
    std::printf(
        "  scenarios: %llu crashes mid-sync, %llu serving leaders cut off with a minority, "
        "%llu restarts with a log longer than what was committed\n",
        static_cast<unsigned long long>(sync_crashes), static_cast<unsigned long long>(cut_off),
        static_cast<unsigned long long>(longer));
    std::printf("  faults:");
    const char* fault_sep = " ";
    for (const auto& [name, value] : fault_counts) {
        std::printf("%s%llu %s", fault_sep, static_cast<unsigned long long>(value), name.c_str());
        fault_sep = ", ";
    }
    std::printf("\n");
    bool covered = sync_crashes > 0 && cut_off > 0 && longer > 0 && truncs > 0 && snaps > 0;
    if (!options.classic_faults) {
        // The new fault model's kinds must all have come up.
        for (const char* name : kFaultScenarios) covered &= fault_counts[name] > 0;
    }
    if (sessions) {
        std::printf("  sessions:");
        const char* sep = " ";
        for (const auto& [name, value] : workload_counts) {
            std::printf("%s%llu %s", sep, static_cast<unsigned long long>(value), name.c_str());
            sep = ", ";
        }
        std::printf("\n");
        // The session runs are fewer: they answer for the session scenarios only.
        covered = true;
        for (const char* name : kSessionScenarios) covered &= workload_counts[name] > 0;
    }
    if (require_scenarios && !covered) {
        std::printf("zab-sim: these seeds did not cover every scenario (see the counts above)\n");
        return 1;
    }
    std::printf("%zu passed, 0 failed\n", seed_list.size());
    return 0;
}
