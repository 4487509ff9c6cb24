// The data operations' records (session/zookeeper/operations.h): requests
// as clients write them, answers read back, and malformed ones refused.
#include "session/zookeeper/operations.h"

#include <gtest/gtest.h>

namespace chorus::zookeeper {
namespace {

TEST(ZooKeeperOperations, ACreateRequestWithAnAclAndFlags) {
    JuteWriter w;
    w.write_string("/app/lock-");
    w.write_null();  // no data
    w.write_vector_size(2);
    w.write_int(31);
    w.write_string("world");
    w.write_string("anyone");
    w.write_int(1);
    w.write_string("digest");
    w.write_string("bob:hash");
    w.write_int(3);
    const std::string bytes = w.take();
    JuteReader r(bytes);
    CreateRequest c;
    ASSERT_TRUE(read_create_request(r, &c)) << r.error();
    EXPECT_EQ(c.path, "/app/lock-");
    EXPECT_EQ(c.data, std::nullopt);
    ASSERT_EQ(c.acl.size(), 2u);
    EXPECT_EQ(c.acl[1].scheme, "digest");
    EXPECT_EQ(c.acl[1].id, "bob:hash");
    EXPECT_EQ(c.acl[1].perms, 1);
    EXPECT_EQ(c.flags, 3);
}

TEST(ZooKeeperOperations, RequestsWithBytesAfterThemAreRefused) {
    JuteWriter w;
    w.write_string("/a");
    w.write_bool(true);
    w.write_int(99);  // nothing of a getData request
    const std::string bytes = w.take();
    JuteReader r(bytes);
    PathWatchRequest p;
    EXPECT_FALSE(read_path_watch_request(r, &p));
    EXPECT_NE(r.error().find("4 byte(s) after its last field"), std::string::npos) << r.error();
}

TEST(ZooKeeperOperations, EveryTruncatedSetDataIsRefused) {
    JuteWriter w;
    w.write_string("/config");
    w.write_buffer("value");
    w.write_int(4);
    const std::string full = w.take();
    for (size_t n = 0; n < full.size(); ++n) {
        const std::string cut = full.substr(0, n);
        JuteReader r(cut);
        SetDataRequest s;
        EXPECT_FALSE(read_set_data_request(r, &s)) << n << " bytes";
    }
    JuteReader whole(full);
    SetDataRequest s;
    ASSERT_TRUE(read_set_data_request(whole, &s));
    EXPECT_EQ(s.data, "value");
    EXPECT_EQ(s.version, 4);
}

TEST(ZooKeeperOperations, AStatIsElevenFieldsOf68BytesAndReadsBack) {
    Stat s;
    s.czxid = 0x100000001;
    s.mzxid = 0x100000002;
    s.ctime = 1700000000000;
    s.mtime = 1700000000500;
    s.version = 3;
    s.cversion = 2;
    s.aversion = 1;
    s.ephemeral_owner = 0x77;
    s.data_length = 5;
    s.num_children = 2;
    s.pzxid = 0x100000003;
    JuteWriter w;
    write_stat(w, s);
    EXPECT_EQ(w.bytes().size(), 68u);
    JuteReader r(w.bytes());
    Stat back;
    ASSERT_TRUE(read_stat(r, &back));
    EXPECT_EQ(back.czxid, s.czxid);
    EXPECT_EQ(back.mtime, s.mtime);
    EXPECT_EQ(back.ephemeral_owner, s.ephemeral_owner);
    EXPECT_EQ(back.pzxid, s.pzxid);
    EXPECT_TRUE(r.at_end());
}

TEST(ZooKeeperOperations, AChildrenAnswerIsACountThenTheNames) {
    JuteWriter w;
    write_get_children_response(w, {"a", "bc"});
    JuteReader r(w.bytes());
    int32_t n = 0;
    std::string first, second;
    ASSERT_TRUE(r.read_vector_size("children", &n) && r.read_string("child", &first) &&
                r.read_string("child", &second));
    EXPECT_EQ(n, 2);
    EXPECT_EQ(first, "a");
    EXPECT_EQ(second, "bc");
    EXPECT_TRUE(r.at_end());
}

}  // namespace
}  // namespace chorus::zookeeper
