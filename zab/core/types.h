// Value types of the Zab core: configuration, transactions, and the Ready
// batch the core hands its driver.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/zxid.h"
#include "zab/core/membership.h"
#include "zab/zab.pb.h"

namespace chorus::zab {

using ServerId = uint64_t;

enum class Role : uint8_t { kLooking, kFollowing, kLeading };
const char* role_name(Role role);

// What the application asks to have written. The leader's preprocess turns
// it into a transaction (or absorbs it).
struct Request {
    uint64_t id = 0;  // chosen by the caller; reported back in its Completion
    uint32_t type = 0;
    std::string data;
};

// A transaction: what is proposed, logged and delivered.
struct Txn {
    Zxid zxid;
    uint32_t type = 0;
    std::string data;
    ServerId origin = 0;      // the server whose client asked for it
    uint64_t request_id = 0;  // that server's Request::id

    friend bool operator==(const Txn&, const Txn&) = default;
};

// The type of the core's own CONFIG transactions (docs/protocol.md,
// "Reconfiguration"): the data is the new membership's MembershipRecord.
// Reserved: an application's preprocess never returns it, a submitted
// request of this type is refused (Core::reconfigure forwards one), and the driver
// hands such transactions to the membership callback, not to the state
// machine.
inline constexpr uint32_t kConfigTxnType = 0xFFFFFF01;

// The application's hook on the leader (its StateMachine).
class Preprocessor {
 public:
    virtual ~Preprocessor() = default;
    // Leader only, in arrival order, before any zxid is taken. Returns the
    // transaction to broadcast (type and data; the core fills the rest), or
    // nullopt to absorb the request: no proposal, no write, no zxid.
    virtual std::optional<Txn> preprocess(const Request& request) = 0;
};

// The payload stored in the log for `txn` (its zxid and type are stored
// beside it) and back. Parsing fails only on corrupt bytes.
std::string encode_txn_payload(const Txn& txn);
bool decode_txn_payload(Zxid zxid, uint32_t type, const std::string& payload, Txn* out);

struct Config {
    ServerId id = 0;
    std::vector<ServerId> members;  // every voting server of the bootstrap membership
    // Servers that receive commits and never vote or count, at bootstrap.
    // This server is one of `members` or of `observers`.
    std::vector<ServerId> observers;
    // Peer addresses for the bootstrap membership (host:port); an id left
    // out gets "server-<id>" (the simulator and unit tests need none).
    std::map<ServerId, std::string> addresses;
    // True only for the first start of a new ensemble. A server with an empty
    // disk that is not bootstrapping takes no part in votes or quorums until
    // a leader has synced it (its disk may have been wiped: counting it could
    // elect a leader that lacks a committed write).
    bool bootstrap = false;

    uint32_t election_timeout_ticks = 10;  // silence after which a follower or leader gives up
    uint32_t heartbeat_interval_ticks = 1;
    uint32_t vote_resend_ticks = 2;
    uint32_t max_inflight_proposals = 64;     // the window: proposal batches not yet committed
    uint32_t max_batch_txns = 1024;           // transactions per proposal batch
    size_t max_batch_bytes = 1 << 20;         // and bytes
    size_t max_sync_chunk_bytes = 256 << 10;  // DIFF messages are cut at this size
    uint64_t snapshot_every_txns = 10000;     // 0: never ask for snapshots
    uint64_t snapshot_every_bytes = 0;     // or after this many bytes of transactions (0: no limit)
    uint64_t log_tail_keep_txns = 1000;    // kept below a snapshot for DIFF sync
    size_t max_pending_requests = 100000;  // bound on requests waiting for a proposal
    size_t max_request_bytes = 16 << 20;   // larger requests are refused (they must fit a frame)
    // R8: a CONFIG that adds a voter is refused unless that server follows
    // this leader, synced, with its acknowledgements at most this many
    // transactions behind. 0: no such check (the simulator adds voters
    // that have not caught up, to attack the rule without it).
    uint64_t promote_max_lag_txns = 0;

    // A planted bug (zab/core/mutation.h), for the simulator's checks to
    // catch. Only the simulator's build of the core (chorus_core_sim,
    // CHORUS_SIM_MUTATIONS) reads it; the library's build ignores it.
    uint8_t mutation = 0;

    size_t quorum() const { return members.size() / 2 + 1; }
};

// What a server found on its disk, handed to the core when it starts.
struct DurableState {
    uint64_t accepted_epoch = 0;
    uint64_t current_epoch = 0;
    Zxid snapshot_zxid;            // the state machine was restored to this point
    Zxid log_base;                 // the log continues from here (<= snapshot_zxid)
    bool joined_ensemble = false;  // storage::Log::joined_ensemble()
    bool original_member = false;  // storage::Log::original_member()
    // storage::Log::membership(), decoded: the membership in force at
    // log_base. nullopt: the bootstrap one (Config::members, observers).
    std::optional<Membership> membership;
    std::vector<Txn> log;  // the entries after log_base, in order; they reach
                           // at least snapshot_zxid (else reset the log to it)
};

// Durable writes, carried out in order.
struct SetAcceptedEpoch {
    uint64_t epoch;
};
struct SetCurrentEpoch {
    uint64_t epoch;
};
struct AppendTxns {
    std::vector<Txn> txns;
};
struct TruncateAfter {
    Zxid zxid;
};
// Save the snapshot (received from the leader) and reset the log to it.
struct InstallSnapshot {
    Zxid zxid;
    std::string data;
};
struct CompactThrough {
    Zxid zxid;
};
// Remember `membership` as the one in force at the log's base
// (storage::Log::set_membership). Always before the CompactThrough or
// InstallSnapshot that needs it.
struct SetMembership {
    Zxid version;
    std::string record;  // Membership::encode()
};
// Remember that this disk belongs to an ensemble that already held history
// (storage::Log::set_joined_ensemble): bootstrap no longer applies to it.
struct MarkJoinedEnsemble {};
// Remember that this server confirmed a new ensemble's bootstrap
// (storage::Log::set_original_member): it votes after a restart, even with
// an empty log, as the original member it is.
struct MarkOriginalMember {};
using Write =
    std::variant<SetAcceptedEpoch, SetCurrentEpoch, AppendTxns, TruncateAfter, InstallSnapshot,
                 CompactThrough, MarkJoinedEnsemble, MarkOriginalMember, SetMembership>;

struct Outgoing {
    ServerId to;
    pb::PeerMessage message;
};

// The outcome of a submitted request, reported on the server it was submitted to.
struct Completion {
    uint64_t request_id;
    // kRefused: only a membership change forwarded to the leader, which
    // refused it (nothing was proposed; `refusal` says why).
    enum class Outcome : uint8_t { kCommitted, kAbsorbed, kRefused } outcome;
    Zxid zxid;  // kCommitted: the transaction's zxid
    Status refusal = Status::ok();
};

struct SyncDone {
    uint64_t id;
    Zxid zxid;  // this replica has delivered at least up to here
};

struct RoleChange {
    Role role;
    ServerId leader;  // 0 while looking
    uint64_t epoch;
    // Why, for the log: empty, or a phrase such as "the leader went silent".
    std::string reason;
};

// Everything the core wants done. The driver does it in this order:
//  1. send `messages` now;
//  2. start `writes` (in order; consecutive appends may share one sync);
//     when all are durable, send `after_persist` and call persisted(write_id);
//     Readys' writes complete in the order they were handed out;
//  3. deliver `committed` in order, then report completions and syncs;
//  4. if `restore`, reset the state machine to that snapshot (no delivery
//     in the same Ready follows it);
//  5. if `snapshot_due`, save the state machine (it is now exactly at that
//     zxid) and call snapshot_saved() once it is durable.
struct Ready {
    std::optional<InstallSnapshot> restore;
    std::vector<Outgoing> messages;
    std::vector<Write> writes;
    std::vector<Outgoing> after_persist;
    uint64_t write_id = 0;  // nonzero when writes or after_persist are present
    std::vector<Txn> committed;
    std::vector<Completion> completions;
    std::vector<SyncDone> syncs;
    std::optional<RoleChange> role_change;
    std::optional<Zxid> snapshot_due;
    // Lines for the operator's log (a message dropped as impossible, a
    // bootstrap flag ignored, ...); the core rate-limits them.
    std::vector<std::string> notices;

    bool empty() const {
        return !restore && messages.empty() && writes.empty() && after_persist.empty() &&
               committed.empty() && completions.empty() && syncs.empty() && !role_change &&
               !snapshot_due && notices.empty();
    }
};

}  // namespace chorus::zab
