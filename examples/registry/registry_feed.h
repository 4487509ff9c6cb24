// RegistryFeed: keeps a master's RegistryCache current from its own
// replica, and publishes copies of its view for the threads that answer
// lookups.
//
// It sets a persistent recursive watch on /hbase (SessionService::
// set_persistent_watch). Once the watch is in effect it reads everything
// under /hbase from the tracker, on the core thread, so no change falls
// between the read and the watch. Each change the watch reports is read
// back from the tracker (the event says where, the tree says what). When
// changes may have been missed (the replica's state was replaced by a
// snapshot), it forgets everything and reads it all again.
//
// The view is published as an immutable copy at most once per turn of the
// core thread's queue, so the expiry of a thousand region servers in one
// transaction makes one copy, not a thousand.
//
// Threads: start(), view() and ready() from any thread; the rest runs on
// the node's core thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "examples/registry/registry_cache.h"

namespace chorus {
class Node;
namespace session {
class SessionService;
}
}  // namespace chorus

namespace chorus::registry {

class RegistryFeed {
 public:
    // Both must outlive the feed, and the node must run until stop().
    RegistryFeed(session::SessionService& service, Node& node);
    ~RegistryFeed();

    // Sets the watch; the first full read follows once it is in effect.
    void start();
    // Removes the watch (waits up to a second for the core thread).
    void stop();

    // The view as last published (never null; empty before the first read).
    std::shared_ptr<const RegistryView> view() const;
    // True once the first full read is done.
    bool ready() const;
    // Core thread only: the cache itself, current to the last delivery.
    const RegistryView& current() const;
    // Full reads done (the first one, and one per lost watch).
    uint64_t full_reads() const;

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chorus::registry
