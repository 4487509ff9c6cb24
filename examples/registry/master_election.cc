#include "examples/registry/master_election.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <future>
#include <vector>

#include "session/client.pb.h"
#include "session/server/session_service.h"
#include "zab/runtime/node.h"

namespace chorus::registry {

namespace cpb = chorus::client::pb;

namespace {

constexpr const char* kMasterPath = "/hbase/master";
constexpr const char* kBackupDir = "/hbase/backup-masters/";
// After a refused write (not serving, busy), wait this long before the next.
constexpr uint64_t kRetryMs = 100;

cpb::Request create_request(uint64_t session, const std::string& path, const std::string& data,
                            bool ephemeral) {
    cpb::Request r;
    cpb::Write* w = r.mutable_write();
    w->set_session_id(session);
    cpb::Op* op = w->add_ops();
    op->set_kind(cpb::Op::CREATE);
    op->set_path(path);
    op->set_data(data);
    op->set_ephemeral(ephemeral);
    return r;
}

}  // namespace

const char* master_state_name(MasterState state) {
    switch (state) {
        case MasterState::kStarting:
            return "starting";
        case MasterState::kBackup:
            return "backup";
        case MasterState::kActive:
            return "active";
    }
    return "?";
}

uint64_t steady_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

struct MasterElection::Impl : std::enable_shared_from_this<MasterElection::Impl> {
    Impl(ElectionOptions o, session::SessionService& s, Node& n)
        : options(std::move(o)), service(s), node(n) {}

    const ElectionOptions options;
    session::SessionService& service;
    Node& node;
    const std::string name = options.self.str();

    // Read by state() on any thread.
    std::atomic<uint64_t> session{0};
    std::atomic<uint64_t> lease_until_ms{0};  // steady clock: the session surely lives till then
    std::atomic<bool> named{false};           // /hbase/master names this master (its replica says)
    std::atomic<bool> set_up{false};          // the setup writes are done
    MasterState logged = MasterState::kStarting;  // core thread: the state last logged
    std::atomic<uint64_t> won{0};
    std::atomic<uint64_t> lost{0};
    std::atomic<bool> resigned{false};

    // Core thread only.
    uint64_t granted_timeout_ms = 0;
    bool busy = false;               // a request of the run in flight (one at a time)
    bool confirm_in_flight = false;  // a confirmed heartbeat and its write under way
    uint64_t confirm_started_ms = 0;
    uint64_t confirm_generation = 0;
    size_t setup_done = 0;       // paths of setup_paths() made so far
    bool backup_listed = false;  // /hbase/backup-masters/<name> is ours
    uint64_t next_heartbeat_ms = 0;
    uint64_t retry_at_ms = 0;
    std::string active_seen;  // the active master last logged

    struct SetupPath {
        std::string path;
        std::string data;
    };
    std::vector<SetupPath> setup_paths() const {
        return {{"/hbase", ""},
                {"/hbase/rs", ""},
                {"/hbase/backup-masters", ""},
                {"/hbase/hbaseid", options.new_cluster_id}};
    }

    // Sends `request` for the run; `then` gets the answer on the core
    // thread, unless the election is gone by then.
    void send(cpb::Request request, std::function<void(Impl&, const cpb::Response&)> then) {
        busy = true;
        std::weak_ptr<Impl> weak = weak_from_this();
        service.handle(std::move(request), [weak, then = std::move(then)](cpb::Response r) {
            auto self = weak.lock();
            if (!self) return;
            self->busy = false;
            then(*self, r);
        });
    }

    void session_gone(const char* why) {
        if (session.load() == 0) return;
        spdlog::warn("master {}: session {:#x} {}; opening a new one", name, session.load(), why);
        session = 0;
        lease_until_ms = 0;
        backup_listed = false;
        ++lost;
    }

    // What the master is now, from the lease and the replica (any thread).
    MasterState state() const {
        if (session.load() == 0 || !set_up.load()) return MasterState::kStarting;
        if (!named.load()) return MasterState::kBackup;
        return steady_ms() < lease_until_ms.load() ? MasterState::kActive : MasterState::kStarting;
    }

    // The lease: how long the session surely lives after a heartbeat the
    // leader took at or after `sent_ms` — its timeout, less a margin for the
    // leader's clock (read once per tick) and a stalled core thread.
    void extend_lease(uint64_t sent_ms) {
        if (resigned.load()) return;  // resign() ended the lease for good
        const uint64_t margin = granted_timeout_ms / 5 + 20;
        if (granted_timeout_ms <= margin) return;
        const uint64_t until = sent_ms + granted_timeout_ms - margin;
        if (until > lease_until_ms.load()) lease_until_ms = until;
    }

    void log_state() {
        const MasterState s = state();
        if (s == logged) return;
        if (s == MasterState::kActive) {
            ++won;
            spdlog::info("master {}: active (holds {})", name, kMasterPath);
        } else if (logged == MasterState::kActive) {
            spdlog::warn("master {}: no longer active ({})", name, master_state_name(s));
        }
        logged = s;
    }

    // A refused or failed write: retried after a pause. NO_SESSION means the
    // session is gone.
    void failed(uint64_t now, const cpb::Response& r, const char* what) {
        if (r.code() == cpb::NO_SESSION) return session_gone("is gone");
        if (r.code() != cpb::NOT_SERVING && r.code() != cpb::BUSY && r.code() != cpb::UNCERTAIN)
            spdlog::warn("master {}: {}: {} {}", name, what, cpb::Code_Name(r.code()), r.message());
        retry_at_ms = now + kRetryMs;
    }

    // A heartbeat the leader confirms, then a logged no-op write (a CHECK
    // of /hbase): the leader proposes it after everything it decided
    // before it took the heartbeat — an expiry of this session among them
    // — so once its answer comes (after its delivery here), a replica that
    // still has the session shows it lived when the leader took the
    // heartbeat, and so lives a full timeout after the heartbeat was sent.
    // (A read barrier would not do: it covers only what was proposed, and
    // a leader whose pipeline is full holds decided expiries unproposed.)
    // One small transaction per quarter timeout per master.
    void confirm(uint64_t now) {
        if (!set_up.load()) return;  // /hbase exists once setup is done
        if (confirm_in_flight && now < confirm_started_ms + granted_timeout_ms / 2) return;
        if (now < next_heartbeat_ms) return;
        // A confirmation that takes too long (a heartbeat the leader
        // dropped) is given up: its answer, if it comes, is ignored.
        const uint64_t generation = ++confirm_generation;
        confirm_in_flight = true;
        confirm_started_ms = now;
        next_heartbeat_ms = now + std::max<uint64_t>(granted_timeout_ms / 4, 1);
        const uint64_t id = session.load();
        const uint64_t sent = steady_ms();
        std::weak_ptr<Impl> weak = weak_from_this();
        service.heartbeat_confirmed(id, [weak, id, sent, generation](bool taken) {
            auto self = weak.lock();
            if (!self || generation != self->confirm_generation) return;
            if (!taken) {
                self->confirm_in_flight = false;
                return;
            }
            cpb::Request r;
            cpb::Op* op = r.mutable_write()->add_ops();
            op->set_kind(cpb::Op::CHECK);
            op->set_path("/hbase");
            self->service.handle(std::move(r), [weak, id, sent, generation](cpb::Response reply) {
                auto self = weak.lock();
                if (!self || generation != self->confirm_generation) return;
                self->confirm_in_flight = false;
                if (reply.code() != cpb::OK || self->session.load() != id) return;
                if (self->service.tracker().sessions().count(id) == 0)
                    return self->session_gone("expired");
                self->extend_lease(sent);
            });
        });
    }

    void tick(uint64_t now, const RegistryView& view, bool serving) {
        if (resigned.load()) return;
        const uint64_t id = session.load();
        if (id != 0) confirm(now);
        // Named, and by a node of this very session (not one a third party
        // wrote, nor an old session's).
        const bool is_named = view.active_master && view.active_master->str() == name &&
                              view.active_master_session == id;
        named = is_named;
        set_up = setup_done == setup_paths().size();
        log_state();
        if (view.active_master && view.active_master->str() != active_seen) {
            active_seen = view.active_master->str();
            if (!is_named)
                spdlog::info("master {}: standing by; the active master is {}", name, active_seen);
        }
        if (busy || now < retry_at_ms || !serving) return;
        if (id == 0) return open_session(now);
        if (setup_done < setup_paths().size()) return setup(now);
        if (is_named) {
            if (backup_listed) unlist_backup(now);
            return;
        }
        if (!view.active_master) return run_for_active(now, id);
        if (!backup_listed) list_backup(now, id);
    }

    void open_session(uint64_t now) {
        cpb::Request r;
        r.mutable_open()->set_timeout_ms(options.session_timeout_ms);
        const uint64_t sent = steady_ms();
        send(std::move(r), [now, sent](Impl& self, const cpb::Response& reply) {
            if (reply.code() != cpb::OK) return self.failed(now, reply, "opening a session");
            self.granted_timeout_ms = reply.session().timeout_ms();
            self.session = reply.session().session_id();
            // The leader opened it after `sent`, with a full timeout.
            self.extend_lease(sent);
            self.next_heartbeat_ms = 0;
            spdlog::info("master {}: session {:#x} ({} ms)", self.name, self.session.load(),
                         self.granted_timeout_ms);
        });
    }

    void setup(uint64_t now) {
        const SetupPath p = setup_paths()[setup_done];
        send(create_request(0, p.path, p.data, false),
             [now, path = p.path](Impl& self, const cpb::Response& reply) {
                 if (reply.code() != cpb::OK && reply.code() != cpb::NODE_EXISTS)
                     return self.failed(now, reply, ("creating " + path).c_str());
                 if (path == "/hbase/hbaseid" && reply.code() == cpb::OK)
                     spdlog::info("master {}: the cluster id is {}", self.name,
                                  self.options.new_cluster_id);
                 ++self.setup_done;
             });
    }

    void run_for_active(uint64_t now, uint64_t id) {
        send(create_request(id, kMasterPath, name, true),
             [now](Impl& self, const cpb::Response& reply) {
                 // NODE_EXISTS: another won; the cache will name it. UNCERTAIN:
                 // the cache will say whether the create applied.
                 if (reply.code() != cpb::OK && reply.code() != cpb::NODE_EXISTS)
                     self.failed(now, reply, "running for active master");
             });
    }

    void list_backup(uint64_t now, uint64_t id) {
        send(create_request(id, kBackupDir + name, "", true),
             [now](Impl& self, const cpb::Response& reply) {
                 if (reply.code() == cpb::OK || reply.code() == cpb::NODE_EXISTS) {
                     self.backup_listed = true;
                 } else {
                     self.failed(now, reply, "listing as a backup master");
                 }
             });
    }

    void unlist_backup(uint64_t now) {
        cpb::Request r;
        cpb::Op* op = r.mutable_write()->add_ops();
        op->set_kind(cpb::Op::DELETE);
        op->set_path(kBackupDir + name);
        send(std::move(r), [now](Impl& self, const cpb::Response& reply) {
            if (reply.code() == cpb::OK || reply.code() == cpb::NO_NODE) {
                self.backup_listed = false;
            } else {
                self.failed(now, reply, "leaving the backup masters");
            }
        });
    }
};

MasterElection::MasterElection(ElectionOptions options, session::SessionService& service,
                               Node& node)
    : impl_(std::make_shared<Impl>(std::move(options), service, node)) {}

MasterElection::~MasterElection() = default;

void MasterElection::tick(uint64_t now_ms, const RegistryView& view, bool serving) {
    impl_->tick(now_ms, view, serving);
}

void MasterElection::resign(uint64_t wait_ms) {
    if (impl_->resigned.exchange(true)) return;
    const uint64_t id = impl_->session.load();
    impl_->lease_until_ms = 0;  // no longer active, whatever the replica says
    if (id == 0) return;
    auto closed = std::make_shared<std::promise<cpb::Code>>();
    cpb::Request r;
    r.mutable_close()->set_session_id(id);
    impl_->service.handle(std::move(r),
                          [closed](cpb::Response reply) { closed->set_value(reply.code()); });
    auto done = closed->get_future();
    if (done.wait_for(std::chrono::milliseconds(wait_ms)) != std::future_status::ready) {
        spdlog::warn("master {}: its session was not closed within {} ms; it will expire",
                     impl_->name, wait_ms);
    } else if (const cpb::Code code = done.get(); code != cpb::OK) {
        spdlog::warn("master {}: closing its session: {}; it will expire", impl_->name,
                     cpb::Code_Name(code));
    } else {
        spdlog::info("master {}: session closed; {} is free for the others", impl_->name,
                     kMasterPath);
    }
    impl_->session = 0;
}

MasterState MasterElection::state() const { return impl_->state(); }
uint64_t MasterElection::session_id() const { return impl_->session.load(); }
uint64_t MasterElection::times_won() const { return impl_->won.load(); }
uint64_t MasterElection::sessions_lost() const { return impl_->lost.load(); }

}  // namespace chorus::registry
