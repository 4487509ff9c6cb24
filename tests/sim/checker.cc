#include "tests/sim/checker.h"

namespace chorus::sim {

uint64_t chain_hash(uint64_t before, const zab::Txn& txn) {
    // FNV-1a over the previous hash, the zxid and the data.
    uint64_t h = before ^ 0xcbf29ce484222325ull;
    auto mix = [&h](uint64_t v) {
        for (int i = 0; i < 8; ++i) {
            h ^= (v >> (8 * i)) & 0xFF;
            h *= 0x100000001b3ull;
        }
    };
    mix(txn.zxid.epoch);
    mix(txn.zxid.counter);
    for (unsigned char c : txn.data) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

void Checker::fail(const std::string& what) {
    if (failure_.empty()) failure_ = what;
}

void Checker::on_submit(uint64_t id, const std::string& data) { submitted_[id] = data; }

void Checker::on_preprocessed(uint64_t id, const std::string& txn_data) {
    auto it = submitted_.find(id);
    if (it == submitted_.end()) {
        fail("integrity: a leader preprocessed request " + std::to_string(id) +
             " which no client submitted");
        return;
    }
    it->second = txn_data;
}

void Checker::on_deliver(ServerId server, const zab::Txn& txn, uint64_t hash_after) {
    const std::string who = "server " + std::to_string(server);
    const Zxid prev = position_[server];
    if (txn.zxid <= prev) {
        fail("total order: " + who + " delivered " + txn.zxid.str() + " after " + prev.str());
        return;
    }
    auto sub = submitted_.find(txn.request_id);
    if (sub == submitted_.end() || sub->second != txn.data) {
        fail("integrity: " + who + " delivered " + txn.zxid.str() +
             " which no client submitted (request " + std::to_string(txn.request_id) + ")");
    }
    position_[server] = txn.zxid;
    auto next = g_.upper_bound(prev);
    if (next == g_.end()) {
        // Extends G: it must follow G's last entry.
        const Zxid last = committed_max();
        if (prev != last) {
            fail("agreement: " + who + " delivered " + txn.zxid.str() + " after " + prev.str() +
                 ", but G already ends at " + last.str());
            return;
        }
        if (!is_successor(last, txn.zxid)) {
            fail("primary order: " + who + " delivered " + txn.zxid.str() + " right after " +
                 last.str() + " (a gap in the committed sequence)");
        }
        g_[txn.zxid] = Committed{hash_after, txn.data, txn.request_id};
        for (const Established& e : established_) check_primary_integrity(e, txn.zxid);
        return;
    }
    if (next->first != txn.zxid) {
        fail("agreement: " + who + " delivered " + txn.zxid.str() + " after " + prev.str() +
             ", but the committed sequence has " + next->first.str() + " there");
        return;
    }
    if (next->second.hash != hash_after) {
        fail("agreement: " + who + " delivered a different transaction history at " +
             txn.zxid.str());
    }
}

void Checker::on_restore(ServerId server, Zxid zxid, uint64_t hash) {
    position_[server] = zxid;
    if (zxid.is_zero()) return;
    auto it = g_.find(zxid);
    if (it == g_.end()) {
        fail("snapshot: server " + std::to_string(server) + " restored a snapshot at " +
             zxid.str() + " that is not in the committed sequence");
    } else if (it->second.hash != hash) {
        fail("snapshot: server " + std::to_string(server) + " restored a snapshot at " +
             zxid.str() + " whose state differs from the committed history");
    }
}

void Checker::on_ack(ServerId server, uint64_t id, Zxid zxid) {
    acked_[id] = zxid;
    max_acked_ = std::max(max_acked_, zxid);
    auto it = g_.find(zxid);
    if (it == g_.end() || it->second.request_id != id) {
        fail("acknowledgement: server " + std::to_string(server) + " acknowledged request " +
             std::to_string(id) + " at " + zxid.str() + " which is not committed as that request");
    }
}

void Checker::on_established(ServerId server, uint64_t epoch, Zxid last,
                             const std::optional<zab::Txn>& last_txn,
                             const std::vector<ServerId>& quorum) {
    // What the leader counted is a promise, whatever the follower said.
    for (ServerId follower : quorum) on_promise(follower, server, epoch);
    auto [it, fresh] = established_by_.emplace(epoch, server);
    if (!fresh) {
        fail("epoch uniqueness: server " + std::to_string(server) + " established epoch " +
             std::to_string(epoch) + ", which server " + std::to_string(it->second) +
             " had established");
    }
    established_.push_back(Established{server, epoch, last, last_txn});
    check_primary_integrity(established_.back(), Zxid{});
}

void Checker::on_new_epoch_sent(ServerId leader, uint64_t epoch) {
    on_promise(leader, leader, epoch);
}

void Checker::on_disk_wiped(ServerId server) {
    std::erase_if(promised_to_, [server](const auto& p) { return p.first.first == server; });
}

void Checker::on_ack_epoch_sent(ServerId follower, ServerId leader, uint64_t epoch) {
    on_promise(follower, leader, epoch);
}

void Checker::on_promise(ServerId server, ServerId leader, uint64_t epoch) {
    auto [it, fresh] = promised_to_.emplace(std::pair(server, epoch), leader);
    if (!fresh && it->second != leader) {
        fail("epoch uniqueness: server " + std::to_string(server) + " promised epoch " +
             std::to_string(epoch) + " to server " + std::to_string(it->second) +
             (it->second == server ? " (itself, leading)" : "") + " and then to server " +
             std::to_string(leader) + (leader == server ? " (itself, leading)" : ""));
    }
}

void Checker::check_primary_integrity(const Established& e, Zxid from) {
    // Nothing from an earlier epoch beyond the new leader's initial history.
    // (`from`: only G from there on is new; zero for all of it.)
    auto it = from > e.last ? g_.lower_bound(from) : g_.upper_bound(e.last);
    for (; it != g_.end(); ++it) {
        if (it->first.epoch >= e.epoch) break;
        fail("primary integrity: " + it->first.str() + " from epoch " +
             std::to_string(it->first.epoch) + " was committed after leader " +
             std::to_string(e.server) + " established epoch " + std::to_string(e.epoch) +
             " with a history ending at " + e.last.str());
        return;
    }
    // The initial history is committed: once G reaches it, it must match.
    if (e.last_txn && committed_max() >= e.last && (from.is_zero() || from == e.last)) {
        auto it = g_.find(e.last);
        if (it == g_.end() || it->second.data != e.last_txn->data) {
            fail("primary integrity: leader " + std::to_string(e.server) + " of epoch " +
                 std::to_string(e.epoch) + " established a history ending at " + e.last.str() +
                 " that the committed sequence does not hold");
        }
    }
}

void Checker::on_sync_done(ServerId server, Zxid floor, Zxid delivered) {
    if (delivered < floor) {
        fail("linearizable sync: server " + std::to_string(server) + " finished a sync at " +
             delivered.str() + " although " + floor.str() + " was acknowledged before it began");
    }
}

void Checker::check_end() {
    for (const auto& [id, zxid] : acked_) {
        auto it = g_.find(zxid);
        if (it == g_.end() || it->second.request_id != id) {
            fail("durability: acknowledged request " + std::to_string(id) + " at " + zxid.str() +
                 " is not in the committed sequence");
        }
    }
    for (const Established& e : established_) check_primary_integrity(e, Zxid{});
}

}  // namespace chorus::sim
