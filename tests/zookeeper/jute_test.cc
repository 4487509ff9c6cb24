// The jute codec (session/zookeeper/jute.h): the bytes ZooKeeper's clients
// write, round trips, and malformed input refused with a clear message,
// never a crash or a read past the end.
#include "session/zookeeper/jute.h"

#include <gtest/gtest.h>

#include <string>

namespace chorus::zookeeper {
namespace {

std::string hex(const std::string& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

TEST(Jute, WritesBigEndianIntsLongsAndOneByteBools) {
    JuteWriter w;
    w.write_int(1);
    w.write_int(-1);
    w.write_long(0x0102030405060708);
    w.write_bool(true);
    w.write_bool(false);
    EXPECT_EQ(hex(w.bytes()), "00000001ffffffff01020304050607080100");
}

TEST(Jute, BuffersAndStringsAreALengthThenTheBytesAndNullIsMinusOne) {
    JuteWriter w;
    w.write_string("/a");
    w.write_buffer("");
    w.write_null();
    w.write_vector_size(2);
    EXPECT_EQ(hex(w.bytes()), "000000022f6100000000ffffffff00000002");
}

TEST(Jute, ReadsBackWhatItWrites) {
    JuteWriter w;
    w.write_int(-2147483647 - 1);
    w.write_long(-5);
    w.write_bool(true);
    w.write_string("zoo");
    w.write_null();
    w.write_null();
    w.write_vector_size(0);
    const std::string bytes = w.take();
    JuteReader r(bytes);
    int32_t i = 0;
    int64_t l = 0;
    bool b = false;
    std::string s;
    std::optional<std::string> buf = "not read";
    std::string null_string = "not read";
    int32_t count = 7;
    ASSERT_TRUE(r.read_int("i", &i));
    ASSERT_TRUE(r.read_long("l", &l));
    ASSERT_TRUE(r.read_bool("b", &b));
    ASSERT_TRUE(r.read_string("s", &s));
    ASSERT_TRUE(r.read_buffer("buf", &buf));
    ASSERT_TRUE(r.read_string("null string", &null_string));
    ASSERT_TRUE(r.read_vector_size("v", &count));
    EXPECT_EQ(i, -2147483647 - 1);
    EXPECT_EQ(l, -5);
    EXPECT_TRUE(b);
    EXPECT_EQ(s, "zoo");
    EXPECT_EQ(buf, std::nullopt);
    EXPECT_EQ(null_string, "");
    EXPECT_EQ(count, 0);
    EXPECT_TRUE(r.at_end());
}

// A ConnectRequest as a 3.8 client sends it (after the frame's length):
// protocolVersion 0, lastZxidSeen 0x1_0000_0005, timeOut 30000,
// sessionId 0, a 16-byte zero password, readOnly false.
TEST(Jute, ReadsAConnectRequestAsAClientWritesIt) {
    const std::string bytes =
        std::string("\x00\x00\x00\x00", 4) + std::string("\x00\x00\x00\x01\x00\x00\x00\x05", 8) +
        std::string("\x00\x00\x75\x30", 4) + std::string(8, '\0') +
        std::string("\x00\x00\x00\x10", 4) + std::string(16, '\0') + std::string(1, '\0');
    JuteReader r(bytes);
    int32_t version = -1, timeout = 0;
    int64_t last_zxid = 0, session = -1;
    std::optional<std::string> password;
    bool read_only = true;
    ASSERT_TRUE(r.read_int("protocolVersion", &version));
    ASSERT_TRUE(r.read_long("lastZxidSeen", &last_zxid));
    ASSERT_TRUE(r.read_int("timeOut", &timeout));
    ASSERT_TRUE(r.read_long("sessionId", &session));
    ASSERT_TRUE(r.read_buffer("passwd", &password));
    ASSERT_TRUE(r.read_bool("readOnly", &read_only));
    EXPECT_EQ(version, 0);
    EXPECT_EQ(last_zxid, 0x100000005);
    EXPECT_EQ(timeout, 30000);
    EXPECT_EQ(session, 0);
    ASSERT_TRUE(password);
    EXPECT_EQ(password->size(), 16u);
    EXPECT_FALSE(read_only);
    EXPECT_TRUE(r.at_end());
}

// Every prefix of a valid record is refused cleanly, at the field where
// the bytes ran out.
TEST(Jute, EveryTruncationIsRefusedWithoutReadingPastTheEnd) {
    JuteWriter w;
    w.write_int(42);
    w.write_string("/some/path");
    w.write_long(7);
    w.write_bool(true);
    const std::string full = w.take();
    for (size_t n = 0; n < full.size(); ++n) {
        // A copy of exactly n bytes, so a read past it is a heap overflow
        // that ASan reports.
        const std::string cut = full.substr(0, n);
        JuteReader r(cut);
        int32_t i = 0;
        std::string s;
        int64_t l = 0;
        bool b = false;
        const bool all = r.read_int("xid", &i) && r.read_string("path", &s) &&
                         r.read_long("zxid", &l) && r.read_bool("watch", &b);
        EXPECT_FALSE(all) << n << " bytes";
        EXPECT_FALSE(r.ok()) << n << " bytes";
        EXPECT_FALSE(r.error().empty()) << n << " bytes";
    }
}

TEST(Jute, UnreasonableLengthsAreRefusedBeforeAnythingIsAllocated) {
    auto length_then = [](int32_t length, size_t body) {
        JuteWriter w;
        w.write_int(length);
        return w.take() + std::string(body, 'x');
    };
    std::string s;
    {
        const std::string bytes = length_then(-2, 0);
        JuteReader r(bytes);
        EXPECT_FALSE(r.read_string("path", &s));
        EXPECT_NE(r.error().find("path: an unreasonable length of -2 at byte 0"), std::string::npos)
            << r.error();
    }
    {
        const std::string bytes = length_then(2000000000, 10);
        JuteReader r(bytes);
        EXPECT_FALSE(r.read_string("data", &s));
        EXPECT_NE(r.error().find("unreasonable length of 2000000000"), std::string::npos)
            << r.error();
    }
    {
        const std::string bytes = length_then(9, 3);  // within the limit, beyond the input
        JuteReader r(bytes);
        EXPECT_FALSE(r.read_string("path", &s));
        EXPECT_NE(r.error().find("a length of 9 at byte 0, but 3 bytes are left"),
                  std::string::npos)
            << r.error();
    }
    {
        const std::string bytes = length_then(11, 11);  // over a limit of 10
        JuteReader r(bytes, 10);
        EXPECT_FALSE(r.read_string("data", &s));
    }
    {
        const std::string bytes = length_then(1 << 30, 4);
        JuteReader r(bytes);
        int32_t count = 0;
        EXPECT_FALSE(r.read_vector_size("acl", &count));
        EXPECT_NE(r.error().find("acl: an unreasonable count"), std::string::npos) << r.error();
    }
}

TEST(Jute, TheFirstErrorSticksAndLaterReadsFail) {
    const std::string bytes("\x00\x00", 2);
    JuteReader r(bytes);
    int32_t i = 5;
    EXPECT_FALSE(r.read_int("xid", &i));
    EXPECT_EQ(i, 5) << "a failed read changed its output";
    const std::string first = r.error();
    bool b = false;
    EXPECT_FALSE(r.read_bool("watch", &b));
    EXPECT_EQ(r.error(), first);
    EXPECT_FALSE(r.at_end());
}

TEST(Jute, AnyNonZeroByteIsTrue) {
    const std::string bytes("\x02", 1);
    JuteReader r(bytes);
    bool b = false;
    ASSERT_TRUE(r.read_bool("watch", &b));
    EXPECT_TRUE(b);
}

}  // namespace
}  // namespace chorus::zookeeper
