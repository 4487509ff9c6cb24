// MembershipAdmin: the membership routes every chorus server program serves
// on its HTTP port (groupd's and registry-master's --http, chorus-server's
// and kv-server's --admin), for chorusctl, --join and operators with curl:
//
//   GET  /membership     the membership in force on this server, its role and leader:
//        {"this":4,"role":"following","leader":1,"committed":true,
//         "version":{"epoch":1,"counter":5},
//         "voters":[{"id":1,"address":"127.0.0.1:7001"},...],"observers":[...]}
//   POST /membership/add?id=4&address=HOST:PORT[&as=observer][&timeout_s=60]
//        makes server 4 a voter (the default: an observer first, promoted once
//        it has caught up, docs/protocol.md R8) or an observer. `address` is
//        its peer address. An observer named as a voter is promoted.
//   POST /membership/remove?id=4[&timeout_s=60]
//        takes server 4 out (voter or observer); if it leads, it hands
//        leadership over first (docs/protocol.md, "Leadership transfer").
//   POST /membership/transfer-leader[?id=2][&timeout_s=60]
//        makes server 2 the leader (without id: any other caught-up voter);
//        answers once it leads and serves, with the time that took.
//
// A change may be asked of any server: it is forwarded to the leader
// (Node::reconfigure). The answer comes once the change has committed: 200
// {"result":"...","membership":{...}}; 400 for a malformed request; 409
// for a change the rules refuse (two voters at once, the last voter, the
// leader itself: transfer leadership first); 503 when it could not be made
// within timeout_s (no quorum of the new voters in touch, the new voter not
// caught up, no leader), with the last reason. Changes are declarative and
// idempotent: asking again for what already holds answers 200 at once.
// Refused with 409 while another change asked of this server is still
// being made. Anyone who can reach the port may change the membership
// (issue 18 brings admin identities).
#pragma once

#include <memory>

#include "net/http_server.h"
#include "zab/runtime/node.h"

namespace chorus {

class MembershipAdmin {
 public:
    // Before node.start(): it does its work from a tick hook of `node`
    // (Node::on_tick). `node` must outlive it; `self` is its server id.
    MembershipAdmin(Node& node, ServerId self);
    ~MembershipAdmin();
    MembershipAdmin(const MembershipAdmin&) = delete;
    MembershipAdmin& operator=(const MembershipAdmin&) = delete;

    // Answers `request` and returns true if it is one of the routes above
    // (`respond` is called later, from the core thread, for a change);
    // returns false, without answering, for any other target. Any thread.
    bool handle(const net::HttpRequest& request, const net::Respond& respond);

 private:
    struct State;
    std::shared_ptr<State> state_;
};

// The JSON of GET /membership for `m` as seen by `status` of server `self`.
std::string membership_json(const zab::Membership& m, const NodeStatus& status, ServerId self);

// The membership in a GET /membership answer; kInvalidArgument if `body`
// is not one.
Result<zab::Membership> parse_membership_json(const std::string& body);

}  // namespace chorus
