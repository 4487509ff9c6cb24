// The records of ZooKeeper's client protocol that every connection uses:
// the connect handshake and the headers in front of every request and
// reply, with the opcodes, special xids and error codes they carry.
// Encoded with jute (jute.h); pure.
//
// A connection starts with a ConnectRequest frame and its ConnectResponse.
// After that every request frame is a RequestHeader then the operation's
// record (chosen by `type`), and every reply frame a ReplyHeader then, if
// err is ZOK, the operation's answer.
#pragma once

#include <cstdint>
#include <string>

#include "session/zookeeper/jute.h"

namespace chorus::zookeeper {

// Opcodes (RequestHeader::type), as the 3.4–3.8 clients send them.
enum OpCode : int32_t {
    kOpNotification = 0,
    kOpCreate = 1,
    kOpDelete = 2,
    kOpExists = 3,
    kOpGetData = 4,
    kOpSetData = 5,
    kOpGetAcl = 6,
    kOpSetAcl = 7,
    kOpGetChildren = 8,
    kOpSync = 9,
    kOpPing = 11,
    kOpGetChildren2 = 12,
    kOpCheck = 13,
    kOpMulti = 14,
    kOpCreate2 = 15,
    kOpReconfig = 16,
    kOpCheckWatches = 17,
    kOpRemoveWatches = 18,
    kOpCreateContainer = 19,
    kOpDeleteContainer = 20,
    kOpCreateTtl = 21,
    kOpMultiRead = 22,
    kOpAuth = 100,
    kOpSetWatches = 101,
    kOpSasl = 102,
    kOpGetEphemerals = 103,
    kOpGetAllChildrenNumber = 104,
    kOpSetWatches2 = 105,
    kOpAddWatch = 106,
    kOpWhoAmI = 107,
    kOpCloseSession = -11,
};

// Xids with a meaning of their own.
enum SpecialXid : int32_t {
    kXidNotification = -1,  // a watch event, server to client
    kXidPing = -2,
    kXidAuth = -4,
    kXidSetWatches = -8,
};

// Error codes (ReplyHeader::err), the values of the C client's ZOO_ERRORS.
enum ErrorCode : int32_t {
    kOk = 0,
    kSystemError = -1,
    kConnectionLoss = -4,  // clients report it; a server closes the connection instead
    kMarshallingError = -5,
    kUnimplemented = -6,
    kOperationTimeout = -7,
    kBadArguments = -8,
    kNewConfigNoQuorum = -13,   // reconfig: the new voters in touch make no quorum
    kReconfigInProgress = -14,  // reconfig: another change is being made
    kApiError = -100,
    kNoNode = -101,
    kNoAuth = -102,
    kBadVersion = -103,
    kNoChildrenForEphemerals = -108,
    kNodeExists = -110,
    kNotEmpty = -111,
    kSessionExpired = -112,
    kInvalidAcl = -114,
    kAuthFailed = -115,
    kSessionMoved = -118,
    kNotReadOnly = -119,
    kNoWatcher = -121,
    kReconfigDisabled = -123,  // no reconfig on this server
    kThrottledOp = -127,
};

struct ConnectRequest {
    int32_t protocol_version = 0;
    int64_t last_zxid_seen = 0;
    int32_t timeout_ms = 0;
    int64_t session_id = 0;  // 0: a new session
    std::string password;    // 16 bytes for an existing session
    bool read_only = false;
    // Clients before 3.4 send no readOnly byte; the answer then has none.
    bool has_read_only = false;
};

struct ConnectResponse {
    int32_t protocol_version = 0;
    int32_t timeout_ms = 0;  // as negotiated; 0 with session 0 means "expired"
    int64_t session_id = 0;
    std::string password;
    bool read_only = false;
    bool has_read_only = true;  // echo the request's has_read_only
};

struct RequestHeader {
    int32_t xid = 0;
    int32_t type = 0;
};

struct ReplyHeader {
    int32_t xid = 0;
    int64_t zxid = 0;
    int32_t err = kOk;
};

// Each read returns false with the reader's error set on malformed input.
// A ConnectRequest must be the whole frame (trailing bytes are an error).
bool read_connect_request(JuteReader& in, ConnectRequest* out);
void write_connect_response(JuteWriter& out, const ConnectResponse& response);
bool read_request_header(JuteReader& in, RequestHeader* out);
void write_reply_header(JuteWriter& out, const ReplyHeader& header);

}  // namespace chorus::zookeeper
