// Stopping a server program on SIGTERM or SIGINT, for programs that want
// chorus's way (chorus-server, groupd, kv). The library itself never
// touches signals: an application with its own handling links only libchorus.
//
//   int main(int argc, char** argv) {
//       chorus::block_stop_signals();   // first, before any thread starts
//       ... parse flags, node.start() ...
//       return chorus::wait_for_stop_signal(node, [&] { listener.stop(); });
//   }
//
// A session::Server stops its front ends and node itself:
//       return chorus::wait_for_stop_signal([&] { server.stop(); });
#pragma once

#include <functional>

#include "zab/runtime/node.h"

namespace chorus {

// Blocks SIGTERM and SIGINT in the calling thread, and so in every thread
// started after (RocksDB's and the node's among them), so that
// wait_for_stop_signal() alone receives them. Call it before anything
// starts a thread: a thread with them unblocked would be killed by one.
void block_stop_signals();

// Waits (with sigwait) for SIGTERM or SIGINT, logs it, runs `before_stop`
// (to stop what serves clients while the node still runs), then stops the
// node. Returns 0, the program's exit status. Needs block_stop_signals().
int wait_for_stop_signal(Node& node, const std::function<void()>& before_stop = {});

// The same for a program that stops in its own way: waits for SIGTERM or
// SIGINT, logs it, runs `stop`, returns 0.
int wait_for_stop_signal(const std::function<void()>& stop);

}  // namespace chorus
