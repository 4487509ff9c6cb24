// SessionService's inside, shared by the files that implement it, one
// concern each (not installed):
//   session_service.cc   the public face, the StateMachine, dispatch, ticks
//   service_requests.cc  open, revalidate, close, write, reads, stats
//   service_heartbeats.cc heartbeats: checked here, batched to the leader
//   service_expiry.cc    the expiry driver (leader only, rate-limited)
//   service_watches.cc   watches: wait for a version, answered on delivery
//   service_persistent_watches.cc ZooKeeper's persistent watches
//   service_housekeeping.cc the leader's: the container sweeper, system nodes
// Everything here runs on the node's core thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "session/client.pb.h"
#include "session/server/session_service.h"
#include "session/session.pb.h"

namespace chorus::session {

namespace cpb = chorus::client::pb;

// Heartbeats gathered into one leader request, and checked in one slice of
// core-thread time.
constexpr size_t kHeartbeatsPerRequest = 10000;

// An answer with no result: `code` and a message for people.
cpb::Response error_response(uint64_t id, cpb::Code code, std::string message);
void set_zxid(cpb::Zxid* out, Zxid z);
void set_stat(cpb::Stat* out, const NodeStat& s);
// A tracker request, ready for Node::submit.
Request tracker_request(const pb::TrackerRequest& r);

// A waiting Watch request.
struct Watcher {
    uint64_t deadline_ms;  // 0: none (any_change)
    int64_t version;
    SessionService::Reply reply;
    uint64_t request_id;
    bool any_change = false;
    Zxid czxid;          // any_change: the node as its client saw it
    uint64_t owner = 0;  // any_change: who may cancel it
    Requester who;       // any_change: told only of changes to what it may read
};

// Who asks: a client of this server, checked against the nodes' ACLs with
// the identities its front end vouches for (none: anonymous).
Requester requester_of(const cpb::Request& request);

// What a watch sees of its key now.
struct WatchedState {
    int64_t version = -1;  // a node's version or cversion, a group's version
    bool exists = false;
    Zxid czxid;
};

struct SessionService::Impl {
    ServiceOptions options;
    Tracker tracker;
    Node* node = nullptr;

    zab::Role role = zab::Role::kLooking;
    uint64_t now_ms = 0;                      // the steady clock at the last tick
    uint64_t last_tick_ms = 0;                // 0 before the first tick
    bool stopped = false;                     // stop() has begun: no more ticks' work
    std::atomic<bool> stop_requested{false};  // any thread: stop() runs once
    // Heartbeats received since the last flush (a session may appear twice;
    // the leader does not mind).
    std::vector<uint64_t> pending_heartbeats;
    // heartbeat_confirmed(): sessions whose heartbeat goes to the leader in
    // a request of its own at the next flush, and who to tell its outcome.
    std::vector<uint64_t> confirmed_heartbeats;
    std::vector<std::function<void(bool)>> heartbeat_confirmations;
    uint64_t heartbeats_received = 0;
    double expiry_credit = 0;
    uint64_t expiring_since_log = 0;
    uint64_t last_expiry_log_ms = 0;
    // Watches by key ("n" + path, "c" + path for its children, "g" + group).
    using WatchMap = std::multimap<std::string, Watcher>;
    using WatchIt = WatchMap::iterator;
    WatchMap watchers;
    // The same watches by deadline, so timing them out costs what times out.
    struct ByDeadline {
        bool operator()(const std::pair<uint64_t, WatchIt>& a,
                        const std::pair<uint64_t, WatchIt>& b) const {
            return a.first != b.first ? a.first < b.first : &*a.second < &*b.second;
        }
    };
    std::set<std::pair<uint64_t, WatchIt>, ByDeadline> watch_deadlines;
    // The any_change watches by owner, so that cancelling costs what ends.
    struct ByAddress {
        bool operator()(const WatchIt& a, const WatchIt& b) const { return &*a < &*b; }
    };
    std::map<uint64_t, std::set<WatchIt, ByAddress>> watches_by_owner;
    // Persistent watches: their modes by path and owner, and each owner's
    // sink and paths.
    std::map<std::string, std::map<uint64_t, uint8_t>> persistent_by_path;
    struct PersistentOwner {
        SessionService::EventSink sink;
        Requester who;  // told only of changes to what it may read
        std::set<std::string> paths;
    };
    std::map<uint64_t, PersistentOwner> persistent_owners;
    size_t persistent_count = 0;

    static uint64_t clock_ms();
    bool serving() const { return node->status().serving; }

    // Ticks (session_service.cc).
    void tick(uint64_t now);
    void execute(cpb::Request request, Reply reply);

    // Heartbeats (service_heartbeats.cc).
    void heartbeat(const cpb::Request& request, Reply reply);
    void check_heartbeats(std::shared_ptr<std::vector<uint64_t>> ids, size_t from,
                          std::shared_ptr<cpb::Response> r, Reply reply);
    void flush_heartbeats();

    // Expiry (service_expiry.cc).
    void drive_expiry(uint64_t elapsed_ms);

    // Housekeeping (service_housekeeping.cc).
    void housekeeping(uint64_t elapsed_ms);
    void sweep_containers();
    void create_system_nodes();
    void keep_config_node();
    uint64_t housekeeping_ms = 0;
    bool config_set_asked = false;  // a set of /zookeeper/config submitted, not yet answered
    std::set<std::string> containers_deleting;  // deletes submitted, not yet answered
    std::set<std::string> system_nodes_asked;   // creates submitted, not yet answered

    // Watches (service_watches.cc).
    void watch(const cpb::Request& request, Reply reply);
    // `children`: the wake comes from a child created or deleted (a
    // children key's any_change watches fire on it; on a wake of the node
    // itself only if it was deleted or re-created).
    // `acl`: the ACL of the node the change was to (see node_event).
    void wake_watchers(const std::string& key, bool children = false, const AclList* acl = nullptr);
    void cancel_watches(const cpb::Request& request, Reply reply);
    // An any_change watch whose node no longer is as its client saw it.
    static bool differs(const Watcher& w, const WatchedState& now, bool children_key);
    void wake_all_watchers();  // after a restore: any watched state may have changed
    void expire_watches();
    void end_all_watches();  // at stop: NOT_SERVING to each
    // Answers a watch and forgets it.
    WatchIt end_watch(WatchIt it, cpb::Response response);
    WatchedState watched_state(const std::string& key) const;
    // Persistent watches (service_persistent_watches.cc).
    void set_persistent_watch(uint64_t owner, const std::string& path, uint8_t modes,
                              SessionService::EventSink sink, Requester who);
    void persistent_event(NodeEventKind kind, const std::string& path, Zxid zxid,
                          const AclList* acl);
    void cancel_persistent_watches(uint64_t owner);
    // Every owner is told its events may have been lost (`forget`: and its
    // watches end, at stop).
    void persistent_watches_lost(bool forget);
    cpb::Response watch_answer(const Watcher& w, const WatchedState& now) const;

    // Requests (service_requests.cc).
    void open(const cpb::Request& request, Reply reply);
    void revalidate(const cpb::Request& request, Reply reply);
    void close(const cpb::Request& request, Reply reply);
    void write(const cpb::Request& request, Reply reply);
    void read(const cpb::Request& request, Reply reply);
    void stats(const cpb::Request& request, Reply reply);
    // Runs `then` after a read barrier if `sync`, at once otherwise.
    void maybe_sync(uint64_t id, bool sync, Reply reply, std::function<void(Reply)> then);
};

}  // namespace chorus::session
