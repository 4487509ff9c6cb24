// Membership: who votes and who only listens, as the reconfiguration rule
// of docs/protocol.md ("Reconfiguration") will replicate it. A value type
// with its checks and its encoding; the core does not use it yet (issue
// 17 builds it in, the simulator first).
//
//   Membership m = Membership::bootstrap({{1, "a:7001"}, {2, "b:7001"}, {3, "c:7001"}});
//   Membership next = m;
//   next.observers[4] = "d:7001";                    // a learner first (R8)
//   if (Status s = check_change(m, next); !s.is_ok()) ... s.message() ...
//
// Rules checked by check_change (R2 and the obvious ones): at most one voter
// added or removed per change; never no voter at all; an id is a voter or
// an observer, not both; ids are nonzero and addresses are not empty.
// Observers change freely: they are never counted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "base/status.h"
#include "base/zxid.h"

namespace chorus::zab {

using ServerId = uint64_t;

struct Membership {
    // The zxid of the CONFIG transaction that made it; the bootstrap
    // membership (from --peers) has version zero.
    Zxid version;
    std::map<ServerId, std::string> voters;     // id -> peer address "host:port"
    std::map<ServerId, std::string> observers;  // receive commits; never vote or count

    static Membership bootstrap(std::map<ServerId, std::string> voters);

    bool is_voter(ServerId id) const { return voters.count(id) != 0; }
    bool is_observer(ServerId id) const { return observers.count(id) != 0; }
    bool contains(ServerId id) const { return is_voter(id) || is_observer(id); }
    // Voters needed for a decision: a majority of the voters.
    size_t quorum() const { return voters.size() / 2 + 1; }
    // The address of a voter or an observer; nullopt if it is neither.
    std::optional<std::string> address(ServerId id) const;

    // Same voters, observers and addresses (the version aside).
    bool same_servers(const Membership& other) const;
    // "voters 1,2,3; observers 4" (for logs and errors).
    std::string str() const;

    // The payload of a CONFIG transaction (zab.proto's MembershipRecord,
    // the version aside: it is the transaction's zxid) and back; decode
    // fails on corrupt bytes or on a membership check_servers refuses.
    std::string encode() const;
    static Result<Membership> decode(Zxid version, const std::string& bytes);
};

// A membership on its own: at least one voter, nonzero ids, non-empty
// addresses, no id both voter and observer.
Status check_servers(const Membership& m);

// Whether `to` may follow `from` in one CONFIG (R2): check_servers(to), and
// at most one voter added or removed. An error says what to do instead.
Status check_change(const Membership& from, const Membership& to);

}  // namespace chorus::zab
