#include "tests/sim/sim.h"

#include <algorithm>
#include <cstdio>
#include <deque>
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
#include "tests/sim/linearizability.h"
#include "tests/sim/quorum_witness.h"
#include "tests/sim/workload.h"
#include "zab/core/wire.h"
#include "zab/runtime/driver.h"

namespace chorus::sim {
namespace {

using zab::ServerId;

// Time: one unit is a millisecond (the session workload reads it so); a
// tick is 100 units at the normal rate.
constexpr int64_t kTickTime = 100;
// An ordinary message arrives at most this long after it was sent (links
// are FIFO, so it never waits for a later draw). Long delays (a fault) are
// far longer and reported to workloads as a broken path.
constexpr int64_t kMaxMessageDelay = 150;
constexpr uint32_t kElectionTimeoutTicks = 10;
constexpr int64_t kNever = INT64_MAX / 4;

// This seed's faults (swarm testing): which kinds, how often, how nasty.
struct FaultMix {
    // Relative weights of the fault kinds drawn at each fault event (0: off).
    int crash = 0, partition = 0, heal = 0, reset = 0, pause = 0, slow_disk = 0, stuck_disk = 0,
        fsync_failure = 0, long_delay = 0, lossy_link = 0;
    double silent = 0;         // partitions that do not reset connections (announce nothing)
    double hold = 0;           // silent partitions that hold messages until the heal (TCP)
    double one_way = 0;        // partitions that cut one direction only
    double late_reset = 0;     // a reset reaching an end only much later (half-open link)
    double reset_at_heal = 0;  // a silent partition's connections reset when it heals
    double slow_messages = 0;  // messages that take up to kMaxMessageDelay (else up to 30)
    bool tick_skew = false;    // tick rates differ per server (0.8x .. 1.25x)
    bool torn_writes = false;  // a crash tears the write in progress
    double wipe = 0;           // a crashed server loses its disk
    double two_crashes = 0;
    double sick_at_end = 0;  // one server's disk stays stuck through the liveness phase
    int fault_interval_ticks = 15;

    std::string describe() const {
        std::ostringstream o;
        auto w = [&o](const char* name, int weight) {
            if (weight > 0) o << name << "=" << weight << " ";
        };
        w("crash", crash);
        w("partition", partition);
        w("heal", heal);
        w("reset", reset);
        w("pause", pause);
        w("slow-disk", slow_disk);
        w("stuck-disk", stuck_disk);
        w("fsync-failure", fsync_failure);
        w("long-delay", long_delay);
        w("lossy-link", lossy_link);
        o << "silent=" << silent << " hold=" << hold << " one-way=" << one_way
          << " late-reset=" << late_reset << " reset-at-heal=" << reset_at_heal
          << (tick_skew ? " tick-skew" : "") << (torn_writes ? " torn-writes" : "")
          << " wipe=" << wipe << " sick-at-end=" << sick_at_end
          << " every<=" << fault_interval_ticks << "t";
        return o.str();
    }
};

// The application when no workload is given: a register per key (writes
// "k<key>=<value>", reads after sync()), and requests of type 2 absorbed
// like heartbeats. With a workload, the workload's state machine (`inner`)
// decides instead. Either way a hash chain over what was delivered is kept
// beside it for the checker, and the last delivered zxid: a snapshot is
// "<hash> <epoch> <counter>\n" then the registers or the inner state.
class SimApp final : public StateMachine {
 public:
    struct Hooks {
        std::function<void(const zab::Txn&, uint64_t hash)> delivered;
        std::function<void(Zxid, uint64_t hash)> restored;
        std::function<void(zab::Role, ServerId, uint64_t)> role_changed;
    };
    SimApp(StateMachine* inner, Checker& checker, Hooks hooks)
        : inner_(inner), checker_(checker), hooks_(std::move(hooks)) {}

    std::optional<zab::Txn> preprocess(const zab::Request& request) override {
        if (inner_) {
            std::optional<zab::Txn> txn = inner_->preprocess(request);
            // The transaction differs from the request: tell the integrity check.
            if (txn) checker_.on_preprocessed(request.id, txn->data);
            return txn;
        }
        if (request.type == 2) return std::nullopt;
        zab::Txn txn;
        txn.type = 1;
        txn.data = request.data;
        return txn;
    }
    void deliver(const zab::Txn& txn) override {
        hash_ = chain_hash(hash_, txn);
        last_ = txn.zxid;
        if (inner_) {
            inner_->deliver(txn);
        } else if (txn.data.size() > 1 && txn.data[0] == 'k') {
            const size_t eq = txn.data.find('=');
            if (eq != std::string::npos)
                registers_[txn.data.substr(1, eq - 1)] = txn.data.substr(eq + 1);
        }
        hooks_.delivered(txn, hash_);
    }
    std::string save() override {
        std::string s = std::to_string(hash_) + " " + std::to_string(last_.epoch) + " " +
                        std::to_string(last_.counter) + "\n";
        if (inner_) return s + inner_->save();
        for (const auto& [key, value] : registers_) s += key + "=" + value + "\n";
        return s;
    }
    void restore(const std::string& data) override {
        hash_ = 0;
        last_ = Zxid{};
        registers_.clear();
        std::string rest;
        if (!data.empty()) {
            const size_t newline = data.find('\n');
            std::istringstream head(data.substr(0, newline));
            head >> hash_ >> last_.epoch >> last_.counter;
            rest = newline == std::string::npos ? std::string() : data.substr(newline + 1);
        }
        if (inner_) {
            inner_->restore(rest);
        } else {
            std::istringstream lines(rest);
            std::string line;
            while (std::getline(lines, line)) {
                const size_t eq = line.find('=');
                if (eq != std::string::npos) registers_[line.substr(0, eq)] = line.substr(eq + 1);
            }
        }
        hooks_.restored(last_, hash_);
    }
    // The checker sees a CONFIG as one more delivery in zxid order; the
    // inner state machine (a workload's) never does.
    void membership_committed(const zab::Txn& txn, const zab::Membership&) override {
        hash_ = chain_hash(hash_, txn);
        last_ = txn.zxid;
        hooks_.delivered(txn, hash_);
    }
    void role_changed(zab::Role role, ServerId leader, uint64_t epoch) override {
        hooks_.role_changed(role, leader, epoch);
        if (inner_) inner_->role_changed(role, leader, epoch);
    }

    std::string read(const std::string& key) const {
        auto it = registers_.find(key);
        return it == registers_.end() ? std::string() : it->second;
    }

 private:
    StateMachine* inner_;
    Checker& checker_;
    Hooks hooks_;
    uint64_t hash_ = 0;
    Zxid last_;
    std::map<std::string, std::string> registers_;
};

struct Snapshot {
    Zxid zxid;
    std::string data;
};

// One server's disk: what is durable, and what is queued or being written.
struct Disk {
    storage::MemoryLog log;
    std::optional<Snapshot> snapshot;
    std::deque<runtime::StorageJob> queued;
    std::vector<runtime::StorageJob> writing;  // the group in progress (group commit)
    uint64_t generation = 0;                   // bumped on crash: completions in flight are void
    int64_t stuck_until = 0;                   // no write completes before then
    int64_t slow_until = 0;                    // writes take far longer until then
    bool fail_next_sync = false;               // the next group's fsync fails
};

class Simulation;

// The driver's world for one incarnation of one server.
class SimEnv final : public runtime::DriverEnv {
 public:
    SimEnv(Simulation& sim, ServerId id, uint64_t incarnation)
        : sim_(sim), id_(id), incarnation_(incarnation) {}
    void send(ServerId to, const zab::pb::PeerMessage& message) override;
    void reset_link(ServerId peer) override;
    void write(runtime::StorageJob job) override;
    void post(std::function<void()> fn) override;
    void run_after(uint64_t delay_us, std::function<void()> fn) override;
    void run_off_thread(std::function<void()> work) override;
    uint64_t now_us() override;
    void log(runtime::LogLevel level, const std::string& line) override;

 private:
    Simulation& sim_;
    ServerId id_;
    uint64_t incarnation_;
};

struct Server {
    ServerId id = 0;
    bool up = false;
    bool bootstrap = true;
    uint64_t incarnation = 0;
    int64_t tick_period = kTickTime;
    int64_t paused_until = 0;  // nothing of this server runs before then
    bool sick = false;         // its disk stays stuck through the liveness phase
    bool wiped = false;        // lost its disk, and no leader has synced it since
    Disk disk;
    std::unique_ptr<SimApp> app;
    std::unique_ptr<SimEnv> env;
    std::unique_ptr<runtime::Driver> driver;
    // The links this server believes up, with the generation it was told of.
    std::map<ServerId, uint64_t> links;
};

// The connection between two servers.
struct Link {
    bool established = false;
    uint64_t generation = 0;       // a new connection each time it is established
    uint64_t path_generation = 0;  // bumps whenever how messages flow changes
    bool dial_scheduled = false;
};

// One direction of a link.
struct Wire {
    enum class Cut : uint8_t { kNone, kDrop, kHold } cut = Cut::kNone;
    struct InFlight {
        int64_t at;  // arrival time
        bool long_delay;
        zab::pb::PeerMessage message;
    };
    std::deque<InFlight> in_flight;         // FIFO
    std::deque<zab::pb::PeerMessage> held;  // behind a holding cut
    int long_delayed = 0;                   // messages in flight with a long delay
    bool next_long = false;                 // the next message sent gets a long delay
    // Until then each message is lost with this chance, unannounced (a
    // flaky path: part of a stream goes missing, the rest arrives).
    int64_t lossy_until = 0;
    double loss = 0;
};

enum class EventKind : uint8_t {
    kTick,
    kDeliver,
    kRun,  // a function the driver handed over (post, run_after, off-thread work)
    kDiskDone,
    kClient,
    kRegisterClient,
    kFault,
    kDial,
    kNotifyDown,
    kRestart,
    kKeepaliveReset,
    kWake,
    kReconfig,
    kTransfer
};

struct Event {
    int64_t time;
    uint64_t seq;
    EventKind kind;
    ServerId a = 0;
    ServerId b = 0;
    uint64_t generation = 0;
    uint64_t token = 0;
    bool operator>(const Event& o) const { return std::tie(time, seq) > std::tie(o.time, o.seq); }
};

// A client of the registers: one operation at a time.
struct RegisterClient {
    uint64_t id = 0;
    int next_value = 0;
    bool busy = false;
    uint64_t op_token = 0;  // the operation in progress (a stale callback is ignored)
    size_t handle = 0;
    bool is_read = false;
    std::string key;
    ServerId server = 0;
    uint64_t incarnation = 0;
    int64_t deadline = 0;
};

class Simulation final : private SimControl {
 public:
    Simulation(const SimOptions& options, Workload* workload)
        : options_(options), rng_(options.seed), workload_(workload) {
        for (int i = 1; i <= options.servers + options.observers; ++i) {
            members_.push_back(static_cast<ServerId>(i));
            (i <= options.servers ? voters_ : observers_).push_back(static_cast<ServerId>(i));
        }
    }

    SimResult run();

 private:
    friend class SimEnv;

    // SimControl, for the workload.
    int64_t now() const override { return now_; }
    int64_t tick_time() const override { return max_tick_period_; }
    int64_t max_message_delay() const override { return kMaxMessageDelay; }
    int64_t election_timeout() const override { return max_tick_period_ * kElectionTimeoutTicks; }
    int64_t quiet_time() const override { return quiet_time_; }
    const std::vector<ServerId>& members() const override { return members_; }
    const zab::Core* core(ServerId id) const override {
        const Server& s = servers_[id - 1];
        return s.up && s.paused_until <= now_ ? &s.driver->core() : nullptr;
    }
    uint64_t incarnation(ServerId id) const override { return servers_[id - 1].incarnation; }
    bool link_up(ServerId a, ServerId b) const override;
    uint64_t link_generation(ServerId a, ServerId b) const override {
        auto it = links_.find(std::minmax(a, b));
        return it == links_.end() ? 0 : it->second.path_generation;
    }
    Status submit(ServerId id, zab::Request& request) override;
    bool sick(ServerId id) const override { return servers_[id - 1].sick; }
    void wake_at(int64_t at, uint64_t token) override {
        schedule(at, EventKind::kWake, 0, 0, 0, token);
    }
    void trace(const std::string& line) override {
        if (options_.trace) std::printf("%8lld  %s\n", static_cast<long long>(now_), line.c_str());
    }

    // Randomness, all from the seed.
    uint64_t rand(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
    int64_t rand_between(int64_t lo, int64_t hi) {
        return lo + static_cast<int64_t>(rand(static_cast<uint64_t>(hi - lo + 1)));
    }
    bool chance(double p) { return static_cast<double>(rng_() % 1000000) < p * 1000000.0; }
    ServerId random_member() { return static_cast<ServerId>(1 + rand(members_.size())); }

    void schedule(int64_t at, EventKind kind, ServerId a = 0, ServerId b = 0,
                  uint64_t generation = 0, uint64_t token = 0) {
        events_.push(Event{at, next_seq_++, kind, a, b, generation, token});
    }
    void fail(const std::string& what) {
        if (result_.ok) {
            result_.ok = false;
            result_.failure = what;
        }
    }
    void count(const std::string& what, uint64_t n = 1) { result_.fault_counts[what] += n; }
    Server& server(ServerId id) { return servers_[id - 1]; }
    bool running(ServerId id) const {
        const Server& s = servers_[id - 1];
        return s.up && s.paused_until <= now_;
    }
    Link& link(ServerId a, ServerId b) { return links_[std::minmax(a, b)]; }
    Wire& wire(ServerId from, ServerId to) { return wires_[{from, to}]; }
    std::string name(ServerId id) const { return "server " + std::to_string(id); }

    // The fault mix.
    FaultMix choose_mix();

    // Servers.
    void start_server(ServerId id);
    void crash_server(ServerId id, const char* why);
    void on_role_changed(ServerId id, zab::Role role, ServerId leader, uint64_t epoch);

    // Network.
    void send(ServerId from, ServerId to, const zab::pb::PeerMessage& message);
    void put_on_wire(ServerId from, ServerId to, zab::pb::PeerMessage message);
    void deliver_message(ServerId from, ServerId to, uint64_t generation);
    static std::string describe(const zab::pb::PeerMessage& m);
    void reset_connection(ServerId a, ServerId b, bool late_possible);
    void clear_wires(ServerId a, ServerId b);  // what was in flight on the old connection is lost
    void notify_down(ServerId end, ServerId peer, uint64_t generation);
    void dial(ServerId a, ServerId b);
    void schedule_dial(ServerId a, ServerId b, int64_t delay);
    bool cut_either_way(ServerId a, ServerId b) {
        return wire(a, b).cut != Wire::Cut::kNone || wire(b, a).cut != Wire::Cut::kNone;
    }
    void cut(ServerId from, ServerId to, Wire::Cut how);
    void heal_partition(bool at_end);

    // Disks.
    void disk_write(ServerId id, runtime::StorageJob job);
    void start_disk(ServerId id);
    void disk_done(ServerId id, uint64_t generation);
    void apply_write(Server& s, const zab::Write& write, size_t torn_entries = SIZE_MAX);

    // Things the drivers handed over.
    void run_later(ServerId id, uint64_t incarnation, int64_t at, std::function<void()> fn);

    // Faults.
    void fault_action();
    // Whether wiping `id`'s disk leaves every membership on any disk a
    // quorum of voters that hold their history (the wipe rule).
    bool wipe_leaves_quorums(ServerId id);
    // Its disk holds the history it voted with: not wiped since a leader
    // last synced it, and not an empty disk marked joined.
    bool holds_history(const Server& o) const;
    // The voters of every membership that may yet be in force: on any disk
    // (each one's stored base membership, the bootstrap's if none, and
    // every CONFIG in its log), in any running core, and every change
    // proposed and not yet settled (it may be on a wire only).
    std::vector<std::set<ServerId>> voter_sets_in_play();
    // Whether each of those keeps a quorum of voters, `id` aside, that
    // `counts` accepts.
    bool quorums_left_without(ServerId id, const std::function<bool(const Server&)>& counts);
    void partition_action();
    void reconfig_action();
    // A leadership transfer asked of a random running server.
    void transfer_action();
    // Proposes one change of `from` at leader `s`; what it proposed, if taken.
    std::optional<zab::Membership> propose_change(Server& s, const zab::Membership& from);
    void heal_everything();

    // Clients.
    void client_action();
    void register_client_action(RegisterClient& c);
    void register_op_done(RegisterClient& c, uint64_t token, bool completed, bool forget,
                          const std::string& value);

    void check_servers();
    void witness_commit(const Server& s);
    void collect_stats(const Server& s);  // of its incarnation, into the fault counts
    void check_end();

    SimOptions options_;
    std::mt19937_64 rng_;
    Workload* workload_;
    FaultMix mix_;
    int64_t quiet_time_ = 0;
    int64_t max_tick_period_ = kTickTime;
    std::vector<ServerId> members_;    // every server, voter or observer
    std::vector<ServerId> voters_;     // the bootstrap membership's voters
    std::vector<ServerId> observers_;  // ... and its observers
    // Changes proposed, by proposal number, until one proposed no earlier
    // commits (with R3 that one supersedes them): each may still reach a
    // disk from a wire, a held message or a core's queue.
    std::map<uint64_t, std::set<ServerId>> unsettled_changes_;
    uint64_t changes_proposed_ = 0;
    // R8's bound for this seed (0: off; drawn only with forwarded_changes).
    uint64_t promote_max_lag_txns_ = 0;
    // The target of the last handover, until the next leader is established.
    ServerId handed_to_ = 0;
    std::vector<Server> servers_;
    std::map<std::pair<ServerId, ServerId>, Link> links_;
    std::map<std::pair<ServerId, ServerId>, Wire> wires_;
    std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
    uint64_t next_seq_ = 0;
    int64_t now_ = 0;
    bool faults_on_ = true;
    bool partitioned_ = false;
    uint64_t next_token_ = 1;
    std::map<uint64_t, std::function<void()>> runs_;  // kRun token -> what to run
    uint64_t acked_after_faults_ = 0;
    std::vector<RegisterClient> register_clients_;
    RegisterHistory history_;
    Checker checker_;
    QuorumWitness witness_;
    // Per serving leader: the commit point last checked against witness_,
    // and the membership it counted with when the last event ended.
    struct LeaderWatch {
        Zxid commit;
        zab::Membership counted;
    };
    std::map<std::pair<ServerId, uint64_t>, LeaderWatch> leader_watch_;
    SimResult result_;
};

// ---- SimEnv -------------------------------------------------------------

void SimEnv::send(ServerId to, const zab::pb::PeerMessage& message) { sim_.send(id_, to, message); }

void SimEnv::reset_link(ServerId peer) {
    // Reported later, never from inside the call (DriverEnv's contract).
    sim_.reset_connection(id_, peer, false);
}

void SimEnv::write(runtime::StorageJob job) { sim_.disk_write(id_, std::move(job)); }

void SimEnv::post(std::function<void()> fn) {
    sim_.run_later(id_, incarnation_, sim_.now_ + 1 + static_cast<int64_t>(sim_.rand(2)),
                   std::move(fn));
}

void SimEnv::run_after(uint64_t delay_us, std::function<void()> fn) {
    const int64_t units = std::max<int64_t>(1, static_cast<int64_t>(delay_us / 1000));
    sim_.run_later(id_, incarnation_, sim_.now_ + units, std::move(fn));
}

void SimEnv::run_off_thread(std::function<void()> work) {
    // The snapshot thread takes a while; the driver goes on meanwhile.
    sim_.count("snapshots produced off the driver thread");
    sim_.run_later(id_, incarnation_, sim_.now_ + sim_.rand_between(1, 300), std::move(work));
}

uint64_t SimEnv::now_us() { return static_cast<uint64_t>(sim_.now_) * 1000; }

void SimEnv::log(runtime::LogLevel level, const std::string& line) {
    sim_.trace("server " + std::to_string(id_) + ": " + line);
    if (level == runtime::LogLevel::kCritical) {
        sim_.fail("server " + std::to_string(id_) + "'s driver reported: " + line);
    }
}

// ---- The fault mix --------------------------------------------------------

FaultMix Simulation::choose_mix() {
    FaultMix m;
    if (options_.classic_faults) {
        m.crash = 30;
        m.partition = 20;
        m.heal = 20;
        m.reset = 30;
        m.wipe = 0.15;
        m.two_crashes = 0.2;
        m.slow_messages = 0.05;
        return m;
    }
    auto weight = [this](double p) { return chance(p) ? static_cast<int>(1 + rand(10)) : 0; };
    m.crash = weight(0.8);
    m.partition = weight(0.6);
    m.heal = m.partition > 0 ? std::max(1, m.partition + static_cast<int>(rand(5)) - 2) : 0;
    m.reset = weight(0.6);
    m.pause = weight(0.5);
    m.slow_disk = weight(0.4);
    m.stuck_disk = weight(0.4);
    m.fsync_failure = weight(0.3);
    m.long_delay = weight(0.4);
    m.lossy_link = weight(0.3);
    if (m.crash + m.partition + m.reset + m.pause + m.stuck_disk + m.long_delay + m.lossy_link == 0)
        m.crash = 5;
    m.silent = chance(0.8) ? 0.3 + 0.7 * static_cast<double>(rand(100)) / 100 : 0;
    m.hold = static_cast<double>(rand(101)) / 100;
    m.one_way = chance(0.5) ? static_cast<double>(rand(60)) / 100 : 0;
    m.late_reset = chance(0.5) ? static_cast<double>(rand(50)) / 100 : 0;
    m.reset_at_heal = static_cast<double>(rand(101)) / 100;
    m.slow_messages = static_cast<double>(rand(11)) / 100;
    m.tick_skew = chance(0.5);
    m.torn_writes = chance(0.5);
    m.wipe = chance(0.6) ? 0.15 : 0;
    m.two_crashes = chance(0.5) ? 0.2 : 0;
    m.sick_at_end = m.stuck_disk > 0 && chance(0.4) ? 1.0 : 0;
    m.fault_interval_ticks = static_cast<int>(rand_between(5, 25));
    return m;
}

// ---- Servers ------------------------------------------------------------

void Simulation::start_server(ServerId id) {
    Server& s = server(id);
    if (s.wiped && s.disk.log.current_epoch() > 0) s.wiped = false;
    // A lost disk, not yet synced: each restart is the operator's again,
    // with --bootstrap left on by mistake now and then, or not (the third
    // review of issue 13 lost a write restarting a replaced disk first
    // without the flag, then with it).
    if (s.wiped) {
        s.bootstrap = chance(0.3);
    } else if (s.incarnation > 0 &&
               (s.disk.log.accepted_epoch() > 0 || s.disk.log.current_epoch() > 0)) {
        // An intact disk that took part: restarted as operations.md says
        // (no --bootstrap), or with the flag still on (the fourth review).
        s.bootstrap = chance(0.5);
    }
    s.up = true;
    ++s.incarnation;
    s.paused_until = 0;
    s.links.clear();
    StateMachine* inner = workload_ ? &workload_->start(id) : nullptr;
    SimApp::Hooks hooks;
    hooks.delivered = [this, id](const zab::Txn& txn, uint64_t hash) {
        checker_.on_deliver(id, txn, hash);
    };
    hooks.restored = [this, id](Zxid zxid, uint64_t hash) {
        checker_.on_restore(id, zxid, hash);
        if (workload_) workload_->restored(id, zxid);
        if (!zxid.is_zero()) trace(name(id) + " restores a snapshot at " + zxid.str());
    };
    hooks.role_changed = [this, id](zab::Role role, ServerId leader, uint64_t epoch) {
        on_role_changed(id, role, leader, epoch);
    };
    s.app = std::make_unique<SimApp>(inner, checker_, std::move(hooks));
    // What the disk holds: the snapshot, and the log (reset to the snapshot
    // if a crash came between saving it and resetting the log) — as
    // Node::Impl::open_and_restore reads it.
    zab::DurableState durable;
    durable.accepted_epoch = s.disk.log.accepted_epoch();
    durable.current_epoch = s.disk.log.current_epoch();
    durable.joined_ensemble = s.disk.log.joined_ensemble();
    durable.original_member = s.disk.log.original_member();
    if (const auto m = s.disk.log.membership()) {
        Result<zab::Membership> membership = zab::Membership::decode(m->version, m->record);
        if (!membership.is_ok())
            fail(name(id) + "'s membership record: " + membership.status().str());
        durable.membership = std::move(membership).value();
    }
    auto snapshot_data = std::make_shared<const std::string>();
    if (s.disk.snapshot) {
        bool reset = false;
        if (Status st = storage::align_log_to_snapshot(s.disk.log, s.disk.snapshot->zxid, &reset);
            !st.is_ok()) {
            fail("storage of " + name(id) + " refused the reset to its snapshot: " + st.str());
        }
        if (reset) count("logs reset to their snapshot at a restart");
        durable.snapshot_zxid = s.disk.snapshot->zxid;
        snapshot_data = std::make_shared<const std::string>(s.disk.snapshot->data);
    }
    s.app->restore(*snapshot_data);
    durable.log_base = s.disk.log.base();
    auto entries = s.disk.log.read(s.disk.log.base().next(), Zxid{UINT64_MAX, UINT64_MAX});
    for (const storage::Entry& e : entries.value()) {
        zab::Txn txn;
        zab::decode_txn_payload(e.zxid, e.type, e.payload, &txn);
        durable.log.push_back(std::move(txn));
    }
    if (s.disk.log.last_zxid() > checker_.committed_max()) ++result_.restarts_with_longer_log;
    zab::Config config;
    config.id = id;
    config.members = voters_;
    config.observers = observers_;
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
    config.mutation = static_cast<uint8_t>(options_.mutation);
    config.promote_max_lag_txns = promote_max_lag_txns_;
    runtime::DriverOptions d;
    d.tick_ms = static_cast<uint32_t>(kTickTime);  // a unit is a millisecond
    d.request_timeout_ms = 4000;
    d.first_request_id = (uint64_t{id} << 48) | (s.incarnation << 32) | 1;
    // Snapshots of a few hundred bytes travel in paced chunks, a few ticks
    // for the whole, as a gigabyte would on a real link.
    d.snapshot_chunk_bytes = 8 + rand(64);
    d.snapshot_bytes_per_s = 2000 + rand(20000);
    d.max_readys_per_run = static_cast<uint32_t>(1 + rand(8));  // exercise the yield
    s.env = std::make_unique<SimEnv>(*this, id, s.incarnation);
    s.driver = std::make_unique<runtime::Driver>(config, std::move(durable),
                                                 std::move(snapshot_data), *s.app, *s.env, d);
    trace(name(id) + " starts (incarnation " + std::to_string(s.incarnation) + ", last zxid " +
          s.driver->core().last_zxid().str() + (s.driver->core().voting() ? "" : ", not voting") +
          ")");
    schedule(now_ + s.tick_period, EventKind::kTick, id, 0, s.incarnation);
    s.driver->start();
    for (ServerId peer : members_) {
        if (peer != id) schedule_dial(id, peer, rand_between(1, 20));
    }
}

void Simulation::crash_server(ServerId id, const char* why) {
    Server& s = server(id);
    if (!s.up) return;
    if (s.driver->core().syncing()) ++result_.crashes_during_sync;
    // Of the group being written, a random prefix made it — and with torn
    // writes, part of the next one too (a prefix of its entries).
    Disk& d = s.disk;
    const size_t made_it = rand(d.writing.size() + 1);
    for (size_t i = 0; i < made_it; ++i) {
        for (const zab::Write& w : d.writing[i].writes) apply_write(s, w);
        if (d.writing[i].save_snapshot) {
            const auto& snap = *d.writing[i].save_snapshot;
            if (!d.snapshot || d.snapshot->zxid < snap.zxid)
                d.snapshot = Snapshot{snap.zxid, *snap.data};
        }
    }
    if (mix_.torn_writes && made_it < d.writing.size()) {
        const auto& writes = d.writing[made_it].writes;
        const size_t whole = rand(writes.size() + 1);
        for (size_t i = 0; i < whole; ++i) apply_write(s, writes[i]);
        if (whole < writes.size()) {
            if (const auto* a = std::get_if<zab::AppendTxns>(&writes[whole]);
                a && a->txns.size() > 1) {
                apply_write(s, writes[whole], 1 + rand(a->txns.size() - 1));
                count("torn appends at a crash");
            } else if (const auto* i = std::get_if<zab::InstallSnapshot>(&writes[whole])) {
                // The snapshot file made it, the log's reset did not.
                if (!d.snapshot || d.snapshot->zxid < i->zxid)
                    d.snapshot = Snapshot{i->zxid, i->data};
                count("snapshot installs cut before the log reset");
            }
        }
    }
    d.writing.clear();
    d.queued.clear();
    ++d.generation;
    d.stuck_until = 0;
    d.slow_until = 0;
    d.fail_next_sync = false;
    s.up = false;
    s.paused_until = 0;
    collect_stats(s);
    // The driver first (its callbacks still queued become no-ops), then
    // what it was reaching.
    s.driver.reset();
    s.env.reset();
    s.app.reset();
    if (workload_) workload_->crashed(id);
    ++result_.crashes;
    trace(name(id) + " crashes (" + why + ")");
    for (ServerId peer : members_) {
        if (peer != id) reset_connection(id, peer, true);
    }
}

void Simulation::on_role_changed(ServerId id, zab::Role role, ServerId leader, uint64_t epoch) {
    const zab::Core& core = server(id).driver->core();
    trace(name(id) + " is " + zab::role_name(role) +
          (leader ? " leader " + std::to_string(leader) : "") + " epoch " + std::to_string(epoch) +
          (core.serving() ? " (serving)" : ""));
    if (role == zab::Role::kLeading && core.serving()) {
        // Only voters make an epoch (R6): never an observer or a removed
        // server. They are counted with the membership at the end of the
        // initial history (a CONFIG may already follow it).
        const zab::Membership counted = core.membership_at(core.initial_history_last());
        for (ServerId peer : core.epoch_quorum()) {
            if (!counted.is_voter(peer))
                fail(name(id) + " established epoch " + std::to_string(epoch) + " with server " +
                     std::to_string(peer) + " in its quorum, which is not a voter of " +
                     counted.str());
        }
        // Fewer followers than a quorum: it counted itself, so it must vote.
        if (core.epoch_quorum().size() < counted.quorum() && !counted.is_voter(id))
            fail(name(id) + " established epoch " + std::to_string(epoch) +
                 " counting itself, which is not a voter of " + counted.str());
        // A quorum of those voters' disks holds the initial history, in
        // this epoch (what NEWLEADER's acknowledgements stand for).
        if (std::string missing = witness_.check(counted, epoch, core.initial_history_last());
            !missing.empty()) {
            fail("new-leader quorum: " + name(id) + " established epoch " + std::to_string(epoch) +
                 ", but " + missing);
        }
        ++result_.elections;
        if (handed_to_ != 0) {
            count(handed_to_ == id ? "transfers won by their target"
                                   : "transfers won by another server");
            handed_to_ = 0;
        }
        const Zxid last = core.initial_history_last();
        std::optional<zab::Txn> last_txn;
        if (const zab::Txn* txn = core.log_entry(last)) last_txn = *txn;
        checker_.on_established(id, epoch, last, last_txn, core.epoch_quorum());
    }
}

// ---- Network --------------------------------------------------------------

bool Simulation::link_up(ServerId a, ServerId b) const {
    auto it = links_.find(std::minmax(a, b));
    if (it == links_.end() || !it->second.established) return false;
    for (auto dir : {std::pair(a, b), std::pair(b, a)}) {
        auto w = wires_.find(dir);
        if (w != wires_.end() && (w->second.cut != Wire::Cut::kNone || w->second.long_delayed > 0 ||
                                  (faults_on_ && now_ < w->second.lossy_until)))
            return false;
    }
    const Server& sa = servers_[a - 1];
    const Server& sb = servers_[b - 1];
    auto ga = sa.links.find(b);
    auto gb = sb.links.find(a);
    return ga != sa.links.end() && gb != sb.links.end() && ga->second == it->second.generation &&
           gb->second == it->second.generation;
}

void Simulation::send(ServerId from, ServerId to, const zab::pb::PeerMessage& m) {
    if (m.has_trunc()) ++result_.truncations;
    if (m.has_snap() || (m.has_snap_chunk() && m.snap_chunk().offset() == 0))
        ++result_.snapshots_sent;
    if (m.has_snap_chunk()) count("snapshot chunks sent");
    if (m.has_new_epoch()) checker_.on_new_epoch_sent(from, m.new_epoch().epoch());
    if (m.has_ack_epoch() && m.ack_epoch().newly_accepted())
        checker_.on_ack_epoch_sent(from, to, m.ack_epoch().epoch());
    const Server& s = server(from);
    const Link& l = link(from, to);
    auto known = s.links.find(to);
    // A link this end believes down, or one that is gone already (it will
    // hear of that later): the frame goes nowhere.
    if (known == s.links.end() || !l.established || known->second != l.generation) return;
    put_on_wire(from, to, m);
}

void Simulation::put_on_wire(ServerId from, ServerId to, zab::pb::PeerMessage message) {
    Wire& w = wire(from, to);
    if (w.cut == Wire::Cut::kDrop) {
        count("messages dropped by silent partitions");
        return;
    }
    if (faults_on_ && now_ < w.lossy_until && chance(w.loss)) {
        count("messages lost on lossy links");
        return;
    }
    if (w.cut == Wire::Cut::kHold) {
        w.held.push_back(std::move(message));
        return;
    }
    int64_t delay =
        1 + static_cast<int64_t>(chance(mix_.slow_messages) ? rand(kMaxMessageDelay) : rand(30));
    bool long_delay = false;
    if (faults_on_ && w.next_long) {
        w.next_long = false;
        long_delay = true;
        delay = rand_between(kTickTime * kElectionTimeoutTicks * 3 / 2, kTickTime * 40);
        ++w.long_delayed;
        ++link(from, to).path_generation;
        count("messages delayed past the election timeout");
        trace(std::to_string(from) + " -> " + std::to_string(to) + ": a message is delayed " +
              std::to_string(delay) + " (and everything behind it)");
    }
    // FIFO: never earlier than the message before it.
    int64_t at = now_ + delay;
    if (!w.in_flight.empty()) at = std::max(at, w.in_flight.back().at);
    w.in_flight.push_back(Wire::InFlight{at, long_delay, std::move(message)});
    schedule(at, EventKind::kDeliver, from, to, link(from, to).generation);
}

void Simulation::deliver_message(ServerId from, ServerId to, uint64_t generation) {
    Link& l = link(from, to);
    if (!l.established || l.generation != generation) return;  // reset meanwhile: all lost
    if (!running(to)) {
        // Paused: the kernel keeps what arrives; the process reads it later.
        if (server(to).up)
            schedule(server(to).paused_until, EventKind::kDeliver, from, to, generation);
        return;
    }
    Wire& w = wire(from, to);
    // Everything due by now, in order (an event may find its message gone
    // with a cut, or taken by an earlier event).
    while (!w.in_flight.empty() && w.in_flight.front().at <= now_) {
        Wire::InFlight f = std::move(w.in_flight.front());
        w.in_flight.pop_front();
        if (f.long_delay) {
            --w.long_delayed;
            ++l.path_generation;
        }
        // The receiver may have been told the link is down already.
        const Server& r = server(to);
        auto known = r.links.find(from);
        if (known == r.links.end() || known->second != generation) continue;
        if (options_.trace)
            trace(std::to_string(from) + " -> " + std::to_string(to) + " " + describe(f.message));
        server(to).driver->on_message(from, f.message);
    }
}

std::string Simulation::describe(const zab::pb::PeerMessage& m) {
    std::string s = zab::pb::PeerMessage::descriptor()->FindFieldByNumber(m.body_case())->name();
    auto range = [](const auto& txns) {
        if (txns.empty()) return std::string(" (empty)");
        return " " + zab::from_pb(txns.begin()->zxid()).str() + ".." +
               zab::from_pb(txns.rbegin()->zxid()).str();
    };
    if (m.has_diff()) s += range(m.diff().txns());
    if (m.has_proposal()) s += range(m.proposal().txns());
    if (m.has_trunc()) s += " to " + zab::from_pb(m.trunc().to()).str();
    if (m.has_snap()) s += " at " + zab::from_pb(m.snap().zxid()).str();
    if (m.has_new_leader())
        s += " " + std::to_string(m.new_leader().epoch()) + " last " +
             zab::from_pb(m.new_leader().last_zxid()).str();
    if (m.has_new_epoch()) s += " " + std::to_string(m.new_epoch().epoch());
    if (m.has_commit()) s += " " + zab::from_pb(m.commit().zxid()).str();
    if (m.has_up_to_date()) s += " " + zab::from_pb(m.up_to_date().committed()).str();
    if (m.has_vote()) {
        const auto& v = m.vote();
        static const char* const kStates[] = {"looking", "following", "leading"};
        s += std::string(" ") + kStates[std::min<int>(v.state(), 2)] + " for " +
             std::to_string(v.leader()) + " (" + std::to_string(v.leader_current_epoch()) + ", " +
             zab::from_pb(v.leader_last_zxid()).str() + (v.take_over() ? ", take-over" : "") +
             ") round " + std::to_string(v.round()) + (v.voting() ? "" : ", not voting");
    }
    if (m.has_ack()) s += " " + zab::from_pb(m.ack().zxid()).str();
    if (m.has_ack_epoch()) {
        const auto& a = m.ack_epoch();
        s += " " + std::to_string(a.epoch()) + (a.newly_accepted() ? " new" : " again") +
             " current " + std::to_string(a.current_epoch()) + " last " +
             zab::from_pb(a.last_zxid()).str() + " base " + zab::from_pb(a.log_base()).str() +
             " ends";
        for (const auto& e : a.epoch_ends()) s += " " + zab::from_pb(e).str();
    }
    return s;
}

void Simulation::clear_wires(ServerId a, ServerId b) {
    for (auto [from, to] : {std::pair(a, b), std::pair(b, a)}) {
        Wire& w = wire(from, to);
        w.in_flight.clear();
        w.held.clear();
        w.long_delayed = 0;
    }
}

void Simulation::reset_connection(ServerId a, ServerId b, bool late_possible) {
    Link& l = link(a, b);
    if (!l.established) return;
    l.established = false;
    ++l.path_generation;
    clear_wires(a, b);
    // Each end hears of it on its own: soon (a reset, a closed socket), or
    // with late_possible sometimes only much later (a machine gone quiet,
    // found out by keepalive) — meanwhile it sends into the void.
    for (auto [end, other] : {std::pair(a, b), std::pair(b, a)}) {
        const Server& s = server(end);
        auto known = s.links.find(other);
        if (!s.up || known == s.links.end() || known->second != l.generation) continue;
        int64_t delay = 1 + static_cast<int64_t>(rand(30));
        if (late_possible && chance(mix_.late_reset)) {
            delay = rand_between(3 * kTickTime, 40 * kTickTime);
            count("connection resets noticed late");
        }
        schedule(now_ + delay, EventKind::kNotifyDown, end, other, l.generation);
    }
}

void Simulation::notify_down(ServerId end, ServerId peer, uint64_t generation) {
    Server& s = server(end);
    if (!s.up) return;
    if (!running(end)) {
        schedule(s.paused_until, EventKind::kNotifyDown, end, peer, generation);
        return;
    }
    auto known = s.links.find(peer);
    if (known == s.links.end() || known->second != generation) return;
    s.links.erase(known);
    trace(name(end) + ": the link to " + std::to_string(peer) + " is down");
    s.driver->on_disconnected(peer);
    if (end < peer) schedule_dial(end, peer, rand_between(50, 350));  // the lower id dials
}

void Simulation::schedule_dial(ServerId a, ServerId b, int64_t delay) {
    const auto [dialer, acceptor] = std::minmax(a, b);
    Link& l = link(dialer, acceptor);
    if (l.dial_scheduled) return;
    l.dial_scheduled = true;
    schedule(now_ + delay, EventKind::kDial, dialer, acceptor);
}

void Simulation::dial(ServerId a, ServerId b) {
    Link& l = link(a, b);
    l.dial_scheduled = false;
    Server& sa = server(a);
    Server& sb = server(b);
    if (!sa.up) return;  // it dials again when it starts
    auto known = sa.links.find(b);
    if (known != sa.links.end() && l.established && known->second == l.generation) return;
    if (!running(a) || !running(b) || cut_either_way(a, b)) {
        schedule_dial(a, b, rand_between(100, 500));  // the dialer's backoff
        return;
    }
    // A new connection. An end that still believes in an older one hears of
    // its end first, as the runtime's Transport replaces a link.
    if (l.established) reset_connection(a, b, false);
    l.established = true;
    ++l.generation;
    ++l.path_generation;
    clear_wires(a, b);
    const uint64_t g = l.generation;
    for (auto [end, other] : {std::pair(a, b), std::pair(b, a)}) {
        Server& s = server(end);
        if (s.links.erase(other)) s.driver->on_disconnected(other);
    }
    if (!sa.up || !sb.up || !l.established || l.generation != g) return;
    sa.links[b] = g;
    sb.links[a] = g;
    trace("link " + std::to_string(a) + "-" + std::to_string(b) + " is up");
    sa.driver->on_connected(b);
    if (sb.up && sb.links.count(a) && sb.links[a] == g) sb.driver->on_connected(a);
}

void Simulation::cut(ServerId from, ServerId to, Wire::Cut how) {
    Wire& w = wire(from, to);
    if (w.cut == how) return;
    if (how == Wire::Cut::kDrop) {
        count("messages dropped by silent partitions", w.in_flight.size());
        w.in_flight.clear();
    } else if (how == Wire::Cut::kHold) {
        std::deque<zab::pb::PeerMessage> moved;
        for (Wire::InFlight& f : w.in_flight) moved.push_back(std::move(f.message));
        for (zab::pb::PeerMessage& m : w.held) moved.push_back(std::move(m));
        w.held = std::move(moved);
        w.in_flight.clear();
    }
    w.long_delayed = 0;
    w.cut = how;
    ++link(from, to).path_generation;
}

void Simulation::heal_partition(bool at_end) {
    if (!partitioned_) return;
    partitioned_ = false;
    trace("partition heals");
    std::set<std::pair<ServerId, ServerId>> healed;
    for (auto& [dir, w] : wires_) {
        if (w.cut == Wire::Cut::kNone) continue;
        w.cut = Wire::Cut::kNone;
        ++link(dir.first, dir.second).path_generation;
        std::deque<zab::pb::PeerMessage> held = std::move(w.held);
        w.held.clear();
        // TCP delivers what it held (retransmitted), in order.
        for (zab::pb::PeerMessage& m : held) put_on_wire(dir.first, dir.second, std::move(m));
        healed.insert(std::minmax(dir.first, dir.second));
    }
    for (const auto& [a, b] : healed) {
        if (!at_end && chance(mix_.reset_at_heal)) {
            count("connections reset at a heal");
            reset_connection(a, b, true);
        }
        schedule_dial(a, b, rand_between(1, 100));
    }
}

void Simulation::reconfig_action() {
    if (options_.forwarded_changes && chance(0.5)) {
        // Asked of a follower or observer, from its own view of the
        // membership: forwarded, judged by the leader (a view the leader
        // has moved past is refused), the outcome told back.
        std::vector<Server*> askers;
        for (Server& s : servers_) {
            if (s.up && running(s.id) && s.driver->core().role() == zab::Role::kFollowing &&
                s.driver->core().serving())
                askers.push_back(&s);
        }
        if (askers.empty()) return;
        Server& s = *askers[rand(askers.size())];
        count("membership changes asked of a follower or observer");
        propose_change(s, s.driver->core().membership());
        return;
    }
    for (Server& s : servers_) {
        if (!s.up || !running(s.id)) continue;
        const zab::Core& c = s.driver->core();
        if (c.role() != zab::Role::kLeading || !c.serving()) continue;
        // Now and then a second change right behind the first, built on it:
        // R3 refuses it while the first is uncommitted (config-two-at-once
        // lets it through).
        const zab::Membership old = c.membership();
        zab::Membership base = old;
        const int changes = chance(0.3) ? 2 : 1;
        for (int i = 0; i < changes; ++i) {
            std::optional<zab::Membership> next = propose_change(s, base);
            if (!next) break;
            base = std::move(*next);
        }
        if (base.same_servers(old) || !chance(0.25)) return;
        // Before the change reaches anyone: the old voters but the leader
        // cut off from the leader and the rest, silently. The old majority
        // may elect among itself; the new voters with the leader must not
        // be able to decide anything it cannot see (R2, R3).
        heal_partition(false);
        std::set<ServerId> side1;
        for (const auto& [id, address] : old.voters)
            if (id != s.id) side1.insert(id);
        partitioned_ = true;
        count("partitions between the old and new voters");
        trace("partition: the old voters but the leader cut off as the change goes out, silent");
        for (ServerId x : side1) {
            for (ServerId y : members_) {
                if (side1.count(y)) continue;
                cut(x, y, Wire::Cut::kDrop);
                cut(y, x, Wire::Cut::kDrop);
            }
        }
        return;
    }
}

void Simulation::transfer_action() {
    std::vector<Server*> askers;
    for (Server& s : servers_)
        if (s.up && running(s.id)) askers.push_back(&s);
    if (askers.empty()) return;
    Server& s = *askers[rand(askers.size())];
    // A random member (an observer, the leader itself or a server that is
    // down: refused), or whomever the leader picks.
    const ServerId target = chance(0.4) ? 0 : members_[rand(members_.size())];
    const ServerId asker = s.id;
    const bool leads = s.driver->core().role() == zab::Role::kLeading;
    auto chosen = std::make_shared<ServerId>(0);  // known when the leader is asked
    const Status st = s.driver->transfer_leadership(
        target, [this, asker, target, chosen](Status done, zab::Completion) {
            if (done.is_ok() && *chosen != 0) handed_to_ = *chosen;
            count(done.is_ok() ? "transfers handed over" : "transfers not made");
            trace(name(asker) + "'s transfer to " + (target ? name(target) : "any") + ": " +
                  done.str());
        });
    count(st.is_ok() ? "transfers asked" : "transfers refused");
    trace(name(asker) + " asks for a transfer to " + (target ? name(target) : "any") +
          (st.is_ok() ? "" : " — refused: " + st.str()));
    if (st.is_ok() && leads) *chosen = s.driver->core().transferring_to();
}

std::optional<zab::Membership> Simulation::propose_change(Server& s, const zab::Membership& from) {
    zab::Membership next = from;
    std::vector<ServerId> voters, observers, absent;
    for (const auto& [id, address] : next.voters)
        if (id != s.id) voters.push_back(id);
    for (const auto& [id, address] : next.observers) observers.push_back(id);
    for (ServerId id : members_)
        if (!next.contains(id)) absent.push_back(id);
    auto pick = [&](const std::vector<ServerId>& ids) { return ids[rand(ids.size())]; };
    // The sim's servers keep the address the core gives them at bootstrap.
    auto address = [](ServerId id) { return "server-" + std::to_string(id); };
    auto move = [&](ServerId id, bool promote) {
        auto& source = promote ? next.observers : next.voters;
        (promote ? next.voters : next.observers)[id] = source[id];
        source.erase(id);
        return (promote ? "promote " : "demote ") + name(id);
    };
    auto remove_voter = [&](ServerId id) {
        next.voters.erase(id);
        return "remove voter " + name(id);
    };
    auto remove_observer = [&](ServerId id) {
        next.observers.erase(id);
        return "remove observer " + name(id);
    };
    auto add_observer = [&](ServerId id) {
        next.observers[id] = address(id);
        return "add " + name(id) + " as an observer";
    };
    // Down to the leader alone: the wipe rule counts each membership's own
    // quorum, so a small one is no licence to lose a committed write.
    const bool may_shrink = !voters.empty();
    std::string what;
    const uint64_t kind = rand(100);
    if (kind < 12 && !observers.empty() && !voters.empty()) {
        // Two voters in one step: R2 refuses it (config-two-voters lets it through).
        what = move(pick(observers), true) + " and " + move(pick(voters), false);
    } else if (kind < 40 && !observers.empty()) {
        what = move(pick(observers), true);
    } else if (kind < 55 && may_shrink) {
        what = move(pick(voters), false);
    } else if (kind < 67 && may_shrink) {
        // Straight out, not through the observers: a removed server still
        // follows (known_servers_ only grows) and may be added back.
        what = remove_voter(pick(voters));
    } else if (kind < 79 && !observers.empty()) {
        what = remove_observer(pick(observers));
    } else if (kind < 91 && !absent.empty()) {
        what = add_observer(pick(absent));
    } else if (!observers.empty()) {
        what = move(pick(observers), true);
    } else if (!absent.empty()) {
        what = add_observer(pick(absent));
    } else {
        return std::nullopt;
    }
    // No change whose voters holding history make no quorum of it: a voter
    // wiped a moment ago, which the leader has not noticed yet, would stop
    // the ensemble for good, and the wipe rule grants no such second fault
    // (docs/protocol.md, "Reconfiguration": a two-voter membership whose
    // other voter lost its disk cannot elect).
    size_t holding = 0;
    for (const auto& [id, address] : next.voters)
        if (holds_history(server(id))) ++holding;
    if (holding < next.quorum()) {
        count("membership changes not made: a new voter lost its disk");
        return std::nullopt;
    }
    const ServerId leader = s.id;
    const uint64_t number = ++changes_proposed_;
    checker_.on_submit(s.driver->next_request_id(), next.encode());  // for integrity
    const Status st =
        s.driver->reconfigure(next, [this, leader, what, number](Status done, zab::Completion) {
            if (done.is_ok())
                unsettled_changes_.erase(unsettled_changes_.begin(),
                                         unsettled_changes_.upper_bound(number));
            count(done.is_ok() ? "membership changes committed"
                               : "membership changes left indeterminate");
            trace(name(leader) + "'s change (" + what + "): " + done.str());
        });
    count(st.is_ok() ? "membership changes proposed" : "membership changes refused");
    trace(name(s.id) + " proposes: " + what + (st.is_ok() ? "" : " — refused: " + st.str()));
    if (!st.is_ok()) return std::nullopt;
    std::set<ServerId>& proposed = unsettled_changes_[number];
    for (const auto& [id, address] : next.voters) proposed.insert(id);
    return next;
}

std::vector<std::set<ServerId>> Simulation::voter_sets_in_play() {
    std::vector<std::set<ServerId>> sets;
    auto voters_of = [](const zab::Membership& m) {
        std::set<ServerId> voters;
        for (const auto& [v, address] : m.voters) voters.insert(v);
        return voters;
    };
    for (Server& o : servers_) {
        storage::MemoryLog& log = o.disk.log;  // read() is not const
        if (std::optional<storage::StoredMembership> stored = log.membership()) {
            Result<zab::Membership> m = zab::Membership::decode(stored->version, stored->record);
            CHORUS_ASSERT(m.is_ok(), "a stored membership that does not decode");
            sets.push_back(voters_of(m.value()));
        } else {
            sets.emplace_back(voters_.begin(), voters_.end());  // the bootstrap's
        }
        auto entries = log.read(log.base().next(), Zxid{UINT64_MAX, UINT64_MAX});
        for (const storage::Entry& e : entries.value()) {
            if (e.type != zab::kConfigTxnType) continue;
            zab::Txn txn;
            zab::decode_txn_payload(e.zxid, e.type, e.payload, &txn);
            Result<zab::Membership> m = zab::Membership::decode(e.zxid, txn.data);
            CHORUS_ASSERT(m.is_ok(), "a CONFIG on a disk that does not decode");
            sets.push_back(voters_of(m.value()));
        }
        if (o.up) sets.push_back(voters_of(o.driver->core().membership()));
    }
    for (const auto& [number, voters] : unsettled_changes_) sets.push_back(voters);
    return sets;
}

bool Simulation::quorums_left_without(ServerId id,
                                      const std::function<bool(const Server&)>& counts) {
    for (const std::set<ServerId>& voters : voter_sets_in_play()) {
        size_t left = 0;
        for (ServerId v : voters)
            if (v != id && counts(server(v))) ++left;
        if (left < voters.size() / 2 + 1) return false;
    }
    return true;
}

bool Simulation::wipe_leaves_quorums(ServerId id) {
    bool history_anywhere = false;
    for (const Server& o : servers_) {
        const storage::MemoryLog& log = o.disk.log;
        if (o.id != id && (log.current_epoch() > 0 || !log.last_zxid().is_zero()))
            history_anywhere = true;
    }
    // No history anywhere: a new ensemble may start again, but with one
    // wiped server at a time (two of three, not bootstrapping, would never
    // vote again, and nobody could sync them).
    if (!history_anywhere) {
        for (const Server& o : servers_)
            if (o.id != id && o.wiped) return false;
        return true;
    }
    return quorums_left_without(id, [this](const Server& o) { return holds_history(o); });
}

bool Simulation::holds_history(const Server& o) const {
    const storage::MemoryLog& log = o.disk.log;
    if (o.wiped) return false;
    return log.current_epoch() > 0 ||
           (!log.joined_ensemble() && (log.accepted_epoch() > 0 || log.original_member()));
}

void Simulation::partition_action() {
    heal_partition(false);  // one partition at a time
    const size_t n = members_.size();
    std::vector<ServerId> order = members_;
    std::shuffle(order.begin(), order.end(), rng_);
    std::set<ServerId> side1, side2;
    std::string shape;
    const uint64_t kind = rand(100);
    if (kind < 35) {
        side1 = {order[0]};
        side2.insert(order.begin() + 1, order.end());
        shape = "server " + std::to_string(order[0]) + " isolated";
    } else if (kind < 70) {
        // A minority (or sometimes a majority) cut off from the rest.
        const size_t size = 1 + rand(n / 2 + (chance(0.3) ? 1 : 0));
        side1.insert(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(size));
        side2.insert(order.begin() + static_cast<std::ptrdiff_t>(size), order.end());
        shape = std::to_string(size) + " of " + std::to_string(n) + " cut off";
    } else {
        // A bridge: order[0] sees both halves; the halves do not see each other.
        const size_t half = 1 + rand((n - 1) / 2);
        side1.insert(order.begin() + 1, order.begin() + 1 + static_cast<std::ptrdiff_t>(half));
        side2.insert(order.begin() + 1 + static_cast<std::ptrdiff_t>(half), order.end());
        shape = "a bridge through server " + std::to_string(order[0]);
        count("bridge partitions");
    }
    if (side2.empty()) return;
    const bool one_way = chance(mix_.one_way);
    const bool forward_only = chance(0.5);
    const bool silent = chance(mix_.silent);
    const Wire::Cut how = silent && chance(mix_.hold) ? Wire::Cut::kHold : Wire::Cut::kDrop;
    partitioned_ = true;
    count(silent ? "silent partitions" : "announced partitions");
    if (one_way) count("one-way partitions");
    trace("partition: " + shape + (one_way ? ", one way" : "") +
          (silent ? (how == Wire::Cut::kHold ? ", silent, held" : ", silent, dropped")
                  : ", connections reset"));
    for (ServerId x : side1) {
        const Server& s = server(x);
        if (s.up && s.driver->core().serving() && s.driver->core().role() == zab::Role::kLeading &&
            side1.size() * 2 < n && kind < 70) {
            ++result_.leaders_cut_off;
        }
    }
    for (ServerId x : side1) {
        for (ServerId y : side2) {
            if (!one_way || forward_only) cut(x, y, how);
            if (!one_way || !forward_only) cut(y, x, how);
            if (!silent) reset_connection(x, y, false);
        }
    }
    if (silent && chance(0.3)) {
        // Found out later by keepalive, if it is still there by then.
        schedule(now_ + rand_between(10, 60) * kTickTime, EventKind::kKeepaliveReset);
    }
}

// ---- Disks ----------------------------------------------------------------

void Simulation::disk_write(ServerId id, runtime::StorageJob job) {
    server(id).disk.queued.push_back(std::move(job));
    start_disk(id);
}

void Simulation::start_disk(ServerId id) {
    Disk& d = server(id).disk;
    if (!d.writing.empty() || d.queued.empty()) return;
    while (!d.queued.empty()) {  // group commit: everything queued goes in one sync
        d.writing.push_back(std::move(d.queued.front()));
        d.queued.pop_front();
    }
    int64_t latency = 5 + static_cast<int64_t>(chance(0.03) ? rand(400) : rand(60));
    if (now_ < d.slow_until) latency *= rand_between(5, 20);
    schedule(std::max(now_ + latency, d.stuck_until), EventKind::kDiskDone, id, 0, d.generation);
}

void Simulation::apply_write(Server& s, const zab::Write& write, size_t torn_entries) {
    Status st;
    storage::MemoryLog& log = s.disk.log;
    if (const auto* w = std::get_if<zab::SetAcceptedEpoch>(&write)) {
        st = log.set_accepted_epoch(w->epoch);
    } else if (const auto* w = std::get_if<zab::SetCurrentEpoch>(&write)) {
        st = log.set_current_epoch(w->epoch);
    } else if (const auto* w = std::get_if<zab::AppendTxns>(&write)) {
        std::vector<storage::Entry> entries;
        for (const zab::Txn& txn : w->txns) {
            if (entries.size() >= torn_entries) break;
            entries.push_back(storage::Entry{txn.zxid, txn.type, zab::encode_txn_payload(txn)});
        }
        st = log.append(entries);
    } else if (const auto* w = std::get_if<zab::TruncateAfter>(&write)) {
        st = log.truncate_after(w->zxid);
    } else if (const auto* w = std::get_if<zab::InstallSnapshot>(&write)) {
        // As the StorageWorker does: the newest snapshot file stays.
        if (!s.disk.snapshot || s.disk.snapshot->zxid < w->zxid)
            s.disk.snapshot = Snapshot{w->zxid, w->data};
        st = log.reset_to(w->zxid);
    } else if (const auto* w = std::get_if<zab::CompactThrough>(&write)) {
        st = log.compact_through(w->zxid);
    } else if (std::holds_alternative<zab::MarkJoinedEnsemble>(write)) {
        st = log.set_joined_ensemble();
    } else if (std::holds_alternative<zab::MarkOriginalMember>(write)) {
        st = log.set_original_member();
    } else if (const auto* w = std::get_if<zab::SetMembership>(&write)) {
        st = log.set_membership(storage::StoredMembership{w->version, w->record});
    }
    if (!st.is_ok()) fail("storage of " + name(s.id) + " refused a write: " + st.str());
}

void Simulation::disk_done(ServerId id, uint64_t generation) {
    Server& s = server(id);
    Disk& d = s.disk;
    if (!s.up || generation != d.generation || d.writing.empty()) return;
    if (now_ < d.stuck_until) {
        schedule(d.stuck_until, EventKind::kDiskDone, id, 0, generation);
        return;
    }
    if (!running(id)) {
        schedule(s.paused_until, EventKind::kDiskDone, id, 0, generation);
        return;
    }
    if (d.fail_next_sync) {
        // fsync failed: what it covered may or may not be on the disk, and
        // carrying on would be lying. Fatal: crash, recover from the disk.
        count("fsync failures");
        crash_server(id, "fsync failed");
        schedule(now_ + kTickTime * rand_between(2, 20), EventKind::kRestart, id);
        return;
    }
    std::vector<runtime::StorageJob> done = std::move(d.writing);
    d.writing.clear();
    for (runtime::StorageJob& job : done) {
        for (const zab::Write& w : job.writes) apply_write(s, w);
        if (job.save_snapshot) {
            const auto& snap = *job.save_snapshot;
            if (!d.snapshot || d.snapshot->zxid < snap.zxid)
                d.snapshot = Snapshot{snap.zxid, *snap.data};
        }
    }
    // Before the callbacks: what they let the core count is on the disk now.
    witness_.on_durable(id, d.log.current_epoch(), d.log.last_zxid());
    const uint64_t incarnation = s.incarnation;
    for (runtime::StorageJob& job : done) {
        if (!s.up || s.incarnation != incarnation) return;
        if (job.done) job.done();
    }
    start_disk(id);
}

void Simulation::run_later(ServerId id, uint64_t incarnation, int64_t at,
                           std::function<void()> fn) {
    const uint64_t token = next_token_++;
    runs_[token] = std::move(fn);
    schedule(at, EventKind::kRun, id, 0, incarnation, token);
}

// ---- Faults ---------------------------------------------------------------

void Simulation::fault_action() {
    const int weights[] = {mix_.crash,      mix_.partition, mix_.heal,       mix_.reset,
                           mix_.pause,      mix_.slow_disk, mix_.stuck_disk, mix_.fsync_failure,
                           mix_.long_delay, mix_.lossy_link};
    int total = 0;
    for (int w : weights) total += w;
    if (total == 0) return;
    int pick = static_cast<int>(rand(static_cast<uint64_t>(total)));
    size_t kind = 0;
    while (pick >= weights[kind]) pick -= weights[kind++];
    const ServerId id = random_member();
    Server& s = server(id);
    switch (kind) {
        case 0: {  // crash, sometimes two at once, sometimes with a wiped disk
            if (!s.up) return;
            std::vector<ServerId> crashed = {id};
            if (chance(mix_.two_crashes)) {
                const ServerId other = random_member();
                if (other != id && server(other).up) crashed.push_back(other);
            }
            for (ServerId c : crashed) {
                crash_server(c, "crash");
                schedule(now_ + kTickTime * rand_between(2, 31), EventKind::kRestart, c);
            }
            // A disk is wiped only while every membership found on any disk
            // keeps a quorum of its voters, the wiped one aside, that hold
            // their history: a committed write is on a quorum of the
            // membership that committed it, and no protocol keeps what every
            // copy lost. A server wiped before, and not yet synced by a
            // leader, holds nothing; nor does one never synced and marked
            // joined (it counts as failed). Any server may be the one: also
            // one that accepted an epoch and was never synced, or one whose
            // peers hold no history yet (the review of issue 13 found a lost
            // write there that the narrower model of 0de384e, wiping only
            // while every other server held history, never made). Or none
            // holds history yet, and a new ensemble may start again.
            for (Server& o : servers_)
                if (o.wiped && o.disk.log.current_epoch() > 0) o.wiped = false;
            const bool quorum_left = wipe_leaves_quorums(id);
            if (quorum_left && chance(mix_.wipe)) {
                s.disk.log = storage::MemoryLog{};
                s.disk.snapshot.reset();
                s.wiped = true;
                // A wiped server is not bootstrapping an ensemble — but now
                // and then an operator restarts it with --bootstrap all the
                // same (it must notice, and not vote).
                s.bootstrap = chance(0.3);
                checker_.on_disk_wiped(id);
                count(s.bootstrap ? "disks wiped, restarted with bootstrap by mistake"
                                  : "disks wiped");
                trace(name(id) + " loses its disk" +
                      (s.bootstrap ? " (and will restart with bootstrap)" : ""));
            }
            return;
        }
        case 1:
            partition_action();
            return;
        case 2:
            heal_partition(false);
            return;
        case 3: {
            const ServerId other = random_member();
            if (other == id) return;
            count("connection resets");
            trace("the connection " + std::to_string(id) + "-" + std::to_string(other) + " breaks");
            reset_connection(id, other, true);
            return;
        }
        case 4: {  // SIGSTOP, then SIGCONT: sometimes past the election timeout
            if (!s.up || !running(id)) return;
            s.paused_until = now_ + kTickTime * rand_between(2, 40);
            if (workload_) workload_->paused(id, s.paused_until);
            count("pauses");
            if (s.paused_until - now_ > kTickTime * kElectionTimeoutTicks)
                count("pauses past the election timeout");
            trace(name(id) + " pauses until " + std::to_string(s.paused_until) +
                  (s.driver->core().role() == zab::Role::kLeading ? " (leading)" : ""));
            return;
        }
        case 5:
            if (!s.up) return;
            s.disk.slow_until = now_ + kTickTime * rand_between(5, 40);
            count("slow disk periods");
            trace(name(id) + "'s disk is slow until " + std::to_string(s.disk.slow_until));
            return;
        case 6:
            if (!s.up) return;
            s.disk.stuck_until = now_ + kTickTime * rand_between(5, 50);
            count("stuck disk periods");
            trace(name(id) + "'s disk is stuck until " + std::to_string(s.disk.stuck_until) +
                  (s.driver->core().role() == zab::Role::kLeading ? " (leading)" : ""));
            return;
        case 7:
            if (!s.up) return;
            s.disk.fail_next_sync = true;
            return;
        case 8: {
            const ServerId other = random_member();
            if (other != id) wire(id, other).next_long = true;
            return;
        }
        case 9: {  // a flaky path, one way or both, for a while
            const ServerId other = random_member();
            if (other == id) return;
            const int64_t until = now_ + kTickTime * rand_between(2, 30);
            const double loss = static_cast<double>(rand_between(5, 60)) / 100;
            for (auto [from, to] : {std::pair(id, other), std::pair(other, id)}) {
                if (from == other && chance(0.5)) continue;
                wire(from, to).lossy_until = until;
                wire(from, to).loss = loss;
                ++link(from, to).path_generation;
            }
            count("lossy link periods");
            trace("the path " + std::to_string(id) + "-" + std::to_string(other) + " loses " +
                  std::to_string(static_cast<int>(loss * 100)) + "% of messages until " +
                  std::to_string(until));
            return;
        }
    }
}

void Simulation::heal_everything() {
    faults_on_ = false;
    trace("faults stop: everything heals");
    heal_partition(true);
    for (auto& [dir, w] : wires_) w.next_long = false;
    // Perhaps one disk stays stuck: the others must carry on without it
    // (the leader's, if there is one: it must give way).
    // Only while every other server holds an established history: with one
    // disk stuck and another wiped, no quorum of voters is left, and that is
    // no fault of the protocol.
    ServerId sick = 0;
    if (chance(mix_.sick_at_end)) {
        sick = random_member();
        for (const Server& s : servers_) {
            if (s.up && s.driver->core().role() == zab::Role::kLeading) sick = s.id;
        }
        for (const Server& s : servers_) {
            if (s.id != sick && s.disk.log.current_epoch() == 0) sick = 0;
        }
        // Nor when it is needed for a quorum of some membership that may
        // still be in force (one or two voters: then a stuck disk stops
        // writes, as it must).
        if (sick != 0 && !quorums_left_without(sick, [](const Server&) { return true; })) sick = 0;
    }
    for (Server& s : servers_) {
        s.disk.slow_until = 0;
        s.disk.stuck_until = 0;
        s.disk.fail_next_sync = false;
        if (!s.up) start_server(s.id);
        if (s.id == sick) {
            s.sick = true;
            s.disk.stuck_until = kNever;
            count("liveness phases with a stuck disk");
            trace(name(s.id) + "'s disk stays stuck to the end");
        }
    }
    for (ServerId a : members_) {
        for (ServerId b : members_) {
            if (a < b) schedule_dial(a, b, rand_between(1, 50));
        }
    }
}

// ---- Clients ----------------------------------------------------------------

void Simulation::client_action() {
    std::vector<ServerId> up;
    for (const Server& s : servers_) {
        if (running(s.id)) up.push_back(s.id);
    }
    if (up.empty()) return;
    const ServerId id = up[rand(up.size())];
    runtime::Driver& driver = *server(id).driver;
    if (chance(0.1)) {
        const Zxid floor = checker_.sync_floor();
        (void)driver.sync([this, id, floor](Status st, Zxid) {
            if (st.is_ok())
                checker_.on_sync_done(id, floor, server(id).driver->core().delivered_zxid());
        });
        return;
    }
    zab::Request request;
    request.type = chance(0.1) ? 2 : 1;
    request.data = "r" + std::to_string(next_token_++);
    checker_.on_submit(driver.next_request_id(), request.data);
    (void)driver.submit(request, [this, id](Status st, zab::Completion c) {
        if (!st.is_ok() || c.outcome != zab::Completion::Outcome::kCommitted) return;
        checker_.on_ack(id, c.request_id, c.zxid);
        if (!faults_on_) ++acked_after_faults_;
    });
}

Status Simulation::submit(ServerId id, zab::Request& request) {
    if (!running(id)) return Status(Code::kNotLeader, name(id) + " is down or paused");
    runtime::Driver& driver = *server(id).driver;
    checker_.on_submit(driver.next_request_id(), request.data);
    uint64_t assigned = 0;
    Status st = driver.submit(
        request,
        [this, id](Status s, zab::Completion c) {
            if (!s.is_ok()) return;
            if (c.outcome == zab::Completion::Outcome::kCommitted) {
                checker_.on_ack(id, c.request_id, c.zxid);
                if (!faults_on_) ++acked_after_faults_;
            }
            if (workload_) workload_->completed(id, c);
        },
        &assigned);
    request.id = assigned;
    return st;
}

void Simulation::register_client_action(RegisterClient& c) {
    const uint64_t slot = static_cast<uint64_t>(&c - register_clients_.data());
    if (c.busy) {
        const Server& s = server(c.server);
        const bool gone = !s.up || s.incarnation != c.incarnation;
        if (!gone && now_ < c.deadline) {
            schedule(c.deadline, EventKind::kRegisterClient, 0, 0, 0, slot);
            return;
        }
        // No answer: a write stays indeterminate, a read never happened.
        if (c.is_read) history_.forget(c.handle);
        if (!c.is_read) count("register writes left indeterminate");
        c.busy = false;
        ++c.op_token;
    }
    if (now_ >= quiet_time_) return;
    std::vector<ServerId> up;
    for (const Server& s : servers_) {
        if (running(s.id)) up.push_back(s.id);
    }
    if (up.empty()) {
        schedule(now_ + 50, EventKind::kRegisterClient, 0, 0, 0, slot);
        return;
    }
    c.server = up[rand(up.size())];
    c.incarnation = server(c.server).incarnation;
    static const char* const kKeys[] = {"a", "b", "c"};
    c.key = kKeys[rand(1 + c.id % 3)];
    c.is_read = chance(0.5);
    const uint64_t token = ++c.op_token;
    runtime::Driver& driver = *server(c.server).driver;
    Status st;
    if (c.is_read) {
        c.handle = history_.invoke(c.key, c.id, RegisterOp::Kind::kRead, "", now_);
        const ServerId at = c.server;
        st = driver.sync([this, slot, token, at](Status s, Zxid) {
            // What this replica holds now, when the barrier completes here.
            RegisterClient& rc = register_clients_[slot];
            if (token != rc.op_token) return;  // given up on
            const std::string value = s.is_ok() ? server(at).app->read(rc.key) : "";
            register_op_done(rc, token, s.is_ok(), !s.is_ok(), value);
        });
    } else {
        const std::string value = "c" + std::to_string(c.id) + "." + std::to_string(c.next_value++);
        zab::Request request;
        request.type = 1;
        request.data = "k" + c.key + "=" + value;
        checker_.on_submit(driver.next_request_id(), request.data);
        c.handle = history_.invoke(c.key, c.id, RegisterOp::Kind::kWrite, value, now_);
        st = driver.submit(request, [this, slot, token](Status s, zab::Completion) {
            // An error after the request was taken: it may or may not have
            // been applied — indeterminate.
            register_op_done(register_clients_[slot], token, s.is_ok(), false, "");
        });
    }
    if (!st.is_ok()) {
        history_.forget(c.handle);  // refused before it was sent: no effect
        schedule(now_ + rand_between(20, 100), EventKind::kRegisterClient, 0, 0, 0, slot);
        return;
    }
    c.busy = true;
    c.deadline = now_ + 30 * kTickTime;
    schedule(c.deadline, EventKind::kRegisterClient, 0, 0, 0, slot);
}

void Simulation::register_op_done(RegisterClient& c, uint64_t token, bool completed, bool forget,
                                  const std::string& value) {
    if (!c.busy || token != c.op_token) return;
    if (completed) {
        history_.complete(c.handle, now_, value);
    } else if (forget) {
        history_.forget(c.handle);
    } else {
        count("register writes left indeterminate");
    }
    c.busy = false;
    ++c.op_token;
    const uint64_t slot = static_cast<uint64_t>(&c - register_clients_.data());
    schedule(now_ + rand_between(10, 200), EventKind::kRegisterClient, 0, 0, 0, slot);
}

// ---- Checks -------------------------------------------------------------------

void Simulation::collect_stats(const Server& s) {
    const zab::CoreStats& st = s.driver->core().stats();
    count("messages dropped as impossible", st.dropped_messages);
    count("TRUNCs refused", st.refused_truncs);
    count("leaders stepping down for a stuck disk", st.disk_step_downs);
    count("Readys cut short by the yield", s.driver->stats().yields);
}

void Simulation::check_servers() {
    for (const Server& s : servers_) {
        if (!s.up) continue;
        witness_commit(s);
        if (s.driver->core().stats().diff_restarts > 0) {
            fail(name(s.id) +
                 ": a compaction overtook a DIFF under way (the sync had to start over "
                 "from a snapshot)");
        }
    }
}

// A leader's commit point in its own epoch is durable on a quorum of the
// voters of the membership it counts with (the commit quorum check). One
// event may commit under the membership it began with and then propose a
// CONFIG (R1: in force at once), so the one at the event's start counts too.
void Simulation::witness_commit(const Server& s) {
    const zab::Core& c = s.driver->core();
    const std::pair key(s.id, s.incarnation);
    if (c.role() != zab::Role::kLeading || !c.serving()) {
        leader_watch_.erase(key);
        return;
    }
    const uint64_t epoch = c.current_epoch();
    const Zxid committed = c.committed_zxid();
    const zab::Membership& now = c.membership();
    auto [it, fresh] = leader_watch_.try_emplace(key, LeaderWatch{committed, now});
    LeaderWatch& w = it->second;
    if (!fresh && committed > w.commit && committed.epoch == epoch) {
        // (The initial history is checked at NEWLEADER: on_role_changed.)
        std::string missing = witness_.check(now, epoch, committed);
        if (!missing.empty() && w.counted.version != now.version &&
            witness_.check(w.counted, epoch, committed).empty()) {
            missing.clear();
        }
        if (!missing.empty())
            fail("commit quorum: " + name(s.id) + " committed up to " + committed.str() + ", but " +
                 missing);
    }
    w.commit = std::max(w.commit, committed);
    if (w.counted.version != now.version) w.counted = now;
}

void Simulation::check_end() {
    // Liveness: the healed ensemble serves, acknowledged new writes, and
    // every server (but one whose disk stayed stuck) has delivered all of G.
    const Zxid all = checker_.committed_max();
    for (const Server& s : servers_) {
        if (s.sick) continue;
        const zab::Core& c = s.driver->core();
        if (!c.serving() || c.delivered_zxid() != all) {
            for (const Server& o : servers_) {  // what each holds, for the trace
                const zab::Core& oc = o.driver->core();
                trace(name(o.id) + ": " + zab::role_name(oc.role()) + ", currentEpoch " +
                      std::to_string(oc.current_epoch()) + ", last zxid " + oc.last_zxid().str() +
                      (oc.voting() ? "" : ", not voting") + ", membership " +
                      oc.membership().version.str() + " (" + oc.membership().str() + ")");
            }
            fail("liveness: " + std::to_string(options_.liveness_ticks) +
                 " ticks after the faults stopped, " + name(s.id) + " is " +
                 zab::role_name(c.role()) + (c.serving() ? " (serving)" : "") +
                 " and has delivered up to " + c.delivered_zxid().str() + " of " + all.str());
            return;
        }
    }
    if (acked_after_faults_ == 0) {
        fail("liveness: no request was acknowledged after the faults stopped");
        return;
    }
    if (!workload_) {
        const LinearizabilityResult lin = history_.check();
        count("register operations checked", history_.size());
        if (lin.verdict == LinearizabilityResult::Verdict::kNotLinearizable) {
            fail("linearizability: " + lin.explanation);
        } else if (lin.verdict == LinearizabilityResult::Verdict::kTooBig) {
            count("register histories too big to check");
        }
    }
}

SimResult Simulation::run() {
    servers_.resize(members_.size());
    mix_ = choose_mix();
    result_.fault_mix = mix_.describe();
    // Drawn only when asked for: every other run keeps its random stream.
    if (options_.reconfig && options_.forwarded_changes) {
        const uint64_t bounds[] = {0, 2, 20};
        promote_max_lag_txns_ = bounds[rand(3)];
        result_.fault_mix += " r8=" + std::to_string(promote_max_lag_txns_);
    }
    for (size_t i = 0; i < servers_.size(); ++i) {
        servers_[i].id = members_[i];
        if (mix_.tick_skew)
            servers_[i].tick_period = rand_between(kTickTime * 4 / 5, kTickTime * 5 / 4);
        max_tick_period_ = std::max(max_tick_period_, servers_[i].tick_period);
    }
    trace("fault mix: " + result_.fault_mix);
    const int64_t fault_end = kTickTime * options_.fault_ticks;
    const int64_t end = fault_end + kTickTime * options_.liveness_ticks;
    quiet_time_ = end - kTickTime * 80;
    if (workload_) workload_->begin(*this);
    for (ServerId id : members_) start_server(id);
    if (!workload_) {
        schedule(1, EventKind::kClient);
        register_clients_.resize(2 + rand(4));
        for (size_t i = 0; i < register_clients_.size(); ++i) {
            register_clients_[i].id = i + 1;
            schedule(1 + static_cast<int64_t>(rand(100)), EventKind::kRegisterClient, 0, 0, 0, i);
        }
    }
    schedule(kTickTime * 5, EventKind::kFault);
    if (options_.reconfig) schedule(kTickTime * 20, EventKind::kReconfig);
    if (options_.transfer) schedule(kTickTime * 25, EventKind::kTransfer);
    bool healed = false;
    while (!events_.empty() && result_.ok && !checker_.failed() &&
           !(workload_ && !workload_->failure().empty())) {
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
                if (!running(e.a)) {
                    // Stopped: no tick runs; once it runs again, one late tick
                    // (an Asio timer fires once, however late), then the usual
                    // pace — sometimes only after it has read what waited in
                    // its sockets, as an event loop may.
                    schedule(s.paused_until + rand_between(0, 30), EventKind::kTick, e.a, 0,
                             e.generation);
                    break;
                }
                if (workload_) workload_->tick(e.a);
                s.driver->tick();
                if (s.up && s.incarnation == e.generation)
                    schedule(now_ + s.tick_period, EventKind::kTick, e.a, 0, e.generation);
                break;
            }
            case EventKind::kDeliver:
                deliver_message(e.a, e.b, e.generation);
                break;
            case EventKind::kRun: {
                auto node = runs_.extract(e.token);
                Server& s = server(e.a);
                if (node.empty() || !s.up || s.incarnation != e.generation) break;
                if (!running(e.a)) {
                    runs_.insert(std::move(node));
                    schedule(s.paused_until, EventKind::kRun, e.a, 0, e.generation, e.token);
                    break;
                }
                node.mapped()();
                break;
            }
            case EventKind::kDiskDone:
                disk_done(e.a, e.generation);
                break;
            case EventKind::kClient:
                client_action();
                if (now_ < quiet_time_) schedule(now_ + rand_between(10, 70), EventKind::kClient);
                break;
            case EventKind::kRegisterClient:
                register_client_action(register_clients_[e.token]);
                break;
            case EventKind::kFault:
                if (now_ < fault_end) {
                    fault_action();
                    schedule(now_ + kTickTime * rand_between(1, mix_.fault_interval_ticks),
                             EventKind::kFault);
                }
                break;
            case EventKind::kDial:
                dial(e.a, e.b);
                break;
            case EventKind::kNotifyDown:
                notify_down(e.a, e.b, e.generation);
                break;
            case EventKind::kRestart:
                if (faults_on_ && !server(e.a).up) start_server(e.a);
                break;
            case EventKind::kKeepaliveReset:
                if (!partitioned_ || !faults_on_) break;
                for (auto& [dir, w] : wires_) {
                    if (w.cut != Wire::Cut::kNone) {
                        count("partitions found out by keepalive");
                        reset_connection(dir.first, dir.second, true);
                    }
                }
                break;
            case EventKind::kWake:
                workload_->wake(e.token);
                break;
            case EventKind::kReconfig:
                if (now_ < fault_end) {
                    reconfig_action();
                    schedule(now_ + kTickTime * rand_between(5, 40), EventKind::kReconfig);
                }
                break;
            case EventKind::kTransfer:
                if (now_ < fault_end) {
                    transfer_action();
                    schedule(now_ + kTickTime * rand_between(10, 60), EventKind::kTransfer);
                }
                break;
        }
        check_servers();
        if (workload_) workload_->observe();
    }
    if (result_.ok && workload_ && !workload_->failure().empty()) fail(workload_->failure());
    if (result_.ok && checker_.failed()) fail(checker_.failure());
    if (result_.ok) {
        checker_.check_end();
        if (checker_.failed()) fail(checker_.failure());
    }
    if (result_.ok) check_end();
    if (result_.ok && workload_) {
        workload_->check_end();
        if (!workload_->failure().empty()) fail(workload_->failure());
    }
    for (const Server& s : servers_) {
        if (s.up) collect_stats(s);
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
