// ZooKeeper's four-letter words (session/zookeeper/four_letter.h), without
// sockets: facts in, ZooKeeper 3.8's text out (the layouts were read off a
// real ZooKeeper 3.8.0 answering the same words).
#include "session/zookeeper/four_letter.h"

#include <gtest/gtest.h>

#include "session/zookeeper/records.h"

namespace chorus::zookeeper {
namespace {

namespace cpb = chorus::client::pb;

std::optional<std::string> word_of(const char* w) {
    return four_letter_word(static_cast<uint32_t>(static_cast<uint8_t>(w[0])) << 24 |
                            static_cast<uint32_t>(static_cast<uint8_t>(w[1])) << 16 |
                            static_cast<uint32_t>(static_cast<uint8_t>(w[2])) << 8 |
                            static_cast<uint8_t>(w[3]));
}

// A leader with two clients: one watching /a and /nope, one /a; and the
// connection that asks.
FourLetterFacts two_clients() {
    FourLetterFacts f;
    f.whitelist = "*";
    f.stats.set_serving(true);
    f.stats.set_role("leading");
    f.stats.set_nodes(4);
    f.stats.set_log_records_appended(17);
    f.stats.mutable_last_zxid()->set_epoch(1);
    f.stats.mutable_last_zxid()->set_counter(6);
    ConnectionFacts one;
    one.peer = "127.0.0.1:58456";
    one.has_session = true;
    one.received = 6;
    one.sent = 6;
    one.session_id = 0x1000005dab70001;
    one.timeout_ms = 10000;
    one.established_ms = 1796174160955;
    one.last_op = "EXIS";
    one.last_cxid = 5;
    one.last_zxid = 5;
    one.last_response_ms = 384064;
    one.last_latency_ms = 5;
    for (uint64_t ms : {0, 24, 6}) one.latency.add(ms);
    one.data_watches = {"/a", "/nope"};
    ConnectionFacts two = one;
    two.peer = "127.0.0.1:58472";
    two.session_id = 0x1000005dab70002;
    two.data_watches = {"/a"};
    ConnectionFacts asking;
    asking.peer = "127.0.0.1:58496";
    asking.received = 1;
    f.connections = {one, two, asking};
    f.received = 18;
    f.sent = 17;
    for (uint64_t ms : {1, 24, 2}) f.latency.add(ms);
    f.data_dir_bytes = 4096;
    return f;
}

TEST(ZooKeeperFourLetterWords, EveryWordZooKeeperKnowsIsRecognised) {
    for (const char* w : {"ruok", "isro", "srvr", "stat", "mntr", "conf", "cons", "crst", "dump",
                          "envi", "srst", "wchs", "wchc", "wchp", "dirs", "gtmk", "stmk", "hash"})
        EXPECT_EQ(word_of(w), w);
    EXPECT_EQ(word_of("abcd"), std::nullopt);
    EXPECT_EQ(word_of("RUOK"), std::nullopt);
}

TEST(ZooKeeperFourLetterWords, TheWhitelistDecides) {
    EXPECT_TRUE(four_letter_allowed("srvr", "ruok, srvr"));
    EXPECT_FALSE(four_letter_allowed("conf", "ruok,srvr"));
    EXPECT_TRUE(four_letter_allowed("conf", "*"));
    FourLetterFacts f = two_clients();
    f.whitelist = "ruok";
    EXPECT_EQ(four_letter_answer("ruok", f), "imok");
    EXPECT_EQ(four_letter_answer("cons", f),
              "cons is not executed because it is not in the whitelist.\n");
}

TEST(ZooKeeperFourLetterWords, SrvrAndStatAsZooKeeperLaysThemOut) {
    const FourLetterFacts f = two_clients();
    const std::string summary =
        "Latency min/avg/max: 1/9.0/24\nReceived: 18\nSent: 17\nConnections: 3\n"
        "Outstanding: 0\nZxid: 0x100000006\nMode: leader\nNode count: 5\n";
    const std::string version = "Zookeeper version: chorus (ZooKeeper 3.8 client protocol)\n";
    EXPECT_EQ(four_letter_answer("srvr", f), version + summary);
    EXPECT_EQ(four_letter_answer("stat", f),
              version +
                  "Clients:\n"
                  " /127.0.0.1:58456[1](queued=0,recved=6,sent=6)\n"
                  " /127.0.0.1:58472[1](queued=0,recved=6,sent=6)\n"
                  " /127.0.0.1:58496[0](queued=0,recved=1,sent=0)\n\n" +
                  summary);
    FourLetterFacts idle = f;
    idle.latency = {};
    EXPECT_NE(four_letter_answer("srvr", idle).find("Latency min/avg/max: 0/0.0/0\n"),
              std::string::npos);
    idle.stats.set_serving(false);
    for (const char* w : {"srvr", "stat", "mntr"})
        EXPECT_EQ(four_letter_answer(w, idle),
                  "This ZooKeeper instance is not currently serving requests\n");
}

TEST(ZooKeeperFourLetterWords, ConsListsEveryConnectionWithItsSession) {
    EXPECT_EQ(four_letter_answer("cons", two_clients()),
              " /127.0.0.1:58456[1](queued=0,recved=6,sent=6,sid=0x1000005dab70001,lop=EXIS,"
              "est=1796174160955,to=10000,lcxid=0x5,lzxid=0x5,lresp=384064,llat=5,minlat=0,"
              "avglat=10,maxlat=24)\n"
              " /127.0.0.1:58472[1](queued=0,recved=6,sent=6,sid=0x1000005dab70002,lop=EXIS,"
              "est=1796174160955,to=10000,lcxid=0x5,lzxid=0x5,lresp=384064,llat=5,minlat=0,"
              "avglat=10,maxlat=24)\n"
              " /127.0.0.1:58496[0](queued=0,recved=1,sent=0)\n\n");
}

TEST(ZooKeeperFourLetterWords, WatchesCountedByConnectionAndByPath) {
    const FourLetterFacts f = two_clients();
    EXPECT_EQ(four_letter_answer("wchs", f), "2 connections watching 2 paths\nTotal watches:3\n");
    EXPECT_EQ(four_letter_answer("wchc", f),
              "0x1000005dab70001\n\t/a\n\t/nope\n0x1000005dab70002\n\t/a\n\n");
    EXPECT_EQ(four_letter_answer("wchp", f),
              "/a\n\t0x1000005dab70001\n\t0x1000005dab70002\n/nope\n\t0x1000005dab70001\n\n");
    FourLetterFacts none;
    none.whitelist = "*";
    EXPECT_EQ(four_letter_answer("wchs", none),
              "0 connections watching 0 paths\nTotal watches:0\n");
}

TEST(ZooKeeperFourLetterWords, ConfEnviDirsAndTheResets) {
    FourLetterFacts f = two_clients();
    f.conf = {{"clientPort", "2181"}, {"serverId", "1"}};
    f.environment = {{"host.name", "here"}, {"os.name", "Linux"}};
    EXPECT_EQ(four_letter_answer("conf", f), "clientPort=2181\nserverId=1\n");
    EXPECT_EQ(four_letter_answer("envi", f), "Environment:\nhost.name=here\nos.name=Linux\n");
    EXPECT_EQ(four_letter_answer("dirs", f), "datadir_size: 4096\nlogdir_size: 4096\n");
    EXPECT_EQ(four_letter_answer("crst", f), "Connection stats reset.\n");
    EXPECT_EQ(four_letter_answer("srst", f), "Server stats reset.\n");
    EXPECT_EQ(four_letter_answer("dump", f),
              "dump is not served by chorus (see docs/zookeeper.md).\n");
}

TEST(ZooKeeperFourLetterWords, MntrUsesZooKeepersKeysAndAddsChorussOwn) {
    const std::string mntr = four_letter_answer("mntr", two_clients());
    for (const char* line :
         {"zk_server_state\tleader\n", "zk_avg_latency\t9\n", "zk_max_latency\t24\n",
          "zk_min_latency\t1\n", "zk_packets_received\t18\n", "zk_packets_sent\t17\n",
          "zk_num_alive_connections\t3\n", "zk_znode_count\t5\n",
          "chorus_log_records_appended\t17\n"})
        EXPECT_NE(mntr.find(line), std::string::npos) << line << " in\n" << mntr;
}

TEST(ZooKeeperFourLetterWords, LastOperationsAreAbbreviatedAsZooKeeperDoes) {
    EXPECT_STREQ(last_op_name(kOpGetData), "GETD");
    EXPECT_STREQ(last_op_name(kOpCreate2), "CREA");
    EXPECT_STREQ(last_op_name(kOpGetChildren2), "GETC");
    EXPECT_STREQ(last_op_name(kOpPing), "PING");
    EXPECT_STREQ(last_op_name(kOpWhoAmI), "HOMI");
    EXPECT_STREQ(last_op_name(9999), "NA");
}

}  // namespace
}  // namespace chorus::zookeeper
