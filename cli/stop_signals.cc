#include "cli/stop_signals.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

namespace chorus {
namespace {

sigset_t stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}

}  // namespace

void block_stop_signals() {
    const sigset_t set = stop_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_stop_signal(const std::function<void()>& stop) {
    const sigset_t set = stop_signals();
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("signal {} ({}), stopping", sig, sig == SIGTERM ? "SIGTERM" : "SIGINT");
    if (stop) stop();
    return 0;
}

int wait_for_stop_signal(Node& node, const std::function<void()>& before_stop) {
    return wait_for_stop_signal([&] {
        if (before_stop) before_stop();
        node.stop();
    });
}

}  // namespace chorus
