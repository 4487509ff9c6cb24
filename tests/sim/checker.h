// Checker: the simulator's invariants, checked as the run goes and at its end.
//
// It keeps G, the one committed sequence: every delivery on every server must
// extend G or repeat it. A replica's state is a hash chain over what it
// delivered, so equal hashes at a zxid mean equal histories up to it.
//
//   integrity            every delivered transaction was submitted by a client
//                        (or is what a leader's preprocess made of such a request)
//   total order          each replica delivers in increasing zxid order, no gaps
//   agreement            replicas agree at every zxid (same chain hash)
//   local primary order  within an epoch, counters 1, 2, 3, ... in G
//   global primary order G's epochs never go down
//   primary integrity    a transaction of an earlier epoch is in G only if it
//                        was in the initial history of every later leader
//                        (checked whenever G grows and whenever a leader
//                        establishes an epoch, not only at the end)
//   epoch uniqueness     a server promises an epoch to one leader only (a
//                        leader promises its epoch to itself when it sends
//                        NEWEPOCH; a follower when it sends an ACKEPOCH that
//                        accepts the epoch anew, the kind a leader counts);
//                        with quorums intersecting, no two leaders can make
//                        one epoch. And no epoch is established twice.
//   durability           no acknowledged request is missing from G
//   linearizable sync    after sync() a replica has delivered every write
//                        acknowledged anywhere before the call
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "zab/core/types.h"

namespace chorus::sim {

using zab::ServerId;

// The hash of a state after applying `txn` to a state with hash `before`.
uint64_t chain_hash(uint64_t before, const zab::Txn& txn);

class Checker {
 public:
    // A client submitted request `id` with `data` (for integrity).
    void on_submit(uint64_t id, const std::string& data);
    // A leader's preprocess turned request `id` into a transaction carrying
    // `txn_data` (an application whose transactions differ from its
    // requests); integrity then expects that data.
    void on_preprocessed(uint64_t id, const std::string& txn_data);
    // `server` delivered `txn`, its state hash is now `hash_after`.
    void on_deliver(ServerId server, const zab::Txn& txn, uint64_t hash_after);
    // `server`'s state machine was reset to a snapshot at `zxid` with `hash`
    // (restart or SNAP).
    void on_restore(ServerId server, Zxid zxid, uint64_t hash);
    // `server` reported request `id` committed at `zxid`.
    void on_ack(ServerId server, uint64_t id, Zxid zxid);
    // `server` established epoch `epoch` as leader with history up to `last`,
    // counting the ACKEPOCHs of `quorum` (each a promise of the epoch to it).
    void on_established(ServerId server, uint64_t epoch, Zxid last,
                        const std::optional<zab::Txn>& last_txn,
                        const std::vector<ServerId>& quorum = {});
    // `leader` sent NEWEPOCH(epoch) (it left the driver).
    void on_new_epoch_sent(ServerId leader, uint64_t epoch);
    // `server` lost its disk: a new server under the old id, without the
    // promises the old one made (it does not vote until a leader syncs it).
    void on_disk_wiped(ServerId server);
    // `follower` sent ACKEPOCH(epoch) accepting it anew to `leader`.
    void on_ack_epoch_sent(ServerId follower, ServerId leader, uint64_t epoch);
    // A sync was called on `server`; returns the token to pass to on_sync_done.
    Zxid sync_floor() const { return max_acked_; }
    void on_sync_done(ServerId server, Zxid floor, Zxid delivered);

    // Checks that need the whole run: durability, primary integrity.
    void check_end();

    bool failed() const { return !failure_.empty(); }
    const std::string& failure() const { return failure_; }
    Zxid committed_max() const { return g_.empty() ? Zxid{} : g_.rbegin()->first; }
    size_t committed_count() const { return g_.size(); }
    size_t acked_count() const { return acked_.size(); }

 private:
    struct Committed {
        uint64_t hash;
        std::string data;
        uint64_t request_id;
    };
    void fail(const std::string& what);
    struct Established;
    // Primary integrity for one established epoch against G from `from` on.
    void check_primary_integrity(const Established& e, Zxid from);

    std::map<Zxid, Committed> g_;
    std::map<ServerId, Zxid> position_;  // last delivered or restored, per server
    std::map<uint64_t, std::string> submitted_;
    std::map<uint64_t, Zxid> acked_;
    Zxid max_acked_;
    struct Established {
        ServerId server;
        uint64_t epoch;
        Zxid last;
        std::optional<zab::Txn> last_txn;
    };
    std::vector<Established> established_;
    // (server, epoch) -> the leader it promised the epoch to
    std::map<std::pair<ServerId, uint64_t>, ServerId> promised_to_;
    std::map<uint64_t, ServerId> established_by_;
    void on_promise(ServerId server, ServerId leader, uint64_t epoch);
    std::string failure_;
};

}  // namespace chorus::sim
