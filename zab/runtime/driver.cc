#include "zab/runtime/driver.h"

#include <set>

#include "zab/core/wire.h"

namespace chorus::runtime {

Driver::Driver(zab::Config config, zab::DurableState durable,
               std::shared_ptr<const std::string> snapshot_data, StateMachine& state_machine,
               DriverEnv& env, DriverOptions options)
    : options_(options),
      sm_(state_machine),
      env_(env),
      sender_(env, options.snapshot_chunk_bytes, options.snapshot_bytes_per_s),
      snapshot_zxid_(durable.snapshot_zxid),
      snapshot_data_(snapshot_data ? std::move(snapshot_data)
                                   : std::make_shared<const std::string>()),
      next_request_(options.first_request_id) {
    core_ = std::make_unique<zab::Core>(std::move(config), std::move(durable), state_machine);
}

Driver::~Driver() { *alive_ = false; }

void Driver::start() { process(); }

void Driver::on_message(zab::ServerId from, zab::pb::PeerMessage& message) {
    if (message.has_snap_chunk()) {
        core_->heard_from(from);  // a long transfer is not silence
        zab::pb::PeerMessage whole;
        switch (assembler_.add(from, message.snap_chunk(), &whole)) {
            case SnapshotAssembler::Outcome::kPartial:
                return;
            case SnapshotAssembler::Outcome::kBroken:
                env_.log(LogLevel::kWarn, "a snapshot chunk from server " + std::to_string(from) +
                                              " does not continue the ones before; resetting the "
                                              "link");
                env_.reset_link(from);
                return;
            case SnapshotAssembler::Outcome::kWhole:
                core_->step(from, whole);
                process_soon();
                return;
        }
    }
    core_->step(from, message);
    // Not at once: everything that arrived together becomes one Ready (one
    // proposal batch, one write, one frame per peer).
    process_soon();
}

void Driver::on_connected(zab::ServerId peer) {
    core_->connected(peer);
    process();
}

void Driver::on_disconnected(zab::ServerId peer) {
    sender_.drop(peer);
    assembler_.drop(peer);
    core_->disconnected(peer);
    process();
}

void Driver::on_written(zab::ServerId peer) {
    // A snapshot is flowing there and the peer takes it: it is alive.
    if (sender_.flowing_to(peer)) core_->heard_from(peer);
}

void Driver::tick() {
    ++ticks_;
    expire_pending();
    core_->tick();
    process();
}

Status Driver::submit(zab::Request request, Done done, uint64_t* id) {
    if (stopping_) return Status(Code::kNotLeader, "the server is shutting down");
    request.id = next_request_++;
    const uint64_t rid = request.id;
    if (Status s = core_->submit(std::move(request)); !s.is_ok()) return s;
    if (id) *id = rid;
    pending_[rid] = std::move(done);
    deadlines_.emplace_back(ticks_, rid, false);
    process_soon();
    return Status::ok();
}

Status Driver::reconfigure(zab::Membership next, Done done, uint64_t* id) {
    if (stopping_) return Status(Code::kNotLeader, "the server is shutting down");
    const uint64_t rid = next_request_++;
    if (Status s = core_->reconfigure(rid, std::move(next)); !s.is_ok()) return s;
    if (id) *id = rid;
    pending_[rid] = std::move(done);
    deadlines_.emplace_back(ticks_, rid, false);
    process_soon();
    return Status::ok();
}

Status Driver::transfer_leadership(zab::ServerId target, Done done, uint64_t* id) {
    if (stopping_) return Status(Code::kNotLeader, "the server is shutting down");
    const uint64_t rid = next_request_++;
    if (Status s = core_->transfer_leadership(rid, target); !s.is_ok()) return s;
    if (id) *id = rid;
    pending_[rid] = std::move(done);
    deadlines_.emplace_back(ticks_, rid, false);
    process_soon();
    return Status::ok();
}

Status Driver::sync(SyncDone done) {
    if (stopping_) return Status(Code::kNotLeader, "the server is shutting down");
    const uint64_t sid = next_sync_++;
    if (Status s = core_->sync(sid); !s.is_ok()) return s;
    pending_syncs_[sid] = std::move(done);
    deadlines_.emplace_back(ticks_, sid, true);
    process_soon();
    return Status::ok();
}

void Driver::shutdown() {
    stopping_ = true;
    core_->shutdown();
    process();
    fail_pending(Status(Code::kUnknownOutcome,
                        "the server stopped before the request's outcome was known; it may or "
                        "may not have been applied"),
                 Status(Code::kNotLeader, "the server is shutting down"));
}

void Driver::process() {
    if (processing_) {
        process_again_ = true;
        return;
    }
    processing_ = true;
    do {
        process_again_ = false;
        process_once();
    } while (process_again_);
    processing_ = false;
    if (after_process_) after_process_();
}

void Driver::process_soon() {
    if (process_posted_) return;
    process_posted_ = true;
    env_.post([this, alive = alive_] {
        if (!*alive) return;
        process_posted_ = false;
        process();
    });
}

void Driver::process_once() {
    // Long work (a DIFF to a follower far behind comes a chunk per Ready)
    // yields now and then, so ticks and messages are not held up.
    const uint64_t start = env_.now_us();
    for (uint32_t round = 0; core_->has_ready(); ++round) {
        if (round > 0 &&
            (env_.now_us() - start > options_.yield_after_us ||
             (options_.max_readys_per_run != 0 && round >= options_.max_readys_per_run))) {
            ++stats_.yields;
            process_soon();
            return;
        }
        const bool previous_kept = previous_snapshot_data_ != nullptr;
        zab::Ready ready = core_->take_ready();
        if (ready.empty() && ready.write_id == 0) {
            // has_ready() promised progress: going round again would spin.
            env_.log(LogLevel::kCritical,
                     "the core had a Ready but it was empty (a bug in zab/core); waiting for the "
                     "next input");
            return;
        }
        carry_out(ready);
        if (previous_kept) previous_snapshot_data_.reset();  // nothing can name it any more
        const zab::Membership& in_force = core_->membership();
        if (!membership_told_ || in_force.version != membership_told_->version ||
            !in_force.same_servers(*membership_told_)) {
            membership_told_ = in_force;
            env_.membership_in_force(in_force);
        }
    }
}

void Driver::set_snapshot(Zxid zxid, std::shared_ptr<const std::string> data) {
    previous_snapshot_zxid_ = snapshot_zxid_;
    previous_snapshot_data_ = std::move(snapshot_data_);
    snapshot_zxid_ = zxid;
    snapshot_data_ = std::move(data);
}

void Driver::carry_out(zab::Ready& ready) {
    // 1. Messages that may go now.
    std::set<zab::ServerId> cut;  // peers whose sync cannot go on in this Ready
    for (zab::Outgoing& out : ready.messages) {
        if (cut.count(out.to)) continue;
        if (out.message.has_snap()) {
            const Zxid want = zab::from_pb(out.message.snap().zxid());
            std::shared_ptr<const std::string> data = snapshot_data_;
            if (snapshot_zxid_ != want && previous_snapshot_data_ &&
                previous_snapshot_zxid_ == want) {
                data = previous_snapshot_data_;
            } else if (snapshot_zxid_ != want) {
                // Sending the rest of the sync without it would leave a gap:
                // drop the link; the follower starts over.
                env_.log(LogLevel::kCritical, "cannot send a snapshot at " + want.str() +
                                                  " (holding " + snapshot_zxid_.str() +
                                                  "); resetting the link to server " +
                                                  std::to_string(out.to));
                cut.insert(out.to);
                env_.reset_link(out.to);
                continue;
            }
            ++stats_.snapshots_sent;
            sender_.send_snapshot(out.to, out.message.snap(), std::move(data));
            continue;
        }
        sender_.send(out.to, out.message);
    }
    // 2. Writes, and what may go only once they are durable.
    if (ready.write_id != 0) {
        for (const zab::Write& w : ready.writes) {
            if (const auto* append = std::get_if<zab::AppendTxns>(&w)) {
                stats_.log_records_appended += append->txns.size();
                for (const zab::Txn& t : append->txns) stats_.log_bytes_appended += t.data.size();
            }
        }
        StorageJob job;
        job.writes = std::move(ready.writes);
        auto after = std::make_shared<std::vector<zab::Outgoing>>(std::move(ready.after_persist));
        const uint64_t write_id = ready.write_id;
        job.done = [this, alive = alive_, after, write_id] {
            if (!*alive) return;
            for (const zab::Outgoing& out : *after) sender_.send(out.to, out.message);
            core_->persisted(write_id);
            process_soon();
        };
        env_.write(std::move(job));
    }
    // 3. Deliveries, then their completions and finished syncs.
    if (!ready.committed.empty()) {
        const uint64_t start = env_.now_us();
        for (const zab::Txn& txn : ready.committed) {
            // The core's own: the membership, not the application's data.
            if (txn.type == zab::kConfigTxnType) {
                Result<zab::Membership> m = zab::Membership::decode(txn.zxid, txn.data);
                CHORUS_ASSERT(m.is_ok(), "the core delivered a CONFIG that does not decode");
                env_.log(LogLevel::kInfo,
                         "membership " + txn.zxid.str() + " committed: " + m.value().str());
                sm_.membership_committed(txn, m.value());
                continue;
            }
            sm_.deliver(txn);
        }
        warn_if_slow("delivering transactions", ready.committed.size(), start);
    }
    for (const zab::Completion& c : ready.completions) {
        auto it = pending_.find(c.request_id);
        if (it == pending_.end()) continue;
        Done done = std::move(it->second);
        pending_.erase(it);
        done(c.outcome == zab::Completion::Outcome::kRefused ? c.refusal : Status::ok(), c);
    }
    for (const zab::SyncDone& s : ready.syncs) {
        auto it = pending_syncs_.find(s.id);
        if (it == pending_syncs_.end()) continue;
        SyncDone done = std::move(it->second);
        pending_syncs_.erase(it);
        done(Status::ok(), s.zxid);
    }
    // 4. A snapshot from the leader replaces the state.
    if (ready.restore) {
        const uint64_t start = env_.now_us();
        sm_.restore(ready.restore->data);
        warn_if_slow("restoring a snapshot", ready.restore->data.size(), start);
        set_snapshot(ready.restore->zxid,
                     std::make_shared<const std::string>(std::move(ready.restore->data)));
        ++stats_.snapshots_installed;
        env_.log(LogLevel::kInfo,
                 "installed a snapshot at " + snapshot_zxid_.str() + " from the leader");
    }
    // 5. A snapshot of our own is due.
    if (ready.snapshot_due) take_snapshot(*ready.snapshot_due);
    for (const std::string& line : ready.notices) env_.log(LogLevel::kWarn, line);
    if (ready.role_change) {
        const zab::RoleChange& rc = *ready.role_change;
        env_.log(LogLevel::kInfo,
                 std::string(zab::role_name(rc.role)) +
                     (rc.leader ? " (leader " + std::to_string(rc.leader) + ")" : "") +
                     (core_->serving() ? ", serving epoch " + std::to_string(rc.epoch) : "") +
                     (rc.reason.empty() ? "" : ": " + rc.reason));
        if (!core_->serving()) {
            fail_pending(Status(Code::kUnknownOutcome,
                                "the leader changed before the request's outcome was known; it "
                                "may or may not have been applied — retry if it is idempotent"),
                         Status(Code::kNotLeader, "the leader changed; sync again"));
        }
        sm_.role_changed(rc.role, rc.leader, rc.epoch);
    }
}

void Driver::take_snapshot(Zxid at) {
    // The state machine sets a consistent view aside (snapshot()); the bytes
    // are produced on another thread and written by the storage side, so
    // heartbeats and commits go on meanwhile. The core asks for no other
    // snapshot until this one is saved: one piece of work at a time.
    const uint64_t start = env_.now_us();
    std::function<std::string()> produce = sm_.snapshot();
    warn_if_slow("setting a snapshot aside", 0, start);
    DriverEnv* env = &env_;
    env_.run_off_thread([this, env, alive = alive_, at, produce = std::move(produce)] {
        auto data = std::make_shared<const std::string>(produce());
        env->post([this, alive, at, data] {
            if (!*alive) return;
            sm_.snapshot_done();
            StorageJob job;
            job.save_snapshot = StorageJob::SavedSnapshot{at, data};
            job.done = [this, alive, at, data] {
                if (!*alive) return;
                if (at > snapshot_zxid_)
                    set_snapshot(at, data);  // one installed meanwhile may be newer
                core_->snapshot_saved(at);
                process();
            };
            env_.write(std::move(job));
        });
    });
}

void Driver::expire_pending() {
    const uint64_t timeout_ticks =
        options_.request_timeout_ms / std::max<uint32_t>(options_.tick_ms, 1);
    while (!deadlines_.empty() && std::get<0>(deadlines_.front()) + timeout_ticks <= ticks_) {
        const auto [at, id, is_sync] = deadlines_.front();
        deadlines_.pop_front();
        const Status late(
            Code::kTimeout,
            "no outcome within " + std::to_string(options_.request_timeout_ms) +
                " ms; it may or may not have been applied — retry if it is idempotent");
        if (is_sync) {
            auto it = pending_syncs_.find(id);
            if (it == pending_syncs_.end()) continue;
            SyncDone done = std::move(it->second);
            pending_syncs_.erase(it);
            done(late, Zxid{});
        } else {
            auto it = pending_.find(id);
            if (it == pending_.end()) continue;
            Done done = std::move(it->second);
            pending_.erase(it);
            done(late, zab::Completion{id, zab::Completion::Outcome::kCommitted, {}});
        }
    }
}

void Driver::fail_pending(const Status& requests_status, const Status& syncs_status) {
    auto requests = std::move(pending_);
    pending_.clear();
    for (auto& [id, done] : requests)
        done(requests_status, zab::Completion{id, zab::Completion::Outcome::kCommitted, {}});
    auto syncs = std::move(pending_syncs_);
    pending_syncs_.clear();
    for (auto& [id, done] : syncs) done(syncs_status, Zxid{});
}

void Driver::warn_if_slow(const char* what, size_t count, uint64_t start_us) {
    const uint64_t ms = (env_.now_us() - start_us) / 1000;
    if (ms < options_.slow_warning_ms) return;
    env_.log(LogLevel::kWarn,
             std::string(what) + (count ? " (" + std::to_string(count) + ")" : "") + " took " +
                 std::to_string(ms) + " ms on the core thread (the state machine)");
}

}  // namespace chorus::runtime
