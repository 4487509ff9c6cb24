#include "session/zookeeper/operations.h"

namespace chorus::zookeeper {
namespace {

void write_strings(JuteWriter& out, const std::vector<std::string>& strings) {
    out.write_vector_size(static_cast<int32_t>(strings.size()));
    for (const std::string& s : strings) out.write_string(s);
}

}  // namespace

namespace {

bool read_acl(JuteReader& in, std::vector<Acl>* out) {
    int32_t acls = 0;
    if (!in.read_vector_size("acl", &acls)) return false;
    for (int32_t i = 0; i < acls; ++i) {
        Acl a;
        if (!in.read_int("acl perms", &a.perms) || !in.read_string("acl scheme", &a.scheme) ||
            !in.read_string("acl id", &a.id)) {
            return false;
        }
        out->push_back(std::move(a));
    }
    return true;
}

}  // namespace

bool read_set_acl_request(JuteReader& in, SetAclRequest* out) {
    SetAclRequest r;
    if (!in.read_string("path", &r.path) || !read_acl(in, &r.acl) ||
        !in.read_int("version", &r.version) || !in.expect_end("SetACLRequest")) {
        return false;
    }
    *out = std::move(r);
    return true;
}

bool read_create_request(JuteReader& in, CreateRequest* out, bool whole_frame) {
    CreateRequest r;
    if (!in.read_string("path", &r.path) || !in.read_buffer("data", &r.data) ||
        !read_acl(in, &r.acl)) {
        return false;
    }
    if (!in.read_int("flags", &r.flags) || (whole_frame && !in.expect_end("CreateRequest")))
        return false;
    *out = std::move(r);
    return true;
}

bool read_delete_request(JuteReader& in, DeleteRequest* out, bool whole_frame) {
    DeleteRequest r;
    if (!in.read_string("path", &r.path) || !in.read_int("version", &r.version) ||
        (whole_frame && !in.expect_end("DeleteRequest"))) {
        return false;
    }
    *out = std::move(r);
    return true;
}

bool read_path_watch_request(JuteReader& in, PathWatchRequest* out, bool whole_frame) {
    PathWatchRequest r;
    if (!in.read_string("path", &r.path) || !in.read_bool("watch", &r.watch) ||
        (whole_frame && !in.expect_end("request"))) {
        return false;
    }
    *out = std::move(r);
    return true;
}

bool read_set_data_request(JuteReader& in, SetDataRequest* out, bool whole_frame) {
    SetDataRequest r;
    if (!in.read_string("path", &r.path) || !in.read_buffer("data", &r.data) ||
        !in.read_int("version", &r.version) || (whole_frame && !in.expect_end("SetDataRequest"))) {
        return false;
    }
    *out = std::move(r);
    return true;
}

bool read_sync_request(JuteReader& in, SyncRequest* out) {
    SyncRequest r;
    if (!in.read_string("path", &r.path) || !in.expect_end("SyncRequest")) return false;
    *out = std::move(r);
    return true;
}

bool read_path_mode_request(JuteReader& in, PathModeRequest* out) {
    PathModeRequest r;
    if (!in.read_string("path", &r.path) || !in.read_int("mode", &r.mode) ||
        !in.expect_end("a watch request")) {
        return false;
    }
    *out = std::move(r);
    return true;
}

bool read_multi_header(JuteReader& in, MultiHeader* out) {
    MultiHeader h;
    if (!in.read_int("multi type", &h.type) || !in.read_bool("multi done", &h.done) ||
        !in.read_int("multi err", &h.err)) {
        return false;
    }
    *out = h;
    return true;
}

void write_multi_header(JuteWriter& out, const MultiHeader& header) {
    out.write_int(header.type);
    out.write_bool(header.done);
    out.write_int(header.err);
}

bool read_check_version_request(JuteReader& in, CheckVersionRequest* out) {
    CheckVersionRequest r;
    if (!in.read_string("path", &r.path) || !in.read_int("version", &r.version)) return false;
    *out = std::move(r);
    return true;
}

bool read_set_watches_request(JuteReader& in, bool version2, SetWatchesRequest* out) {
    SetWatchesRequest r;
    if (!in.read_long("relativeZxid", &r.relative_zxid)) return false;
    auto strings = [&](const char* what, std::vector<std::string>* to) {
        int32_t count = 0;
        if (!in.read_vector_size(what, &count)) return false;
        to->resize(static_cast<size_t>(count));
        for (std::string& s : *to) {
            if (!in.read_string(what, &s)) return false;
        }
        return true;
    };
    if (!strings("dataWatches", &r.data) || !strings("existWatches", &r.exist) ||
        !strings("childWatches", &r.child)) {
        return false;
    }
    if (version2 && (!strings("persistentWatches", &r.persistent) ||
                     !strings("persistentRecursiveWatches", &r.persistent_recursive))) {
        return false;
    }
    if (!in.expect_end(version2 ? "SetWatches2" : "SetWatches")) return false;
    *out = std::move(r);
    return true;
}

void write_watcher_event(JuteWriter& out, int32_t type, int32_t state, const std::string& path) {
    out.write_int(type);
    out.write_int(state);
    out.write_string(path);
}

void write_stat(JuteWriter& out, const Stat& s) {
    out.write_long(s.czxid);
    out.write_long(s.mzxid);
    out.write_long(s.ctime);
    out.write_long(s.mtime);
    out.write_int(s.version);
    out.write_int(s.cversion);
    out.write_int(s.aversion);
    out.write_long(s.ephemeral_owner);
    out.write_int(s.data_length);
    out.write_int(s.num_children);
    out.write_long(s.pzxid);
}

bool read_stat(JuteReader& in, Stat* out) {
    Stat s;
    if (!in.read_long("czxid", &s.czxid) || !in.read_long("mzxid", &s.mzxid) ||
        !in.read_long("ctime", &s.ctime) || !in.read_long("mtime", &s.mtime) ||
        !in.read_int("version", &s.version) || !in.read_int("cversion", &s.cversion) ||
        !in.read_int("aversion", &s.aversion) ||
        !in.read_long("ephemeralOwner", &s.ephemeral_owner) ||
        !in.read_int("dataLength", &s.data_length) ||
        !in.read_int("numChildren", &s.num_children) || !in.read_long("pzxid", &s.pzxid)) {
        return false;
    }
    *out = s;
    return true;
}

void write_create_response(JuteWriter& out, const std::string& path) { out.write_string(path); }

void write_create2_response(JuteWriter& out, const std::string& path, const Stat& stat) {
    out.write_string(path);
    write_stat(out, stat);
}

void write_get_data_response(JuteWriter& out, const std::string& data, const Stat& stat) {
    out.write_buffer(data);
    write_stat(out, stat);
}

void write_get_children_response(JuteWriter& out, const std::vector<std::string>& children) {
    write_strings(out, children);
}

void write_get_children2_response(JuteWriter& out, const std::vector<std::string>& children,
                                  const Stat& stat) {
    write_strings(out, children);
    write_stat(out, stat);
}

void write_get_acl_response(JuteWriter& out, const std::vector<Acl>& acl, const Stat& stat) {
    out.write_vector_size(static_cast<int32_t>(acl.size()));
    for (const Acl& a : acl) {
        out.write_int(a.perms);
        out.write_string(a.scheme);
        out.write_string(a.id);
    }
    write_stat(out, stat);
}

void write_sync_response(JuteWriter& out, const std::string& path) { out.write_string(path); }

}  // namespace chorus::zookeeper
