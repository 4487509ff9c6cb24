// ZooKeeper's reconfig request and /zookeeper/config's text
// (session/zookeeper/reconfig.h), and how read_call() routes a reconfig.
#include "session/zookeeper/reconfig.h"

#include <gtest/gtest.h>

#include "session/zookeeper/records.h"
#include "session/zookeeper/translate.h"

namespace chorus::zookeeper {
namespace {

ReconfigRequest joining(std::string spec) {
    ReconfigRequest r;
    r.joining = std::move(spec);
    return r;
}

TEST(ZooKeeperReconfig, AJoiningServerIsItsIdPeerAddressAndRole) {
    for (const std::string spec :
         {"server.4=127.0.0.1:7004:7005:participant;127.0.0.1:2181", "server.4=127.0.0.1:7004:7005",
          "server.4=127.0.0.1:7004", " server.4=127.0.0.1:7004:7005:participant;2181 "}) {
        Result<ReconfigChange> c = change_of(joining(spec));
        ASSERT_TRUE(c.is_ok()) << spec << ": " << c.status().message();
        EXPECT_EQ(c->kind, ReconfigChange::Kind::kJoin);
        EXPECT_EQ(c->id, 4u);
        EXPECT_EQ(c->address, "127.0.0.1:7004") << spec;
        EXPECT_FALSE(c->observer);
    }
    Result<ReconfigChange> o = change_of(joining("server.9=host-9:7009:7010:observer"));
    ASSERT_TRUE(o.is_ok());
    EXPECT_TRUE(o->observer);
    EXPECT_EQ(o->address, "host-9:7009");
}

TEST(ZooKeeperReconfig, ALeavingServerIsItsId) {
    ReconfigRequest r;
    r.leaving = "3";
    Result<ReconfigChange> c = change_of(r);
    ASSERT_TRUE(c.is_ok());
    EXPECT_EQ(c->kind, ReconfigChange::Kind::kLeave);
    EXPECT_EQ(c->id, 3u);
}

TEST(ZooKeeperReconfig, MoreThanOneServerNoneOrANewConfigurationIsRefusedWithTheReason) {
    ReconfigRequest two;
    two.leaving = "2,3";
    EXPECT_NE(change_of(two).status().message().find("one at a time"), std::string::npos);
    ReconfigRequest both = joining("server.4=a:1");
    both.leaving = "3";
    EXPECT_FALSE(change_of(both).is_ok());
    EXPECT_NE(change_of(ReconfigRequest{}).status().message().find("names no server"),
              std::string::npos);
    ReconfigRequest whole;
    whole.new_members = "server.1=a:1:2;3,server.2=b:1:2;3";
    EXPECT_NE(change_of(whole).status().message().find("non-incremental"), std::string::npos);
    for (const std::string spec :
         {"4=a:1", "server.x=a:1", "server.0=a:1", "server.4=a", "server.4=a:99999",
          "server.4=:7004", "server.4=a:1:2:3:4", "server.4=x&id=1&address=10.0.0.9:7004",
          "server.4=a%26b:7004", "server.4=a b:7004"}) {
        Result<ReconfigChange> c = change_of(joining(spec));
        EXPECT_FALSE(c.is_ok()) << spec;
        EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
    }
    ReconfigRequest bad_id;
    bad_id.leaving = "three";
    EXPECT_FALSE(change_of(bad_id).is_ok());
}

TEST(ZooKeeperReconfig, TheConfigTextIsZooKeepersFormatWithTheVersionInHex) {
    zab::Membership m;
    m.version = Zxid{2, 5};
    m.voters = {{1, "127.0.0.1:7001"}, {3, "127.0.0.1:7003"}};
    m.observers = {{2, "10.0.0.2:7002"}};
    EXPECT_EQ(config_text(m),
              "server.1=127.0.0.1:7001:7001:participant\n"
              "server.2=10.0.0.2:7002:7002:observer\n"
              "server.3=127.0.0.1:7003:7003:participant\n"
              "version=200000005");
    EXPECT_EQ(config_version_of(m), 0x200000005);
    m.version = Zxid{};
    EXPECT_EQ(config_text(m).substr(config_text(m).rfind('\n') + 1), "version=0");
}

TEST(ZooKeeperReconfig, AReconfigFrameBecomesAReconfigCall) {
    ReconfigRequest r = joining("server.4=127.0.0.1:7004:7005:participant;2181");
    r.cur_config_id = 0x100000003;
    JuteWriter body;
    body.write_int(7);  // the RequestHeader: xid, type
    body.write_int(kOpReconfig);
    write_reconfig_request(body, r);
    const Call call = read_call(body.bytes(), 1);
    ASSERT_FALSE(call.malformed) << call.why;
    ASSERT_TRUE(call.reconfig);
    EXPECT_FALSE(call.request) << "the front end answers it, not the tree";
    EXPECT_EQ(*call.reconfig->joining, *r.joining);
    EXPECT_FALSE(call.reconfig->leaving);
    EXPECT_EQ(call.reconfig->cur_config_id, 0x100000003);
    EXPECT_TRUE(call.orders_reads);
    // A truncated record is malformed (ZooKeeper closes the connection).
    const std::string cut = body.bytes().substr(0, body.bytes().size() - 3);
    EXPECT_TRUE(read_call(cut, 1).malformed);
}

}  // namespace
}  // namespace chorus::zookeeper
