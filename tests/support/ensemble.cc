#include "tests/support/ensemble.h"

#include <algorithm>
#include <ostream>

namespace chorus::testing {

Ensemble::Ensemble(int n, zab::Config base, std::map<zab::ServerId, zab::DurableState> durable,
                   std::set<zab::ServerId> start_only, std::set<zab::ServerId> outside)
    : base_(std::move(base)), n_(n) {
    base_.members.clear();
    const std::set<zab::ServerId> observers(base_.observers.begin(), base_.observers.end());
    for (int i = 1; i <= n; ++i) {
        const auto id = static_cast<zab::ServerId>(i);
        if (!observers.count(id) && !outside.count(id)) base_.members.push_back(id);
        nodes_[id];
    }
    // Start them all before any message moves, as if at the same moment.
    starting_together_ = true;
    for (const auto& [id, unused] : nodes_) {
        if (!start_only.empty() && !start_only.count(id)) continue;
        start(id, durable.count(id) ? durable[id] : zab::DurableState{});
    }
    starting_together_ = false;
    settle();
}

void Ensemble::start(zab::ServerId id, zab::DurableState durable, bool bootstrap) {
    Node& n = nodes_[id];
    n = Node{};
    n.app = std::make_unique<TestPreprocessor>();
    zab::Config config = base_;
    config.id = id;
    config.bootstrap = bootstrap;
    n.core = std::make_unique<zab::Core>(config, std::move(durable), *n.app);
    n.up = true;
    after_input(id);
    for (auto& [peer, other] : nodes_) {
        if (peer == id || !other.up || !linked(id, peer)) continue;
        n.core->connected(peer);
        after_input(id);
        other.core->connected(id);
        after_input(peer);
    }
    if (!starting_together_) settle();
}

void Ensemble::halt_silently(zab::ServerId id) {
    nodes_.at(id).up = false;
    std::erase_if(wire_, [id](const auto& m) { return std::get<1>(m) == id; });
}

void Ensemble::stop(zab::ServerId id) {
    Node& n = nodes_.at(id);
    n.up = false;
    std::erase_if(wire_,
                  [id](const auto& m) { return std::get<0>(m) == id || std::get<1>(m) == id; });
    for (auto& [peer, other] : nodes_) {
        if (peer == id || !other.up) continue;
        other.core->disconnected(id);
        after_input(peer);
    }
}

bool Ensemble::linked(zab::ServerId a, zab::ServerId b) const {
    return !isolated_.count(a) && !isolated_.count(b) &&
           !cut_links_.count({std::min(a, b), std::max(a, b)});
}

void Ensemble::cut_link(zab::ServerId a, zab::ServerId b, bool cut) {
    const std::pair<zab::ServerId, zab::ServerId> link{std::min(a, b), std::max(a, b)};
    if (cut) {
        const bool was = linked(a, b);
        cut_links_.insert(link);
        std::erase_if(wire_, [&](const auto& m) {
            return (std::get<0>(m) == a && std::get<1>(m) == b) ||
                   (std::get<0>(m) == b && std::get<1>(m) == a);
        });
        if (was) {
            for (auto [x, y] : {std::pair{a, b}, std::pair{b, a}}) {
                if (!node(x).up) continue;
                core(x).disconnected(y);
                after_input(x);
            }
        }
    } else {
        cut_links_.erase(link);
        if (linked(a, b) && node(a).up && node(b).up) {
            core(a).connected(b);
            after_input(a);
            core(b).connected(a);
            after_input(b);
        }
    }
    settle();
}

void Ensemble::isolate(zab::ServerId id, bool cut) { isolate(std::set<zab::ServerId>{id}, cut); }

void Ensemble::isolate(const std::set<zab::ServerId>& ids, bool cut) {
    if (cut) {
        // Every link of every one of them is cut before any core hears of
        // it, so nothing a core sends on hearing reaches the others.
        std::vector<std::pair<zab::ServerId, zab::ServerId>> cuts;
        for (zab::ServerId id : ids) {
            for (auto& [peer, other] : nodes_) {
                if (peer != id && other.up && linked(id, peer)) cuts.emplace_back(id, peer);
            }
        }
        isolated_.insert(ids.begin(), ids.end());
        std::erase_if(wire_, [&ids](const auto& m) {
            return ids.count(std::get<0>(m)) || ids.count(std::get<1>(m));
        });
        for (auto [id, peer] : cuts) {
            node(peer).core->disconnected(id);
            after_input(peer);
            if (node(id).up) {
                core(id).disconnected(peer);
                after_input(id);
            }
        }
    } else {
        for (zab::ServerId id : ids) {
            isolated_.erase(id);
            for (auto& [peer, other] : nodes_) {
                if (peer == id || !other.up || !node(id).up || !linked(id, peer)) continue;
                core(id).connected(peer);
                after_input(id);
                other.core->connected(id);
                after_input(peer);
            }
        }
    }
    settle();
}

void Ensemble::set_disk_stuck(zab::ServerId id, bool stuck) {
    Node& n = node(id);
    n.disk_stuck = stuck;
    if (stuck) return;
    while (!n.unpersisted.empty()) {
        const uint64_t write_id = n.unpersisted.front();
        n.unpersisted.pop_front();
        for (zab::Outgoing& out : n.held_msgs.front())
            wire_.emplace_back(id, out.to, std::move(out.message));
        n.held_msgs.pop_front();
        n.core->persisted(write_id);
        after_input(id);
    }
    settle();
}

void Ensemble::handle(zab::ServerId id, zab::Ready ready) {
    Node& n = node(id);
    for (zab::Outgoing& out : ready.messages) {
        if (out.message.has_proposal()) ++n.proposals_sent;
        if (out.message.has_diff()) ++n.diffs_sent;
        if (linked(id, out.to) && node(out.to).up)
            wire_.emplace_back(id, out.to, std::move(out.message));
    }
    for (const zab::Write& w : ready.writes) {
        if (std::holds_alternative<zab::AppendTxns>(w)) ++n.append_writes;
        n.writes.push_back(w);
    }
    for (const zab::Txn& txn : ready.committed) n.delivered.push_back(txn);
    for (const zab::Completion& c : ready.completions) n.completions.push_back(c);
    for (const zab::SyncDone& s : ready.syncs) n.syncs.push_back(s);
    if (ready.snapshot_due) n.core->snapshot_saved(*ready.snapshot_due);
    if (ready.write_id == 0) return;
    if (n.disk_stuck) {
        n.unpersisted.push_back(ready.write_id);
        n.held_msgs.push_back(std::move(ready.after_persist));
        return;
    }
    for (zab::Outgoing& out : ready.after_persist) {
        if (linked(id, out.to) && node(out.to).up)
            wire_.emplace_back(id, out.to, std::move(out.message));
    }
    n.core->persisted(ready.write_id);
}

void Ensemble::after_input(zab::ServerId id) {
    Node& n = node(id);
    for (int i = 0; i < 1000 && n.up && n.core->has_ready(); ++i) handle(id, n.core->take_ready());
}

void Ensemble::settle() {
    for (int step = 0; step < 1000000 && !wire_.empty(); ++step) {
        auto [from, to, message] = std::move(wire_.front());
        wire_.pop_front();
        if (!node(to).up || !linked(from, to)) continue;
        if (drop_acks_ && message.has_ack()) continue;
        core(to).step(from, message);
        after_input(to);
    }
}

void Ensemble::tick(int n) {
    for (int i = 0; i < n; ++i) {
        for (auto& [id, node] : nodes_) {
            if (!node.up) continue;
            node.core->tick();
            after_input(id);
        }
        settle();
    }
}

zab::ServerId Ensemble::serving_leader() const {
    for (const auto& [id, node] : nodes_) {
        if (node.up && node.core->role() == zab::Role::kLeading && node.core->serving()) return id;
    }
    return 0;
}

zab::ServerId Ensemble::elect(int max_ticks) {
    settle();
    for (int i = 0; i < max_ticks && serving_leader() == 0; ++i) tick();
    return serving_leader();
}

Status Ensemble::change_membership(zab::ServerId leader, zab::Membership next, uint64_t rid) {
    Status s = core(leader).reconfigure(rid, std::move(next));
    if (!s.is_ok()) return s;
    after_input(leader);
    settle();
    tick(2);
    return s;
}

Zxid Ensemble::completed(zab::ServerId id, uint64_t rid) const {
    for (const zab::Completion& c : nodes_.at(id).completions)
        if (c.request_id == rid) return c.zxid;
    return Zxid{};
}

void Ensemble::dump(std::ostream& out) const {
    for (zab::ServerId id = 1; id <= static_cast<zab::ServerId>(n_); ++id) {
        const Node& n = nodes_.at(id);
        if (!n.up) {
            out << id << ": down\n";
            continue;
        }
        const zab::Core& c = *n.core;
        out << id << ": " << zab::role_name(c.role()) << (c.serving() ? " serving" : "")
            << " leader " << c.leader() << " aE " << c.accepted_epoch() << " cE "
            << c.current_epoch() << " last " << c.last_zxid().str() << " committed "
            << c.committed_zxid().str() << (c.voting() ? "" : " not-voting") << " membership "
            << c.membership().version.str() << " " << c.membership().str() << "\n";
    }
}

}  // namespace chorus::testing
