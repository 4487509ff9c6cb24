#include "zab/runtime/node.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

#include "base/assert.h"
#include "storage/data_dir.h"
#include "zab/core/core.h"
#include "zab/core/validate.h"
#include "zab/runtime/driver.h"
#include "zab/runtime/storage_worker.h"
#include "zab/runtime/transport.h"

namespace chorus {

namespace asio = boost::asio;

// Node's side of the driver: the Asio io_context (the core thread), the
// Transport, the StorageWorker and a snapshot thread.
struct Node::Impl final : runtime::DriverEnv {
    Impl(NodeOptions o, StateMachine& s) : options(std::move(o)), sm(s) {}

    NodeOptions options;
    StateMachine& sm;
    asio::io_context io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::thread thread;
    std::thread snapshot_thread;  // produces snapshot bytes off the core thread
    storage::DataDir dir;
    std::unique_ptr<runtime::StorageWorker> storage;
    std::unique_ptr<runtime::Transport> transport;
    std::unique_ptr<runtime::Driver> driver;
    std::unique_ptr<asio::steady_timer> ticker;
    std::vector<std::function<void(uint64_t)>> tick_hooks;  // set before start()
    std::atomic<bool> running = false;
    bool stopping = false;
    std::chrono::steady_clock::time_point last_tick_at = std::chrono::steady_clock::now();

    mutable std::mutex status_mutex;
    NodeStatus status_copy;
    zab::Membership membership_copy;  // under status_mutex

    // docs/protocol.md, A1: the first start writes the membership of
    // --peers beside the log; later starts must name the same voters.
    Status check_bootstrap_membership(zab::DurableState* durable);
    Status open_and_restore(zab::DurableState* durable,
                            std::shared_ptr<const std::string>* snapshot_data);
    void tick();
    // Runs `fn` on the core thread: at once when called there (a service
    // reacting to a request or a tick) — but not from inside the driver's
    // run of Readys, a StateMachine's deliver() say, where the core's own
    // preprocess() must not run in the middle of a delivery — queued
    // otherwise. submit() and sync() answer a refusal through the queue,
    // never inside the call.
    template <class F>
    void on_core_thread(F fn) {
        if (io.get_executor().running_in_this_thread() && !(driver && driver->processing())) {
            fn();
        } else {
            asio::post(io, std::move(fn));
        }
    }
    void publish_status();
    // Hands a request to the driver on the core thread: `call(driver, cb)`
    // returns the driver's refusal or OK (then the driver calls `cb`).
    // `done` is called once, as Node::submit says: at once with kNotLeader
    // if the node is not running, through the queue for a refusal.
    template <class Call>
    void to_driver(Done done, Call call) {
        if (!running) {
            done(Status(Code::kNotLeader, "the server is not running"), {});
            return;
        }
        on_core_thread([this, done = std::move(done), call = std::move(call)]() mutable {
            // Shared, so a refusal can still answer through the queue.
            auto callback = std::make_shared<Done>(std::move(done));
            Status s(Code::kNotLeader, "the server is shutting down");
            if (driver && !stopping) {
                s = call(*driver, [callback](Status st, Completion c) { (*callback)(st, c); });
                if (s.is_ok()) return;
            }
            asio::post(io, [callback, s] { (*callback)(s, {}); });
        });
    }

    // runtime::DriverEnv.
    void send(ServerId to, const zab::pb::PeerMessage& message) override {
        transport->send(to, message);
    }
    void reset_link(ServerId peer) override { transport->reset(peer); }
    void write(runtime::StorageJob job) override { storage->submit(std::move(job)); }
    void post(std::function<void()> fn) override { asio::post(io, std::move(fn)); }
    void run_after(uint64_t delay_us, std::function<void()> fn) override {
        auto timer = std::make_shared<asio::steady_timer>(io);
        timer->expires_after(std::chrono::microseconds(delay_us));
        timer->async_wait([timer, fn = std::move(fn)](boost::system::error_code ec) {
            if (!ec) fn();
        });
    }
    void run_off_thread(std::function<void()> work_fn) override {
        // One at a time (the driver waits for the last to post back).
        if (snapshot_thread.joinable()) snapshot_thread.join();
        snapshot_thread = std::thread(std::move(work_fn));
    }
    uint64_t now_us() override {
        return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::steady_clock::now().time_since_epoch())
                                         .count());
    }
    // Links with every server of the membership in force, at the address
    // it names: servers a change added are dialed (or accepted) from now on.
    void membership_in_force(const zab::Membership& membership) override {
        {
            std::lock_guard lock(status_mutex);
            membership_copy = membership;
        }
        for (const auto* servers : {&membership.voters, &membership.observers}) {
            for (const auto& [id, address] : *servers) {
                Result<net::Endpoint> endpoint = net::parse_endpoint(address);
                if (!endpoint.is_ok()) {
                    spdlog::error(
                        "server {}: membership {} gives server {} the address '{}', "
                        "which is not one: no link to it ({})",
                        options.id, membership.version.str(), id, address,
                        endpoint.status().message());
                    continue;
                }
                transport->add_peer(id, endpoint.value());
            }
        }
    }
    void log(runtime::LogLevel level, const std::string& line) override {
        switch (level) {
            case runtime::LogLevel::kInfo:
                spdlog::info("server {}: {}", options.id, line);
                break;
            case runtime::LogLevel::kWarn:
                spdlog::warn("server {}: {}", options.id, line);
                break;
            case runtime::LogLevel::kError:
                spdlog::error("server {}: {}", options.id, line);
                break;
            case runtime::LogLevel::kCritical:
                spdlog::critical("server {}: {}", options.id, line);
                break;
        }
    }
};

Status Node::Impl::open_and_restore(zab::DurableState* durable,
                                    std::shared_ptr<const std::string>* snapshot_data) {
    auto opened = storage::open_data_dir(options.data_dir);
    if (!opened.is_ok()) return opened.status();
    dir = std::move(opened).value();
    storage::Log& log = *dir.log;
    durable->accepted_epoch = log.accepted_epoch();
    durable->current_epoch = log.current_epoch();
    durable->joined_ensemble = log.joined_ensemble();
    durable->original_member = log.original_member();
    if (const std::optional<storage::StoredMembership> m = log.membership()) {
        Result<zab::Membership> membership = zab::Membership::decode(m->version, m->record);
        if (!membership.is_ok())
            return Status::corrupt(options.data_dir +
                                   ": the membership record: " + membership.status().message());
        durable->membership = std::move(membership).value();
    }
    // Values no real ensemble reaches (zab/core/validate.h) mean a damaged
    // or foreign directory; the core would refuse them with an abort.
    if (durable->accepted_epoch >= zab::kMaxPlausible ||
        durable->current_epoch > durable->accepted_epoch ||
        log.last_zxid().epoch >= zab::kMaxPlausible ||
        log.last_zxid().counter >= zab::kMaxPlausible) {
        return Status::corrupt(options.data_dir + ": impossible epochs or zxids (acceptedEpoch " +
                               std::to_string(durable->accepted_epoch) + ", currentEpoch " +
                               std::to_string(durable->current_epoch) + ", last zxid " +
                               log.last_zxid().str() + ")");
    }
    Zxid snapshot_zxid;
    *snapshot_data = std::make_shared<const std::string>();
    if (!dir.snapshots->list().empty()) {
        auto reader = dir.snapshots->open_latest();
        if (!reader.is_ok()) return reader.status();
        auto data = (*reader)->read_all();
        if (!data.is_ok()) return data.status();
        snapshot_zxid = (*reader)->info().zxid;
        *snapshot_data = std::make_shared<const std::string>(std::move(data).value());
        // A crash may have come between installing the snapshot and
        // resetting the log.
        bool reset = false;
        if (Status s = storage::align_log_to_snapshot(log, snapshot_zxid, &reset); !s.is_ok())
            return s;
        if (reset) {
            spdlog::info(
                "server {}: the log did not reach the snapshot at {} along its history; "
                "reset it to the snapshot",
                options.id, snapshot_zxid.str());
        }
        durable->snapshot_zxid = snapshot_zxid;
    }
    sm.restore(**snapshot_data);
    durable->log_base = log.base();
    auto entries = log.read(log.base().next(), Zxid{UINT64_MAX, UINT64_MAX});
    if (!entries.is_ok()) return entries.status();
    for (const storage::Entry& e : entries.value()) {
        zab::Txn txn;
        if (!zab::decode_txn_payload(e.zxid, e.type, e.payload, &txn)) {
            return Status::corrupt(options.data_dir + ": the log entry at zxid " + e.zxid.str() +
                                   " does not hold a transaction");
        }
        if (txn.type == zab::kConfigTxnType) {
            if (Result<zab::Membership> m = zab::Membership::decode(txn.zxid, txn.data); !m.is_ok())
                return Status::corrupt(options.data_dir + ": " + m.status().message());
        }
        durable->log.push_back(std::move(txn));
    }
    spdlog::info(
        "server {}: data in {}: acceptedEpoch {}, currentEpoch {}, snapshot at {}, log {}..{}",
        options.id, options.data_dir, durable->accepted_epoch, durable->current_epoch,
        durable->snapshot_zxid.str(), log.base().str(), log.last_zxid().str());
    return Status::ok();
}

Status Node::Impl::check_bootstrap_membership(zab::DurableState* durable) {
    if (options.join) {
        if (options.bootstrap) {
            return Status::invalid_argument(
                "--join and --bootstrap exclude each other: a joining server is added to a "
                "running ensemble, a bootstrapping one starts a new ensemble");
        }
        if (durable->membership) return Status::ok();  // joined before: the disk wins
        Result<zab::Membership> joined = options.join();
        if (!joined.is_ok()) return joined.status();
        if (joined->is_voter(options.id)) {
            return Status::invalid_argument(
                "server " + std::to_string(options.id) + " is already a voter of membership " +
                joined->version.str() + " (" + joined->str() +
                ") but its data directory is empty: a voter's lost disk is not joined again "
                "under the same id; remove it and add it back, or give it a new id");
        }
        if (Status s = dir.log->set_membership(
                storage::StoredMembership{joined->version, joined->encode()});
            !s.is_ok())
            return s;
        spdlog::info("server {}: joining the ensemble of membership {}: {}", options.id,
                     joined->version.str(), joined->str());
        durable->membership = std::move(joined).value();
        return Status::ok();
    }
    zab::Membership flags;
    for (const auto& [id, endpoint] : options.peers) flags.voters[id] = endpoint.str();
    if (!durable->membership) {
        // The disk wins from now on: restarted with other --peers, a server
        // would count quorums of an ensemble the others do not know.
        if (Status s = dir.log->set_membership(storage::StoredMembership{Zxid{}, flags.encode()});
            !s.is_ok())
            return s;
        durable->membership = flags;
        return Status::ok();
    }
    const zab::Membership& stored = *durable->membership;
    if (!stored.version.is_zero()) return Status::ok();  // a CONFIG made it: --peers is history
    std::string stored_ids, flag_ids;
    bool same_ids = stored.voters.size() == flags.voters.size();
    for (const auto& [id, address] : stored.voters) {
        stored_ids += (stored_ids.empty() ? "" : ",") + std::to_string(id);
        same_ids = same_ids && flags.voters.count(id);
    }
    for (const auto& [id, address] : flags.voters)
        flag_ids += (flag_ids.empty() ? "" : ",") + std::to_string(id);
    if (!same_ids) {
        return Status::invalid_argument(
            options.data_dir + " belongs to an ensemble of servers " + stored_ids +
            " (written at its first start), but --peers names servers " + flag_ids +
            ": give the --peers it was started with (membership changes go through "
            "reconfiguration, docs/protocol.md)");
    }
    for (const auto& [id, address] : stored.voters) {
        if (flags.voters.at(id) != address)
            spdlog::warn(
                "server {}: --peers gives server {} the address {}; it was {} at the "
                "first start (the new one is used)",
                options.id, id, flags.voters.at(id), address);
    }
    return Status::ok();
}

void Node::Impl::publish_status() {
    const zab::Core& core = driver->core();
    NodeStatus s;
    s.role = core.role();
    s.leader = core.leader();
    s.epoch = core.current_epoch();
    s.last_zxid = core.last_zxid();
    s.committed = core.committed_zxid();
    s.delivered = core.delivered_zxid();
    s.serving = core.serving();
    s.voting = core.voting();
    s.log_records_appended = driver->stats().log_records_appended;
    s.log_bytes_appended = driver->stats().log_bytes_appended;
    std::lock_guard lock(status_mutex);
    status_copy = s;
}

void Node::Impl::tick() {
    if (!driver) return;
    // A late tick means the core thread was busy: say so, since a stall
    // longer than the election timeout costs an election.
    const auto now = std::chrono::steady_clock::now();
    const auto late_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - last_tick_at).count() -
        static_cast<int64_t>(options.tick_ms);
    last_tick_at = now;
    if (late_ms >= static_cast<int64_t>(options.tick_ms) * options.election_timeout_ticks / 2) {
        spdlog::warn("server {}: the core thread was busy for {} ms (election timeout {} ms)",
                     options.id, late_ms, options.tick_ms * options.election_timeout_ticks);
    }
    driver->tick();
    if (!tick_hooks.empty()) {
        const auto now_ms = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
        for (const auto& hook : tick_hooks) hook(now_ms);
    }
    ticker->expires_after(std::chrono::milliseconds(options.tick_ms));
    ticker->async_wait([this](boost::system::error_code ec) {
        if (!ec && !stopping) tick();
    });
}

Node::Node(NodeOptions options, StateMachine& state_machine)
    : impl_(std::make_unique<Impl>(std::move(options), state_machine)) {}

Node::~Node() { stop(); }

Status Node::start() {
    Impl& m = *impl_;
    zab::DurableState durable;
    std::shared_ptr<const std::string> snapshot_data;
    if (Status s = m.open_and_restore(&durable, &snapshot_data); !s.is_ok()) return s;
    if (Status s = m.check_bootstrap_membership(&durable); !s.is_ok()) return s;
    zab::Config config;
    config.id = m.options.id;
    if (m.options.join) {
        // Joined: the membership on the disk names the ensemble, and the
        // peers to dial at first; --peers gives only this server's address.
        const zab::Membership& joined = *durable.membership;
        for (const auto& [id, address] : joined.voters) config.members.push_back(id);
        for (const auto& [id, address] : joined.observers) config.observers.push_back(id);
        for (const auto* servers : {&joined.voters, &joined.observers}) {
            for (const auto& [id, address] : *servers) {
                config.addresses[id] = address;
                Result<net::Endpoint> endpoint = net::parse_endpoint(address);
                if (id != m.options.id && endpoint.is_ok()) m.options.peers[id] = endpoint.value();
            }
        }
    } else {
        for (const auto& [id, endpoint] : m.options.peers) {
            config.members.push_back(id);
            // The bootstrap membership's addresses: a SNAP of a membership
            // never changed carries none, and the core falls back on these
            // (without them it stored "server-N" placeholders).
            config.addresses[id] = endpoint.str();
        }
    }
    config.bootstrap = m.options.bootstrap;
    config.election_timeout_ticks = m.options.election_timeout_ticks;
    config.heartbeat_interval_ticks = m.options.heartbeat_interval_ticks;
    config.max_inflight_proposals = m.options.max_inflight_proposals;
    config.max_batch_txns = m.options.max_batch_txns;
    config.snapshot_every_txns = m.options.snapshot_every_txns;
    config.snapshot_every_bytes = m.options.snapshot_every_bytes;
    config.log_tail_keep_txns = m.options.log_tail_keep_txns;
    config.promote_max_lag_txns = m.options.promote_max_lag_txns;
    // Everything the core puts in one frame stays below the frame limit: a
    // request is at most a quarter of it, a batch or DIFF chunk is cut at
    // half of it (plus one request).
    config.max_request_bytes = m.options.max_frame_bytes / 4;
    config.max_batch_bytes = m.options.max_frame_bytes / 4;
    config.max_sync_chunk_bytes = std::min<size_t>(m.options.max_frame_bytes / 2, 4 << 20);

    runtime::DriverOptions driver_options;
    driver_options.tick_ms = m.options.tick_ms;
    // Request ids must not repeat across restarts: a follower's forwarded
    // request could otherwise be taken for an old one.
    driver_options.first_request_id = (uint64_t{std::random_device{}()} << 32) | 1;
    driver_options.snapshot_chunk_bytes = std::min<size_t>(m.options.max_frame_bytes / 2, 1 << 20);
    driver_options.snapshot_bytes_per_s = m.options.snapshot_send_bytes_per_s;

    m.storage = std::make_unique<runtime::StorageWorker>(m.dir, m.io);
    runtime::TransportOptions transport_options;
    transport_options.self = m.options.id;
    transport_options.peers = m.options.peers;
    transport_options.max_frame_bytes = m.options.max_frame_bytes;
    runtime::Transport::Callbacks callbacks;
    callbacks.on_message = [&m](ServerId from, zab::pb::PeerMessage& message) {
        if (m.driver) m.driver->on_message(from, message);
    };
    callbacks.on_connected = [&m](ServerId peer) {
        if (m.driver) m.driver->on_connected(peer);
    };
    callbacks.on_written = [&m](ServerId peer) {
        if (m.driver) m.driver->on_written(peer);
    };
    callbacks.on_disconnected = [&m](ServerId peer) {
        if (m.driver) m.driver->on_disconnected(peer);
    };
    m.transport = std::make_unique<runtime::Transport>(m.io, transport_options, callbacks);
    m.driver = std::make_unique<runtime::Driver>(config, std::move(durable),
                                                 std::move(snapshot_data), m.sm, m, driver_options);
    m.driver->set_after_process([&m] { m.publish_status(); });
    if (Status s = m.transport->start(); !s.is_ok()) {
        m.storage->stop();
        m.driver.reset();
        return s;
    }
    m.ticker = std::make_unique<asio::steady_timer>(m.io);
    m.work.emplace(m.io.get_executor());
    m.running = true;
    m.thread = std::thread([&m] {
        // Ticks are late from here on, not from before the data was read.
        m.last_tick_at = std::chrono::steady_clock::now();
        m.driver->start();
        m.ticker->expires_after(std::chrono::milliseconds(m.options.tick_ms));
        m.ticker->async_wait([&m](boost::system::error_code ec) {
            // A stop() within the first tick: the wait may have completed
            // before the cancel, so look at `stopping` too.
            if (!ec && !m.stopping) m.tick();
        });
        m.io.run();
    });
    return Status::ok();
}

namespace {

// A serving leader hands over before it stops (docs/protocol.md,
// "Leadership transfer"); true if it did. Waits at most an election
// timeout and a little: the core abandons a transfer after one.
template <typename Impl>
bool hand_over_before_stop(Impl& m) {
    auto handed = std::make_shared<std::promise<Status>>();
    std::future<Status> outcome = handed->get_future();
    asio::post(m.io, [&m, handed] {
        const zab::Core& core = m.driver->core();
        if (core.role() != Role::kLeading || !core.serving() ||
            core.membership().voters.size() < 2) {
            handed->set_value(Status(Code::kNotLeader, "not a leader with other voters"));
            return;
        }
        Status s = m.driver->transfer_leadership(
            0, [handed](Status done, const zab::Completion&) { handed->set_value(done); });
        if (!s.is_ok()) handed->set_value(s);
    });
    const auto patience = std::chrono::milliseconds(
        uint64_t{m.options.election_timeout_ticks + 10} * m.options.tick_ms + 200);
    if (outcome.wait_for(patience) != std::future_status::ready) {
        spdlog::warn("server {}: no answer to the leadership transfer before stopping",
                     m.options.id);
        return false;
    }
    const Status s = outcome.get();
    if (s.is_ok()) {
        spdlog::info("server {}: handed leadership over before stopping", m.options.id);
    } else if (s.code() != Code::kNotLeader) {
        spdlog::warn("server {}: could not hand leadership over before stopping: {}", m.options.id,
                     s.str());
    }
    return s.is_ok();
}

// Waits (at most `patience`) until every request the driver took has been
// answered: a server that stops with requests still in flight would end
// them with an unknown outcome. New ones are refused meanwhile (the node
// no longer runs), and the client library sends them elsewhere.
template <typename Impl>
void drain_before_stop(Impl& m, std::chrono::milliseconds patience) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    size_t left = 0;
    do {
        std::promise<size_t> count;
        std::future<size_t> counted = count.get_future();
        asio::post(m.io, [&m, &count] { count.set_value(m.driver->requests_in_flight()); });
        left = counted.get();
        if (left == 0) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    } while (std::chrono::steady_clock::now() < deadline);
    spdlog::warn("server {}: stopping with {} requests still in flight", m.options.id, left);
}

}  // namespace

void Node::stop() {
    Impl& m = *impl_;
    if (!m.running) return;
    m.running = false;
    if (m.options.transfer_on_stop) hand_over_before_stop(m);
    drain_before_stop(m, std::chrono::milliseconds(
                             uint64_t{m.options.election_timeout_ticks} * m.options.tick_ms + 500));
    std::promise<void> said_goodbye;
    asio::post(m.io, [&m, &said_goodbye] {
        m.stopping = true;
        m.driver->shutdown();
        m.ticker->cancel();
        said_goodbye.set_value();
    });
    said_goodbye.get_future().wait();
    // Let the goodbye frames leave, and the writes in flight finish.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (m.snapshot_thread.joinable()) m.snapshot_thread.join();
    m.storage->stop();
    std::promise<void> closed;
    asio::post(m.io, [&m, &closed] {
        m.transport->stop();
        m.driver.reset();
        closed.set_value();
    });
    closed.get_future().wait();
    m.work.reset();
    m.io.stop();
    if (m.thread.joinable()) m.thread.join();
}

void Node::submit(Request request, Done done) {
    impl_->to_driver(std::move(done),
                     [request = std::move(request)](runtime::Driver& d, Done cb) mutable {
                         return d.submit(std::move(request), std::move(cb));
                     });
}

void Node::reconfigure(zab::Membership next, Done done) {
    impl_->to_driver(std::move(done),
                     [next = std::move(next)](runtime::Driver& d, Done cb) mutable {
                         return d.reconfigure(std::move(next), std::move(cb));
                     });
}

void Node::transfer_leadership(zab::ServerId target, Done done) {
    impl_->to_driver(std::move(done), [target](runtime::Driver& d, Done cb) {
        return d.transfer_leadership(target, std::move(cb));
    });
}

void Node::sync(std::function<void(Status, Zxid)> done) {
    if (!impl_->running) {
        done(Status(Code::kNotLeader, "the server is not running"), {});
        return;
    }
    impl_->on_core_thread([this, done = std::move(done)]() mutable {
        Impl& m = *impl_;
        auto callback = std::make_shared<std::function<void(Status, Zxid)>>(std::move(done));
        Status s(Code::kNotLeader, "the server is shutting down");
        if (m.driver && !m.stopping) {
            s = m.driver->sync([callback](Status st, Zxid z) { (*callback)(st, z); });
            if (s.is_ok()) return;
        }
        asio::post(m.io, [callback, s] { (*callback)(s, Zxid{}); });
    });
}

bool Node::running() const { return impl_->running; }

zab::Membership Node::membership() const {
    std::lock_guard lock(impl_->status_mutex);
    return impl_->membership_copy;
}

NodeStatus Node::status() const {
    std::lock_guard lock(impl_->status_mutex);
    return impl_->status_copy;
}

void Node::post(std::function<void()> fn) { asio::post(impl_->io, std::move(fn)); }

void Node::on_tick(std::function<void(uint64_t now_ms)> hook) {
    CHORUS_ASSERT(!impl_->running, "Node::on_tick after start()");
    impl_->tick_hooks.push_back(std::move(hook));
}

}  // namespace chorus
