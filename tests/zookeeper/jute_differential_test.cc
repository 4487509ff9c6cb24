// The jute codec against ZooKeeper's own C client (libzookeeper_mt, its
// generated serializers): the same record must come out as the same bytes,
// and what one side writes the other must read. Built only where the C
// client is installed (./chorus.sh install-zookeeper), like chorus-bench's
// ZooKeeper driver.
#include <gtest/gtest.h>
#include <zookeeper/recordio.h>
#include <zookeeper/zookeeper.h>
#include <zookeeper/zookeeper.jute.h>

#include <string>

#include "session/zookeeper/jute.h"
#include "session/zookeeper/operations.h"
#include "session/zookeeper/records.h"

namespace chorus::zookeeper {
namespace {

// The bytes the C client's serializer writes for `v`.
template <class T>
std::string c_client_bytes(int (*serialize)(struct oarchive*, const char*, T*), T* v) {
    struct oarchive* oa = create_buffer_oarchive();
    EXPECT_EQ(serialize(oa, "record", v), 0);
    std::string out(get_buffer(oa), static_cast<size_t>(get_buffer_len(oa)));
    close_buffer_oarchive(&oa, 1);
    return out;
}

TEST(JuteAgainstTheCClient, AConnectRequestComesOutTheSame) {
    char password[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    ::ConnectRequest c{};
    c.protocolVersion = 0;
    c.lastZxidSeen = 0x300000007;
    c.timeOut = 30000;
    c.sessionId = 0x1234567890;
    c.passwd.len = 16;
    c.passwd.buff = password;
    JuteWriter w;
    w.write_int(0);
    w.write_long(0x300000007);
    w.write_int(30000);
    w.write_long(0x1234567890);
    w.write_buffer(std::string(password, 16));
    EXPECT_EQ(w.bytes(), c_client_bytes(serialize_ConnectRequest, &c));
}

TEST(JuteAgainstTheCClient, ACreateRequestWithAnAclComesOutTheSame) {
    char scheme[] = "world", id[] = "anyone", path[] = "/app/node", data[] = "value";
    ::ACL acl{};
    acl.perms = 31;
    acl.id.scheme = scheme;
    acl.id.id = id;
    ::CreateRequest c{};
    c.path = path;
    c.data.len = 5;
    c.data.buff = data;
    c.acl.count = 1;
    c.acl.data = &acl;
    c.flags = 3;  // ephemeral and sequential
    JuteWriter w;
    w.write_string("/app/node");
    w.write_buffer("value");
    w.write_vector_size(1);
    w.write_int(31);
    w.write_string("world");
    w.write_string("anyone");
    w.write_int(3);
    EXPECT_EQ(w.bytes(), c_client_bytes(serialize_CreateRequest, &c));
}

// What the server would send: the C client reads it back as written.
TEST(JuteAgainstTheCClient, TheCClientReadsAConnectResponseWeWrite) {
    JuteWriter w;
    w.write_int(0);
    w.write_int(12000);
    w.write_long(0x0100000000000005);
    w.write_buffer(std::string(16, '\x7f'));
    std::string bytes = w.take();
    struct iarchive* ia = create_buffer_iarchive(bytes.data(), static_cast<int>(bytes.size()));
    ::ConnectResponse r{};
    ASSERT_EQ(deserialize_ConnectResponse(ia, "connect", &r), 0);
    EXPECT_EQ(r.protocolVersion, 0);
    EXPECT_EQ(r.timeOut, 12000);
    EXPECT_EQ(r.sessionId, 0x0100000000000005);
    ASSERT_EQ(r.passwd.len, 16);
    EXPECT_EQ(std::string(r.passwd.buff, 16), std::string(16, '\x7f'));
    deallocate_ConnectResponse(&r);
    close_buffer_iarchive(&ia);
}

// A null buffer from the C client (len -1) reads as null here.
TEST(JuteAgainstTheCClient, ANullBufferReadsAsNull) {
    char path[] = "/n";
    ::CreateRequest c{};
    c.path = path;
    c.data.len = -1;
    c.data.buff = nullptr;
    c.acl.count = 0;
    c.acl.data = nullptr;
    c.flags = 0;
    const std::string bytes = c_client_bytes(serialize_CreateRequest, &c);
    JuteReader r(bytes);
    std::string p;
    std::optional<std::string> data = "not read";
    int32_t count = -5, flags = -5;
    ASSERT_TRUE(r.read_string("path", &p));
    ASSERT_TRUE(r.read_buffer("data", &data));
    ASSERT_TRUE(r.read_vector_size("acl", &count));
    ASSERT_TRUE(r.read_int("flags", &flags));
    EXPECT_EQ(p, "/n");
    EXPECT_EQ(data, std::nullopt);
    EXPECT_EQ(count, 0);
    EXPECT_EQ(flags, 0);
    EXPECT_TRUE(r.at_end());
}

// The C client reads the ConnectResponse and ReplyHeader we write, and we
// read the RequestHeader and ConnectRequest it writes.
TEST(JuteAgainstTheCClient, TheHandshakeAndHeadersAgree) {
    ConnectResponse ours;
    ours.timeout_ms = 9000;
    ours.session_id = 0x1000000000077;
    ours.password = std::string(16, '\x01');
    ours.has_read_only = false;  // the C client's ConnectResponse has no readOnly
    JuteWriter w;
    write_connect_response(w, ours);
    write_reply_header(w, ReplyHeader{5, 0x200000009, kNodeExists});
    std::string bytes = w.take();
    struct iarchive* ia = create_buffer_iarchive(bytes.data(), static_cast<int>(bytes.size()));
    struct ::ConnectResponse c {};
    struct ::ReplyHeader h {};
    ASSERT_EQ(deserialize_ConnectResponse(ia, "connect", &c), 0);
    ASSERT_EQ(deserialize_ReplyHeader(ia, "header", &h), 0);
    EXPECT_EQ(c.timeOut, 9000);
    EXPECT_EQ(c.sessionId, 0x1000000000077);
    EXPECT_EQ(h.xid, 5);
    EXPECT_EQ(h.zxid, 0x200000009);
    EXPECT_EQ(h.err, ZNODEEXISTS);
    deallocate_ConnectResponse(&c);
    close_buffer_iarchive(&ia);

    struct ::RequestHeader rh {};
    rh.xid = 12;
    rh.type = kOpGetData;
    const std::string header = c_client_bytes(serialize_RequestHeader, &rh);
    JuteReader r(header);
    RequestHeader back;
    ASSERT_TRUE(read_request_header(r, &back));
    EXPECT_EQ(back.xid, 12);
    EXPECT_EQ(back.type, kOpGetData);
    EXPECT_TRUE(r.at_end());
}

// Our error codes are the C client's (a client compares them by value).
TEST(JuteAgainstTheCClient, ErrorCodesAreTheCClients) {
    EXPECT_EQ(kOk, ZOK);
    EXPECT_EQ(kSystemError, ZSYSTEMERROR);
    EXPECT_EQ(kMarshallingError, ZMARSHALLINGERROR);
    EXPECT_EQ(kUnimplemented, ZUNIMPLEMENTED);
    EXPECT_EQ(kOperationTimeout, ZOPERATIONTIMEOUT);
    EXPECT_EQ(kBadArguments, ZBADARGUMENTS);
    EXPECT_EQ(kApiError, ZAPIERROR);
    EXPECT_EQ(kNoNode, ZNONODE);
    EXPECT_EQ(kNoAuth, ZNOAUTH);
    EXPECT_EQ(kBadVersion, ZBADVERSION);
    EXPECT_EQ(kNoChildrenForEphemerals, ZNOCHILDRENFOREPHEMERALS);
    EXPECT_EQ(kNodeExists, ZNODEEXISTS);
    EXPECT_EQ(kNotEmpty, ZNOTEMPTY);
    EXPECT_EQ(kSessionExpired, ZSESSIONEXPIRED);
    EXPECT_EQ(kInvalidAcl, ZINVALIDACL);
    EXPECT_EQ(kAuthFailed, ZAUTHFAILED);
    EXPECT_EQ(kSessionMoved, ZSESSIONMOVED);
    EXPECT_EQ(kNotReadOnly, ZNOTREADONLY);
    EXPECT_EQ(kConnectionLoss, ZCONNECTIONLOSS);
    EXPECT_EQ(kThrottledOp, ZTHROTTLEDOP);
}

// Requests the C client writes, read here.
TEST(JuteAgainstTheCClient, WeReadItsDataRequests) {
    char path[] = "/cfg", data[] = "v2";
    ::SetDataRequest set{};
    set.path = path;
    set.data.len = 2;
    set.data.buff = data;
    set.version = 7;
    std::string bytes = c_client_bytes(serialize_SetDataRequest, &set);
    JuteReader r1(bytes);
    SetDataRequest s;
    ASSERT_TRUE(read_set_data_request(r1, &s)) << r1.error();
    EXPECT_EQ(s.path, "/cfg");
    EXPECT_EQ(s.data, "v2");
    EXPECT_EQ(s.version, 7);

    ::GetDataRequest get{};
    get.path = path;
    get.watch = 1;
    bytes = c_client_bytes(serialize_GetDataRequest, &get);
    JuteReader r2(bytes);
    PathWatchRequest g;
    ASSERT_TRUE(read_path_watch_request(r2, &g)) << r2.error();
    EXPECT_EQ(g.path, "/cfg");
    EXPECT_TRUE(g.watch);

    ::DeleteRequest del{};
    del.path = path;
    del.version = -1;
    bytes = c_client_bytes(serialize_DeleteRequest, &del);
    JuteReader r3(bytes);
    DeleteRequest d;
    ASSERT_TRUE(read_delete_request(r3, &d)) << r3.error();
    EXPECT_EQ(d.version, -1);
}

// Answers we write, read by the C client.
TEST(JuteAgainstTheCClient, ItReadsOurAnswers) {
    Stat stat;
    stat.czxid = 0x100000001;
    stat.mzxid = 0x100000004;
    stat.version = 2;
    stat.ephemeral_owner = 0x55;
    stat.data_length = 3;
    stat.num_children = 2;
    stat.pzxid = 0x100000006;
    JuteWriter w;
    write_get_data_response(w, "abc", stat);
    write_get_children2_response(w, {"x", "y"}, stat);
    write_create2_response(w, "/q/n-0000000001", stat);
    std::string bytes = w.take();
    struct iarchive* ia = create_buffer_iarchive(bytes.data(), static_cast<int>(bytes.size()));
    ::GetDataResponse data{};
    ::GetChildren2Response children{};
    ::Create2Response created{};
    ASSERT_EQ(deserialize_GetDataResponse(ia, "data", &data), 0);
    ASSERT_EQ(deserialize_GetChildren2Response(ia, "children", &children), 0);
    ASSERT_EQ(deserialize_Create2Response(ia, "create", &created), 0);
    EXPECT_EQ(std::string(data.data.buff, static_cast<size_t>(data.data.len)), "abc");
    EXPECT_EQ(data.stat.mzxid, 0x100000004);
    EXPECT_EQ(data.stat.ephemeralOwner, 0x55);
    EXPECT_EQ(data.stat.pzxid, 0x100000006);
    ASSERT_EQ(children.children.count, 2);
    EXPECT_STREQ(children.children.data[1], "y");
    EXPECT_EQ(children.stat.numChildren, 2);
    EXPECT_STREQ(created.path, "/q/n-0000000001");
    EXPECT_EQ(created.stat.version, 2);
    deallocate_GetDataResponse(&data);
    deallocate_GetChildren2Response(&children);
    deallocate_Create2Response(&created);
    close_buffer_iarchive(&ia);
}

}  // namespace
}  // namespace chorus::zookeeper
