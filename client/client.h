// chorus::Client — the client library of the session tracker.
//
//   chorus::Client client({.servers = {"127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"}});
//   client.open_session([&](chorus::ClientStatus s, uint64_t session) {
//       client.join_group(session, "web", "host-1", R"({"port":8080})", [](auto s, auto) {});
//   });
//
// What it does by itself:
// - talks to one server, picked at random (so clients spread over the
//   ensemble); many requests in flight on one connection;
// - heartbeats every session it opened, at a third of the session's
//   timeout, all of them in one frame;
// - when the connection breaks or the server stops serving (it left the
//   quorum), moves to another server and revalidates its sessions there, so
//   they live on; requests the old server never answered fail with
//   kConnectionLost (a write among them may or may not have been applied);
//   a server that stops answers what it took and says it drained
//   (docs/client-protocol.md, "Stopping"): what it left unanswered then
//   goes again elsewhere;
//   requests a server refuses as not serving (an election) are sent again
//   to the same server, and the client moves only if it goes on refusing
//   for a third of the session timeout;
// - optional hedged reads: a read goes to `hedged_reads` servers at once and
//   the first answer wins;
// - set_servers() changes the server list without a restart.
//
// Callbacks run on the client's own I/O thread, one at a time; do not
// block in them, and do not destroy the Client from one (its destructor
// waits for that thread). SyncClient (below) is a blocking wrapper.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chorus {

enum class ClientCode : uint8_t {
    kOk,
    kNotServing,  // no server of the list is part of a working quorum right now
    kNoSession,   // the session does not exist (expired or closed)
    kNotOwner,
    kNoNode,
    kNodeExists,
    kBadVersion,
    kNoParent,
    kNotEmpty,
    kBadPath,
    kBadRequest,
    kTooLarge,
    kTimeout,    // a watch ended without the change, or no answer in time
    kUncertain,  // the leader changed: the write may or may not have been applied
    kBusy,
    kConnectionLost,  // the server went away before answering
    kClosed,          // the client is shutting down
};
const char* client_code_name(ClientCode code);

struct ClientStatus {
    ClientCode code = ClientCode::kOk;
    std::string message;
    bool ok() const { return code == ClientCode::kOk; }
    std::string str() const;
};

struct ClientOptions {
    std::vector<std::string> servers;  // "host:port" of every server's client port
    uint64_t session_timeout_ms = 10000;
    uint64_t request_timeout_ms = 10000;  // an answer within this, or kTimeout
    uint64_t connect_timeout_ms = 1000;
    uint32_t hedged_reads = 1;  // >1: send reads to that many servers, first answer wins
    uint64_t seed = 0;          // for picking servers; 0: random
};

// One operation of a write; a write applies all its ops or none.
struct ClientOp {
    enum class Kind : uint8_t { kCreate, kDelete, kSet, kCheck, kPut } kind = Kind::kPut;
    std::string path;
    std::string data;
    std::optional<int64_t> expected_version;  // none: any version
    bool ephemeral = false;                   // owned by the write's session
    bool make_parents = false;

    static ClientOp create(std::string path, std::string data, bool ephemeral = false);
    static ClientOp put(std::string path, std::string data, bool ephemeral = false);
    static ClientOp set(std::string path, std::string data,
                        std::optional<int64_t> expected_version = std::nullopt);
    static ClientOp remove(std::string path,
                           std::optional<int64_t> expected_version = std::nullopt);
    static ClientOp check(std::string path, int64_t expected_version);
};

// What a read of one tree node found (chorus::Node is a replica, not this).
struct TreeNodeData {
    bool exists = false;
    std::string data;
    int64_t version = -1;
    uint64_t ephemeral_owner = 0;
};

struct GroupMemberData {
    std::string name;
    std::optional<std::string> metadata;  // active members
    std::optional<std::string> config;
    uint64_t session_id = 0;
};

struct GroupData {
    bool exists = false;
    int64_t version = 0;
    std::optional<std::string> config;
    std::vector<GroupMemberData> active;
    std::vector<GroupMemberData> inactive;
};

struct WatchResult {
    int64_t version = -1;  // now (-1: the node does not exist)
    bool exists = false;
};

struct ServerStats {
    uint64_t server_id = 0;
    std::string role;
    uint64_t leader = 0;
    uint64_t epoch = 0;
    bool serving = false;
    uint64_t sessions = 0;
    uint64_t nodes = 0;
    uint64_t heartbeats_absorbed = 0;
    uint64_t heartbeats_received = 0;
    uint64_t sessions_expired = 0;
    uint64_t log_records_appended = 0;
    uint64_t log_bytes_appended = 0;
    uint64_t connections = 0;
    uint64_t bad_frames = 0;
    uint64_t watches = 0;
    uint64_t heap_bytes = 0;  // the server allocator's live bytes
    struct LogCount {
        std::string kind;
        uint64_t records = 0;
        uint64_t bytes = 0;
    };
    std::vector<LogCount> log;  // tracker transactions delivered, by kind
    const LogCount* log_of(const std::string& kind) const;
};

class Client {
 public:
    explicit Client(ClientOptions options);
    ~Client();  // pending callbacks get kClosed

    template <class T>
    using Callback = std::function<void(ClientStatus, T)>;

    // Sessions. The client heartbeats and revalidates them by itself; a
    // session the ensemble expired is reported to on_session_lost.
    void open_session(Callback<uint64_t> done);
    void close_session(uint64_t session_id, Callback<bool> done);
    void on_session_lost(std::function<void(uint64_t session_id)> handler);
    // Stop heartbeating a session (it will expire) without closing it.
    void abandon_session(uint64_t session_id);

    void write(uint64_t session_id, std::vector<ClientOp> ops, Callback<bool> done);
    // sync = true: a linearizable read (the server catches up with the
    // leader first).
    void get(std::string path, bool sync, Callback<TreeNodeData> done);
    void list(std::string path, bool sync, Callback<std::vector<std::string>> done);
    void sync(Callback<bool> done);
    // Waits until the node's version exceeds `version` (or it is deleted),
    // or timeout_ms passes (kTimeout, with the current version).
    void watch_node(std::string path, int64_t version, uint64_t timeout_ms,
                    Callback<WatchResult> done);
    void watch_group(std::string group, int64_t version, uint64_t timeout_ms,
                     Callback<WatchResult> done);

    // Groups (see session/groups.h).
    void join_group(uint64_t session_id, const std::string& group, const std::string& member,
                    std::string metadata, Callback<bool> done);
    void leave_group(const std::string& group, const std::string& member, Callback<bool> done);
    void set_member_config(const std::string& group, const std::string& member, std::string config,
                           Callback<bool> done);
    void set_group_config(const std::string& group, std::string config, Callback<bool> done);
    void get_group(std::string group, bool sync, Callback<GroupData> done);

    // The counters of the server this client talks to.
    void stats(Callback<ServerStats> done);

    void set_servers(std::vector<std::string> servers);
    // "host:port" of the server in use ("" while connecting).
    std::string current_server() const;

 private:
    void watch(bool group, std::string target, int64_t version, uint64_t timeout_ms,
               Callback<WatchResult> done);

    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// A blocking wrapper: each call waits for its answer. Not for use inside a
// Client callback.
class SyncClient {
 public:
    explicit SyncClient(ClientOptions options) : client_(std::move(options)) {}
    Client& async() { return client_; }

    template <class T>
    struct Result {
        ClientStatus status;
        T value{};
        bool ok() const { return status.ok(); }
    };

    Result<uint64_t> open_session() {
        return wait<uint64_t>([&](auto cb) { client_.open_session(cb); });
    }
    Result<bool> close_session(uint64_t id) {
        return wait<bool>([&](auto cb) { client_.close_session(id, cb); });
    }
    Result<bool> write(uint64_t session, std::vector<ClientOp> ops) {
        return wait<bool>([&](auto cb) { client_.write(session, std::move(ops), cb); });
    }
    Result<TreeNodeData> get(const std::string& path, bool sync = false) {
        return wait<TreeNodeData>([&](auto cb) { client_.get(path, sync, cb); });
    }
    Result<std::vector<std::string>> list(const std::string& path, bool sync = false) {
        return wait<std::vector<std::string>>([&](auto cb) { client_.list(path, sync, cb); });
    }
    Result<bool> sync() {
        return wait<bool>([&](auto cb) { client_.sync(cb); });
    }
    Result<WatchResult> watch_node(const std::string& path, int64_t version, uint64_t timeout_ms) {
        return wait<WatchResult>(
            [&](auto cb) { client_.watch_node(path, version, timeout_ms, cb); });
    }
    Result<WatchResult> watch_group(const std::string& group, int64_t version,
                                    uint64_t timeout_ms) {
        return wait<WatchResult>(
            [&](auto cb) { client_.watch_group(group, version, timeout_ms, cb); });
    }
    Result<bool> join_group(uint64_t session, const std::string& group, const std::string& member,
                            std::string metadata) {
        return wait<bool>(
            [&](auto cb) { client_.join_group(session, group, member, std::move(metadata), cb); });
    }
    Result<bool> leave_group(const std::string& group, const std::string& member) {
        return wait<bool>([&](auto cb) { client_.leave_group(group, member, cb); });
    }
    Result<bool> set_member_config(const std::string& group, const std::string& member,
                                   std::string config) {
        return wait<bool>(
            [&](auto cb) { client_.set_member_config(group, member, std::move(config), cb); });
    }
    Result<bool> set_group_config(const std::string& group, std::string config) {
        return wait<bool>([&](auto cb) { client_.set_group_config(group, std::move(config), cb); });
    }
    Result<GroupData> get_group(const std::string& group, bool sync = false) {
        return wait<GroupData>([&](auto cb) { client_.get_group(group, sync, cb); });
    }
    Result<ServerStats> stats() {
        return wait<ServerStats>([&](auto cb) { client_.stats(cb); });
    }

 private:
    template <class T, class Start>
    Result<T> wait(Start start) {
        auto promise = std::make_shared<std::promise<Result<T>>>();
        auto future = promise->get_future();
        start([promise](ClientStatus s, T value) {
            promise->set_value(Result<T>{std::move(s), std::move(value)});
        });
        return future.get();
    }
    Client client_;
};

}  // namespace chorus
