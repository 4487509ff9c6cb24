#include "session/zookeeper/records.h"

namespace chorus::zookeeper {

bool read_connect_request(JuteReader& in, ConnectRequest* out) {
    ConnectRequest r;
    std::optional<std::string> password;
    if (!in.read_int("protocolVersion", &r.protocol_version) ||
        !in.read_long("lastZxidSeen", &r.last_zxid_seen) ||
        !in.read_int("timeOut", &r.timeout_ms) || !in.read_long("sessionId", &r.session_id) ||
        !in.read_buffer("passwd", &password)) {
        return false;
    }
    r.password = password ? std::move(*password) : std::string();
    if (in.remaining() > 0) {
        r.has_read_only = true;
        if (!in.read_bool("readOnly", &r.read_only)) return false;
    }
    if (!in.expect_end("ConnectRequest")) return false;
    *out = std::move(r);
    return true;
}

void write_connect_response(JuteWriter& out, const ConnectResponse& response) {
    out.write_int(response.protocol_version);
    out.write_int(response.timeout_ms);
    out.write_long(response.session_id);
    out.write_buffer(response.password);
    if (response.has_read_only) out.write_bool(response.read_only);
}

bool read_request_header(JuteReader& in, RequestHeader* out) {
    RequestHeader h;
    if (!in.read_int("xid", &h.xid) || !in.read_int("type", &h.type)) return false;
    *out = h;
    return true;
}

void write_reply_header(JuteWriter& out, const ReplyHeader& header) {
    out.write_int(header.xid);
    out.write_long(header.zxid);
    out.write_int(header.err);
}

}  // namespace chorus::zookeeper
