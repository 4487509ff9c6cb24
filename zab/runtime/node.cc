#include "zab/runtime/node.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "storage/data_dir.h"
#include "zab/core/core.h"
#include "zab/runtime/storage_worker.h"

namespace chorus {

namespace asio = boost::asio;

struct Node::Impl {
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
    std::unique_ptr<zab::Core> core;
    std::unique_ptr<asio::steady_timer> ticker;
    std::atomic<bool> running = false;
    bool stopping = false;

    // The newest snapshot's bytes, for SNAP syncs (core thread only).
    Zxid snapshot_zxid;
    std::shared_ptr<const std::string> snapshot_data = std::make_shared<const std::string>();

    uint64_t next_request = 1;  // starts at a random point: ids must not repeat across restarts
    std::map<uint64_t, Done> pending;  // request id -> callback
    uint64_t next_sync = 1;
    std::map<uint64_t, std::function<void(Status, Zxid)>> pending_syncs;
    // Every request and sync gets an answer: those still pending after
    // kRequestTimeoutMs (a leader may have dropped a forwarded request when
    // its queue was full) fail with kBusy. Oldest first: (tick, id, is_sync).
    static constexpr uint64_t kRequestTimeoutMs = 10000;
    std::deque<std::tuple<uint64_t, uint64_t, bool>> deadlines;
    uint64_t ticks = 0;
    std::chrono::steady_clock::time_point last_tick_at = std::chrono::steady_clock::now();
    void expire_pending();

    mutable std::mutex status_mutex;
    NodeStatus status_copy;
    uint64_t log_records_appended = 0;  // core thread
    uint64_t log_bytes_appended = 0;

    Status open_and_restore(zab::DurableState* durable);
    void tick();
    void warn_if_slow(const std::string& what, std::chrono::steady_clock::time_point start) const;
    // Hands out the core's Readys. Never runs inside itself: a call made
    // while it runs (from a callback) is folded into the running one.
    void process();
    void process_once();
    bool processing = false;
    bool process_again = false;
    // Runs process() once the handlers already queued have run: requests
    // and messages that arrive together become one Ready (one proposal
    // batch, one write, one frame per peer) instead of one each.
    void process_soon();
    bool process_posted = false;
    // Runs `fn` on the core thread: at once when called there (a service
    // reacting to a request or a tick) — but not from inside process(), a
    // StateMachine's deliver() say, where the core's own preprocess() must
    // not run in the middle of a delivery — queued otherwise. submit() and
    // sync() answer a refusal through the queue, never inside the call.
    template <class F>
    void on_core_thread(F fn) {
        if (io.get_executor().running_in_this_thread() && !processing) {
            fn();
        } else {
            asio::post(io, std::move(fn));
        }
    }
    void fail_pending(const Status& why);
    void take_snapshot(Zxid at);
    void publish_status();
};

Status Node::Impl::open_and_restore(zab::DurableState* durable) {
    auto opened = storage::open_data_dir(options.data_dir);
    if (!opened.is_ok()) return opened.status();
    dir = std::move(opened).value();
    storage::Log& log = *dir.log;
    durable->accepted_epoch = log.accepted_epoch();
    durable->current_epoch = log.current_epoch();
    if (!dir.snapshots->list().empty()) {
        auto reader = dir.snapshots->open_latest();
        if (!reader.is_ok()) return reader.status();
        auto data = (*reader)->read_all();
        if (!data.is_ok()) return data.status();
        snapshot_zxid = (*reader)->info().zxid;
        snapshot_data = std::make_shared<const std::string>(std::move(data).value());
        if (log.last_zxid() < snapshot_zxid) {
            // A crash came between installing the snapshot and resetting the log.
            if (Status s = log.reset_to(snapshot_zxid); !s.is_ok()) return s;
        }
        durable->snapshot_zxid = snapshot_zxid;
    }
    sm.restore(*snapshot_data);
    durable->log_base = log.base();
    auto entries = log.read(log.base().next(), Zxid{UINT64_MAX, UINT64_MAX});
    if (!entries.is_ok()) return entries.status();
    for (const storage::Entry& e : entries.value()) {
        zab::Txn txn;
        if (!zab::decode_txn_payload(e.zxid, e.type, e.payload, &txn)) {
            return Status::corrupt(options.data_dir + ": the log entry at zxid " + e.zxid.str() +
                                   " does not hold a transaction");
        }
        durable->log.push_back(std::move(txn));
    }
    spdlog::info(
        "server {}: data in {}: acceptedEpoch {}, currentEpoch {}, snapshot at {}, log {}..{}",
        options.id, options.data_dir, durable->accepted_epoch, durable->current_epoch,
        durable->snapshot_zxid.str(), log.base().str(), log.last_zxid().str());
    return Status::ok();
}

void Node::Impl::publish_status() {
    NodeStatus s;
    s.role = core->role();
    s.leader = core->leader();
    s.epoch = core->current_epoch();
    s.last_zxid = core->last_zxid();
    s.committed = core->committed_zxid();
    s.delivered = core->delivered_zxid();
    s.serving = core->serving();
    s.voting = core->voting();
    s.log_records_appended = log_records_appended;
    s.log_bytes_appended = log_bytes_appended;
    std::lock_guard lock(status_mutex);
    status_copy = s;
}

void Node::Impl::fail_pending(const Status& why) {
    auto requests = std::move(pending);
    pending.clear();
    for (auto& [id, done] : requests)
        done(why, zab::Completion{id, zab::Completion::Outcome::kCommitted, {}});
    auto syncs = std::move(pending_syncs);
    pending_syncs.clear();
    for (auto& [id, done] : syncs) done(why, Zxid{});
}

void Node::Impl::process() {
    if (processing) {
        process_again = true;
        return;
    }
    processing = true;
    do {
        process_again = false;
        process_once();
    } while (process_again && core);
    processing = false;
    if (core) publish_status();
}

void Node::Impl::process_soon() {
    if (process_posted) return;
    process_posted = true;
    asio::post(io, [this] {
        process_posted = false;
        if (core) process();
    });
}

void Node::Impl::process_once() {
    // Long work (a DIFF to a follower far behind comes a chunk per Ready)
    // yields every few milliseconds, so ticks and messages are not held up.
    const auto start = std::chrono::steady_clock::now();
    for (int round = 0; core && core->has_ready(); ++round) {
        if (round > 0 && std::chrono::steady_clock::now() - start > std::chrono::milliseconds(5)) {
            process_soon();
            return;
        }
        zab::Ready ready = core->take_ready();
        std::set<ServerId> cut;  // peers whose sync cannot go on in this Ready
        for (zab::Outgoing& out : ready.messages) {
            if (cut.count(out.to)) continue;
            if (out.message.has_snap()) {
                const Zxid want{out.message.snap().zxid().epoch(),
                                out.message.snap().zxid().counter()};
                if (snapshot_zxid != want) {
                    // Sending the rest of the sync without it would leave a
                    // gap: drop the link; the follower starts over.
                    spdlog::error(
                        "server {}: cannot send a snapshot at {} (holding {}); resetting the link "
                        "to {}",
                        options.id, want.str(), snapshot_zxid.str(), out.to);
                    cut.insert(out.to);
                    transport->reset(out.to);
                    continue;
                }
                // Shared with the transport, which cuts it into paced chunks.
                transport->send_snapshot(out.to, out.message.snap().epoch(), want, snapshot_data);
                continue;
            }
            transport->send(out.to, out.message);
        }
        if (ready.write_id != 0) {
            for (const zab::Write& w : ready.writes) {
                if (const auto* append = std::get_if<zab::AppendTxns>(&w)) {
                    log_records_appended += append->txns.size();
                    for (const Txn& t : append->txns) log_bytes_appended += t.data.size();
                }
            }
            runtime::StorageJob job;
            job.writes = std::move(ready.writes);
            auto after =
                std::make_shared<std::vector<zab::Outgoing>>(std::move(ready.after_persist));
            const uint64_t write_id = ready.write_id;
            job.done = [this, after, write_id] {
                if (!core) return;
                for (const zab::Outgoing& out : *after) transport->send(out.to, out.message);
                core->persisted(write_id);
                process_soon();
            };
            storage->submit(std::move(job));
        }
        const auto deliver_start = std::chrono::steady_clock::now();
        for (const zab::Txn& txn : ready.committed) sm.deliver(txn);
        warn_if_slow("delivering " + std::to_string(ready.committed.size()) + " transactions",
                     deliver_start);
        for (const zab::Completion& c : ready.completions) {
            auto it = pending.find(c.request_id);
            if (it == pending.end()) continue;
            Done done = std::move(it->second);
            pending.erase(it);
            done(Status::ok(), c);
        }
        for (const zab::SyncDone& s : ready.syncs) {
            auto it = pending_syncs.find(s.id);
            if (it == pending_syncs.end()) continue;
            auto done = std::move(it->second);
            pending_syncs.erase(it);
            done(Status::ok(), s.zxid);
        }
        if (ready.restore) {
            const auto restore_start = std::chrono::steady_clock::now();
            sm.restore(ready.restore->data);
            warn_if_slow(
                "restoring a snapshot of " + std::to_string(ready.restore->data.size()) + " bytes",
                restore_start);
            snapshot_zxid = ready.restore->zxid;
            snapshot_data = std::make_shared<const std::string>(std::move(ready.restore->data));
            spdlog::info("server {}: installed a snapshot at {} from the leader", options.id,
                         snapshot_zxid.str());
        }
        if (ready.snapshot_due) take_snapshot(*ready.snapshot_due);
        if (ready.role_change) {
            const zab::RoleChange& rc = *ready.role_change;
            spdlog::info(
                "server {}: {}{}{}", options.id, zab::role_name(rc.role),
                rc.leader ? " (leader " + std::to_string(rc.leader) + ")" : std::string(),
                core->serving() ? ", serving epoch " + std::to_string(rc.epoch) : std::string());
            if (!core->serving()) {
                fail_pending(Status(
                    Code::kNotLeader,
                    "the leader changed before the request's outcome was known; it may or may "
                    "not have been applied — retry if it is idempotent"));
            }
            sm.role_changed(rc.role, rc.leader, rc.epoch);
        }
    }
}

void Node::Impl::take_snapshot(Zxid at) {
    // The state machine sets a consistent view aside (snapshot()); the bytes
    // are produced on the snapshot thread and written on the storage thread,
    // so heartbeats and commits go on meanwhile. The core asks for no other
    // snapshot until this one is saved, so one thread at a time suffices.
    const auto start = std::chrono::steady_clock::now();
    std::function<std::string()> produce = sm.snapshot();
    warn_if_slow("setting a snapshot aside", start);
    if (snapshot_thread.joinable()) snapshot_thread.join();
    snapshot_thread = std::thread([this, at, produce = std::move(produce)] {
        auto data = std::make_shared<const std::string>(produce());
        asio::post(io, [this, at, data] {
            if (!core) return;
            sm.snapshot_done();
            runtime::StorageJob job;
            job.save_snapshot = runtime::StorageJob::SavedSnapshot{at, data};
            job.done = [this, at, data] {
                if (!core) return;
                if (at > snapshot_zxid) {  // a snapshot installed meanwhile may be newer
                    snapshot_zxid = at;
                    snapshot_data = data;
                }
                core->snapshot_saved(at);
                process();
            };
            storage->submit(std::move(job));
        });
    });
}

void Node::Impl::expire_pending() {
    const uint64_t timeout_ticks = kRequestTimeoutMs / std::max<uint32_t>(options.tick_ms, 1);
    while (!deadlines.empty() && std::get<0>(deadlines.front()) + timeout_ticks <= ticks) {
        const auto [at, id, is_sync] = deadlines.front();
        deadlines.pop_front();
        const Status late(
            Code::kBusy,
            "no outcome within " + std::to_string(kRequestTimeoutMs) +
                " ms; it may or may not have been applied — retry if it is idempotent");
        if (is_sync) {
            auto it = pending_syncs.find(id);
            if (it == pending_syncs.end()) continue;
            auto done = std::move(it->second);
            pending_syncs.erase(it);
            done(late, Zxid{});
        } else {
            auto it = pending.find(id);
            if (it == pending.end()) continue;
            Done done = std::move(it->second);
            pending.erase(it);
            done(late, zab::Completion{id, zab::Completion::Outcome::kCommitted, {}});
        }
    }
}

void Node::Impl::warn_if_slow(const std::string& what,
                              std::chrono::steady_clock::time_point start) const {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    if (ms >= 50) {
        spdlog::warn("server {}: {} took {} ms on the core thread (the state machine)", options.id,
                     what, ms);
    }
}

void Node::Impl::tick() {
    if (!core) return;
    ++ticks;
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
    expire_pending();
    core->tick();
    process();
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
    // SIGTERM/SIGINT are taken by wait_for_signal() with sigwait: block them
    // here, before RocksDB and the core start threads that would inherit an
    // unblocked mask and be killed by them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    zab::DurableState durable;
    if (Status s = m.open_and_restore(&durable); !s.is_ok()) return s;
    zab::Config config;
    config.id = m.options.id;
    for (const auto& [id, endpoint] : m.options.peers) config.members.push_back(id);
    config.bootstrap = m.options.bootstrap;
    config.election_timeout_ticks = m.options.election_timeout_ticks;
    config.heartbeat_interval_ticks = m.options.heartbeat_interval_ticks;
    config.max_inflight_proposals = m.options.max_inflight_proposals;
    config.max_batch_txns = m.options.max_batch_txns;
    config.snapshot_every_txns = m.options.snapshot_every_txns;
    config.snapshot_every_bytes = m.options.snapshot_every_bytes;
    config.log_tail_keep_txns = m.options.log_tail_keep_txns;
    // Everything the core puts in one frame stays below the frame limit: a
    // request is at most a quarter of it, a batch or DIFF chunk is cut at
    // half of it (plus one request).
    config.max_request_bytes = m.options.max_frame_bytes / 4;
    config.max_batch_bytes = m.options.max_frame_bytes / 4;
    config.max_sync_chunk_bytes = std::min<size_t>(m.options.max_frame_bytes / 2, 4 << 20);

    m.storage = std::make_unique<runtime::StorageWorker>(m.dir, m.io);
    runtime::TransportOptions transport_options;
    transport_options.self = m.options.id;
    transport_options.peers = m.options.peers;
    transport_options.max_frame_bytes = m.options.max_frame_bytes;
    transport_options.snapshot_bytes_per_s = m.options.snapshot_send_bytes_per_s;
    transport_options.snapshot_chunk_bytes =
        std::min<size_t>(m.options.max_frame_bytes / 2, 1 << 20);
    runtime::Transport::Callbacks callbacks;
    callbacks.on_message = [&m](ServerId from, zab::pb::PeerMessage& message) {
        if (!m.core) return;
        m.core->step(from, message);
        m.process_soon();
    };
    callbacks.on_connected = [&m](ServerId peer) {
        if (!m.core) return;
        m.core->connected(peer);
        m.process();
    };
    callbacks.on_progress = [&m](ServerId peer) {
        if (m.core) m.core->heard_from(peer);
    };
    callbacks.on_disconnected = [&m](ServerId peer) {
        if (!m.core) return;
        m.core->disconnected(peer);
        m.process();
    };
    m.transport = std::make_unique<runtime::Transport>(m.io, transport_options, callbacks);
    m.core = std::make_unique<zab::Core>(config, std::move(durable), m.sm);
    if (Status s = m.transport->start(); !s.is_ok()) {
        m.storage->stop();
        return s;
    }
    m.next_request = (uint64_t{std::random_device{}()} << 32) | 1;
    m.ticker = std::make_unique<asio::steady_timer>(m.io);
    m.work.emplace(m.io.get_executor());
    m.running = true;
    m.thread = std::thread([&m] {
        // Ticks are late from here on, not from before the data was read.
        m.last_tick_at = std::chrono::steady_clock::now();
        m.process();
        m.ticker->expires_after(std::chrono::milliseconds(m.options.tick_ms));
        m.ticker->async_wait([&m](boost::system::error_code ec) {
            if (!ec) m.tick();
        });
        m.io.run();
    });
    return Status::ok();
}

void Node::stop() {
    Impl& m = *impl_;
    if (!m.running) return;
    m.running = false;
    std::promise<void> said_goodbye;
    asio::post(m.io, [&m, &said_goodbye] {
        m.stopping = true;
        m.core->shutdown();
        m.process();
        m.fail_pending(Status(Code::kNotLeader, "the server is shutting down"));
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
        m.core.reset();
        closed.set_value();
    });
    closed.get_future().wait();
    m.work.reset();
    m.io.stop();
    if (m.thread.joinable()) m.thread.join();
}

int Node::wait_for_signal(const std::function<void()>& before_stop) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("server {}: signal {}, stopping", impl_->options.id, sig);
    if (before_stop) before_stop();
    stop();
    return 0;
}

void Node::submit(Request request, Done done) {
    if (!impl_->running) {
        done(Status(Code::kNotLeader, "the server is not running"), {});
        return;
    }
    impl_->on_core_thread([this, request = std::move(request), done = std::move(done)]() mutable {
        Impl& m = *impl_;
        Status s(Code::kNotLeader, "the server is shutting down");
        if (m.core && !m.stopping) {
            request.id = m.next_request++;
            const uint64_t id = request.id;
            s = m.core->submit(std::move(request));
            if (s.is_ok()) {
                m.pending[id] = std::move(done);
                m.deadlines.emplace_back(m.ticks, id, false);
                m.process_soon();
                return;
            }
        }
        asio::post(m.io, [done = std::move(done), s]() mutable { done(s, {}); });
    });
}

void Node::sync(std::function<void(Status, Zxid)> done) {
    if (!impl_->running) {
        done(Status(Code::kNotLeader, "the server is not running"), {});
        return;
    }
    impl_->on_core_thread([this, done = std::move(done)]() mutable {
        Impl& m = *impl_;
        Status s(Code::kNotLeader, "the server is shutting down");
        if (m.core && !m.stopping) {
            const uint64_t id = m.next_sync++;
            s = m.core->sync(id);
            if (s.is_ok()) {
                m.pending_syncs[id] = std::move(done);
                m.deadlines.emplace_back(m.ticks, id, true);
                m.process_soon();
                return;
            }
        }
        asio::post(m.io, [done = std::move(done), s]() mutable { done(s, Zxid{}); });
    });
}

NodeStatus Node::status() const {
    std::lock_guard lock(impl_->status_mutex);
    return impl_->status_copy;
}

void Node::post(std::function<void()> fn) { asio::post(impl_->io, std::move(fn)); }

}  // namespace chorus
