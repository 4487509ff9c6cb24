#include "tests/sim/session_checker.h"

#include <algorithm>

#include "session/session.pb.h"

namespace chorus::sim {
namespace {

std::string ms(int64_t t) { return std::to_string(t) + " ms"; }

}  // namespace

std::string session_name(uint64_t session) {
    return "s" + std::to_string(session >> 40) + "." + std::to_string(session & ((1ull << 40) - 1));
}

void SessionChecker::fail(const std::string& what) {
    if (failure_.empty()) failure_ = what;
}

std::optional<Zxid> SessionChecker::closed_at(uint64_t session) const {
    auto it = closed_at_.find(session);
    if (it == closed_at_.end()) return std::nullopt;
    return it->second;
}

bool SessionChecker::on_state(ServerId server, Zxid position, const session::Tracker& tracker,
                              const std::string& bytes, const zab::Txn* txn) {
    const std::string who = "server " + std::to_string(server);
    if (txn && txn->type == session::kTrackerType) {
        session::pb::TrackerTxn change;
        if (!change.ParseFromString(txn->data)) {
            fail("sessions (d) agreement: " + who + " delivered " + txn->zxid.str() +
                 ", a tracker transaction that does not parse");
            return false;
        }
        if (change.has_closed()) closed_at_.emplace(change.closed().session_id(), txn->zxid);
        for (uint64_t id : change.expired().session_ids()) closed_at_.emplace(id, txn->zxid);
    }
    check_ephemerals(server, position, tracker);
    auto [it, first] = state_at_.try_emplace(position, State{bytes, server});
    if (first && !txn) {
        fail("sessions (d) agreement: " + who + " restored a snapshot at " + position.str() +
             " which no replica has delivered");
    } else if (!first && it->second.bytes != bytes) {
        fail("sessions (d) agreement: " + who + (txn ? " delivered " : " restored a snapshot at ") +
             position.str() + " and its tracker differs from server " +
             std::to_string(it->second.first) +
             "'s at that zxid: " + describe_difference(it->second.bytes, tracker));
    }
    return first && txn;
}

void SessionChecker::check_ephemerals(ServerId server, Zxid position,
                                      const session::Tracker& tracker) {
    for (const auto& [path, node] : tracker.nodes()) {
        if (node.ephemeral_owner == 0) continue;
        const std::string what = "sessions (a) ephemerals: server " + std::to_string(server) +
                                 " at " + position.str() + " holds ephemeral node " + path +
                                 " of session " + session_name(node.ephemeral_owner);
        auto closed = closed_at_.find(node.ephemeral_owner);
        if (closed != closed_at_.end() && closed->second <= position) {
            fail(what + ", whose " + "expiry or close it delivered at " + closed->second.str());
            return;
        }
        if (!tracker.sessions().count(node.ephemeral_owner)) {
            fail(what + ", a session it does not have");
            return;
        }
    }
}

std::string SessionChecker::describe_difference(const std::string& theirs,
                                                const session::Tracker& ours) const {
    // Read theirs back with the tracker's own decoder: the snapshot format
    // belongs to session/, not to this checker.
    session::Tracker t;
    t.restore(theirs);
    auto describe = [](const session::SessionInfo& s) {
        return "owner " + std::to_string(s.owner) + ", timeout " +
               ms(static_cast<int64_t>(s.timeout_ms));
    };
    for (const auto& [id, info] : t.sessions()) {
        auto o = ours.sessions().find(id);
        if (o == ours.sessions().end())
            return "it lacks session " + session_name(id) + " (" + describe(info) + ")";
        if (!(o->second == info))
            return "session " + session_name(id) + " has " + describe(o->second) + ", not " +
                   describe(info);
    }
    for (const auto& [id, info] : ours.sessions()) {
        if (!t.sessions().count(id))
            return "it has an extra session " + session_name(id) + " (" + describe(info) + ")";
    }
    auto node = [](const session::TreeNode& n) {
        return "version " + std::to_string(n.version) +
               (n.ephemeral_owner ? ", ephemeral of " + session_name(n.ephemeral_owner)
                                  : ", persistent");
    };
    for (const auto& [path, info] : t.nodes()) {
        auto o = ours.nodes().find(path);
        if (o == ours.nodes().end()) return "it lacks node " + path + " (" + node(info) + ")";
        if (!(o->second == info))
            return "node " + path + " has " + node(o->second) + ", not " + node(info);
    }
    for (const auto& [path, info] : ours.nodes()) {
        if (!t.nodes().count(path)) return "it has an extra node " + path + " (" + node(info) + ")";
    }
    return "the saved bytes differ (" + std::to_string(theirs.size()) + " bytes, theirs)";
}

void SessionChecker::leading_started(ServerId leader, int64_t now, int64_t clock_ms) {
    terms_[leader] = Term{now, clock_ms, std::nullopt, {}, {}, 0};
}

void SessionChecker::leading_ended(ServerId leader) { terms_.erase(leader); }

void SessionChecker::serving(ServerId leader, int64_t now) {
    auto it = terms_.find(leader);
    if (it == terms_.end() || it->second.serving_since) return;
    it->second.serving_since = now;
    max_takeover_ms_ = std::max(max_takeover_ms_, now - it->second.started);
}

void SessionChecker::stalled(ServerId leader, int64_t ms) {
    auto it = terms_.find(leader);
    if (it != terms_.end()) it->second.stalled_ms += ms;
}

void SessionChecker::granted(ServerId leader, uint64_t session, int64_t now, int64_t clock_ms) {
    auto it = terms_.find(leader);
    if (it != terms_.end()) it->second.grants[session] = Grant{now, clock_ms};
}

void SessionChecker::expiry_decided(ServerId leader, uint64_t session, uint64_t timeout_ms,
                                    int64_t now, const ClientView& client) {
    const std::string what = "leader " + std::to_string(leader) + " expired session " +
                             session_name(session) + " (timeout " +
                             ms(static_cast<int64_t>(timeout_ms)) + ") at " + ms(now);
    auto it = terms_.find(leader);
    if (it == terms_.end()) {
        fail("sessions (b) leader: server " + std::to_string(leader) +
             ", which does not lead, expired session " + session_name(session));
        return;
    }
    Term& term = it->second;
    const auto timeout = static_cast<int64_t>(timeout_ms);
    // The leader's tracker set the session's deadline from the clock it had
    // been given at the last of these inputs; it may expire it only once its
    // clock (set to `now` on the tick that decides) reaches that deadline.
    int64_t heard = term.started, heard_clock = term.clock_ms;
    std::string last = "took over";
    auto g = term.grants.find(session);
    if (g != term.grants.end() && g->second.clock_ms >= heard_clock) {
        heard = g->second.time;
        heard_clock = g->second.clock_ms;
        last = "last heard of it (heartbeat, open or revalidation)";
    }
    if (now < heard_clock + timeout) {
        fail("sessions (b) leader: " + what + ", before its deadline of " +
             ms(heard_clock + timeout) + ": the leader " + last + " at " + ms(heard) +
             " with its clock at " + ms(heard_clock));
        return;
    }
    // The client side. A heartbeat the client sends at t reaches the leader
    // by t + 1 tick (the owner forwards once per tick) + the largest
    // message delay, and the leader's clock then lags by under 2 ticks (1 once
    // it has ticked since its start). So the leader's deadline is at least
    // t - 2 ticks + timeout. The workload guarantees that a client whose path
    // works over [now - timeout + 2 ticks, now] sent such a heartbeat early
    // enough to have arrived (see session_workload.cc).
    if (client.working_since && *client.working_since <= now - (timeout - 2 * tick_ms_)) {
        fail("sessions (b) client: " + what + ", although " + client.who +
             " has heartbeated over a working path (" + client.path + ") since " +
             ms(*client.working_since));
        return;
    }
    if (term.serving_since) {
        const int64_t base = std::max(*term.serving_since, g != term.grants.end() ? heard : 0);
        max_lateness_ms_ = std::max(max_lateness_ms_, now - (base + timeout));
        if (g == term.grants.end() && client.working_since &&
            *client.working_since <= *term.serving_since + tick_ms_) {
            ++failover_losses_;
            if (timeout >= 2 * election_timeout_ms_) ++failover_losses_long_;
        }
    }
    term.decided.insert(session);
}

void SessionChecker::check_timely(ServerId leader,
                                  const std::map<uint64_t, session::SessionInfo>& sessions,
                                  int64_t now) {
    auto it = terms_.find(leader);
    if (it == terms_.end() || !it->second.serving_since) return;
    Term& term = it->second;
    term.peak_sessions = std::max(term.peak_sessions, sessions.size());
    // Slack: 1 tick because the leader looks for due sessions once per tick
    // (its first tick at or after the deadline); 1 more that covers a backlog
    // of up to 2 expiry budgets (the budget's first round goes out on that
    // tick, the rest on the next); and a tick per further budget's worth of
    // sessions this leader held at once. Nothing for commit latency: the
    // decision is what is timed (see session_checker.h).
    const auto budgets = static_cast<int64_t>(
        (std::max<size_t>(term.peak_sessions, 1) + expiry_budget_ - 1) / expiry_budget_);
    const int64_t slack = tick_ms_ * (2 + std::max<int64_t>(budgets - 2, 0)) + term.stalled_ms;
    for (const auto& [id, info] : sessions) {
        if (term.decided.count(id)) continue;
        int64_t base = *term.serving_since;
        std::string since = "leader " + std::to_string(leader) + " began serving";
        auto g = term.grants.find(id);
        if (g != term.grants.end() && g->second.time > base) {
            base = g->second.time;
            since = "leader " + std::to_string(leader) + " last heard of it";
        }
        const int64_t bound = base + static_cast<int64_t>(info.timeout_ms) + slack;
        if (now > bound) {
            fail("sessions (c) expiry late: session " + session_name(id) + " (timeout " +
                 ms(static_cast<int64_t>(info.timeout_ms)) + ") is still not expired at " +
                 ms(now) + "; " + since + " at " + ms(base) + ", so expiry was due by " +
                 ms(bound) + " (slack " + ms(slack) + ")");
            return;
        }
    }
}

void SessionChecker::heartbeats_proposed(ServerId leader, uint64_t request_id) {
    fail("sessions (e) heartbeat logged: leader " + std::to_string(leader) +
         " turned heartbeat batch (request " + std::to_string(request_id) +
         ") into a transaction; heartbeats must never reach the log");
}

}  // namespace chorus::sim
