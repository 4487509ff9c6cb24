// ZooKeeperFrontEnd: serves ZooKeeper's client protocol (3.4–3.8 clients:
// the Java client, the C client, kazoo, Curator) on a TCP port of a
// session::Server, over the same replicated tree and sessions as chorus's
// own protocol. docs/zookeeper.md says what is served and what differs.
//
// A connection starts with a ConnectRequest:
// - session id 0 opens a session (timeout bounded by the server's min/max);
// - any other id with its password revalidates the session here (the
//   client moved, or reconnected); a wrong password, or a session that has
//   ended, gets ZooKeeper's "expired" answer (timeout 0) and the connection
//   closes;
// - a client that has seen a later zxid than this server (lastZxidSeen) is
//   refused, after a read barrier, so that it never sees time go backwards:
//   it moves on to another server.
// Then requests, answered in the order they came (as ZooKeeper's clients
// require), each read seeing the connection's earlier writes. Pings and
// every other request keep the session alive: pings are heartbeats, which
// the leader absorbs (nothing is logged). A connection whose server stops
// serving, or whose write's outcome became unknown in a leader change, is
// closed, as ZooKeeper closes it: the client reports CONNECTIONLOSS and
// reconnects elsewhere with its session.
//
// A connection that starts with a four-letter word (four_letter.h) gets
// its answer and is closed. Every connection counts its packets and its
// requests' latencies for them (cons, stat, srvr, mntr).
//
// ACLs: every node has one (session/acl.h), checked by chorus as ZooKeeper
// checks it; a connection's identities are its address and the digests it
// proved with addAuth (digest:user:password), and the superuser's digest
// (FrontEndOptions::super_digest) passes every check.
//
// Bad input never takes the server down: a frame over max_frame_bytes, a
// record that does not parse, or a request before the handshake closes
// that connection, with a log line.
//
// Threads: one I/O thread of its own; the service answers on the node's
// core thread and the answer is handed back to the I/O thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/endpoint.h"
#include "session/server/front_end.h"

namespace chorus::session {
class SessionService;
}

namespace chorus::zookeeper {

struct ReconfigChange;  // session/zookeeper/reconfig.h

// The outcome of a reconfig: kOk (0) and the new configuration's text
// (reconfig.h's config_text) with its version, or one of ZooKeeper's error
// codes (records.h: kBadArguments, kBadVersion, kNewConfigNoQuorum,
// kReconfigInProgress, ...) with the reason, for the log.
struct ReconfigAnswer {
    int32_t error = 0;
    std::string why;
    std::string config;
    int64_t version = 0;
};
// Makes `change` (asked by the superuser), if the membership's version is
// `expected_version` (-1: whatever it is), and calls `done` once, from any
// thread, when it has committed or failed.
using ReconfigHook = std::function<void(const ReconfigChange& change, int64_t expected_version,
                                        std::function<void(ReconfigAnswer)> done)>;

// What the four-letter words conf and dirs report of the server around the
// front end; the server program fills it in (empty fields are left out).
struct ServerFacts {
    uint64_t server_id = 0;
    std::string data_dir;  // chorus's log and snapshots: ZooKeeper's dataDir and dataLogDir
    uint64_t tick_ms = 0;
    uint64_t min_session_timeout_ms = 0;
    uint64_t max_session_timeout_ms = 0;
    std::vector<std::pair<uint64_t, std::string>> peers;  // id, HOST:PORT of its peer port
};

struct FrontEndOptions {
    net::Endpoint endpoint;
    // ZooKeeper's jute.maxbuffer: the largest request frame.
    size_t max_frame_bytes = 0xfffff;
    size_t max_inflight_per_connection = 1000;
    size_t max_queued_bytes = 64 << 20;
    size_t max_connections = 10000;
    // ZooKeeper's maxClientCnxns: connections at once from one IP address;
    // one more is closed as soon as it is accepted, with a log line (the
    // client tries again, or another server). 0: no limit.
    size_t max_connections_per_address = 60;
    // The four-letter words answered (ZooKeeper's 4lw.commands.whitelist):
    // a comma-separated list, or "*" for all.
    std::string four_letter_words = "ruok,srvr,isro,mntr";
    // The superuser's digest id ("super:BASE64(SHA1(super:PASSWORD))", as
    // ZooKeeper's zookeeper.DigestAuthenticationProvider.superDigest): a
    // client that proves it with addAuth passes every ACL. Empty: none.
    std::string super_digest;
    ServerFacts facts;
    // ZooKeeper's reconfig, served for the superuser through this hook
    // (chorus-server's makes the change as POST /membership/add|remove
    // does). Unset: reconfig is refused with ZooKeeper's
    // RECONFIGDISABLED, as a ZooKeeper server without reconfigEnabled.
    ReconfigHook reconfig;
};

class ZooKeeperFrontEnd final : public session::FrontEnd {
 public:
    // `service` must outlive the front end.
    ZooKeeperFrontEnd(FrontEndOptions options, session::SessionService& service);
    ~ZooKeeperFrontEnd() override;  // stops

    // "the ZooKeeper protocol on HOST:PORT".
    std::string describe() const override;
    Status start() override;
    void stop() override;
    uint16_t port() const;  // the one bound (useful with port 0)

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chorus::zookeeper
