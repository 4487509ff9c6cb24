// The records of ZooKeeper's data operations: what follows the
// RequestHeader of create, create2, delete, exists, getData, setData,
// getChildren, getChildren2 and sync, and what follows the ReplyHeader of
// their answers. Encoded with jute (jute.h); pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "session/zookeeper/jute.h"

namespace chorus::zookeeper {

// A znode's metadata, as every reply that describes a node carries it.
struct Stat {
    int64_t czxid = 0;  // the zxid that created it
    int64_t mzxid = 0;  // the zxid that last changed its data
    int64_t ctime = 0;  // milliseconds since the epoch, as the leader saw them
    int64_t mtime = 0;
    int32_t version = 0;          // changes of its data
    int32_t cversion = 0;         // changes of its children
    int32_t aversion = 0;         // changes of its ACL
    int64_t ephemeral_owner = 0;  // the owning session, 0 for a persistent node
    int32_t data_length = 0;
    int32_t num_children = 0;
    int64_t pzxid = 0;  // the zxid that last changed its children
};

struct Acl {
    int32_t perms = 0;   // READ 1, WRITE 2, CREATE 4, DELETE 8, ADMIN 16
    std::string scheme;  // "world", "digest", ...
    std::string id;      // "anyone", "user:hash", ...
};

// create (opcode 1) and create2 (15).
struct CreateRequest {
    std::string path;
    std::optional<std::string> data;  // null is allowed, and stored as empty
    std::vector<Acl> acl;
    int32_t flags = 0;  // 1 ephemeral, 2 sequential, 4 container, ...
};

// delete (2): version -1 matches any.
struct DeleteRequest {
    std::string path;
    int32_t version = -1;
};

// exists (3), getData (4), getChildren (8), getChildren2 (12).
struct PathWatchRequest {
    std::string path;
    bool watch = false;
};

// setData (5): version -1 matches any.
struct SetDataRequest {
    std::string path;
    std::optional<std::string> data;
    int32_t version = -1;
};

// sync (9).
struct SyncRequest {
    std::string path;
};

// setWatches (101) and setWatches2 (105): the watches a client held when
// its connection ended, to be set again on the new one. Changes after
// relative_zxid fire at once.
struct SetWatchesRequest {
    int64_t relative_zxid = 0;
    std::vector<std::string> data, exist, child;
    std::vector<std::string> persistent, persistent_recursive;  // setWatches2 only
};

// setACL (7): the new ACL, if the ACL's version (aversion) is `version`
// (-1: any).
struct SetAclRequest {
    std::string path;
    std::vector<Acl> acl;
    int32_t version = -1;
};

// addWatch (106, AddWatchModeRequest: mode 0 persistent, 1 persistent and
// recursive), checkWatches (17) and removeWatches (18) (their type: 1 child
// watches, 2 data watches, 3 any): a path and a number.
struct PathModeRequest {
    std::string path;
    int32_t mode = 0;
};

// The event types and the state a WatcherEvent carries.
enum EventType : int32_t {
    kEventNodeCreated = 1,
    kEventNodeDeleted = 2,
    kEventNodeDataChanged = 3,
    kEventNodeChildrenChanged = 4,
};
constexpr int32_t kStateSyncConnected = 3;

// check (13), inside a multi: the node exists at `version` (-1: any).
struct CheckVersionRequest {
    std::string path;
    int32_t version = -1;
};

// multi (14) and multiRead (22) are a run of (MultiHeader, op record)
// pairs, ended by a MultiHeader with done set (type -1, err -1). Their
// answers are the same shape: a MultiHeader per op (its type, or -1 with
// the op's error) and the op's answer, then the end marker.
struct MultiHeader {
    int32_t type = -1;
    bool done = true;
    int32_t err = -1;
};

// Each read takes the whole rest of the frame: bytes after the record are
// an error (a client of another protocol, or a bug), as are malformed ones
// — unless `whole_frame` is false, for a record inside a multi.
bool read_create_request(JuteReader& in, CreateRequest* out, bool whole_frame = true);
bool read_delete_request(JuteReader& in, DeleteRequest* out, bool whole_frame = true);
bool read_path_watch_request(JuteReader& in, PathWatchRequest* out, bool whole_frame = true);
bool read_set_data_request(JuteReader& in, SetDataRequest* out, bool whole_frame = true);
bool read_check_version_request(JuteReader& in, CheckVersionRequest* out);
bool read_multi_header(JuteReader& in, MultiHeader* out);
void write_multi_header(JuteWriter& out, const MultiHeader& header);
bool read_sync_request(JuteReader& in, SyncRequest* out);
bool read_path_mode_request(JuteReader& in, PathModeRequest* out);
bool read_set_acl_request(JuteReader& in, SetAclRequest* out);
// `version2`: a setWatches2, with the persistent watches.
bool read_set_watches_request(JuteReader& in, bool version2, SetWatchesRequest* out);

// A watch event: it follows a ReplyHeader whose xid is -1.
void write_watcher_event(JuteWriter& out, int32_t type, int32_t state, const std::string& path);

void write_stat(JuteWriter& out, const Stat& stat);
bool read_stat(JuteReader& in, Stat* out);
// create: the created path (a sequential node's has its suffix); create2:
// and its Stat.
void write_create_response(JuteWriter& out, const std::string& path);
void write_create2_response(JuteWriter& out, const std::string& path, const Stat& stat);
// exists and setData: the node's Stat.
inline void write_stat_response(JuteWriter& out, const Stat& stat) { write_stat(out, stat); }
void write_get_data_response(JuteWriter& out, const std::string& data, const Stat& stat);
void write_get_children_response(JuteWriter& out, const std::vector<std::string>& children);
void write_get_children2_response(JuteWriter& out, const std::vector<std::string>& children,
                                  const Stat& stat);
// getACL: the node's ACL and its Stat.
void write_get_acl_response(JuteWriter& out, const std::vector<Acl>& acl, const Stat& stat);
// sync: the path it was asked for.
void write_sync_response(JuteWriter& out, const std::string& path);

}  // namespace chorus::zookeeper
