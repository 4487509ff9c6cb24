// Ensemble: Zab cores wired together in memory, for unit tests and the core
// benchmark. Messages are delivered in FIFO order per link and writes are
// durable at once (unless a server's disk is "stuck"), all inside settle().
// No randomness, no time: tests say exactly what happens.
#pragma once

#include <deque>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "zab/core/core.h"

namespace chorus::testing {

// The configuration the core's unit tests start from: an election timeout
// of 10 ticks, no snapshots unless a test asks.
inline zab::Config quick_config() {
    zab::Config c;
    c.election_timeout_ticks = 10;
    c.snapshot_every_txns = 0;
    return c;
}

// `m` with observer `id` made a voter, or voter `id` made an observer: the
// one-server changes of the reconfiguration tests.
inline zab::Membership promoted(const zab::Membership& m, zab::ServerId id) {
    zab::Membership next = m;
    next.voters[id] = next.observers.at(id);
    next.observers.erase(id);
    return next;
}
inline zab::Membership demoted(const zab::Membership& m, zab::ServerId id) {
    zab::Membership next = m;
    next.observers[id] = next.voters.at(id);
    next.voters.erase(id);
    return next;
}
// `m` with server `id` added as an observer, at the address the Ensemble
// gives every server ("server-N").
inline zab::Membership with_observer(const zab::Membership& m, zab::ServerId id) {
    zab::Membership next = m;
    next.observers[id] = "server-" + std::to_string(id);
    return next;
}
// A joiner's disk: empty, with the membership that names it (what --join
// takes from its first sync; the core needs one to start outside the
// bootstrap membership).
inline zab::DurableState joiner_disk(const zab::Membership& m) {
    zab::DurableState d;
    d.membership = m;
    return d;
}

// Absorbs requests of type 2 (as a heartbeat would be); turns the rest into
// transactions carrying the request's data.
class TestPreprocessor final : public zab::Preprocessor {
 public:
    std::optional<zab::Txn> preprocess(const zab::Request& request) override {
        ++calls;
        if (request.type == 2) return std::nullopt;
        zab::Txn txn;
        txn.type = request.type;
        txn.data = request.data;
        return txn;
    }
    int calls = 0;
};

class Ensemble {
 public:
    struct Node {
        std::unique_ptr<TestPreprocessor> app;
        std::unique_ptr<zab::Core> core;
        bool up = false;
        bool disk_stuck = false;
        std::deque<uint64_t> unpersisted;                  // write ids held by a stuck disk
        std::deque<std::vector<zab::Outgoing>> held_msgs;  // their after_persist messages
        std::vector<zab::Txn> delivered;
        std::vector<zab::Completion> completions;
        std::vector<zab::SyncDone> syncs;
        int proposals_sent = 0;
        int diffs_sent = 0;
        int append_writes = 0;
        std::vector<zab::Write> writes;  // every write its Readys asked for, in order
    };

    // Servers 1..n, all bootstrapping an ensemble with empty disks unless
    // `durable` says otherwise for some. Those in base.observers start as
    // observers, the others as voters.
    // Servers in `outside` exist (1..n) but are not of the bootstrap
    // membership: they are started later, with a stored membership that
    // names them (a server added by reconfiguration).
    Ensemble(int n, zab::Config base, std::map<zab::ServerId, zab::DurableState> durable = {},
             std::set<zab::ServerId> start = {}, std::set<zab::ServerId> outside = {});

    void start(zab::ServerId id, zab::DurableState durable = {}, bool bootstrap = true);
    void stop(zab::ServerId id);
    // The process stops without its peers noticing (no disconnect yet).
    void halt_silently(zab::ServerId id);
    Node& node(zab::ServerId id) { return nodes_.at(id); }
    zab::Core& core(zab::ServerId id) { return *nodes_.at(id).core; }

    // Cuts `id` off from everyone (or heals it).
    void isolate(zab::ServerId id, bool cut);
    // The same for each of `ids` at once: no core hears of one cut before
    // all are made.
    void isolate(const std::set<zab::ServerId>& ids, bool cut);
    // Cuts (or heals) the one link between `a` and `b`: each still reaches
    // everyone else (a bridge partition).
    void cut_link(zab::ServerId a, zab::ServerId b, bool cut);
    void set_disk_stuck(zab::ServerId id, bool stuck);
    // While on, ACK messages are lost on the way (nothing else is).
    void drop_acks(bool on) { drop_acks_ = on; }

    // Hands out everything until nothing moves (bounded).
    void settle();
    // `n` ticks on every running server, settling after each.
    void tick(int n = 1);
    // Ticks until a leader is serving (at most `max_ticks`); 0 if none.
    zab::ServerId elect(int max_ticks = 100);
    zab::ServerId serving_leader() const;

    // Call after any direct call on a core (submit, sync, ...).
    void after_input(zab::ServerId id);

    // Asks `leader` for membership `next` (request id `rid`) and lets the
    // ensemble run on for two ticks; the core's answer to the request.
    Status change_membership(zab::ServerId leader, zab::Membership next, uint64_t rid);
    // The zxid `id` completed request `rid` at (zero if it has not).
    Zxid completed(zab::ServerId id, uint64_t rid) const;
    // One line per server 1..n_: role, epochs, zxids, voting, membership.
    void dump(std::ostream& out) const;

 private:
    bool linked(zab::ServerId a, zab::ServerId b) const;
    void handle(zab::ServerId id, zab::Ready ready);

    bool starting_together_ = false;
    zab::Config base_;
    int n_;
    std::map<zab::ServerId, Node> nodes_;
    std::set<zab::ServerId> isolated_;
    std::set<std::pair<zab::ServerId, zab::ServerId>> cut_links_;  // (lower id, higher id)
    bool drop_acks_ = false;
    std::deque<std::tuple<zab::ServerId, zab::ServerId, zab::pb::PeerMessage>> wire_;
};

// The completion of request `rid` on server `id`, or null if none came.
inline const zab::Completion* completion_of(Ensemble& e, zab::ServerId id, uint64_t rid) {
    for (const zab::Completion& c : e.node(id).completions)
        if (c.request_id == rid) return &c;
    return nullptr;
}

// Every server id of 1..n but `leader`, lowest first.
inline std::vector<zab::ServerId> others(int n, zab::ServerId leader) {
    std::vector<zab::ServerId> out;
    for (zab::ServerId id = 1; id <= static_cast<zab::ServerId>(n); ++id)
        if (id != leader) out.push_back(id);
    return out;
}

}  // namespace chorus::testing
