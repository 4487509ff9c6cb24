// registry-server's configuration (examples/registry/region_server_config.h):
// the TOML file read strictly, and the whole checked with clear errors.
#include "examples/registry/region_server_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace chorus::registry {
namespace {

std::string write_file(const std::string& text) {
    char path[] = "/tmp/region-server-config-XXXXXX";
    const int fd = ::mkstemp(path);
    EXPECT_GE(fd, 0);
    ::close(fd);
    std::ofstream(path) << text;
    return path;
}

RegionServerConfig good() {
    RegionServerConfig c;
    c.masters = {"127.0.0.1:9001", "m2:9002"};
    c.port = 16020;
    c.http = "127.0.0.1:16030";
    return c;
}

TEST(RegionServerConfig, ReadsEveryKey) {
    const std::string file = write_file(R"(
masters = ["127.0.0.1:9001", "127.0.0.1:9002"]
host = "rs1.example"
port = 16020
http = "0.0.0.0:16030"
session_timeout_ms = 5000
max_failures = 4
backoff_initial_ms = 50
backoff_max_ms = 800
drain_timeout_ms = 1000
metadata = '{"rack": "r1"}'
)");
    RegionServerConfig c;
    ASSERT_TRUE(read_region_server_config(file, &c).is_ok());
    EXPECT_EQ(c.masters, (std::vector<std::string>{"127.0.0.1:9001", "127.0.0.1:9002"}));
    EXPECT_EQ(c.host, "rs1.example");
    EXPECT_EQ(c.port, 16020u);
    EXPECT_EQ(c.http, "0.0.0.0:16030");
    EXPECT_EQ(c.session_timeout_ms, 5000u);
    EXPECT_EQ(c.max_failures, 4u);
    EXPECT_EQ(c.backoff_initial_ms, 50u);
    EXPECT_EQ(c.backoff_max_ms, 800u);
    EXPECT_EQ(c.drain_timeout_ms, 1000u);
    EXPECT_EQ(c.metadata, R"({"rack": "r1"})");
    EXPECT_TRUE(check_region_server_config(c).is_ok());
    // One comma-separated string does too.
    RegionServerConfig d;
    const std::string list = write_file("masters = \"a:1, b:2\"\n");
    ASSERT_TRUE(read_region_server_config(list, &d).is_ok());
    ::unlink(list.c_str());
    EXPECT_EQ(d.masters, (std::vector<std::string>{"a:1", "b:2"}));
    ::unlink(file.c_str());
}

TEST(RegionServerConfig, RefusesAFileItCannotTrust) {
    const std::pair<const char*, const char*> bad[] = {
        {"masters = [\n", "--config"},     // does not parse
        {"mastrs = \"a:1\"\n", "mastrs"},  // a misspelt key
        {"port = \"16020\"\n", "port"},    // the wrong type
        {"session_timeout_ms = -5\n", "session_timeout_ms"},
        {"port = 99999999999\n", "port"},
    };
    for (const auto& [text, named] : bad) {
        RegionServerConfig c;
        const std::string file = write_file(text);
        const Status s = read_region_server_config(file, &c);
        ::unlink(file.c_str());
        ASSERT_FALSE(s.is_ok()) << text;
        EXPECT_NE(s.message().find(named), std::string::npos) << s.message();
    }
    RegionServerConfig c;
    EXPECT_FALSE(read_region_server_config("/nonexistent/registry.toml", &c).is_ok());
}

TEST(RegionServerConfig, ChecksTheWholeWithTheFlagToChange) {
    const std::pair<void (*)(RegionServerConfig&), const char*> bad[] = {
        {[](RegionServerConfig& c) { c.masters.clear(); }, "--masters"},
        {[](RegionServerConfig& c) { c.masters = {"nohost"}; }, "--masters"},
        {[](RegionServerConfig& c) { c.masters = {"a:0"}; }, "--masters"},
        {[](RegionServerConfig& c) { c.port = 0; }, "--port"},
        {[](RegionServerConfig& c) { c.port = 70000; }, "--port"},
        {[](RegionServerConfig& c) { c.host = "a,b"; }, "--host"},
        {[](RegionServerConfig& c) { c.http.clear(); }, "--http"},
        {[](RegionServerConfig& c) { c.http = "localhost"; }, "--http"},
        {[](RegionServerConfig& c) { c.session_timeout_ms = 10; }, "--session-timeout-ms"},
        {[](RegionServerConfig& c) { c.max_failures = 0; }, "--max-failures"},
        {[](RegionServerConfig& c) { c.backoff_initial_ms = 20000; }, "--backoff-initial-ms"},
        {[](RegionServerConfig& c) { c.metadata = "[1]"; }, "--metadata"},
        {[](RegionServerConfig& c) { c.metadata = "{"; }, "--metadata"},
    };
    EXPECT_TRUE(check_region_server_config(good()).is_ok());
    for (const auto& [spoil, flag] : bad) {
        RegionServerConfig c = good();
        spoil(c);
        const Status s = check_region_server_config(c);
        ASSERT_FALSE(s.is_ok()) << flag;
        EXPECT_NE(s.message().find(flag), std::string::npos) << s.message();
    }
}

TEST(RegionServerConfig, SplitsLists) {
    EXPECT_EQ(split_list(" a:1 ,b:2,, c:3 "), (std::vector<std::string>{"a:1", "b:2", "c:3"}));
    EXPECT_TRUE(split_list("").empty());
}

}  // namespace
}  // namespace chorus::registry
