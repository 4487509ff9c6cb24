// The jute codec against ZooKeeper's own C client (libzookeeper_mt, its
// generated serializers): the same record must come out as the same bytes,
// and what one side writes the other must read. Built only where the C
// client is installed (./chorus.sh install-zookeeper), like chorus-bench's
// ZooKeeper driver.
#include <gtest/gtest.h>
#include <zookeeper/recordio.h>
#include <zookeeper/zookeeper.jute.h>

#include <string>

#include "session/zookeeper/jute.h"

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
    ConnectRequest c{};
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
    ACL acl{};
    acl.perms = 31;
    acl.id.scheme = scheme;
    acl.id.id = id;
    CreateRequest c{};
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
    ConnectResponse r{};
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
    CreateRequest c{};
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

}  // namespace
}  // namespace chorus::zookeeper
