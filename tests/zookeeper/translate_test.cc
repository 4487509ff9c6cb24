// The mapping between ZooKeeper's protocol and chorus's own
// (session/zookeeper/translate.h), without sockets: frames in, service
// requests out, and service answers back into ZooKeeper's replies.
#include "session/zookeeper/translate.h"

#include <gtest/gtest.h>

namespace chorus::zookeeper {
namespace {

std::string request_frame(int32_t xid, int32_t type, const std::string& record) {
    JuteWriter w;
    w.write_int(xid);
    w.write_int(type);
    return w.take() + record;
}

std::string create_record(const std::string& path, int32_t flags, int acls = 1) {
    JuteWriter w;
    w.write_string(path);
    w.write_buffer("data");
    w.write_vector_size(acls);
    for (int i = 0; i < acls; ++i) {
        w.write_int(31);
        w.write_string("world");
        w.write_string("anyone");
    }
    w.write_int(flags);
    return w.take();
}

ReplyHeader header_of(const std::string& reply, JuteReader* rest) {
    ReplyHeader h;
    int32_t xid = 0, err = 0;
    int64_t zxid = 0;
    EXPECT_TRUE(rest->read_int("xid", &xid) && rest->read_long("zxid", &zxid) &&
                rest->read_int("err", &err))
        << reply.size();
    h.xid = xid;
    h.zxid = zxid;
    h.err = err;
    return h;
}

TEST(ZooKeeperTranslate, ZxidsPackAsZooKeeperDoes) {
    EXPECT_EQ(zk_zxid(Zxid{1, 2}), (int64_t{1} << 32) | 2);
    EXPECT_EQ(chorus_zxid(zk_zxid(Zxid{7, 12345})), (Zxid{7, 12345}));
    EXPECT_EQ(zk_zxid(Zxid{1, uint64_t{1} << 33}), (int64_t{1} << 32) | 0xffffffff)
        << "a counter past 32 bits is clamped, never carried into the epoch";
    EXPECT_LT(zk_zxid(Zxid{1, 5}), zk_zxid(Zxid{2, 1})) << "order is kept";
}

TEST(ZooKeeperTranslate, PathsFollowZooKeepersRules) {
    std::string why;
    for (const char* good : {"/", "/a", "/a/b", "/a-b_c.d", "/\xc3\xa9t\xc3\xa9", "/a/.b"})
        EXPECT_TRUE(valid_path(good, false, &why)) << good << ": " << why;
    EXPECT_TRUE(valid_path("/queue/", true, &why)) << "a sequential name may end in /";
    for (const char* bad : {"", "a", "/a/", "/a//b", "/a/./b", "/a/../b", "/.", "/a\x01", "/\x7f",
                            "/\xc2\x80", "/\xff", "/\xc0\xaf", "/\xef\xbf\xbf"}) {
        EXPECT_FALSE(valid_path(bad, false, &why)) << bad;
        EXPECT_FALSE(why.empty());
    }
}

TEST(ZooKeeperTranslate, EachModeOfCreateBecomesAWriteOrZooKeepersError) {
    struct Case {
        int32_t flags;
        bool ephemeral, sequential;
    };
    for (const Case c :
         {Case{0, false, false}, Case{1, true, false}, Case{2, false, true}, Case{3, true, true}}) {
        Call call = read_call(request_frame(5, kOpCreate, create_record("/n", c.flags)), 77);
        ASSERT_TRUE(call.request) << c.flags << ": " << call.why;
        const cpb::Write& w = call.request->write();
        EXPECT_EQ(w.session_id(), 77u);
        ASSERT_EQ(w.ops_size(), 1);
        EXPECT_EQ(w.ops(0).kind(), cpb::Op::CREATE);
        EXPECT_EQ(w.ops(0).ephemeral(), c.ephemeral);
        EXPECT_EQ(w.ops(0).sequential(), c.sequential);
        EXPECT_EQ(w.ops(0).data(), "data");
        EXPECT_TRUE(call.orders_reads);
    }
    for (int32_t type : {kOpCreate, kOpCreateContainer}) {
        Call container = read_call(request_frame(5, type, create_record("/n", 4)), 1);
        ASSERT_TRUE(container.request) << "ZooKeeper takes flag 4 by either opcode";
        EXPECT_TRUE(container.request->write().ops(0).container());
        EXPECT_FALSE(container.request->write().ops(0).ephemeral());
    }
    EXPECT_EQ(read_call(request_frame(5, kOpCreateContainer, create_record("/n", 0)), 1).error,
              kBadArguments)
        << "createContainer needs the container flag";
    EXPECT_EQ(read_call(request_frame(5, kOpCreate, create_record("/n", 9)), 1).error,
              kBadArguments);
    EXPECT_EQ(read_call(request_frame(5, kOpCreate, create_record("/n", 0, 0)), 1).error,
              kInvalidAcl);
    EXPECT_EQ(read_call(request_frame(5, kOpCreate, create_record("/n/", 0)), 1).error,
              kBadArguments);
    EXPECT_EQ(read_call(request_frame(5, kOpCreateTtl, create_record("/n", 5)), 1).error,
              kUnimplemented);
}

TEST(ZooKeeperTranslate, MalformedFramesAreMarkedForClosing) {
    EXPECT_TRUE(read_call("\x01\x02", 1).malformed) << "a header cut short";
    JuteWriter w;
    w.write_string("/a");  // getData without its watch byte
    EXPECT_TRUE(read_call(request_frame(1, kOpGetData, w.take()), 1).malformed);
    JuteWriter extra;
    extra.write_string("/a");
    extra.write_bool(false);
    extra.write_int(3);
    EXPECT_TRUE(read_call(request_frame(1, kOpExists, extra.take()), 1).malformed)
        << "bytes after the record";
}

TEST(ZooKeeperTranslate, AnswersCarryZooKeepersCodesAndRecords) {
    JuteWriter w;
    w.write_string("/a");
    w.write_bool(true);
    const Call get = read_call(request_frame(9, kOpGetData, w.take()), 1);
    ASSERT_TRUE(get.request && get.request->has_read());
    EXPECT_TRUE(get.watch);
    EXPECT_FALSE(get.orders_reads);

    cpb::Response found;
    found.mutable_zxid()->set_epoch(2);
    found.mutable_zxid()->set_counter(3);
    found.mutable_node()->set_exists(true);
    found.mutable_node()->set_data("hello");
    found.mutable_node()->mutable_stat()->set_version(4);
    found.mutable_node()->mutable_stat()->set_data_length(5);
    found.mutable_node()->mutable_stat()->mutable_czxid()->set_epoch(1);
    found.mutable_node()->mutable_stat()->mutable_czxid()->set_counter(1);
    const std::string reply = reply_of(get, found);
    JuteReader r(reply);
    const ReplyHeader h = header_of(reply, &r);
    EXPECT_EQ(h.xid, 9);
    EXPECT_EQ(h.zxid, (int64_t{2} << 32) | 3);
    EXPECT_EQ(h.err, kOk);
    std::optional<std::string> data;
    ASSERT_TRUE(r.read_buffer("data", &data));
    EXPECT_EQ(data, "hello");
    Stat stat;
    ASSERT_TRUE(read_stat(r, &stat));
    EXPECT_EQ(stat.version, 4);
    EXPECT_EQ(stat.czxid, (int64_t{1} << 32) | 1);
    EXPECT_TRUE(r.at_end());

    cpb::Response missing;
    missing.mutable_node()->set_exists(false);
    const std::string none = reply_of(get, missing);  // the reader holds a view of it
    JuteReader m(none);
    EXPECT_EQ(header_of(none, &m).err, kNoNode);

    for (const auto& [code, expected] : std::vector<std::pair<cpb::Code, int32_t>>{
             {cpb::NODE_EXISTS, kNodeExists},
             {cpb::NO_PARENT, kNoNode},
             {cpb::EPHEMERAL_PARENT, kNoChildrenForEphemerals},
             {cpb::BAD_VERSION, kBadVersion},
             {cpb::NOT_EMPTY, kNotEmpty},
             {cpb::NO_SESSION, kSessionExpired},
             {cpb::TOO_LARGE, kBadArguments},
             {cpb::BUSY, kThrottledOp}}) {
        cpb::Response failed;
        failed.set_code(code);
        const std::string refused = reply_of(get, failed);
        JuteReader f(refused);
        EXPECT_EQ(header_of(refused, &f).err, expected) << cpb::Code_Name(code);
        EXPECT_TRUE(f.at_end()) << "an error is the header alone";
    }
    EXPECT_TRUE(closes_connection(cpb::NOT_SERVING));
    EXPECT_TRUE(closes_connection(cpb::UNCERTAIN)) << "ZooKeeper's clients: CONNECTIONLOSS";
    EXPECT_FALSE(closes_connection(cpb::NO_NODE));
}

TEST(ZooKeeperTranslate, PasswordsAreSixteenBytesAndDifferPerSession) {
    EXPECT_EQ(password_of(1).size(), 16u);
    EXPECT_EQ(password_of(42), password_of(42));
    EXPECT_NE(password_of(42), password_of(43));
}

}  // namespace
}  // namespace chorus::zookeeper
