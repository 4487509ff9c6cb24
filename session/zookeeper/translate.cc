#include "session/zookeeper/translate.h"

#include <algorithm>

#include "session/acl.h"

namespace chorus::zookeeper {
namespace {

// ZooKeeper's create flags (CreateMode), the ones chorus serves.
constexpr int32_t kFlagEphemeral = 1;
constexpr int32_t kFlagSequential = 2;
constexpr int32_t kFlagContainer = 4;
// ZooKeeper's permissions: READ | WRITE | CREATE | DELETE | ADMIN.
constexpr int32_t kAllPerms = 31;
constexpr uint32_t kRead = session::kPermRead;
constexpr uint32_t kAdmin = session::kPermAdmin;

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

// ZooKeeper's own nodes, which it does not let a client delete.
bool system_node(const std::string& path) {
    return path == "/zookeeper" || path == "/zookeeper/config" || path == "/zookeeper/quota";
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

// The ACL a create or setACL gives, as ZooKeeper's fixupACL makes it: not
// empty; duplicates dropped; each "auth" entry replaced by one per digest
// identity of the client (INVALIDACL if it has none); every other entry
// valid (session/acl.h). False, with `why`, for INVALIDACL.
bool fixup_acl(const std::vector<Acl>& acl, const ClientAuth& auth, cpb::Op* op, std::string* why) {
    if (acl.empty()) {
        *why = "an empty ACL";
        return false;
    }
    std::vector<session::AclEntry> out;
    auto add = [&](session::AclEntry e) {
        if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(std::move(e));
    };
    for (const Acl& a : acl) {
        const auto perms = static_cast<uint32_t>(a.perms);
        if (a.scheme == "auth") {
            if (auth.digests.empty()) {
                *why = "an \"auth\" ACL from a client that has not authenticated (addAuth)";
                return false;
            }
            for (const std::string& id : auth.digests) add({perms, "digest", id});
            continue;
        }
        session::AclEntry e{perms, a.scheme, a.id};
        if (!session::valid_acl_entry(e, why)) return false;
        add(std::move(e));
    }
    for (const session::AclEntry& e : out) {
        cpb::Acl* stored = op->add_acl();
        stored->set_perms(e.perms);
        stored->set_scheme(e.scheme);
        stored->set_id(e.id);
    }
    return true;
}

// A create's op (create, create2, createContainer), or false with the
// call refused. `type` is the opcode.
bool create_op(JuteReader& in, int32_t type, bool whole_frame, const ClientAuth& auth, Call* call,
               cpb::Op* out) {
    CreateRequest create;
    if (!read_create_request(in, &create, whole_frame)) return false;
    call->path = create.path;
    const bool container = create.flags == kFlagContainer;
    if (type == kOpCreateContainer && !container) {
        refuse(call, kBadArguments, "createContainer without the container flag");
        return false;
    }
    // TTL modes (5, 6) are not served: ZooKeeper's own answer while its
    // extended types are off, its default.
    if (create.flags == 5 || create.flags == 6) {
        refuse(call, kUnimplemented, "TTL nodes are not served");
        return false;
    }
    if (!container && (create.flags < 0 || create.flags > 3)) {
        refuse(call, kBadArguments, "create flags " + std::to_string(create.flags));
        return false;
    }
    const bool sequential = create.flags & kFlagSequential;
    if (create.path == "/" && !sequential) {
        refuse(call, kNodeExists, "the root exists");
        return false;
    }
    if (!check_path(call, create.path, sequential)) return false;
    cpb::Op op = op_of(cpb::Op::CREATE, create.path, -1);
    if (std::string why; !fixup_acl(create.acl, auth, &op, &why)) {
        refuse(call, kInvalidAcl, why);
        return false;
    }
    if (create.data) op.set_data(std::move(*create.data));
    op.set_ephemeral(!container && (create.flags & kFlagEphemeral));
    op.set_sequential(!container && sequential);
    op.set_container(container);
    *out = std::move(op);
    return true;
}

void read_create(JuteReader& in, uint64_t session_id, const ClientAuth& auth, Call* call) {
    cpb::Op op;
    if (!create_op(in, call->header.type, true, auth, call, &op)) return;
    call->request = write_of(session_id, std::move(op));
    call->orders_reads = true;
}

// The ops of a multi, all or nothing. An op refused before it reaches the
// tree (a bad path, say) refuses the whole multi, with that op's error in
// its place among the results.
void read_multi(JuteReader& in, uint64_t session_id, const ClientAuth& auth, Call* call) {
    cpb::Request request;
    cpb::Write* write = request.mutable_write();
    write->set_session_id(session_id);
    for (;;) {
        MultiHeader h;
        if (!read_multi_header(in, &h)) return;
        if (h.done) break;
        if (call->multi_types.size() >= 10000) {
            call->malformed = true;
            call->why = "a multi of over 10000 ops";
            return;
        }
        Call checked;  // this op's refusal, if any
        cpb::Op op;
        bool parsed = false;
        switch (h.type) {
            case kOpCreate:
            case kOpCreate2:
            case kOpCreateContainer:
                parsed = create_op(in, h.type, false, auth, &checked, &op) || in.ok();
                break;
            case kOpDelete: {
                DeleteRequest d;
                if (!(parsed = read_delete_request(in, &d, false))) break;
                if (check_path(&checked, d.path, false) && (d.path == "/" || system_node(d.path)))
                    refuse(&checked, kBadArguments, "the root and ZooKeeper's own nodes stay");
                op = op_of(cpb::Op::DELETE, d.path, d.version);
                break;
            }
            case kOpSetData: {
                SetDataRequest set;
                if (!(parsed = read_set_data_request(in, &set, false))) break;
                check_path(&checked, set.path, false);
                op = op_of(cpb::Op::SET, set.path, set.version);
                if (set.data) op.set_data(std::move(*set.data));
                break;
            }
            case kOpCheck: {
                CheckVersionRequest check;
                if (!(parsed = read_check_version_request(in, &check))) break;
                check_path(&checked, check.path, false);
                op = op_of(cpb::Op::CHECK, check.path, check.version);
                break;
            }
            default:
                // An op a multi cannot hold: its record cannot be read, and
                // ZooKeeper drops the connection too.
                call->malformed = true;
                call->why = "a multi holding opcode " + std::to_string(h.type);
                return;
        }
        if (!parsed) return;
        if (checked.error != kOk && call->failed_op < 0) {
            call->failed_op = static_cast<int32_t>(call->multi_types.size());
            call->error = checked.error;
            call->why = checked.why;
        }
        call->multi_types.push_back(h.type);
        *write->add_ops() = std::move(op);
    }
    if (!in.expect_end("MultiRequest")) return;
    call->orders_reads = true;
    // Refused, or empty (which applies nothing, and succeeds): no write.
    if (call->failed_op >= 0 || call->multi_types.empty()) return;
    call->request = std::move(request);
}

// multiRead's reads; each may fail on its own.
void read_multi_read(JuteReader& in, uint64_t session_id, Call* call) {
    for (;;) {
        MultiHeader h;
        if (!read_multi_header(in, &h)) return;
        if (h.done) break;
        if (call->reads.size() >= 10000 || (h.type != kOpGetData && h.type != kOpGetChildren)) {
            call->malformed = true;
            call->why =
                "a multiRead of over 10000 ops, or holding opcode " + std::to_string(h.type);
            return;
        }
        Call read;
        read.header = RequestHeader{call->header.xid, h.type};
        PathWatchRequest r;
        if (!read_path_watch_request(in, &r, false)) return;
        read.path = r.path;
        if (check_path(&read, r.path, false)) {
            if (h.type == kOpGetData) {
                read.request.emplace().mutable_read()->set_path(r.path);
                read.request->mutable_read()->set_need_perms(kRead);
            } else {
                read.request.emplace().mutable_list()->set_path(r.path);
                read.request->mutable_list()->set_need_perms(kRead);
            }
        }
        call->reads.push_back(std::move(read));
    }
    (void)session_id;
    if (in.expect_end("MultiReadRequest")) call->multi_read = true;
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
    out.aversion = s.aversion();
    // A container's is 0, as ZooKeeper shows it to clients (it marks one
    // inside by an owner no session has, and hides that).
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
        case cpb::NO_AUTH:
            return kNoAuth;
        case cpb::INVALID_ACL:
            return kInvalidAcl;
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

session::Requester requester_of(const ClientAuth& auth) {
    session::Requester who;
    who.checked = true;
    who.superuser = auth.superuser;
    if (!auth.ip.empty()) who.ids.push_back({"ip", auth.ip});
    for (const std::string& d : auth.digests) who.ids.push_back({"digest", d});
    return who;
}

void set_requester(cpb::Request* request, const ClientAuth& auth) {
    cpb::Requester* who = request->mutable_requester();
    who->set_superuser(auth.superuser);
    if (!auth.ip.empty()) {
        cpb::Acl* ip = who->add_ids();
        ip->set_scheme("ip");
        ip->set_id(auth.ip);
    }
    for (const std::string& digest : auth.digests) {
        cpb::Acl* id = who->add_ids();
        id->set_scheme("digest");
        id->set_id(digest);
    }
}

namespace {

Call read_call_unattributed(std::string_view frame, uint64_t session_id, const ClientAuth& auth);

}  // namespace

Call read_call(std::string_view frame, uint64_t session_id, const ClientAuth& auth) {
    Call call = read_call_unattributed(frame, session_id, auth);
    call.auth = auth;
    if (call.request) set_requester(&*call.request, auth);
    for (Call& read : call.reads) {
        if (read.request) set_requester(&*read.request, auth);
    }
    return call;
}

namespace {

Call read_call_unattributed(std::string_view frame, uint64_t session_id, const ClientAuth& auth) {
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
        case kOpCreateContainer:
            read_create(in, session_id, auth, &call);
            break;
        case kOpCreateTtl:
            refuse(&call, kUnimplemented, "TTL nodes are not served");
            return call;
        case kOpMulti:
            read_multi(in, session_id, auth, &call);
            break;
        case kOpMultiRead:
            read_multi_read(in, session_id, &call);
            break;
        case kOpDelete: {
            DeleteRequest d;
            if (!read_delete_request(in, &d)) break;
            call.path = d.path;
            if (!check_path(&call, d.path, false)) return call;
            if (d.path == "/" || system_node(d.path)) {
                refuse(&call, kBadArguments, "the root and ZooKeeper's own nodes stay");
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
            if (set.path == "/zookeeper/config") {
                // ZooKeeper's: only its reconfig changes it.
                refuse(&call, kNoAuth, "/zookeeper/config changes only by reconfig");
                return call;
            }
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
            // Reads take any path, as ZooKeeper's do (one that cannot be a
            // node's is simply not found).
            call.path = read.path;
            call.watch = read.watch;
            if (call.header.type == kOpGetChildren || call.header.type == kOpGetChildren2) {
                call.request.emplace().mutable_list()->set_path(read.path);
                call.request->mutable_list()->set_need_perms(kRead);
            } else {
                call.request.emplace().mutable_read()->set_path(read.path);
                // exists needs no permission (as in ZooKeeper).
                if (call.header.type == kOpGetData)
                    call.request->mutable_read()->set_need_perms(kRead);
            }
            return call;
        }
        case kOpGetEphemerals:
        case kOpGetAllChildrenNumber:
        case kOpGetAcl:
        case kOpSync: {
            // These four requests are all a path alone.
            SyncRequest sync;
            if (!read_sync_request(in, &sync)) break;
            call.path = sync.path;
            if (call.header.type == kOpSync) {
                call.request.emplace().mutable_sync();
                call.orders_reads = true;
            } else if (call.header.type == kOpGetEphemerals) {
                cpb::List* list = call.request.emplace().mutable_list();
                list->set_path(sync.path);
                list->set_ephemerals_of(session_id);
            } else if (call.header.type == kOpGetAllChildrenNumber) {
                cpb::List* list = call.request.emplace().mutable_list();
                list->set_path(sync.path);
                list->set_count_all(true);
                list->set_need_perms(kRead);
            } else {  // getACL: READ or ADMIN
                cpb::Read* read = call.request.emplace().mutable_read();
                read->set_path(sync.path);
                read->set_need_perms(kRead | kAdmin);
                read->set_with_acl(true);
            }
            return call;
        }
        case kOpSetAcl: {
            SetAclRequest set;
            if (!read_set_acl_request(in, &set)) break;
            call.path = set.path;
            if (!check_path(&call, set.path, false)) return call;
            cpb::Op op = op_of(cpb::Op::SET_ACL, set.path, set.version);
            if (std::string why; !fixup_acl(set.acl, auth, &op, &why)) {
                refuse(&call, kInvalidAcl, why);
                return call;
            }
            call.request = write_of(session_id, std::move(op));
            call.orders_reads = true;
            return call;
        }
        case kOpAuth: {
            AuthPacket packet;
            if (!in.read_int("type", &packet.type) || !in.read_string("scheme", &packet.scheme))
                break;
            std::optional<std::string> data;
            if (!in.read_buffer("auth", &data) || !in.expect_end("AuthPacket")) break;
            packet.auth = data.value_or("");
            call.auth_packet = std::move(packet);
            return call;
        }
        case kOpSetWatches:
        case kOpSetWatches2: {
            SetWatchesRequest set;
            if (!read_set_watches_request(in, call.header.type == kOpSetWatches2, &set)) break;
            call.set_watches = std::move(set);
            return call;
        }
        case kOpAddWatch:
        case kOpCheckWatches:
        case kOpRemoveWatches: {
            PathModeRequest r;
            if (!read_path_mode_request(in, &r)) break;
            call.path = r.path;
            const bool add = call.header.type == kOpAddWatch;
            if (add ? (r.mode < 0 || r.mode > 1) : (r.mode < 1 || r.mode > 3)) {
                // ZooKeeper 3.8 answers so, and keeps the connection.
                refuse(&call, kMarshallingError,
                       (add ? "no watch mode " : "no watcher type ") + std::to_string(r.mode));
                return call;
            }
            // Like ZooKeeper (whose client checks the path), any path:
            // one that cannot be a node's is never changed.
            call.watch_control = std::move(r);
            // Everything after it waits until it is in effect.
            call.watch = add;
            return call;
        }
        case kOpReconfig: {
            ReconfigRequest r;
            if (!read_reconfig_request(in, &r) || !in.expect_end("reconfig")) break;
            call.reconfig = std::move(r);
            call.path = "/zookeeper/config";
            call.orders_reads = true;  // a write: the reads after it wait for it
            return call;
        }
        case kOpWhoAmI:
            if (!in.expect_end("whoAmI")) break;
            call.who_am_i = true;
            return call;
        case kOpCloseSession:
            call.request.emplace().mutable_close()->set_session_id(session_id);
            call.orders_reads = true;
            return call;
        default:
            // As ZooKeeper does: UNIMPLEMENTED, then the connection closes.
            refuse(&call, kUnimplemented,
                   "operation " + std::to_string(call.header.type) + " is not served");
            call.close_after = true;
            return call;
    }
    if (!in.ok()) {
        call.malformed = true;
        call.why = in.error();
        call.request.reset();
    }
    return call;
}

}  // namespace

std::string who_am_i_reply(int32_t xid, const ClientAuth& auth) {
    JuteWriter out;
    write_reply_header(out, ReplyHeader{xid, 0, kOk});
    // ClientInfo: the scheme, and who by it (a digest's user).
    out.write_vector_size(static_cast<int32_t>(1 + auth.digests.size()));
    out.write_string("ip");
    out.write_string(auth.ip);
    for (const std::string& digest : auth.digests) {
        out.write_string("digest");
        out.write_string(digest.substr(0, digest.find(':')));
    }
    return out.take();
}

std::string header_reply(int32_t xid, int64_t zxid, int32_t error) {
    JuteWriter out;
    write_reply_header(out, ReplyHeader{xid, zxid, error});
    return out.take();
}

namespace {

// A multi that failed: every op gets an error result — ZOK for those before
// the one that failed, its error, then RUNTIMEINCONSISTENCY for the rest —
// under a header that says ZOK, as ZooKeeper answers.
std::string failed_multi_reply(int32_t xid, int64_t zxid, size_t ops, int32_t failed,
                               int32_t error) {
    constexpr int32_t kRuntimeInconsistency = -2;
    JuteWriter out;
    write_reply_header(out, ReplyHeader{xid, zxid, kOk});
    for (size_t i = 0; i < ops; ++i) {
        const auto index = static_cast<int32_t>(i);
        const int32_t err = index < failed ? kOk : index == failed ? error : kRuntimeInconsistency;
        write_multi_header(out, MultiHeader{-1, false, err});
        out.write_int(err);
    }
    write_multi_header(out, MultiHeader{});
    return out.take();
}

std::string multi_reply(const Call& call, const cpb::Response& response, int64_t zxid) {
    const int32_t xid = call.header.xid;
    if (response.code() != cpb::OK) {
        if (!response.has_failed_op()) return header_reply(xid, zxid, error_of(response.code()));
        return failed_multi_reply(xid, zxid, call.multi_types.size(), response.failed_op(),
                                  error_of(response.code()));
    }
    if (static_cast<size_t>(response.results_size()) != call.multi_types.size())
        return header_reply(xid, zxid, kSystemError);
    JuteWriter out;
    write_reply_header(out, ReplyHeader{xid, zxid, kOk});
    for (size_t i = 0; i < call.multi_types.size(); ++i) {
        const int32_t type = call.multi_types[i];
        const cpb::OpResult& result = response.results(static_cast<int>(i));
        write_multi_header(out, MultiHeader{type, false, kOk});
        if (type == kOpCreate) {
            write_create_response(out, result.path());
        } else if (type == kOpCreate2 || type == kOpCreateContainer) {
            write_create2_response(out, result.path(), stat_of(result.stat()));
        } else if (type == kOpSetData) {
            write_stat(out, stat_of(result.stat()));
        }  // delete and check: nothing more
    }
    write_multi_header(out, MultiHeader{});
    return out.take();
}

}  // namespace

std::string immediate_reply(const Call& call) {
    if (call.header.type == kOpMulti && (call.failed_op >= 0 || call.multi_types.empty())) {
        if (call.failed_op < 0) {
            JuteWriter out;
            write_reply_header(out, ReplyHeader{call.header.xid, 0, kOk});
            write_multi_header(out, MultiHeader{});
            return out.take();
        }
        return failed_multi_reply(call.header.xid, 0, call.multi_types.size(), call.failed_op,
                                  call.error);
    }
    return header_reply(call.header.xid, call.close_after ? -1 : 0, call.error);
}

std::string multi_read_reply_of(const Call& call, const std::vector<cpb::Response>& answers) {
    int64_t zxid = 0;
    for (const cpb::Response& a : answers) {
        if (a.has_zxid()) zxid = std::max(zxid, zk_zxid(a.zxid()));
    }
    JuteWriter out;
    write_reply_header(out, ReplyHeader{call.header.xid, zxid, kOk});
    for (size_t i = 0; i < call.reads.size(); ++i) {
        const Call& read = call.reads[i];
        auto error = [&](int32_t err) {
            write_multi_header(out, MultiHeader{-1, false, err});
            out.write_int(err);
        };
        if (!read.request) {
            error(read.error);
            continue;
        }
        const cpb::Response& a = answers.at(i);
        if (a.code() != cpb::OK) {
            error(error_of(a.code()));
        } else if (read.header.type == kOpGetData) {
            if (!a.node().exists()) {
                error(kNoNode);
                continue;
            }
            write_multi_header(out, MultiHeader{kOpGetData, false, kOk});
            write_get_data_response(out, a.node().data(), stat_of(a.node().stat()));
        } else {
            if (!a.list().exists()) {
                error(kNoNode);
                continue;
            }
            write_multi_header(out, MultiHeader{kOpGetChildren, false, kOk});
            write_get_children_response(out, {a.list().names().begin(), a.list().names().end()});
        }
    }
    write_multi_header(out, MultiHeader{});
    return out.take();
}

namespace {

// getACL's answer: the node's ACL, its digests' hashes hidden ("user:x")
// from a client without ADMIN on it, as ZooKeeper hides them.
std::vector<Acl> visible_acl(const Call& call, const cpb::NodeReply& node) {
    session::AclList acl;
    for (const cpb::Acl& a : node.acl()) acl.push_back({a.perms(), a.scheme(), a.id()});
    const bool admin = session::acl_allows(&acl, requester_of(call.auth), kAdmin);
    std::vector<Acl> out;
    for (const session::AclEntry& e : acl) {
        std::string id = e.id;
        if (!admin && e.scheme == "digest") id = id.substr(0, id.find(':')) + ":x";
        out.push_back(Acl{static_cast<int32_t>(e.perms), e.scheme, std::move(id)});
    }
    return out;
}

}  // namespace

std::string reply_of(const Call& call, const cpb::Response& response) {
    const int32_t xid = call.header.xid;
    const int64_t zxid = response.has_zxid() ? zk_zxid(response.zxid()) : 0;
    if (call.header.type == kOpMulti) return multi_reply(call, response, zxid);
    if (response.code() != cpb::OK) return header_reply(xid, zxid, error_of(response.code()));
    JuteWriter out;
    auto header = [&](int32_t error) { write_reply_header(out, ReplyHeader{xid, zxid, error}); };
    switch (call.header.type) {
        case kOpCreate:
        case kOpCreate2:
        case kOpCreateContainer:
        case kOpSetData:
        case kOpSetAcl: {
            if (response.results_size() != 1) return header_reply(xid, zxid, kSystemError);
            const cpb::OpResult& result = response.results(0);
            header(kOk);
            if (call.header.type == kOpCreate) {
                write_create_response(out, result.path());
            } else if (call.header.type != kOpSetData && call.header.type != kOpSetAcl) {
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
                write_get_acl_response(out, visible_acl(call, node), stat_of(node.stat()));
            }
            break;
        }
        case kOpGetEphemerals: {
            const cpb::ListReply& list = response.list();
            header(kOk);
            out.write_vector_size(list.names_size());
            for (const std::string& path : list.names()) out.write_string(path);
            break;
        }
        case kOpGetAllChildrenNumber:
            if (!response.list().exists()) return header_reply(xid, zxid, kNoNode);
            header(kOk);
            out.write_int(static_cast<int32_t>(response.list().all_children()));
            break;
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
