#include "tests/sim/sim.h"

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <sstream>
#include <vector>

#include "storage/memory_log.h"
#include "tests/sim/checker.h"
#include "tests/sim/workload.h"
#include "zab/core/core.h"

namespace chorus::sim {
namespace {

using zab::Core;
using zab::ServerId;

constexpr int64_t kTickTime = 100;  // time units per tick
// A message arrives at most this long after it was sent (send() draws 1 +
// rand(150), and links are FIFO, so it never waits for a later draw).
constexpr uint64_t kMaxMessageDelay = 150;
constexpr uint32_t kElectionTimeoutTicks = 10;

// The application: absorbs requests of type 2 (like heartbeats), turns the
// rest into transactions; its state is a hash chain over what it delivered.
// With a workload, the workload's state machine (`inner`) decides instead,
// and the hash chain is kept beside it for the zab checker: a snapshot is
// the hash, a newline, and the inner state machine's own bytes.
class SimApp final : public zab::Preprocessor {
 public:
    std::optional<zab::Txn> preprocess(const zab::Request& request) override {
        if (inner) {
            std::optional<zab::Txn> txn = inner->preprocess(request);
            // The transaction differs from the request: tell the integrity check.
            if (txn) checker->on_preprocessed(request.id, txn->data);
            return txn;
        }
        if (request.type == 2) return std::nullopt;
        zab::Txn txn;
        txn.type = 1;
        txn.data = request.data;
        return txn;
    }
    void deliver(const zab::Txn& txn) {
        hash = chain_hash(hash, txn);
        if (inner) inner->deliver(txn);
    }
    std::string save() {
        if (!inner) return std::to_string(hash);
        return std::to_string(hash) + "\n" + inner->save();
    }
    void restore(const std::string& data) {
        hash = data.empty() ? 0 : std::stoull(data);
        if (!inner) return;
        const size_t newline = data.find('\n');
        inner->restore(newline == std::string::npos ? std::string() : data.substr(newline + 1));
    }

    uint64_t hash = 0;
    StateMachine* inner = nullptr;  // the workload's, for this incarnation
    Checker* checker = nullptr;
};

struct DiskJob {
    std::vector<zab::Write> writes;
    std::vector<zab::Outgoing> after_persist;
    uint64_t write_id = 0;
};

struct Snapshot {
    Zxid zxid;
    std::string data;
};

struct Server {
    ServerId id = 0;
    bool up = false;
    bool bootstrap = true;
    uint64_t incarnation = 0;
    int64_t tick_offset = 0;
    std::unique_ptr<Core> core;
    SimApp app;
    // The disk: what is durable, and what is queued or being written.
    storage::MemoryLog log;
    std::optional<Snapshot> snapshot;
    std::deque<DiskJob> queued;
    std::vector<DiskJob> writing;  // the group in progress
    uint64_t disk_generation = 0;  // bumped on crash: in-flight completions are void
    std::vector<std::pair<uint64_t, Zxid>> syncs;  // sync id, floor
    bool process_scheduled = false;                // a kProcess event is pending
};

struct Connection {
    bool up = false;
    uint64_t generation = 0;
};

// kProcess: take the Ready of messages stepped earlier (the runtime steps
// every message that arrived together, then takes one Ready).
enum class EventKind {
    kTick,
    kDeliver,
    kProcess,
    kDiskDone,
    kClient,
    kFault,
    kReconnect,
    kRestart,
    kWake
};

struct Event {
    int64_t time;
    uint64_t seq;
    EventKind kind;
    ServerId a = 0;
    ServerId b = 0;
    uint64_t generation = 0;
    bool operator>(const Event& o) const { return std::tie(time, seq) > std::tie(o.time, o.seq); }
};

class Simulation final : private SimControl {
 public:
    Simulation(const SimOptions& options, Workload* workload)
        : options_(options), rng_(options.seed), workload_(workload) {
        for (int i = 1; i <= options.servers; ++i) members_.push_back(static_cast<ServerId>(i));
    }

    SimResult run();

 private:
    // SimControl, for the workload.
    int64_t now() const override { return now_; }
    int64_t tick_time() const override { return kTickTime; }
    int64_t max_message_delay() const override { return kMaxMessageDelay; }
    int64_t election_timeout() const override { return kTickTime * kElectionTimeoutTicks; }
    int64_t quiet_time() const override { return quiet_time_; }
    const std::vector<ServerId>& members() const override { return members_; }
    const zab::Core* core(ServerId id) const override {
        const Server& s = servers_[id - 1];
        return s.up ? s.core.get() : nullptr;
    }
    uint64_t incarnation(ServerId id) const override { return servers_[id - 1].incarnation; }
    bool link_up(ServerId a, ServerId b) const override {
        auto it = connections_.find(std::minmax(a, b));
        return it != connections_.end() && it->second.up;
    }
    uint64_t link_generation(ServerId a, ServerId b) const override {
        auto it = connections_.find(std::minmax(a, b));
        return it == connections_.end() ? 0 : it->second.generation;
    }
    Status submit(ServerId id, zab::Request& request) override;
    void wake_at(int64_t at, uint64_t token) override {
        schedule(at, EventKind::kWake, 0, 0, token);
    }
    void trace(const std::string& line) override {
        if (options_.trace) std::printf("%8lld  %s\n", static_cast<long long>(now_), line.c_str());
    }
    bool workload_failed() const { return workload_ && !workload_->failure().empty(); }

    // Randomness, all from the seed.
    uint64_t rand(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
    bool chance(double p) { return static_cast<double>(rng_() % 1000000) < p * 1000000.0; }

    void schedule(int64_t at, EventKind kind, ServerId a = 0, ServerId b = 0,
                  uint64_t generation = 0) {
        events_.push(Event{at, next_seq_++, kind, a, b, generation});
    }
    Server& server(ServerId id) { return servers_[id - 1]; }
    Connection& connection(ServerId a, ServerId b) { return connections_[std::minmax(a, b)]; }
    bool partitioned(ServerId a, ServerId b) const {
        return isolated_.count(a) != isolated_.count(b);
    }

    void start_server(ServerId id);
    void crash_server(ServerId id);
    void break_connection(ServerId a, ServerId b);
    void try_connect(ServerId a, ServerId b);
    void process_ready(ServerId id);
    void send(ServerId from, zab::Outgoing out);
    void deliver_message(ServerId from, ServerId to, uint64_t generation);
    void start_disk(ServerId id);
    void disk_done(ServerId id, uint64_t generation);
    void apply_write(Server& s, const zab::Write& write);
    void client_action();
    void fault_action();
    void heal_everything();

    SimOptions options_;
    std::mt19937_64 rng_;
    Workload* workload_;
    int64_t quiet_time_ = 0;
    std::vector<ServerId> members_;
    std::vector<Server> servers_;
    std::map<std::pair<ServerId, ServerId>, Connection> connections_;
    // Messages in flight per direction, with their arrival time.
    std::map<std::pair<ServerId, ServerId>, std::deque<std::pair<int64_t, zab::pb::PeerMessage>>>
        wires_;
    std::set<ServerId> isolated_;
    std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
    uint64_t next_seq_ = 0;
    int64_t now_ = 0;
    bool faults_on_ = true;
    uint64_t next_request_ = 1;
    uint64_t next_sync_ = 1;
    uint64_t acked_after_faults_ = 0;
    Checker checker_;
    SimResult result_;
};

void Simulation::start_server(ServerId id) {
    Server& s = server(id);
    s.up = true;
    ++s.incarnation;
    s.syncs.clear();
    s.process_scheduled = false;
    if (workload_) {
        s.app.inner = &workload_->start(id);
        s.app.checker = &checker_;
    }
    // What the disk holds: the snapshot, and the log (reset to the snapshot
    // if a crash came between saving it and resetting the log).
    zab::DurableState durable;
    durable.accepted_epoch = s.log.accepted_epoch();
    durable.current_epoch = s.log.current_epoch();
    if (s.snapshot) {
        if (s.log.last_zxid() < s.snapshot->zxid) {
            if (Status st = s.log.reset_to(s.snapshot->zxid); !st.is_ok() && result_.ok) {
                result_.ok = false;
                result_.failure = "storage of server " + std::to_string(id) +
                                  " refused the reset to its snapshot: " + st.str();
            }
        }
        durable.snapshot_zxid = s.snapshot->zxid;
        s.app.restore(s.snapshot->data);
    } else {
        s.app.restore("");
    }
    if (workload_) workload_->restored(id, durable.snapshot_zxid);
    durable.log_base = s.log.base();
    auto entries = s.log.read(s.log.base().next(), Zxid{UINT64_MAX, UINT64_MAX});
    for (const storage::Entry& e : entries.value()) {
        zab::Txn txn;
        zab::decode_txn_payload(e.zxid, e.type, e.payload, &txn);
        durable.log.push_back(std::move(txn));
    }
    checker_.on_restore(id, durable.snapshot_zxid, s.app.hash);
    if (s.log.last_zxid() > checker_.committed_max()) ++result_.restarts_with_longer_log;
    zab::Config config;
    config.id = id;
    config.members = members_;
    config.bootstrap = s.bootstrap;
    config.election_timeout_ticks = kElectionTimeoutTicks;
    config.heartbeat_interval_ticks = 1;
    config.vote_resend_ticks = 2;
    config.max_inflight_proposals = 8;
    config.max_batch_txns = 16;
    config.snapshot_every_txns = 40;
    config.log_tail_keep_txns = 10;
    // Small DIFF chunks: a sync takes many, acknowledged a few at a time,
    // interleaved with everything else (the real default is 256 KiB+).
    config.max_sync_chunk_bytes = 16 + rand(200);
    config.mutation = options_.mutation;
    s.core = std::make_unique<Core>(config, std::move(durable), s.app);
    trace("server " + std::to_string(id) + " starts (incarnation " + std::to_string(s.incarnation) +
          ", last zxid " + s.core->last_zxid().str() + (s.core->voting() ? "" : ", not voting") +
          ")");
    schedule(now_ + s.tick_offset + kTickTime, EventKind::kTick, id, 0, s.incarnation);
    process_ready(id);
    for (ServerId peer : members_) {
        if (peer != id) try_connect(id, peer);
    }
}

void Simulation::crash_server(ServerId id) {
    Server& s = server(id);
    if (!s.up) return;
    if (s.core->syncing()) ++result_.crashes_during_sync;
    // Of the group being written, a random prefix made it; the rest and
    // everything queued is lost.
    const size_t made_it = rand(s.writing.size() + 1);
    for (size_t i = 0; i < made_it; ++i) {
        for (const zab::Write& w : s.writing[i].writes) apply_write(s, w);
    }
    s.writing.clear();
    s.queued.clear();
    ++s.disk_generation;
    s.up = false;
    s.core.reset();
    if (workload_) {
        workload_->crashed(id);
        s.app.inner = nullptr;
    }
    ++result_.crashes;
    trace("server " + std::to_string(id) + " crashes");
    for (ServerId peer : members_) {
        if (peer != id) break_connection(id, peer);
    }
}

void Simulation::break_connection(ServerId a, ServerId b) {
    Connection& c = connection(a, b);
    if (!c.up) return;
    c.up = false;
    ++c.generation;
    wires_[{a, b}].clear();
    wires_[{b, a}].clear();
    if (server(a).up) {
        server(a).core->disconnected(b);
        process_ready(a);
    }
    if (server(b).up) {
        server(b).core->disconnected(a);
        process_ready(b);
    }
    // Reconnect attempts start after a while.
    schedule(now_ + 50 + static_cast<int64_t>(rand(300)), EventKind::kReconnect, a, b);
}

void Simulation::try_connect(ServerId a, ServerId b) {
    Connection& c = connection(a, b);
    if (c.up || !server(a).up || !server(b).up || partitioned(a, b)) return;
    c.up = true;
    ++c.generation;
    server(a).core->connected(b);
    process_ready(a);
    server(b).core->connected(a);
    process_ready(b);
}

void Simulation::send(ServerId from, zab::Outgoing out) {
    if (out.message.has_snap()) {
        // The driver fills in the snapshot's data from its disk.
        const Server& s = server(from);
        const Zxid want{out.message.snap().zxid().epoch(), out.message.snap().zxid().counter()};
        if (!s.snapshot || s.snapshot->zxid != want) {
            result_.ok = false;
            result_.failure = "server " + std::to_string(from) + " asked to send a snapshot at " +
                              want.str() + " that its disk does not hold";
            return;
        }
        out.message.mutable_snap()->set_data(s.snapshot->data);
        ++result_.snapshots_sent;
    }
    if (out.message.has_trunc()) ++result_.truncations;
    if (out.message.has_new_epoch())
        checker_.on_new_epoch_sent(from, out.message.new_epoch().epoch());
    if (out.message.has_ack_epoch() && out.message.ack_epoch().newly_accepted())
        checker_.on_ack_epoch_sent(from, out.to, out.message.ack_epoch().epoch());
    Connection& c = connection(from, out.to);
    if (!c.up) return;
    auto& wire = wires_[{from, out.to}];
    // FIFO: never earlier than the message before it.
    int64_t at = now_ + 1 + static_cast<int64_t>(chance(0.05) ? rand(kMaxMessageDelay) : rand(30));
    if (!wire.empty()) at = std::max(at, wire.back().first);
    wire.emplace_back(at, std::move(out.message));
    schedule(at, EventKind::kDeliver, from, out.to, c.generation);
}

void Simulation::deliver_message(ServerId from, ServerId to, uint64_t generation) {
    Connection& c = connection(from, to);
    if (!c.up || c.generation != generation) return;
    auto& wire = wires_[{from, to}];
    if (wire.empty()) return;
    zab::pb::PeerMessage message = std::move(wire.front().second);
    wire.pop_front();
    if (options_.trace) {
        std::string name =
            zab::pb::PeerMessage::descriptor()->FindFieldByNumber(message.body_case())->name();
        trace(std::to_string(from) + " -> " + std::to_string(to) + " " + name);
    }
    Server& s = server(to);
    s.core->step(from, message);
    if (chance(0.5)) {
        if (!s.process_scheduled) {
            s.process_scheduled = true;
            schedule(now_ + static_cast<int64_t>(rand(3)), EventKind::kProcess, to, 0,
                     s.incarnation);
        }
        return;
    }
    process_ready(to);
}

void Simulation::apply_write(Server& s, const zab::Write& write) {
    Status st;
    if (const auto* w = std::get_if<zab::SetAcceptedEpoch>(&write)) {
        st = s.log.set_accepted_epoch(w->epoch);
    } else if (const auto* w = std::get_if<zab::SetCurrentEpoch>(&write)) {
        st = s.log.set_current_epoch(w->epoch);
    } else if (const auto* w = std::get_if<zab::AppendTxns>(&write)) {
        std::vector<storage::Entry> entries;
        for (const zab::Txn& txn : w->txns) {
            entries.push_back(storage::Entry{txn.zxid, txn.type, zab::encode_txn_payload(txn)});
        }
        st = s.log.append(entries);
    } else if (const auto* w = std::get_if<zab::TruncateAfter>(&write)) {
        st = s.log.truncate_after(w->zxid);
    } else if (const auto* w = std::get_if<zab::InstallSnapshot>(&write)) {
        s.snapshot = Snapshot{w->zxid, w->data};
        st = s.log.reset_to(w->zxid);
    } else if (const auto* w = std::get_if<zab::CompactThrough>(&write)) {
        st = s.log.compact_through(w->zxid);
    }
    if (!st.is_ok() && result_.ok) {
        result_.ok = false;
        result_.failure =
            "storage of server " + std::to_string(s.id) + " refused a write: " + st.str();
    }
}

void Simulation::start_disk(ServerId id) {
    Server& s = server(id);
    if (!s.writing.empty() || s.queued.empty()) return;
    while (!s.queued.empty()) {  // group commit: everything queued goes in one sync
        s.writing.push_back(std::move(s.queued.front()));
        s.queued.pop_front();
    }
    const int64_t latency = 5 + static_cast<int64_t>(chance(0.03) ? rand(400) : rand(60));
    schedule(now_ + latency, EventKind::kDiskDone, id, 0, s.disk_generation);
}

void Simulation::disk_done(ServerId id, uint64_t generation) {
    Server& s = server(id);
    if (!s.up || generation != s.disk_generation) return;
    std::vector<DiskJob> done = std::move(s.writing);
    s.writing.clear();
    uint64_t last_id = 0;
    for (DiskJob& job : done) {
        for (const zab::Write& w : job.writes) apply_write(s, w);
        for (zab::Outgoing& out : job.after_persist) send(id, std::move(out));
        last_id = job.write_id;
    }
    s.core->persisted(last_id);
    process_ready(id);
    start_disk(id);
}

void Simulation::process_ready(ServerId id) {
    Server& s = server(id);
    for (int round = 0; s.up && s.core->has_ready(); ++round) {
        zab::Ready ready = s.core->take_ready();
        // has_ready() promises progress: a Ready with nothing in it, or one
        // that never ends, would spin the runtime's driver.
        if ((ready.empty() && ready.write_id == 0) || round == 1000) {
            result_.ok = false;
            result_.failure = "server " + std::to_string(id) +
                              ": has_ready() without progress (an empty Ready, or 1000 in a row)";
            return;
        }
        for (zab::Outgoing& out : ready.messages) send(id, std::move(out));
        if (ready.write_id != 0) {
            s.queued.push_back(
                DiskJob{std::move(ready.writes), std::move(ready.after_persist), ready.write_id});
            start_disk(id);
        }
        for (const zab::Txn& txn : ready.committed) {
            s.app.deliver(txn);
            checker_.on_deliver(id, txn, s.app.hash);
        }
        for (const zab::Completion& c : ready.completions) {
            if (c.outcome == zab::Completion::Outcome::kCommitted) {
                checker_.on_ack(id, c.request_id, c.zxid);
                if (!faults_on_) ++acked_after_faults_;
            }
            if (workload_) workload_->completed(id, c);
        }
        for (const zab::SyncDone& done : ready.syncs) {
            for (auto it = s.syncs.begin(); it != s.syncs.end(); ++it) {
                if (it->first != done.id) continue;
                checker_.on_sync_done(id, it->second, s.core->delivered_zxid());
                s.syncs.erase(it);
                break;
            }
        }
        if (ready.restore) {
            s.app.restore(ready.restore->data);
            if (workload_) workload_->restored(id, ready.restore->zxid);
            checker_.on_restore(id, ready.restore->zxid, s.app.hash);
            trace("server " + std::to_string(id) + " installs a snapshot at " +
                  ready.restore->zxid.str());
        }
        for (const std::string& line : ready.notices) {
            trace("server " + std::to_string(id) + ": " + line);
        }
        if (ready.snapshot_due) {
            s.snapshot = Snapshot{*ready.snapshot_due, s.app.save()};
            s.core->snapshot_saved(*ready.snapshot_due);
        }
        if (ready.role_change) {
            const zab::RoleChange& rc = *ready.role_change;
            trace("server " + std::to_string(id) + " is " + zab::role_name(rc.role) +
                  (rc.leader ? " leader " + std::to_string(rc.leader) : "") + " epoch " +
                  std::to_string(rc.epoch) + (s.core->serving() ? " (serving)" : "") +
                  (rc.reason.empty() ? "" : ": " + rc.reason));
            if (rc.role == zab::Role::kLeading && s.core->serving()) {
                ++result_.elections;
                const Zxid last = s.core->initial_history_last();
                std::optional<zab::Txn> last_txn;
                if (const zab::Txn* txn = s.core->log_entry(last)) last_txn = *txn;
                checker_.on_established(id, rc.epoch, last, last_txn);
            }
            // As the runtime's driver does (zab/runtime/node.cc): every report.
            if (s.app.inner) s.app.inner->role_changed(rc.role, rc.leader, rc.epoch);
        }
    }
}

Status Simulation::submit(ServerId id, zab::Request& request) {
    request.id = next_request_++;
    checker_.on_submit(request.id, request.data);
    Server& s = server(id);
    if (!s.up) return Status(Code::kNotLeader, "server " + std::to_string(id) + " is down");
    Status st = s.core->submit(request);
    process_ready(id);
    return st;
}

void Simulation::client_action() {
    std::vector<ServerId> up;
    for (const Server& s : servers_) {
        if (s.up) up.push_back(s.id);
    }
    if (up.empty()) return;
    const ServerId id = up[rand(up.size())];
    Server& s = server(id);
    if (chance(0.1)) {
        const uint64_t sync_id = next_sync_++;
        if (s.core->sync(sync_id).is_ok()) s.syncs.emplace_back(sync_id, checker_.sync_floor());
    } else {
        zab::Request request;
        request.id = next_request_++;
        request.type = chance(0.1) ? 2 : 1;
        request.data = "r" + std::to_string(request.id);
        checker_.on_submit(request.id, request.data);
        (void)s.core->submit(request);
    }
    process_ready(id);
}

void Simulation::fault_action() {
    const ServerId id = static_cast<ServerId>(1 + rand(members_.size()));
    Server& s = server(id);
    const uint64_t kind = rand(100);
    if (kind < 30) {
        if (!s.up) return;
        std::vector<ServerId> crashed = {id};
        if (chance(0.2)) {  // sometimes two at once
            const ServerId other = static_cast<ServerId>(1 + rand(members_.size()));
            if (other != id && server(other).up) crashed.push_back(other);
        }
        for (ServerId c : crashed) {
            crash_server(c);
            schedule(now_ + kTickTime * static_cast<int64_t>(2 + rand(30)), EventKind::kRestart, c);
        }
        // Wipe the disk now and then — only one server without history at a time.
        bool another_empty = false;
        for (const Server& o : servers_) {
            if (o.id == id) continue;
            if (o.up && !o.core->voting()) another_empty = true;
            // (An empty server started with bootstrap stops voting once it hears of
            // an established history: it is as good as wiped.)
            if (o.log.current_epoch() == 0) another_empty = true;
        }
        if (!another_empty && s.log.current_epoch() > 0 && chance(0.15)) {
            s.log = storage::MemoryLog{};
            s.snapshot.reset();
            s.bootstrap = false;  // a wiped server is not bootstrapping an ensemble
            checker_.on_disk_wiped(id);
            trace("server " + std::to_string(id) + " loses its disk");
        }
    } else if (kind < 50) {
        // Partition: cut a minority (or sometimes a majority) off.
        isolated_.clear();
        const size_t size = 1 + rand(members_.size() / 2 + (chance(0.3) ? 1 : 0));
        while (isolated_.size() < size)
            isolated_.insert(static_cast<ServerId>(1 + rand(members_.size())));
        trace("partition: " + std::to_string(isolated_.size()) + " server(s) cut off");
        for (ServerId cut : isolated_) {
            if (server(cut).up && server(cut).core->serving() &&
                server(cut).core->role() == zab::Role::kLeading &&
                isolated_.size() * 2 < members_.size()) {
                ++result_.leaders_cut_off;
            }
        }
        for (ServerId a : members_) {
            for (ServerId b : members_) {
                if (a < b && partitioned(a, b)) break_connection(a, b);
            }
        }
    } else if (kind < 70) {
        if (!isolated_.empty()) trace("partition heals");
        isolated_.clear();
    } else {
        const ServerId other = static_cast<ServerId>(1 + rand(members_.size()));
        if (other != id) break_connection(id, other);
    }
}

void Simulation::heal_everything() {
    faults_on_ = false;
    isolated_.clear();
    trace("faults stop: everything heals");
    for (Server& s : servers_) {
        if (!s.up) start_server(s.id);
    }
    for (ServerId a : members_) {
        for (ServerId b : members_) {
            if (a < b) try_connect(a, b);
        }
    }
}

SimResult Simulation::run() {
    servers_.resize(members_.size());
    for (size_t i = 0; i < servers_.size(); ++i) {
        servers_[i].id = members_[i];
        servers_[i].tick_offset = static_cast<int64_t>(rand(kTickTime));
    }
    const int64_t fault_end = kTickTime * options_.fault_ticks;
    const int64_t end = fault_end + kTickTime * options_.liveness_ticks;
    quiet_time_ = end - kTickTime * 60;
    if (workload_) workload_->begin(*this);
    for (ServerId id : members_) start_server(id);
    if (!workload_) schedule(1, EventKind::kClient);
    schedule(kTickTime * 5, EventKind::kFault);
    bool healed = false;
    while (!events_.empty() && result_.ok && !checker_.failed() && !workload_failed()) {
        Event e = events_.top();
        if (e.time > end) break;
        events_.pop();
        now_ = e.time;
        if (!healed && now_ >= fault_end) {
            heal_everything();
            healed = true;
        }
        switch (e.kind) {
            case EventKind::kTick: {
                Server& s = server(e.a);
                if (!s.up || s.incarnation != e.generation) break;
                if (workload_) workload_->tick(e.a);
                s.core->tick();
                process_ready(e.a);
                schedule(now_ + kTickTime, EventKind::kTick, e.a, 0, e.generation);
                break;
            }
            case EventKind::kDeliver:
                deliver_message(e.a, e.b, e.generation);
                break;
            case EventKind::kProcess: {
                Server& s = server(e.a);
                if (!s.up || s.incarnation != e.generation) break;
                s.process_scheduled = false;
                process_ready(e.a);
                break;
            }
            case EventKind::kDiskDone:
                disk_done(e.a, e.generation);
                break;
            case EventKind::kClient:
                client_action();
                if (now_ < end - kTickTime * 60)
                    schedule(now_ + 10 + static_cast<int64_t>(rand(60)), EventKind::kClient);
                break;
            case EventKind::kFault:
                if (now_ < fault_end) {
                    fault_action();
                    schedule(now_ + kTickTime * static_cast<int64_t>(1 + rand(15)),
                             EventKind::kFault);
                }
                break;
            case EventKind::kReconnect:
                if (!partitioned(e.a, e.b) || !faults_on_) try_connect(e.a, e.b);
                if (!connection(e.a, e.b).up) {
                    schedule(now_ + 100 + static_cast<int64_t>(rand(200)), EventKind::kReconnect,
                             e.a, e.b);
                }
                break;
            case EventKind::kRestart:
                if (faults_on_ && !server(e.a).up) start_server(e.a);
                break;
            case EventKind::kWake:
                workload_->wake(e.generation);
                break;
        }
        if (workload_) workload_->observe();
    }
    if (result_.ok && workload_failed()) {
        result_.ok = false;
        result_.failure = workload_->failure();
    }
    if (result_.ok && checker_.failed()) {
        result_.ok = false;
        result_.failure = checker_.failure();
    }
    if (result_.ok) {
        checker_.check_end();
        if (checker_.failed()) {
            result_.ok = false;
            result_.failure = checker_.failure();
        }
    }
    if (result_.ok) {
        // Liveness: the healed ensemble serves, acknowledged new writes, and
        // every server has delivered the whole committed sequence.
        const Zxid all = checker_.committed_max();
        for (const Server& s : servers_) {
            if (!s.core->serving() || s.core->delivered_zxid() != all) {
                result_.ok = false;
                result_.failure = "liveness: " + std::to_string(options_.liveness_ticks) +
                                  " ticks after the faults stopped, server " +
                                  std::to_string(s.id) + " is " + zab::role_name(s.core->role()) +
                                  (s.core->serving() ? " (serving)" : "") +
                                  " and has delivered up to " + s.core->delivered_zxid().str() +
                                  " of " + all.str();
                break;
            }
        }
        if (result_.ok && acked_after_faults_ == 0) {
            result_.ok = false;
            result_.failure = "liveness: no request was acknowledged after the faults stopped";
        }
    }
    if (result_.ok && workload_) {
        workload_->check_end();
        if (workload_failed()) {
            result_.ok = false;
            result_.failure = workload_->failure();
        }
    }
    result_.committed = checker_.committed_count();
    result_.acked = checker_.acked_count();
    if (workload_) result_.workload_counts = workload_->counts();
    return result_;
}

}  // namespace

SimResult run_simulation(const SimOptions& options, Workload* workload) {
    return Simulation(options, workload).run();
}

}  // namespace chorus::sim
