// Core benchmark: transactions committed per second through three Zab cores
// with zero-latency links and instant disks — the protocol's own CPU cost,
// so later changes show regressions. With batching, the leader packs the
// requests waiting at one moment into one proposal; without it, each
// request is its own proposal (max_batch_txns = 1).
#include <benchmark/benchmark.h>

#include "tests/support/ensemble.h"

namespace {

using chorus::testing::Ensemble;
using chorus::zab::Config;
using chorus::zab::Request;

void CoreCommit(benchmark::State& state) {
    const auto batch = static_cast<uint32_t>(state.range(0));
    const int per_round = 1000;
    Config config;
    config.max_batch_txns = batch;
    config.max_inflight_proposals = 1 << 20;  // the window is not what we measure here
    config.snapshot_every_txns = 10000;       // compacts the in-memory log as it goes
    Ensemble ensemble(3, config);
    const auto leader = ensemble.elect();
    if (leader == 0) {
        state.SkipWithError("no leader");
        return;
    }
    uint64_t id = 0;
    const std::string payload(100, 'p');
    int64_t committed = 0;
    for (auto _ : state) {
        for (int i = 0; i < per_round; ++i) {
            (void)ensemble.core(leader).submit(Request{++id, 1, payload});
        }
        ensemble.after_input(leader);
        ensemble.settle();
        committed += per_round;
        // Keep memory flat: what was delivered is not what we measure.
        for (auto s : {1, 2, 3}) ensemble.node(s).delivered.clear();
        ensemble.node(leader).completions.clear();
    }
    if (ensemble.core(leader).delivered_zxid().counter != id)
        state.SkipWithError("not everything committed");
    state.counters["txns/s"] =
        benchmark::Counter(static_cast<double>(committed), benchmark::Counter::kIsRate);
}

BENCHMARK(CoreCommit)->ArgName("max_batch_txns")->Arg(1)->Arg(1024)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
