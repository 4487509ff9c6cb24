// Session tracker benchmarks (issue 5), on the pure Tracker so the numbers
// are the tracker's own cost, not the network's:
// - HeartbeatAbsorb: leader CPU per absorbed heartbeat (goal ≤ 2 µs),
//   parsing the owner's batch included;
// - SessionsHeld: heap bytes per session, with 1,000,000 sessions held by a
//   leader (deadlines included);
// - LogBytes: bytes a session create and a session expiry add to the log
//   (the RocksDB record: 16-byte key + encoded value);
// - EphemeralCleanup: applying the expiry of a session with 1,000
//   ephemeral nodes;
// - TrackerSave: serialising the whole state (what a snapshot costs).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include "session/session.pb.h"
#include "session/tracker.h"
#include "storage/record_codec.h"

namespace {

using chorus::Zxid;
using chorus::session::kTrackerType;
using chorus::session::Tracker;
namespace pb = chorus::session::pb;

// Commits `r` on `tracker` as the leader would: preprocess, a zxid, deliver.
std::optional<chorus::zab::Txn> commit(Tracker& tracker, const pb::TrackerRequest& r, Zxid* last) {
    auto txn = tracker.preprocess(chorus::zab::Request{1, kTrackerType, r.SerializeAsString()});
    if (!txn) return std::nullopt;
    txn->zxid = *last = last->next();
    tracker.deliver(*txn);
    return txn;
}

// A leader holding `n` sessions; returns their ids.
std::vector<uint64_t> open_sessions(Tracker& tracker, Zxid* last, size_t n) {
    tracker.role_changed(chorus::zab::Role::kLeading, 1, 1);
    std::vector<uint64_t> ids;
    ids.reserve(n);
    pb::TrackerRequest open;
    open.mutable_open()->set_owner(1);
    open.mutable_open()->set_timeout_ms(10000);
    for (size_t i = 0; i < n; ++i) {
        commit(tracker, open, last);
        ids.push_back(chorus::session::session_id_of(*last));
    }
    return ids;
}

size_t log_record_bytes(const chorus::zab::Txn& txn) {
    chorus::storage::Entry entry{txn.zxid, txn.type, chorus::zab::encode_txn_payload(txn)};
    std::string value;
    chorus::storage::encode_record(entry, &value);
    return chorus::storage::kZxidKeySize + value.size();
}

void HeartbeatAbsorb(benchmark::State& state) {
    const auto batch = static_cast<size_t>(state.range(0));
    Tracker tracker;
    Zxid last{1, 0};
    const std::vector<uint64_t> ids = open_sessions(tracker, &last, 100000);
    // The owners' batches, serialised once: the leader parses each.
    std::vector<std::string> batches;
    for (size_t start = 0; start + batch <= ids.size(); start += batch) {
        pb::TrackerRequest r;
        for (size_t i = start; i < start + batch; ++i)
            r.mutable_heartbeats()->add_session_ids(ids[i]);
        batches.push_back(r.SerializeAsString());
    }
    size_t next = 0;
    uint64_t now = 0;
    for (auto _ : state) {
        tracker.set_now_ms(++now);
        auto txn = tracker.preprocess(chorus::zab::Request{1, kTrackerType, batches[next]});
        benchmark::DoNotOptimize(txn);
        next = (next + 1) % batches.size();
    }
    if (last.counter != ids.size()) state.SkipWithError("a heartbeat was logged");
    state.counters["s_per_heartbeat"] = benchmark::Counter(
        static_cast<double>(batch),
        benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(HeartbeatAbsorb)->ArgName("batch")->Arg(1)->Arg(100)->Arg(1000);

void SessionsHeld(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    for (auto _ : state) {
        const size_t before = mallinfo2().uordblks;
        auto tracker = std::make_unique<Tracker>();
        Zxid last{1, 0};
        open_sessions(*tracker, &last, n);
        const size_t after = mallinfo2().uordblks;
        state.counters["sessions"] = static_cast<double>(tracker->sessions().size());
        state.counters["bytes_per_session"] =
            static_cast<double>(after - before) / static_cast<double>(n);
        state.counters["MiB"] = static_cast<double>(after - before) / (1 << 20);
    }
}
BENCHMARK(SessionsHeld)
    ->ArgName("sessions")
    ->Arg(1000000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

void LogBytes(benchmark::State& state) {
    Tracker tracker;
    Zxid last{1, 0};
    tracker.role_changed(chorus::zab::Role::kLeading, 1, 1);
    size_t open_bytes = 0, expire_bytes = 0;
    for (auto _ : state) {
        pb::TrackerRequest open;
        open.mutable_open()->set_owner(3);
        open.mutable_open()->set_timeout_ms(10000);
        auto opened = commit(tracker, open, &last);
        pb::TrackerRequest expire;
        expire.mutable_expire()->add_session_ids(chorus::session::session_id_of(last));
        auto expired = commit(tracker, expire, &last);
        open_bytes = log_record_bytes(*opened);
        expire_bytes = log_record_bytes(*expired);
    }
    state.counters["create_bytes"] = static_cast<double>(open_bytes);
    state.counters["expire_bytes"] = static_cast<double>(expire_bytes);
}
BENCHMARK(LogBytes);

void EphemeralCleanup(benchmark::State& state) {
    const auto nodes = static_cast<size_t>(state.range(0));
    Tracker tracker;
    Zxid last{1, 0};
    tracker.role_changed(chorus::zab::Role::kLeading, 1, 1);
    pb::TrackerRequest parent;
    auto* op = parent.mutable_nodes()->add_ops();
    op->set_kind(pb::NodeOp::CREATE);
    op->set_path("/e");
    op->set_expected_version(-1);
    commit(tracker, parent, &last);
    size_t expire_bytes = 0;
    for (auto _ : state) {
        state.PauseTiming();
        const uint64_t session = open_sessions(tracker, &last, 1)[0];
        pb::TrackerRequest create;
        for (size_t i = 0; i < nodes; ++i) {
            auto* c = create.mutable_nodes()->add_ops();
            c->set_kind(pb::NodeOp::CREATE);
            c->set_path("/e/" + std::to_string(session) + "-" + std::to_string(i));
            c->set_expected_version(-1);
            c->set_ephemeral_owner(session);
        }
        commit(tracker, create, &last);
        pb::TrackerRequest expire;
        expire.mutable_expire()->add_session_ids(session);
        auto txn =
            tracker.preprocess(chorus::zab::Request{1, kTrackerType, expire.SerializeAsString()});
        txn->zxid = last = last.next();
        expire_bytes = log_record_bytes(*txn);
        state.ResumeTiming();
        tracker.deliver(*txn);
    }
    if (tracker.nodes().size() != 1) state.SkipWithError("ephemeral nodes were left behind");
    state.counters["expire_txn_bytes"] = static_cast<double>(expire_bytes);
}
BENCHMARK(EphemeralCleanup)->ArgName("nodes")->Arg(1000)->Unit(benchmark::kMicrosecond);

void TrackerSave(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    Tracker tracker;
    Zxid last{1, 0};
    open_sessions(tracker, &last, n);
    size_t bytes = 0;
    for (auto _ : state) bytes = tracker.save().size();
    state.counters["snapshot_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(TrackerSave)->ArgName("sessions")->Arg(1000000)->Unit(benchmark::kMillisecond);

// What a snapshot costs the core thread: snapshot() copies the state flat;
// the serialising happens on the snapshot thread (not timed here).
void TrackerSnapshotPause(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    Tracker tracker;
    Zxid last{1, 0};
    open_sessions(tracker, &last, n);
    for (auto _ : state) {
        auto produce = tracker.snapshot();
        state.PauseTiming();
        benchmark::DoNotOptimize(produce().size());
        produce = nullptr;
        state.ResumeTiming();
    }
}
BENCHMARK(TrackerSnapshotPause)->ArgName("sessions")->Arg(1000000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
