// A small in-memory network of Cores for tests that need control of when a
// server reads: its incoming messages can be held and stepped together.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "tests/support/ensemble.h"
#include "zab/core/core.h"

namespace chorus::testing {

using zab::AppendTxns;
using zab::Completion;
using zab::Config;
using zab::Core;
using zab::DurableState;
using zab::MarkJoinedEnsemble;
using zab::MarkOriginalMember;
using zab::Outgoing;
using zab::Ready;
using zab::Request;
using zab::Role;
using zab::ServerId;
using zab::SetAcceptedEpoch;
using zab::SetCurrentEpoch;
using zab::TruncateAfter;
using zab::Txn;
using zab::Write;
namespace pb = zab::pb;

// A small in-memory network like tests/support/ensemble.h, with one thing
// more: a server's incoming messages can be held and then stepped together,
// with no take_ready() between them, as the runtime does with the frames of
// one read (Driver::on_message steps each, process_soon() makes one Ready).
// It also answers requests as the Driver does: a Ready's completions first,
// then, on a role change that leaves the core not serving, every request
// still pending fails with kUnknownOutcome.
class HeldNet {
 public:
    explicit HeldNet(int n) : n_(n) {
        for (int i = 1; i <= n; ++i) {
            const auto id = static_cast<ServerId>(i);
            start(id, DurableState{}, false);
        }
        for (int i = 1; i <= n; ++i)
            for (int j = 1; j <= n; ++j)
                if (i != j) connect(ServerId(i), ServerId(j));
        for (int i = 1; i <= n; ++i) pump(ServerId(i));
        run();
    }
    Core& core(ServerId id) { return *nodes_.at(id).core; }
    void after_input(ServerId id) { pump(id); }

    void start(ServerId id, DurableState durable, bool connect_all) {
        Node& n = nodes_[id];
        n.app = std::make_unique<TestPreprocessor>();
        Config c = quick_config();
        c.members.clear();
        for (int i = 1; i <= n_; ++i) c.members.push_back(ServerId(i));
        c.id = id;
        c.bootstrap = true;
        c.snapshot_every_txns = snapshot_every_txns;
        n.core = std::make_unique<Core>(c, std::move(durable), *n.app);
        n.up = true;
        n.disk = DurableState{};
        pump(id);
        if (!connect_all) return;
        for (auto& [peer, other] : nodes_) {
            if (peer == id || !other.up) continue;
            connect(id, peer);
            pump(id);
            connect(peer, id);
            pump(peer);
        }
    }
    // Crash: its messages vanish, the others see the links break; the disk
    // (the writes its Readys asked for, all durable here) is kept.
    DurableState crash(ServerId id) {
        Node& n = nodes_.at(id);
        n.up = false;
        std::erase_if(wire_,
                      [id](const auto& m) { return std::get<0>(m) == id || std::get<1>(m) == id; });
        n.inbox.clear();
        for (auto& [peer, other] : nodes_) {
            if (peer == id || !other.up) continue;
            other.core->disconnected(id);
            pump(peer);
        }
        return n.disk;
    }

    // A crash nobody is told of (a machine gone quiet, a half-open link):
    // its messages vanish, and no peer's disconnected() is called.
    void vanish(ServerId id) {
        Node& n = nodes_.at(id);
        n.up = false;
        std::erase_if(wire_,
                      [id](const auto& m) { return std::get<0>(m) == id || std::get<1>(m) == id; });
        n.inbox.clear();
    }

    void submit(ServerId id, uint64_t rid, std::string data) {
        ASSERT_TRUE(core(id).submit(Request{rid, 1, std::move(data)}).is_ok());
        nodes_.at(id).pending.insert(rid);
        pump(id);
    }
    // Messages to `id` of the kinds `hold` says are kept in its inbox.
    void hold(ServerId id, std::function<bool(const pb::PeerMessage&)> which) {
        nodes_.at(id).hold = std::move(which);
    }
    // Steps everything held for `id` in one go, then takes its Readys.
    void release(ServerId id) {
        step_held(id);
        pump(id);
        run();
    }
    // As release(), but only steps the held messages: no Ready is taken,
    // so a test can take them one at a time (take_one_ready) and put other
    // events between them, as the Driver's yields do.
    void step_held(ServerId id) {
        Node& n = nodes_.at(id);
        n.hold = nullptr;
        auto inbox = std::move(n.inbox);
        n.inbox.clear();
        for (auto& [from, m] : inbox) n.core->step(from, m);
    }
    // One Ready of `id`, carried out; false if it had none.
    bool take_one_ready(ServerId id) {
        Node& n = nodes_.at(id);
        if (!n.up || !n.core->has_ready()) return false;
        handle(id, n.core->take_ready());
        return true;
    }
    // `id` sees its link to `peer` break (the peer lives on; its messages
    // already on the wire to `id` are lost).
    void break_link(ServerId id, ServerId peer) {
        std::erase_if(wire_, [id, peer](const auto& m) {
            return std::get<0>(m) == peer && std::get<1>(m) == id;
        });
        nodes_.at(id).core->disconnected(peer);
    }
    // The link a-b breaks, both ends told, and stays down (no redial).
    void cut_link(ServerId a, ServerId b) {
        cuts_.insert({a, b});
        cuts_.insert({b, a});
        break_link(a, b);
        pump(a);
        break_link(b, a);
        pump(b);
    }
    void run() {
        for (int step = 0; step < 1000000 && !wire_.empty(); ++step) {
            auto [from, to, m] = std::move(wire_.front());
            wire_.pop_front();
            Node& n = nodes_.at(to);
            if (!n.up || !nodes_.at(from).up || cuts_.count({from, to})) continue;
            if (n.hold && (n.hold(m) || !n.inbox.empty())) {
                n.inbox.emplace_back(from, std::move(m));
                continue;
            }
            n.core->step(from, m);
            pump(to);
        }
    }
    void tick(int k = 1) {
        for (int i = 0; i < k; ++i) {
            for (auto& [id, n] : nodes_) {
                if (!n.up) continue;
                n.core->tick();
                pump(id);
            }
            run();
        }
    }
    ServerId serving_leader() {
        for (auto& [id, n] : nodes_)
            if (n.up && n.core->role() == Role::kLeading && n.core->serving()) return id;
        return 0;
    }
    ServerId elect(int max_ticks = 100) {
        for (int i = 0; i < max_ticks && serving_leader() == 0; ++i) tick();
        return serving_leader();
    }
    const std::set<uint64_t>& unknown(ServerId id) { return nodes_.at(id).unknown; }
    const std::set<uint64_t>& committed(ServerId id) { return nodes_.at(id).committed; }
    const std::set<uint64_t>& pending(ServerId id) { return nodes_.at(id).pending; }
    const std::vector<Completion>& completions(ServerId id) { return nodes_.at(id).completions; }

    uint64_t snapshot_every_txns = 0;

 private:
    struct Node {
        std::unique_ptr<TestPreprocessor> app;
        std::unique_ptr<Core> core;
        bool up = false;
        DurableState disk;
        std::function<bool(const pb::PeerMessage&)> hold;
        std::vector<std::pair<ServerId, pb::PeerMessage>> inbox;
        std::set<uint64_t> pending, committed, unknown;
        std::vector<Completion> completions;
    };
    void connect(ServerId a, ServerId b) { nodes_.at(a).core->connected(b); }
    void pump(ServerId id) {
        Node& n = nodes_.at(id);
        for (int i = 0; i < 10000 && n.up && n.core->has_ready(); ++i)
            handle(id, n.core->take_ready());
    }
    void apply(DurableState& d, const Write& w) {
        if (auto* a = std::get_if<SetAcceptedEpoch>(&w)) d.accepted_epoch = a->epoch;
        if (auto* c = std::get_if<SetCurrentEpoch>(&w)) d.current_epoch = c->epoch;
        if (auto* t = std::get_if<AppendTxns>(&w))
            d.log.insert(d.log.end(), t->txns.begin(), t->txns.end());
        if (auto* t = std::get_if<TruncateAfter>(&w))
            std::erase_if(d.log, [&](const Txn& x) { return x.zxid > t->zxid; });
        if (std::holds_alternative<MarkJoinedEnsemble>(w)) d.joined_ensemble = true;
        if (std::holds_alternative<MarkOriginalMember>(w)) d.original_member = true;
    }
    void handle(ServerId id, Ready r) {
        Node& n = nodes_.at(id);
        for (Outgoing& o : r.messages) wire_.emplace_back(id, o.to, std::move(o.message));
        for (const Write& w : r.writes) apply(n.disk, w);
        for (const Completion& c : r.completions) {
            n.completions.push_back(c);
            if (n.pending.erase(c.request_id) && c.outcome == Completion::Outcome::kCommitted)
                n.committed.insert(c.request_id);
        }
        if (r.role_change && !n.core->serving()) {  // Driver::carry_out
            n.unknown.insert(n.pending.begin(), n.pending.end());
            n.pending.clear();
        }
        if (r.snapshot_due) n.core->snapshot_saved(*r.snapshot_due);
        if (r.write_id != 0) {
            for (Outgoing& o : r.after_persist) wire_.emplace_back(id, o.to, std::move(o.message));
            n.core->persisted(r.write_id);
        }
    }
    int n_;
    std::map<ServerId, Node> nodes_;
    std::set<std::pair<ServerId, ServerId>> cuts_;
    std::deque<std::tuple<ServerId, ServerId, pb::PeerMessage>> wire_;
};

}  // namespace chorus::testing
