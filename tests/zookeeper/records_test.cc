// The connect handshake and the headers (session/zookeeper/records.h): what
// clients of each version send, and malformed handshakes refused.
#include "session/zookeeper/records.h"

#include <gtest/gtest.h>

namespace chorus::zookeeper {
namespace {

std::string connect_request(bool with_read_only, const std::string& trailing = "") {
    JuteWriter w;
    w.write_int(0);
    w.write_long(0x500000002);
    w.write_int(15000);
    w.write_long(0x7700000001);
    w.write_buffer(std::string(16, 'p'));
    if (with_read_only) w.write_bool(true);
    return w.take() + trailing;
}

TEST(ZooKeeperRecords, AConnectRequestFromA34OrLaterClientCarriesReadOnly) {
    const std::string bytes = connect_request(true);
    JuteReader r(bytes);
    ConnectRequest c;
    ASSERT_TRUE(read_connect_request(r, &c)) << r.error();
    EXPECT_EQ(c.last_zxid_seen, 0x500000002);
    EXPECT_EQ(c.timeout_ms, 15000);
    EXPECT_EQ(c.session_id, 0x7700000001);
    EXPECT_EQ(c.password, std::string(16, 'p'));
    EXPECT_TRUE(c.has_read_only);
    EXPECT_TRUE(c.read_only);
}

TEST(ZooKeeperRecords, AConnectRequestFromAnOlderClientHasNoReadOnlyByte) {
    const std::string bytes = connect_request(false);
    JuteReader r(bytes);
    ConnectRequest c;
    ASSERT_TRUE(read_connect_request(r, &c)) << r.error();
    EXPECT_FALSE(c.has_read_only);
    EXPECT_FALSE(c.read_only);
}

TEST(ZooKeeperRecords, AConnectRequestWithBytesAfterItIsRefused) {
    const std::string bytes = connect_request(true, "xy");
    JuteReader r(bytes);
    ConnectRequest c;
    c.timeout_ms = -7;
    EXPECT_FALSE(read_connect_request(r, &c));
    EXPECT_EQ(c.timeout_ms, -7) << "a refused request filled its output";
    EXPECT_NE(r.error().find("ConnectRequest: 2 byte(s) after its last field"), std::string::npos)
        << r.error();
}

TEST(ZooKeeperRecords, EveryTruncatedConnectRequestIsRefused) {
    const std::string full = connect_request(false);
    // Cutting inside the password leaves a length longer than the bytes;
    // cutting before it, a missing field. (Cutting exactly at the end of
    // the password is an older client's whole request.)
    for (size_t n = 0; n < full.size(); ++n) {
        const std::string cut = full.substr(0, n);
        JuteReader r(cut);
        ConnectRequest c;
        EXPECT_FALSE(read_connect_request(r, &c)) << n << " bytes";
    }
}

TEST(ZooKeeperRecords, TheResponseEchoesWhetherTheRequestHadReadOnly) {
    ConnectResponse response;
    response.timeout_ms = 10000;
    response.session_id = 0x42;
    response.password = std::string(16, 's');
    JuteWriter with;
    write_connect_response(with, response);
    response.has_read_only = false;
    JuteWriter without;
    write_connect_response(without, response);
    EXPECT_EQ(with.bytes().size(), 4u + 4 + 8 + 4 + 16 + 1);
    EXPECT_EQ(without.bytes().size(), with.bytes().size() - 1);
}

TEST(ZooKeeperRecords, HeadersRoundTrip) {
    JuteWriter w;
    w.write_int(kXidPing);
    w.write_int(kOpPing);
    const std::string bytes = w.take();
    JuteReader r(bytes);
    RequestHeader h;
    ASSERT_TRUE(read_request_header(r, &h));
    EXPECT_EQ(h.xid, -2);
    EXPECT_EQ(h.type, 11);
    EXPECT_TRUE(r.at_end());
    JuteWriter reply;
    write_reply_header(reply, ReplyHeader{7, 0x100000003, kNoNode});
    JuteReader back(reply.bytes());
    int32_t xid = 0, err = 0;
    int64_t zxid = 0;
    ASSERT_TRUE(back.read_int("xid", &xid) && back.read_long("zxid", &zxid) &&
                back.read_int("err", &err));
    EXPECT_EQ(xid, 7);
    EXPECT_EQ(zxid, 0x100000003);
    EXPECT_EQ(err, -101);
}

}  // namespace
}  // namespace chorus::zookeeper
