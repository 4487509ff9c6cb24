// libchorus leaves signals to the application (issue 14: Node::start used
// to block SIGTERM and SIGINT process-wide, which its contract never said).
// Programs that want a clean stop on them use cli/stop_signals.h.
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/support/null_state_machine.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "zab/runtime/node.h"

namespace chorus {
namespace {

bool blocked(int sig) {
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, nullptr, &now);
    return sigismember(&now, sig) == 1;
}

TEST(NodeSignals, StartingANodeLeavesTheSignalMaskAlone) {
    ASSERT_FALSE(blocked(SIGTERM));
    ASSERT_FALSE(blocked(SIGINT));
    testing::TempDir dir;
    NodeOptions options;
    options.id = 1;
    options.peers[1] = net::Endpoint{"127.0.0.1", testing::free_port()};
    options.data_dir = dir.path();
    options.bootstrap = true;
    testing::NullStateMachine app;
    Node node(options, app);
    ASSERT_TRUE(node.start().is_ok());
    EXPECT_FALSE(blocked(SIGTERM)) << "Node::start blocked SIGTERM in the caller";
    EXPECT_FALSE(blocked(SIGINT)) << "Node::start blocked SIGINT in the caller";
    node.stop();
}

}  // namespace
}  // namespace chorus
