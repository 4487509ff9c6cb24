// Core: one replica's Zab protocol state, as a pure state machine.
//
// Inputs are calls — step (a peer message), tick (logical time), submit and
// sync (the application), persisted and snapshot_saved (storage finished),
// connected/disconnected (the transport) — and the output is a Ready batch
// (types.h) that the driver takes with take_ready() and carries out in the
// order documented there. The core reads no clock, opens no socket or file,
// starts no thread and draws no random number: given the same calls it makes
// the same Readys. That is what lets tests/sim explore fault schedules
// reproducibly; zab/runtime drives the very same class over TCP and RocksDB.
//
// The protocol (Junqueira, Reed, Serafini, DSN 2011; Medeiros 2012):
//   election   votes on (currentEpoch, lastZxid, serverId), highest wins
//   discovery  FOLLOWERINFO -> NEWEPOCH -> ACKEPOCH        (leader.cc, follower.cc)
//   sync       TRUNC | SNAP, DIFF, NEWLEADER -> ACK -> UPTODATE
//   broadcast  PROPOSAL -> ACK (durable only) -> COMMIT, pipelined and batched
//
// Thread: one thread calls everything (the runtime's core thread, or the
// simulator). Not thread-safe.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "base/status.h"
#include "zab/core/membership.h"
#include "zab/core/types.h"

namespace chorus::zab {

// What the core dropped or refused, for the operator and for tests.
struct CoreStats {
    uint64_t dropped_messages = 0;   // impossible values (validate.h), or from a non-member
    uint64_t refused_truncs = 0;     // a TRUNC below the commit point, or to a zxid not held
    uint64_t diff_restarts = 0;      // a compaction overtook a DIFF under way (never, by design)
    uint64_t disk_step_downs = 0;    // led, and stepped down because its own disk was stuck
    bool bootstrap_ignored = false;  // heard of history, or joined a leader: not bootstrapping
    uint64_t times_looked = 0;       // times this server went looking (an election began here)
};

class Core {
 public:
    // `preprocessor` must outlive the core. `durable` is what storage holds;
    // the driver has already restored the state machine to
    // durable.snapshot_zxid, and reset the log to it if the log ended below.
    Core(Config config, DurableState durable, Preprocessor& preprocessor);

    // A message from peer `from` arrived (in the order that peer sent it).
    void step(ServerId from, const pb::PeerMessage& message);
    // One unit of logical time passed.
    void tick();
    // The application wants `request` written. Works on any server: a
    // follower forwards it to the leader. The outcome arrives as a
    // Completion in a later Ready — or never, if leadership changes first
    // (the request may or may not have been committed; retry if idempotent).
    // kNotLeader while no leader is serving (retryable), kBusy when the
    // bounded queue of waiting requests is full.
    Status submit(Request request);
    // Read barrier: completes (SyncDone with `id`) once this replica has
    // delivered everything the leader had proposed when the barrier reached
    // it, after the leader confirmed with a quorum that it still leads.
    // kNotLeader while no leader is serving.
    Status sync(uint64_t id);
    // Every write of the Ready that carried `write_id` (and of all earlier
    // Readys) is durable.
    void persisted(uint64_t write_id);
    // The state machine was saved, durably, as of `zxid` (after snapshot_due).
    void snapshot_saved(Zxid zxid);
    // Something arrived from, or was taken by, `peer` that is not a whole
    // message yet (a snapshot chunk): it is alive. Keeps a long snapshot
    // transfer from looking like silence.
    void heard_from(ServerId peer);
    void connected(ServerId peer);
    void disconnected(ServerId peer);
    // Proposes `next` as the membership, in a CONFIG transaction
    // (docs/protocol.md, "Reconfiguration"). On the serving leader it is
    // checked here; on a follower or observer of a serving leader it is
    // forwarded to the leader, which checks it the same way and answers a
    // refusal with a kRefused Completion. Refused with kNotLeader unless a
    // leader serves (R4: its epoch is established); kBusy while an earlier
    // CONFIG is uncommitted (R3) or the queue is full; kInvalidArgument
    // for a change check_change refuses (R2: one voter at a time), one
    // that removes the leader (R7: transfer leadership first), one that
    // cannot be encoded and read back, or one over max_request_bytes; kBusy
    // if `next.version` is not the version of the leader's membership (a
    // change is built from the membership in force, and one made since
    // would be undone); kBusy too
    // for one whose voters the leader is in touch with make no quorum of it
    // (it could not commit), or that adds a voter not caught up (R8: within
    // Config::promote_max_lag_txns). Once taken, the outcome is a Completion of
    // `request_id` on this server, as for submit(), or none if leadership
    // changes first. The new membership is in force on the leader from the
    // moment it is proposed (R1).
    Status reconfigure(uint64_t request_id, Membership next);
    // Hands leadership over (docs/protocol.md, "Leadership transfer") to
    // `target`, a voter that follows this leader, or with 0 to the voter
    // following it with the most acknowledged. The leader takes no new
    // request meanwhile (submit, sync and reconfigure give kNotLeader or
    // kBusy, and its followers and observers are told to refuse theirs so
    // that clients retry), waits until everything it accepted is committed
    // and the target has acknowledged all of it, then sends TAKE_OVER and
    // goes looking in that Ready; the target is elected within a round
    // trip. The outcome is a Completion of `request_id` on this server:
    // kAbsorbed in the Ready of the handover, or kRefused with kTimeout if
    // that did not happen within an election timeout (the leader goes on
    // leading), or with kNotLeader if it stepped down first. On a follower
    // or observer of a serving leader it is forwarded there. Refused now:
    // kNotLeader unless a leader serves; kInvalidArgument for a target that
    // is this server or not a voter; kBusy while a transfer or a CONFIG is
    // in flight, or if the target (or, with 0, any other voter) does not
    // follow this leader, synced and heard from within the election timeout.
    Status transfer_leadership(uint64_t request_id, ServerId target);
    // The server this leader is handing over to, else 0.
    ServerId transferring_to() const { return transfer_ ? transfer_->target : 0; }
    // Shutting down: a leader tells its followers, so they elect at once.
    void shutdown();

    // Everything produced since the last call.
    Ready take_ready();
    bool has_ready() const {
        return !ready_.empty() || proposals_possible() || deliveries_waiting() || diffs_pending() ||
               handover_ready();
    }

    Role role() const { return role_; }
    ServerId leader() const { return leader_; }
    uint64_t accepted_epoch() const { return accepted_epoch_; }
    uint64_t current_epoch() const { return current_epoch_; }
    Zxid last_zxid() const { return log_.empty() ? log_base_ : log_.back().zxid; }
    Zxid committed_zxid() const { return committed_; }
    Zxid delivered_zxid() const { return delivered_; }
    Zxid durable_zxid() const { return durable_; }
    bool voting() const { return voting_; }
    // The disk's joined mark, as asked for (MarkJoinedEnsemble written).
    bool joined_ensemble() const { return joined_; }
    const CoreStats& stats() const { return stats_; }
    // A write handed out more than election_timeout_ticks ago is not yet
    // durable: this server's disk is stuck. It then does not lead (a leader
    // steps down) and proposes nobody in elections until the disk catches up.
    bool own_disk_overdue() const;
    // The last zxid of the history this server led with (leader only).
    Zxid initial_history_last() const { return initial_history_last_; }
    // The followers whose ACKEPOCH made this leader's epoch (for checkers).
    const std::vector<ServerId>& epoch_quorum() const { return epoch_quorum_; }
    // The entry at `zxid` if this server's log holds it.
    const Txn* log_entry(Zxid zxid) const;
    // True for a leader whose epoch is established, or a follower that got UPTODATE.
    bool serving() const;
    // A follower between NEWEPOCH and UPTODATE (receiving TRUNC/SNAP/DIFF).
    bool syncing() const { return role_ == Role::kFollowing && phase_ == Phase::kSync; }
    const Config& config() const { return config_; }
    // Who votes and who counts, as this server knows it: the last CONFIG
    // in its log, committed or not, else the one in force at its log's base
    // (docs/protocol.md, "Reconfiguration", R1).
    const Membership& membership() const { return membership_; }
    // The membership in force at `zxid` (at or above the log's base).
    Membership membership_at(Zxid zxid) const;

 private:
    enum class Phase : uint8_t { kDiscovery, kAckEpoch, kSync, kBroadcast };

    struct FollowerState {
        uint64_t attempt = 0;  // its FOLLOWERINFO's: only acknowledgements of it count
        bool voting = false;
        uint64_t accepted_epoch = 0;
        bool sent_new_epoch = false;
        bool acked_epoch = false;
        bool epoch_counted = false;  // its ACKEPOCH accepted our epoch anew: it counts
        // From its ACKEPOCH: where its history may part from ours.
        std::vector<Zxid> epoch_ends;
        Zxid log_base;
        bool epoch_ends_complete = true;
        bool synced = false;               // TRUNC/SNAP/DIFF/NEWLEADER sent; gets proposals
        bool diffing = false;              // DIFF chunks, then NEWLEADER, still to send
        Zxid diff_sent;                    // the DIFF has gone up to here
        Zxid diff_acked;                   // ... and is durable there up to here
        std::deque<Zxid> diff_chunk_ends;  // the last zxid of each chunk not yet acked
        Zxid new_leader_zxid;              // our last zxid when NEWLEADER was sent
        bool acked_new_leader = false;
        Zxid acked;  // durable on the follower up to here
        uint64_t last_heard_tick = 0;
        uint64_t ping_acked = 0;
        // During a transfer: the first ping sent after our Handover. Its
        // answer follows every request the follower forwarded before it.
        uint64_t hold_ping_seq = 0;
        // The last transaction proposed for a request it forwarded: once it
        // has acknowledged that, it can deliver it and answer its client.
        Zxid last_origin_zxid;
    };
    struct Transfer {  // a leadership transfer under way (transfer.cc)
        ServerId target = 0;
        ServerId origin = 0;  // who asked: this server, or a follower
        uint64_t request_id = 0;
        uint64_t start_tick = 0;
    };
    struct PendingWrite {
        uint64_t id;
        uint64_t issued_tick;           // when take_ready() handed it out
        Zxid log_last;                  // last zxid of the log after this write
        uint64_t current_epoch;         // currentEpoch after this write
        uint64_t new_leader_epoch = 0;  // nonzero: our own NEWLEADER write for this epoch
        bool makes_voting = false;      // our first currentEpoch: the disk holds history
    };
    struct Barrier {  // a read barrier waiting for a quorum's PingAck
        ServerId origin;
        uint64_t id;
        Zxid zxid;
        uint64_t seq;
    };
    struct Waiting {  // a sync waiting for delivery
        uint64_t id;
        Zxid zxid;
    };

    // reconfig.cc
    Membership bootstrap_membership() const;
    // The voters and observers of the bootstrap membership.
    std::set<ServerId> bootstrap_universe() const;
    void refresh_membership();
    // Puts the CONFIGs among `txns` (just appended) into log_configs_.
    void note_configs(const std::vector<Txn>& txns);
    // The log's base moved up to `base` (a compaction): the membership in
    // force there becomes the base one, written before the compaction.
    void move_membership_base(Zxid base);
    bool voter(ServerId id) const { return membership_.is_voter(id); }
    // What this server's own vote or acknowledgement counts for: 1 if it is
    // a voter, else 0 (R5, R6).
    size_t self_count() const { return voter(config_.id) ? 1 : removed_self_count(); }
    // 0, but for the planted bug removed-still-votes (kept out of line: it
    // needs mutation.h, and self_count() is on the ACK path).
    size_t removed_self_count() const;
    // A CONFIG is in the log above the commit point, or waits for a zxid (R3).
    bool config_uncommitted() const;
    // Leader: the voters of `m` in touch with it now (itself, and followers
    // synced and heard within the election timeout); the others in `away`.
    size_t reachable_voters(const Membership& m, std::vector<ServerId>* away) const;
    // Leader: whether it may propose `next` now (R2-R4, R7, R8); the
    // refusal reconfigure() gives, for a local or a forwarded change.
    Status check_reconfigure(const Membership& next) const;
    // Leader: queues a checked CONFIG of `next` for `origin`'s request.
    void accept_reconfigure(ServerId origin, uint64_t request_id, const Membership& next);
    // Whether this server proposes itself in elections: a voter of its
    // membership, or one that the last CONFIG of its log took out of the
    // voters while that CONFIG is not known to be committed (A5).
    bool campaigns() const;
    // A leader that is not a voter (elected under A5) steps down once no
    // CONFIG is uncommitted: its removal has taken effect.
    void step_down_if_not_voter();

    // transfer.cc
    // Leader: whether it may hand over to `target` now; the one it would
    // (`target`, or the best voter for 0) in `chosen`.
    Status check_transfer(ServerId target, ServerId* chosen) const;
    void start_transfer(ServerId origin, uint64_t request_id, ServerId target);
    void on_transfer_request(ServerId from, const pb::TransferRequest& request);
    // Tells `peer` to hold its requests, and notes the ping that confirms it.
    void send_handover(ServerId peer, FollowerState& follower);
    // Everything accepted is committed, the target holds it, and no
    // follower can still forward a request: TAKE_OVER may leave.
    bool handover_ready() const;
    void hand_over();
    // Abandons the transfer (its request ends with `outcome`); the
    // followers take requests again.
    void end_transfer(const Status& outcome);
    void answer_transfer(const Transfer& transfer, const Status& outcome);
    void transfer_tick();
    // Follower side.
    void on_handover(const pb::Handover& message);
    void on_take_over(const pb::TakeOver& message);
    // Looks, for a TAKE_OVER taken earlier, once every committed
    // transaction is delivered.
    void look_after_deferred_take_over();
    // A TAKE_OVER naming this server waits for our deliveries (above).
    bool deferring_as_target() const;
    bool holding_requests() const;
    // The vote a transfer gave this server (for the target: itself; for
    // the old leader and the other followers: the target), while valid.
    bool handed_vote_valid() const;

    // core.cc
    void send(ServerId to, pb::PeerMessage message);
    void send_after_persist(ServerId to, pb::PeerMessage message);
    // ACKs and COMMITs are cumulative: one that would directly follow
    // another of the same kind to the same peer in this Ready replaces it.
    void send_commit(ServerId to, Zxid zxid);
    void send_ack_after_persist(ServerId to, Zxid zxid);
    void append_local(std::vector<Txn> txns);
    void deliver();
    void complete_waiting_syncs();
    void set_role(Role role, ServerId leader, const std::string& reason = "");
    bool proposals_possible() const;
    // Drops a message no correct server could have sent, counts it, and
    // says so in a notice (the first of each kind, then at powers of two).
    void drop(ServerId from, const char* why);
    void notice(std::string line);
    std::map<std::string, uint64_t> drops_by_reason_;
    CoreStats stats_;
    // Committed transactions held back behind a restore or a snapshot.
    bool deliveries_waiting() const;
    size_t index_after(Zxid zxid) const;  // index in log_ of the first entry > zxid

    // election.cc
    // `reason` says why for the log ("" at start).
    void enter_looking(const std::string& reason);
    pb::Vote self_vote() const;
    pb::Vote current_vote_message() const;
    void broadcast_vote();
    void on_vote(ServerId from, const pb::Vote& vote);
    void adopt_candidate(const pb::Vote& vote);
    void on_out_of_election(ServerId from, const pb::Vote& vote);
    void on_vote_while_bootstrapping(ServerId from, const pb::Vote& vote);
    bool stranger_heard(const pb::PeerMessage& message) const;
    void learn_servers(ServerId from, const pb::Vote& vote);
    void check_vote_quorum();
    bool quorum_under_leaders_membership(ServerId leader, const pb::Vote& answer) const;
    const pb::Vote* leader_answer_of_other_membership(ServerId leader) const;

    // leader.cc
    void become_leader();
    bool stale_attempt(ServerId from, const FollowerState& f, uint64_t attempt);
    void leader_tick();
    void on_follower_info(ServerId from, const pb::FollowerInfo& info);
    void on_ack_epoch(ServerId from, const pb::AckEpoch& ack);
    void on_ack_new_leader(ServerId from, const pb::AckNewLeader& ack);
    void on_ack(ServerId from, const pb::Ack& ack);
    void on_ping_ack(ServerId from, const pb::PingAck& ack);
    void on_forward(ServerId from, const pb::Forward& forward);
    // A membership change a follower forwarded: proposed, or refused back.
    void on_forwarded_reconfigure(ServerId from, const pb::Forward& forward);
    void on_sync_request(ServerId from, const pb::SyncRequest& request);
    void maybe_choose_epoch();
    void send_new_epoch(ServerId peer, FollowerState& follower);
    void maybe_start_sync();
    void sync_follower(ServerId peer, FollowerState& follower);
    // The last zxid that both our history and the follower's hold (from its
    // ACKEPOCH), if we can send what follows it; nullopt: send a SNAP.
    std::optional<Zxid> common_point(const FollowerState& follower) const;
    // The largest zxid of our history at or below `zxid` that we still
    // know (an entry, or log_base_); nullopt below log_base_.
    std::optional<Zxid> held_at_or_below(Zxid zxid) const;
    void continue_diff(ServerId peer, FollowerState& follower);  // the next chunk
    void continue_diffs();
    bool diffs_pending() const;  // a DIFF chunk may go out now
    bool may_send_diff(const FollowerState& follower) const;
    static constexpr size_t kDiffChunksInFlight = 8;
    static constexpr size_t kMaxDeliveriesPerReady = 4096;
    static constexpr size_t kMaxDeliveryBytesPerReady = 8 << 20;
    size_t ready_committed_bytes_ = 0;  // of ready_.committed
    void maybe_establish();
    void advance_commit();
    void commit_by_count_in_sync();  // only for Mutation::kCommitOldEpochByCount
    void accept_request(ServerId origin, Request request);
    void propose_batches();
    void send_pings();
    void check_barriers();
    bool counts_for_quorum(const FollowerState& follower) const;
    // Whether `peer`'s acknowledgements and answers count: it is a voter of
    // the membership in force (R5).
    bool counted(ServerId peer) const;

    // follower.cc
    void become_follower(ServerId leader);
    pb::PeerMessage follower_info_message() const;
    bool leader_showed_history(ServerId leader) const;
    void follower_tick();
    void on_leader_message(const pb::PeerMessage& message);
    void on_new_epoch(const pb::NewEpoch& message);
    void on_trunc(const pb::Trunc& message);
    // Our log's epoch ends, for ACKEPOCH (see zab.proto).
    void fill_epoch_ends(pb::AckEpoch* ack) const;
    static constexpr size_t kMaxEpochEnds = 64;
    void on_snap(const pb::Snap& message);
    // `prev`: the zxid the first of `txns` follows in the leader's log.
    void on_txns(const google::protobuf::RepeatedPtrField<pb::Txn>& txns, Zxid prev,
                 bool is_proposal);
    void on_new_leader(const pb::NewLeader& message);
    void on_commit_point(Zxid committed);

    Config config_;
    // Every vote, quorum and "is it one of ours" is judged against this:
    // the last of log_configs_, else base_membership_ (refresh_membership).
    Membership membership_;
    Membership base_membership_;              // in force at log_base_
    std::map<Zxid, Membership> log_configs_;  // the CONFIGs in log_, by zxid
    // Every server of the bootstrap membership, of base_membership_ and of
    // every CONFIG in the log: whom votes go to and whose messages are read
    // (a leader may be outside our own membership; the review of d44d439).
    std::set<ServerId> known_servers_;
    Preprocessor& preprocessor_;
    Ready ready_;
    uint64_t now_tick_ = 0;

    // Durable state, as this core has asked for it (not necessarily synced yet).
    uint64_t accepted_epoch_ = 0;
    uint64_t current_epoch_ = 0;
    uint64_t durable_current_epoch_ = 0;  // what a restart would find (votes say this)
    Zxid log_base_;
    std::deque<Txn> log_;  // entries after log_base_
    Zxid snapshot_zxid_;   // the newest snapshot saved
    bool voting_ = false;
    // Bootstrapping with an empty disk, and not yet sure the ensemble is
    // new: this server votes only once every other member has answered with
    // no history (pristine_peers_: those heard so far in this incarnation).
    bool bootstrap_unconfirmed_ = false;
    std::set<ServerId> pristine_peers_;
    // The disk is (or has been asked to be) marked as a joiner's
    // (MarkJoinedEnsemble): no epoch it accepts makes it an original member.
    bool joined_ = false;
    // This run wrote the joined mark on following a leader whose answer
    // showed no history: its votes do not send the mark (Vote.joined)
    // until a vote it hears shows history (on_vote).
    bool joined_without_evidence_ = false;

    // Progress.
    Zxid durable_;    // log durable up to here
    Zxid committed_;  // known committed up to here
    Zxid delivered_;  // handed to the application up to here
    uint64_t delivered_since_snapshot_ = 0;
    uint64_t delivered_bytes_since_snapshot_ = 0;
    bool snapshot_requested_ = false;
    uint64_t next_write_id_ = 0;
    std::deque<PendingWrite> pending_writes_;
    uint64_t ready_new_leader_epoch_ = 0;  // flags for the Ready being built
    bool ready_makes_voting_ = false;
    std::vector<Waiting> waiting_syncs_;

    // Role.
    Role role_ = Role::kLooking;
    ServerId leader_ = 0;
    Phase phase_ = Phase::kDiscovery;
    uint64_t epoch_ = 0;  // the epoch being established or served
    uint64_t role_start_tick_ = 0;
    uint64_t last_heard_leader_tick_ = 0;

    // Election.
    uint64_t round_ = 0;
    pb::Vote vote_;                       // whom we propose (leader == 0: nobody, we do not vote)
    std::map<ServerId, pb::Vote> votes_;  // LOOKING peers' votes in our round
    std::map<ServerId, pb::Vote> out_of_election_;  // what FOLLOWING/LEADING peers told us
    uint64_t last_vote_tick_ = 0;
    // Raised each time this server starts following (FollowerInfo.attempt).
    uint64_t sync_attempt_ = 0;
    uint64_t max_accepted_seen_ = 0;  // the highest acceptedEpoch any peer told us of

    // Leader.
    std::map<ServerId, FollowerState> followers_;
    Zxid initial_history_last_;
    std::vector<ServerId> epoch_quorum_;
    bool self_new_leader_durable_ = false;
    uint64_t next_counter_ = 1;
    std::deque<std::pair<ServerId, Request>> waiting_requests_;  // preprocessed, waiting for a zxid
    std::deque<Txn> pending_txns_;                               // no zxid yet
    std::deque<Zxid> inflight_batches_;  // last zxid of each uncommitted batch
    uint64_t ping_seq_ = 0;
    uint64_t last_ping_tick_ = 0;
    std::vector<Barrier> barriers_;

    // Leadership transfer.
    std::optional<Transfer> transfer_;  // leader: handing over
    uint64_t holding_until_tick_ = 0;   // follower: the leader hands over; refuse requests
    pb::Vote handed_vote_;              // our vote from a TAKE_OVER (take_over set) ...
    uint64_t handed_until_tick_ = 0;    // ... until this tick (one election timeout)
    // Follower: a TAKE_OVER taken while committed transactions still wait
    // to be delivered (the per-Ready bounds, a snapshot due): we look once
    // they are, so that our clients hear their outcomes (a looking server
    // delivers nothing). The reason, for the log.
    bool take_over_deferred_ = false;
    std::string take_over_reason_;

    // Follower.
    uint64_t last_sync_progress_tick_ = 0;  // the last TRUNC/SNAP/DIFF/NEWLEADER (or chunk)
    bool synced_with_leader_ = false;       // NEWLEADER checked out: our log is the leader's
};

}  // namespace chorus::zab
