// The mapping between ZooKeeper's client protocol and chorus's own
// (session/client.proto), which the session service answers: a ZooKeeper
// request becomes a chorus request, and the chorus answer becomes
// ZooKeeper's reply, with ZooKeeper's error codes and Stat. Pure: no
// sockets, no clocks; the front end (front_end.h) carries the bytes.
//
// What ZooKeeper's fields become:
// - zxids: chorus's (epoch, counter) packs as epoch << 32 | counter, as in
//   ZooKeeper (a counter past 2^32 - 1 is clamped there; chorus's own
//   counter does not wrap);
// - times: the leader's wall clock in ms, stamped on each transaction;
// - ACLs: kept on the nodes and checked by chorus (session/acl.h); a
//   create's or setACL's list is checked and its "auth" entries become the
//   connection's digest identities here, as ZooKeeper's fixupACL does;
// - session passwords: 16 bytes derived from the session id, so any server
//   can check one (as ZooKeeper derives them from a fixed secret).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/zxid.h"
#include "session/acl.h"
#include "session/client.pb.h"
#include "session/zookeeper/operations.h"
#include "session/zookeeper/reconfig.h"
#include "session/zookeeper/records.h"

namespace chorus::zookeeper {

namespace cpb = chorus::client::pb;

int64_t zk_zxid(Zxid zxid);
int64_t zk_zxid(const cpb::Zxid& zxid);
Zxid chorus_zxid(int64_t zk);
Stat stat_of(const cpb::Stat& stat);
// ZooKeeper's error code for a chorus answer's code.
int32_t error_of(cpb::Code code);
// The password a session's ConnectResponse carries, and a reconnect must
// send back.
std::string password_of(uint64_t session_id);

// ZooKeeper's rules for a path: absolute, no empty, "." or ".." name, no
// trailing '/' (except before a sequential suffix), none of the characters
// it refuses (controls, U+007F–U+009F, U+D800–U+F8FF, U+FFF0–U+FFFF), and
// valid UTF-8. On failure, `why` says which rule.
bool valid_path(std::string_view path, bool sequential, std::string* why);

// Who a connection's client is: its address, the digest identities it
// proved with addAuth ("user:hash", in order), and whether one of them is
// the superuser's.
struct ClientAuth {
    std::string ip;
    std::vector<std::string> digests;
    bool superuser = false;
};

// The Requester a service request carries for `auth`, and the same as
// session/acl.h's checks take it.
void set_requester(cpb::Request* request, const ClientAuth& auth);
session::Requester requester_of(const ClientAuth& auth);

// addAuth (opcode 100): a scheme and its credentials.
struct AuthPacket {
    int32_t type = 0;
    std::string scheme;
    std::string auth;
};

// A request read from its frame: what to ask the service, or what to
// answer at once.
struct Call {
    RequestHeader header;
    // The service's request, when there is one to make; its id is left for
    // the caller to set.
    std::optional<cpb::Request> request;
    // Otherwise the error to answer with at once (ZooKeeper's code), and
    // for a log line what was wrong.
    int32_t error = kOk;
    std::string why;
    // A multi refused before it reached the tree: which op was refused.
    int32_t failed_op = -1;
    // The frame did not parse: ZooKeeper closes the connection.
    bool malformed = false;
    // A write (or a sync): reads that follow wait until it is answered, so
    // that a connection sees its own writes, in order.
    bool orders_reads = false;
    // A read that sets a watch (exists, getData, getChildren with watch):
    // everything that follows waits until it is answered and its watch is
    // set, so that a change made after it is never missed.
    bool watch = false;
    // addWatch, checkWatches, removeWatches: the front end answers them
    // (its mode or type checked: 0-1, or 1-3).
    std::optional<PathModeRequest> watch_control;
    // setWatches(2): the front end sets them again.
    std::optional<SetWatchesRequest> set_watches;
    // multi: each op's opcode, in order (the answer gives one result each).
    std::vector<int32_t> multi_types;
    // multiRead: its reads, each a Call of its own, answered one by one
    // (as in ZooKeeper, they are not one atomic read).
    std::vector<Call> reads;
    bool multi_read = false;
    // whoAmI: answered by the front end, which knows the client's address.
    bool who_am_i = false;
    // reconfig: the front end asks the server program's hook
    // (FrontEndOptions::reconfig), for the superuser only.
    std::optional<ReconfigRequest> reconfig;
    // addAuth: the front end adds the identity.
    std::optional<AuthPacket> auth_packet;
    // Who asked (every service request carries it, as its Requester).
    ClientAuth auth;
    // Close the connection once the reply is written (ZooKeeper does after
    // an unknown opcode).
    bool close_after = false;
    // The path asked for (a sync's answer names it).
    std::string path;
};

// Reads one request frame (header and record) of the session `session_id`.
// (A value over the service's limit comes back from it as TOO_LARGE, and is
// answered BADARGUMENTS.)
// `auth`: the connection's client, for the ACL checks and for "auth" ACLs.
Call read_call(std::string_view frame, uint64_t session_id, const ClientAuth& auth = {});

// The service's answers that ZooKeeper gives as a closed connection, never
// as a reply: this server is not serving (the client tries the next one),
// or a write's outcome is unknown (ZooKeeper's clients then report
// CONNECTIONLOSS, which means exactly that).
bool closes_connection(cpb::Code code);

// The reply frame's body for the service's answer to `call`: the
// ReplyHeader (the call's xid, the answer's zxid, the error) and, on
// success, the operation's record.
std::string reply_of(const Call& call, const cpb::Response& response);
// The reply to a call that asks the service nothing: its error alone, or a
// multi's (empty, or refused op by op as ZooKeeper refuses one).
std::string immediate_reply(const Call& call);
// multiRead's reply, from each read's answer (in order).
std::string multi_read_reply_of(const Call& call, const std::vector<cpb::Response>& answers);
// whoAmI's reply: who the client is by its address and by each digest.
std::string who_am_i_reply(int32_t xid, const ClientAuth& auth);
// A reply that is only a header.
std::string header_reply(int32_t xid, int64_t zxid, int32_t error);

}  // namespace chorus::zookeeper
