// A1 of docs/protocol.md, "Reconfiguration": a data directory remembers the
// membership of its first start, and a later --peers naming other servers
// is refused with an error that names both.
#include <gtest/gtest.h>

#include "storage/data_dir.h"
#include "tests/support/null_state_machine.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "zab/runtime/node.h"

namespace chorus {
namespace {

NodeOptions options_for(const std::string& dir, std::vector<ServerId> ids) {
    NodeOptions o;
    o.id = 1;
    for (ServerId id : ids) o.peers[id] = net::Endpoint{"127.0.0.1", testing::free_port()};
    o.data_dir = dir;
    o.bootstrap = true;
    return o;
}

TEST(NodeMembership, TheFirstStartWritesItAndOtherPeersAreRefusedLater) {
    testing::TempDir dir;
    testing::NullStateMachine app;
    {
        Node node(options_for(dir.path(), {1}), app);
        ASSERT_TRUE(node.start().is_ok());
        node.stop();
    }
    {
        auto opened = storage::open_data_dir(dir.path());
        ASSERT_TRUE(opened.is_ok()) << opened.status().str();
        const auto stored = opened.value().log->membership();
        ASSERT_TRUE(stored.has_value());
        EXPECT_TRUE(stored->version.is_zero());
        auto m = zab::Membership::decode(stored->version, stored->record);
        ASSERT_TRUE(m.is_ok()) << m.status().str();
        EXPECT_EQ(m.value().str(), "voters 1");
    }
    {
        Node node(options_for(dir.path(), {1, 2, 3}), app);
        const Status s = node.start();
        EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.str();
        EXPECT_NE(s.message().find("servers 1 (written at its first start)"), std::string::npos)
            << s.message();
        EXPECT_NE(s.message().find("--peers names servers 1,2,3"), std::string::npos)
            << s.message();
    }
    {
        Node node(options_for(dir.path(), {1}), app);  // a new port: only the address moved
        EXPECT_TRUE(node.start().is_ok());
        node.stop();
    }
}

}  // namespace
}  // namespace chorus
