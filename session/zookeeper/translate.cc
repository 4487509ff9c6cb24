#include "session/zookeeper/translate.h"

#include <algorithm>

namespace chorus::zookeeper {
namespace {

// ZooKeeper's create flags (CreateMode), the ones chorus serves.
constexpr int32_t kFlagEphemeral = 1;
constexpr int32_t kFlagSequential = 2;
constexpr int32_t kFlagContainer = 4;
// ZooKeeper's permissions: READ | WRITE | CREATE | DELETE | ADMIN.
constexpr int32_t kAllPerms = 31;

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// The next code point of UTF-8 `s` at `*i`, or -1 if the bytes there are
// not well-formed UTF-8 (overlong forms and surrogates included).
int32_t next_code_point(std::string_view s, size_t* i) {
    const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
    const uint8_t b0 = byte(*i);
    int length = 0;
    int32_t cp = 0;
    if (b0 < 0x80) {
        *i += 1;
        return b0;
    } else if ((b0 & 0xe0) == 0xc0) {
        length = 2;
        cp = b0 & 0x1f;
    } else if ((b0 & 0xf0) == 0xe0) {
        length = 3;
        cp = b0 & 0x0f;
    } else if ((b0 & 0xf8) == 0xf0) {
        length = 4;
        cp = b0 & 0x07;
    } else {
        return -1;
    }
    if (*i + length > s.size()) return -1;
    for (int k = 1; k < length; ++k) {
        if ((byte(*i + k) & 0xc0) != 0x80) return -1;
        cp = (cp << 6) | (byte(*i + k) & 0x3f);
    }
    static constexpr int32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinimum[length] || cp > 0x10ffff) return -1;
    *i += length;
    return cp;
}

cpb::Request write_of(uint64_t session_id, cpb::Op op) {
    cpb::Request r;
    r.mutable_write()->set_session_id(session_id);
    *r.mutable_write()->add_ops() = std::move(op);
    return r;
}

cpb::Op op_of(cpb::Op::Kind kind, const std::string& path, int32_t version) {
    cpb::Op op;
    op.set_kind(kind);
    op.set_path(path);
    if (version != -1) op.set_expected_version(version);
    return op;
}

void refuse(Call* call, int32_t error, std::string why) {
    call->error = error;
    call->why = std::move(why);
}

bool check_path(Call* call, const std::string& path, bool sequential) {
    std::string why;
    if (valid_path(path, sequential, &why)) return true;
    refuse(call, kBadArguments, "invalid path \"" + path + "\": " + why);
    return false;
}

void read_create(JuteReader& in, uint64_t session_id, Call* call) {
    CreateRequest create;
    if (!read_create_request(in, &create)) return;
    call->path = create.path;
    if (create.flags & kFlagContainer || create.flags < 0 || create.flags > 3) {
        // Containers and TTLs come with their own opcodes; a flag outside
        // CreateMode's is refused as ZooKeeper refuses it.
        return refuse(call, kBadArguments, "create flags " + std::to_string(create.flags));
    }
    const bool sequential = create.flags & kFlagSequential;
    if (!check_path(call, create.path, sequential)) return;
    if (create.acl.empty()) return refuse(call, kInvalidAcl, "a create with an empty ACL");
    cpb::Op op = op_of(cpb::Op::CREATE, create.path, -1);
    if (create.data) op.set_data(std::move(*create.data));
    op.set_ephemeral(create.flags & kFlagEphemeral);
    op.set_sequential(sequential);
    call->request = write_of(session_id, std::move(op));
    call->orders_reads = true;
}

}  // namespace

int64_t zk_zxid(Zxid zxid) {
    const uint64_t counter = std::min<uint64_t>(zxid.counter, 0xffffffffULL);
    return static_cast<int64_t>((zxid.epoch << 32) | counter);
}

int64_t zk_zxid(const cpb::Zxid& zxid) { return zk_zxid(Zxid{zxid.epoch(), zxid.counter()}); }

Zxid chorus_zxid(int64_t zk) {
    const auto bits = static_cast<uint64_t>(zk);
    return Zxid{bits >> 32, bits & 0xffffffffULL};
}

Stat stat_of(const cpb::Stat& s) {
    Stat out;
    out.czxid = zk_zxid(s.czxid());
    out.mzxid = zk_zxid(s.mzxid());
    out.pzxid = zk_zxid(s.pzxid());
    out.ctime = s.ctime_ms();
    out.mtime = s.mtime_ms();
    out.version = static_cast<int32_t>(s.version());
    out.cversion = s.cversion();
    out.aversion = 0;
    out.ephemeral_owner = static_cast<int64_t>(s.ephemeral_owner());
    out.data_length = s.data_length();
    out.num_children = s.num_children();
    return out;
}

int32_t error_of(cpb::Code code) {
    switch (code) {
        case cpb::OK:
            return kOk;
        case cpb::NO_SESSION:
            return kSessionExpired;
        case cpb::NOT_OWNER:
            return kSessionMoved;
        case cpb::NO_NODE:
        case cpb::NO_PARENT:  // ZooKeeper: a create whose parent is missing is NONODE
            return kNoNode;
        case cpb::NODE_EXISTS:
            return kNodeExists;
        case cpb::BAD_VERSION:
            return kBadVersion;
        case cpb::EPHEMERAL_PARENT:
            return kNoChildrenForEphemerals;
        case cpb::NOT_EMPTY:
            return kNotEmpty;
        case cpb::BAD_PATH:
        case cpb::BAD_REQUEST:
        case cpb::TOO_LARGE:
            return kBadArguments;
        case cpb::TIMEOUT:
            return kOperationTimeout;
        case cpb::BUSY:
            return kThrottledOp;
        case cpb::NOT_SERVING:
        case cpb::UNCERTAIN:
            return kConnectionLoss;
        default:
            return kSystemError;
    }
}

bool closes_connection(cpb::Code code) {
    return code == cpb::NOT_SERVING || code == cpb::UNCERTAIN;
}

std::string password_of(uint64_t session_id) {
    // Not a secret from anyone who knows the session id and this function:
    // as in ZooKeeper, the password stops a client from taking over another
    // session by mistake, not an attacker (that is issue 18's work).
    std::string password(16, '\0');
    uint64_t halves[2] = {mix(session_id ^ 0x63686f7275730001ULL),
                          mix(session_id ^ 0x63686f7275730002ULL)};
    for (int i = 0; i < 16; ++i) password[i] = static_cast<char>(halves[i / 8] >> (8 * (i % 8)));
    return password;
}

bool valid_path(std::string_view path, bool sequential, std::string* why) {
    auto fail = [why](const char* rule) {
        *why = rule;
        return false;
    };
    if (path.empty()) return fail("it is empty");
    if (path[0] != '/') return fail("it does not start with /");
    if (path.size() == 1) return true;  // the root (a sequential create names a child)
    if (path.back() == '/' && !sequential) return fail("it ends with /");
    size_t i = 1, name_start = 1;
    while (i <= path.size()) {
        if (i == path.size() || path[i] == '/') {
            const std::string_view name = path.substr(name_start, i - name_start);
            const bool last = i == path.size();
            if (name.empty() && !(last && sequential)) return fail("it has an empty node name");
            if (name == "." || name == "..") return fail("it has a relative name (. or ..)");
            name_start = i + 1;
            ++i;
            continue;
        }
        const int32_t cp = next_code_point(path, &i);
        if (cp < 0) return fail("it is not valid UTF-8");
        if (cp == 0) return fail("it holds a null character");
        if ((cp > 0 && cp < 0x20) || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xf8ff) ||
            (cp >= 0xfff0 && cp <= 0xffff)) {
            return fail("it holds a character ZooKeeper does not allow");
        }
    }
    return true;
}

Call read_call(std::string_view frame, uint64_t session_id) {
    Call call;
    JuteReader in(frame);
    if (!read_request_header(in, &call.header)) {
        call.malformed = true;
        call.why = in.error();
        return call;
    }
    switch (call.header.type) {
        case kOpPing:
            call.request.emplace().mutable_heartbeat()->add_session_ids(session_id);
            if (!in.expect_end("ping")) break;
            return call;
        case kOpCreate:
        case kOpCreate2:
            read_create(in, session_id, &call);
            break;
        case kOpDelete: {
            DeleteRequest d;
            if (!read_delete_request(in, &d)) break;
            call.path = d.path;
            if (!check_path(&call, d.path, false)) return call;
            if (d.path == "/") {
                refuse(&call, kBadArguments, "the root cannot be deleted");
                return call;
            }
            call.request = write_of(session_id, op_of(cpb::Op::DELETE, d.path, d.version));
            call.orders_reads = true;
            return call;
        }
        case kOpSetData: {
            SetDataRequest set;
            if (!read_set_data_request(in, &set)) break;
            call.path = set.path;
            if (!check_path(&call, set.path, false)) return call;
            cpb::Op op = op_of(cpb::Op::SET, set.path, set.version);
            if (set.data) op.set_data(std::move(*set.data));
            call.request = write_of(session_id, std::move(op));
            call.orders_reads = true;
            return call;
        }
        case kOpExists:
        case kOpGetData:
        case kOpGetChildren:
        case kOpGetChildren2: {
            PathWatchRequest read;
            if (!read_path_watch_request(in, &read)) break;
            call.path = read.path;
            if (!check_path(&call, read.path, false)) return call;
            call.watch = read.watch;
            if (call.header.type == kOpGetChildren || call.header.type == kOpGetChildren2) {
                call.request.emplace().mutable_list()->set_path(read.path);
            } else {
                call.request.emplace().mutable_read()->set_path(read.path);
            }
            return call;
        }
        case kOpGetAcl:
        case kOpSync: {
            // GetACLRequest and SyncRequest are both a path alone.
            SyncRequest sync;
            if (!read_sync_request(in, &sync)) break;
            call.path = sync.path;
            if (!check_path(&call, sync.path, false)) return call;
            if (call.header.type == kOpSync) {
                call.request.emplace().mutable_sync();
                call.orders_reads = true;
            } else {
                call.request.emplace().mutable_read()->set_path(sync.path);
            }
            return call;
        }
        case kOpSetWatches:
        case kOpSetWatches2: {
            SetWatchesRequest set;
            if (!read_set_watches_request(in, call.header.type == kOpSetWatches2, &set)) break;
            call.set_watches = std::move(set);
            return call;
        }
        case kOpCloseSession:
            call.request.emplace().mutable_close()->set_session_id(session_id);
            call.orders_reads = true;
            return call;
        default:
            refuse(&call, kUnimplemented,
                   "operation " + std::to_string(call.header.type) + " is not served yet");
            return call;
    }
    if (!in.ok()) {
        call.malformed = true;
        call.why = in.error();
        call.request.reset();
    }
    return call;
}

std::string header_reply(int32_t xid, int64_t zxid, int32_t error) {
    JuteWriter out;
    write_reply_header(out, ReplyHeader{xid, zxid, error});
    return out.take();
}

std::string reply_of(const Call& call, const cpb::Response& response) {
    const int32_t xid = call.header.xid;
    const int64_t zxid = response.has_zxid() ? zk_zxid(response.zxid()) : 0;
    if (response.code() != cpb::OK) return header_reply(xid, zxid, error_of(response.code()));
    JuteWriter out;
    auto header = [&](int32_t error) { write_reply_header(out, ReplyHeader{xid, zxid, error}); };
    switch (call.header.type) {
        case kOpCreate:
        case kOpCreate2:
        case kOpSetData: {
            if (response.results_size() != 1) return header_reply(xid, zxid, kSystemError);
            const cpb::OpResult& result = response.results(0);
            header(kOk);
            if (call.header.type == kOpCreate) {
                write_create_response(out, result.path());
            } else if (call.header.type == kOpCreate2) {
                write_create2_response(out, result.path(), stat_of(result.stat()));
            } else {
                write_stat_response(out, stat_of(result.stat()));
            }
            break;
        }
        case kOpExists:
        case kOpGetData:
        case kOpGetAcl: {
            const cpb::NodeReply& node = response.node();
            if (!node.exists()) return header_reply(xid, zxid, kNoNode);
            header(kOk);
            if (call.header.type == kOpExists) {
                write_stat_response(out, stat_of(node.stat()));
            } else if (call.header.type == kOpGetData) {
                write_get_data_response(out, node.data(), stat_of(node.stat()));
            } else {
                write_get_acl_response(out, {Acl{kAllPerms, "world", "anyone"}},
                                       stat_of(node.stat()));
            }
            break;
        }
        case kOpGetChildren:
        case kOpGetChildren2: {
            const cpb::ListReply& list = response.list();
            if (!list.exists()) return header_reply(xid, zxid, kNoNode);
            const std::vector<std::string> names(list.names().begin(), list.names().end());
            header(kOk);
            if (call.header.type == kOpGetChildren) {
                write_get_children_response(out, names);
            } else {
                write_get_children2_response(out, names, stat_of(list.stat()));
            }
            break;
        }
        case kOpSync:
            header(kOk);
            write_sync_response(out, call.path);
            break;
        default:  // delete, closeSession, ping: the header alone
            header(kOk);
            break;
    }
    return out.take();
}

}  // namespace chorus::zookeeper
