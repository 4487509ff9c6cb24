// SessionChecker: the session tracker's invariants, checked while the
// simulator's faults hit the ensemble (zab-sim --sessions).
//
//   (a) ephemerals      no replica holds an ephemeral node of a session it does
//                       not have, or of a session whose expiry or close it has
//                       delivered (or restored a snapshot past)
//   (b) no early expiry leader: a leader never expires a session before the
//                       deadline its own inputs give it (its clock when it
//                       took over, or last saw the session's heartbeat, open or
//                       revalidation, plus the timeout);
//                       client: a session whose client kept heartbeating over
//                       a working path for a whole timeout is never expired
//                       (the workload decides what "working" is)
//   (c) timely expiry   a serving leader decides to expire a silent session
//                       at most timeout + 2 ticks (more only for a backlog over
//                       the expiry budget) after it last heard of it or took
//                       over; and at the end of the run no abandoned session
//                       is left anywhere
//   (d) agreement       replicas that delivered the same zxid hold
//                       byte-identical tracker state (Tracker::save()); a
//                       restored snapshot holds the state of its zxid
//   (e) no logged heartbeat: a leader never turns heartbeats into a
//                       transaction — zero bytes of log per heartbeat
//
// Time is simulated time in milliseconds (the tick is tick_ms). "Decides"
// means the leader's preprocess turned an ExpireSessions request into a
// transaction naming the session: that is the moment the leader's tracker
// acts, while the commit that follows takes as long as the simulated disks
// and links make it (unbounded under faults), so the timing checks are on
// the decision; check_end then proves the decisions land everywhere.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "session/tracker.h"

namespace chorus::sim {

using zab::ServerId;

class SessionChecker {
 public:
    // `election_timeout_ms`: only for counting failover losses (see below).
    SessionChecker(int64_t tick_ms, size_t expiry_budget, int64_t election_timeout_ms)
        : tick_ms_(tick_ms),
          expiry_budget_(expiry_budget),
          election_timeout_ms_(election_timeout_ms) {}

    // (a), (d): `server`'s tracker is at `position`, after delivering `txn`
    // (or after a restore when `txn` is null), holding `tracker` whose
    // save() is `bytes`. Returns true when this is the first delivery of
    // `position` anywhere: the transaction just joined the committed
    // sequence.
    bool on_state(ServerId server, Zxid position, const session::Tracker& tracker,
                  const std::string& bytes, const zab::Txn* txn);

    // Leader terms as the tracker must see them: a term starts with the
    // first kLeading report after any other role (or a start), and gives
    // every session a deadline of `clock_ms` + its timeout.
    void leading_started(ServerId leader, int64_t now, int64_t clock_ms);
    void leading_ended(ServerId leader);
    // The leader's core serves (its epoch is established).
    void serving(ServerId leader, int64_t now);
    // The leader's tracker now owes `session` a deadline of clock_ms + timeout
    // (it absorbed a heartbeat, or delivered the open or a revalidation).
    void granted(ServerId leader, uint64_t session, int64_t now, int64_t clock_ms);
    // The leader's process was stopped for `ms`: it could decide nothing
    // meanwhile, so check (c) gives it that long more (it decides at its
    // late tick once it runs again).
    void stalled(ServerId leader, int64_t ms);

    // What the workload knows of a session's client when it is expired.
    struct ClientView {
        std::string who;                       // empty: no client is using the session
        std::optional<int64_t> working_since;  // heartbeating over a working path since
        std::string path;                      // that path, for the message
    };
    // (b): `leader` decided at `now` to expire `session`.
    void expiry_decided(ServerId leader, uint64_t session, uint64_t timeout_ms, int64_t now,
                        const ClientView& client);
    // (c): `leader` serves and holds `sessions`; called after every event.
    void check_timely(ServerId leader, const std::map<uint64_t, session::SessionInfo>& sessions,
                      int64_t now);
    // (e): `leader` turned heartbeat request `request_id` into a transaction.
    void heartbeats_proposed(ServerId leader, uint64_t request_id);

    void fail(const std::string& what);
    bool failed() const { return !failure_.empty(); }
    const std::string& failure() const { return failure_; }
    // The most any decision came after timeout past its base (ms).
    int64_t max_lateness_ms() const { return max_lateness_ms_; }
    // The longest a leader took from its first kLeading report to serving.
    int64_t max_takeover_ms() const { return max_takeover_ms_; }
    // Sessions lost at a failover: expired by a new leader that had not
    // heard of them since it took over, although their client's path to it
    // worked from (within a tick of) the moment it began serving. The fresh
    // timeout a new leader grants runs from its first kLeading report, so
    // the sync before it serves eats into it. Not a failure of check (b) —
    // no working path existed before the leader served — but counted, in
    // all and for timeouts of at least two election timeouts (the server's
    // minimum, docs/sessions.md, which is meant to prevent exactly this).
    uint64_t failover_losses() const { return failover_losses_; }
    uint64_t failover_losses_long_timeout() const { return failover_losses_long_; }
    // The zxid at which `session` was first closed or expired, if it was.
    std::optional<Zxid> closed_at(uint64_t session) const;

 private:
    struct Grant {
        int64_t time;
        int64_t clock_ms;
    };
    struct Term {
        int64_t started;
        int64_t clock_ms;
        std::optional<int64_t> serving_since;
        std::map<uint64_t, Grant> grants;
        std::set<uint64_t> decided;
        size_t peak_sessions = 0;
        int64_t stalled_ms = 0;
    };
    struct State {
        std::string bytes;
        ServerId first;  // the server that delivered it first
    };
    void check_ephemerals(ServerId server, Zxid position, const session::Tracker& tracker);
    std::string describe_difference(const std::string& theirs, const session::Tracker& ours) const;

    int64_t tick_ms_;
    size_t expiry_budget_;
    int64_t election_timeout_ms_;
    std::map<Zxid, State> state_at_{{Zxid{}, State{"", 0}}};
    std::map<uint64_t, Zxid> closed_at_;  // session -> first close or expiry in the log
    std::map<ServerId, Term> terms_;
    int64_t max_lateness_ms_ = 0;
    int64_t max_takeover_ms_ = 0;
    uint64_t failover_losses_ = 0;
    uint64_t failover_losses_long_ = 0;
    std::string failure_;
};

std::string session_name(uint64_t session);  // "e3.17": epoch and counter of its open

}  // namespace chorus::sim
