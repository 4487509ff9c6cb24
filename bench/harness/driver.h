// A client connection of the system under test, as chorus-bench drives it:
// asynchronous writes of a value to numbered keys. One interface, one
// implementation per system (chorus::Client; ZooKeeper's C client).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chorus::bench {

class Driver {
 public:
    virtual ~Driver() = default;
    // Waits until connected; false with a reason in `error`.
    virtual bool connect(int timeout_ms, std::string* error) = 0;
    // Creates keys 0..count-1 of this driver holding `value` (synchronous).
    virtual bool prepare(int count, const std::string& value, std::string* error) = 0;
    // Sets key `key` to `value`; `done(ok)` runs once, on a client thread.
    using Done = std::function<void(bool ok)>;
    virtual void write(int key, const std::string& value, Done done) = 0;
    // Reads key `key` from the server this driver talks to; with `sync`,
    // after a read barrier (a linearizable read). `done(ok)` as above.
    virtual void read(int key, bool sync, Done done) = 0;

    // Ephemeral churn. prepare_group() opens what membership needs (chorus:
    // a session); join() adds this driver's member `member` to the group
    // "churn" as an ephemeral entry, leave() removes it.
    virtual bool prepare_group(std::string* error) = 0;
    virtual void join(int member, Done done) = 0;
    virtual void leave(int member, Done done) = 0;
    // Watches the group until `stop` is set: `changed()` for every change
    // notification (re-armed each time). Returns at once; runs on client
    // threads.
    virtual void watch_group(std::shared_ptr<std::atomic<bool>> stop,
                             std::function<void()> changed) = 0;
};

// `tag` keeps the keys of different drivers apart.
std::unique_ptr<Driver> chorus_driver(const std::vector<std::string>& servers, int tag);
std::unique_ptr<Driver> zookeeper_driver(const std::vector<std::string>& servers, int tag);
// Opens `count` ZooKeeper sessions (one handle each, all connecting at
// once) and leaves them open; `ms` is how long until all were connected.
bool zookeeper_hold_sessions(int count, int timeout_ms, const std::vector<std::string>& servers,
                             double* ms, std::string* error);
// Whether this build has ZooKeeper's C client.
bool zookeeper_client_built();

}  // namespace chorus::bench
