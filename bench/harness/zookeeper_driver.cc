// The ZooKeeper side, with ZooKeeper's own multi-threaded C client
// (libzookeeper-mt-dev). Built only when that library is installed.
// The synchronous calls exist only in the multi-threaded library.
#define THREADED 1
#include <zookeeper/zookeeper.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "bench/harness/driver.h"

namespace chorus::bench {

namespace {

// The client logs every refused reconnection while a server is down (the
// failover workload kills them): errors only, and not on our terminal.
void quiet_client_log() {
    static const bool done = [] {
        zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
        if (FILE* sink = std::fopen("/dev/null", "w")) zoo_set_log_stream(sink);
        return true;
    }();
    (void)done;
}

void on_stat(int rc, const Stat*, const void* data) {
    auto* done = static_cast<Driver::Done*>(const_cast<void*>(data));
    (*done)(rc == ZOK);
    delete done;
}

void on_data(int rc, const char*, int, const Stat*, const void* data) {
    auto* done = static_cast<Driver::Done*>(const_cast<void*>(data));
    (*done)(rc == ZOK);
    delete done;
}

// sync+read: the read goes out once the server has caught up with the leader.
struct SyncRead {
    zhandle_t* zh;
    std::string path;
    Driver::Done done;
};

void on_synced(int rc, const char*, const void* data) {
    auto* s = static_cast<SyncRead*>(const_cast<void*>(data));
    auto* done = new Driver::Done(std::move(s->done));
    const std::string path = std::move(s->path);
    zhandle_t* zh = s->zh;
    delete s;
    if (rc != ZOK || zoo_aget(zh, path.c_str(), 0, on_data, done) != ZOK) {
        (*done)(false);
        delete done;
    }
}

void on_void(int rc, const void* data) {
    auto* done = static_cast<Driver::Done*>(const_cast<void*>(data));
    (*done)(rc == ZOK);
    delete done;
}

// A member already in (or already out) is where the loop wants it: an
// earlier run may have left it so.
void on_created(int rc, const char*, const void* data) {
    on_void(rc == ZNODEEXISTS ? ZOK : rc, data);
}
void on_deleted(int rc, const void* data) { on_void(rc == ZNONODE ? ZOK : rc, data); }

// A children watch, re-armed at every notification until stopped.
struct GroupWatch {
    zhandle_t* zh;
    std::shared_ptr<std::atomic<bool>> stop;
    std::function<void()> changed;
};

void arm(GroupWatch* w);

void on_children_event(zhandle_t*, int type, int, const char*, void* context) {
    auto* w = static_cast<GroupWatch*>(context);
    if (type == ZOO_CHILD_EVENT) w->changed();
    if (type == ZOO_CHILD_EVENT || type == ZOO_SESSION_EVENT) arm(w);
}

void on_children(int, const String_vector*, const void*) {}

void arm(GroupWatch* w) {
    if (*w->stop) return;  // (leaks one small struct per watcher: fine for a benchmark)
    zoo_awget_children(w->zh, "/churn", on_children_event, w, on_children, nullptr);
}

class ZooKeeperDriver final : public Driver {
 public:
    ZooKeeperDriver(const std::vector<std::string>& servers, int tag)
        : prefix_("/bench/d" + std::to_string(tag) + "-k"), tag_("d" + std::to_string(tag)) {
        for (const std::string& s : servers) hosts_ += (hosts_.empty() ? "" : ",") + s;
    }
    ~ZooKeeperDriver() override {
        if (zh_) zookeeper_close(zh_);
    }

    bool connect(int timeout_ms, std::string* error) override {
        quiet_client_log();
        zh_ = zookeeper_init(hosts_.c_str(), nullptr, 10000, nullptr, nullptr, 0);
        if (!zh_) {
            *error = "zookeeper_init failed";
            return false;
        }
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        while (zoo_state(zh_) != ZOO_CONNECTED_STATE) {
            if (std::chrono::steady_clock::now() > until) {
                *error = "not connected to " + hosts_ + " in time";
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return true;
    }

    bool prepare(int count, const std::string& value, std::string* error) override {
        for (int key = -1; key < count; ++key) {
            const std::string path = key < 0 ? "/bench" : prefix_ + std::to_string(key);
            const std::string data = key < 0 ? "" : value;
            int rc = zoo_create(zh_, path.c_str(), data.data(), static_cast<int>(data.size()),
                                &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0);
            if (rc == ZNODEEXISTS)
                rc = zoo_set(zh_, path.c_str(), data.data(), static_cast<int>(data.size()), -1);
            if (rc != ZOK) {
                *error = "writing " + path + ": " + zerror(rc);
                return false;
            }
        }
        return true;
    }

    void read(int key, bool sync, Done done) override {
        const std::string path = prefix_ + std::to_string(key);
        if (sync) {
            auto* s = new SyncRead{zh_, path, std::move(done)};
            if (zoo_async(zh_, path.c_str(), on_synced, s) != ZOK) {
                s->done(false);
                delete s;
            }
            return;
        }
        auto* heap = new Done(std::move(done));
        if (zoo_aget(zh_, path.c_str(), 0, on_data, heap) != ZOK) {
            (*heap)(false);
            delete heap;
        }
    }

    bool prepare_group(std::string* error) override {
        const int rc = zoo_create(zh_, "/churn", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0);
        if (rc != ZOK && rc != ZNODEEXISTS) {
            *error = std::string("creating /churn: ") + zerror(rc);
            return false;
        }
        return true;
    }
    void join(int member, Done done) override {
        auto* heap = new Done(std::move(done));
        const std::string path = member_path(member);
        if (zoo_acreate(zh_, path.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, on_created,
                        heap) != ZOK) {
            (*heap)(false);
            delete heap;
        }
    }
    void leave(int member, Done done) override {
        auto* heap = new Done(std::move(done));
        if (zoo_adelete(zh_, member_path(member).c_str(), -1, on_deleted, heap) != ZOK) {
            (*heap)(false);
            delete heap;
        }
    }
    void watch_group(std::shared_ptr<std::atomic<bool>> stop,
                     std::function<void()> changed) override {
        arm(new GroupWatch{zh_, std::move(stop), std::move(changed)});
    }

    void write(int key, const std::string& value, Done done) override {
        auto* heap = new Done(std::move(done));
        const std::string path = prefix_ + std::to_string(key);
        const int rc = zoo_aset(zh_, path.c_str(), value.data(), static_cast<int>(value.size()), -1,
                                on_stat, heap);
        if (rc != ZOK) {  // not even queued (disconnected, say)
            (*heap)(false);
            delete heap;
        }
    }

 private:
    std::string member_path(int member) const {
        return "/churn/" + tag_ + "-m" + std::to_string(member);
    }
    std::string hosts_;
    std::string prefix_;
    std::string tag_;
    zhandle_t* zh_ = nullptr;
};

}  // namespace

std::unique_ptr<Driver> zookeeper_driver(const std::vector<std::string>& servers, int tag) {
    return std::make_unique<ZooKeeperDriver>(servers, tag);
}

bool zookeeper_client_built() { return true; }

bool zookeeper_hold_sessions(int count, int timeout_ms, const std::vector<std::string>& servers,
                             double* ms, std::string* error) {
    quiet_client_log();
    std::string hosts;
    for (const std::string& s : servers) hosts += (hosts.empty() ? "" : ",") + s;
    const auto start = std::chrono::steady_clock::now();
    std::vector<zhandle_t*> handles;  // kept open until the process is killed
    for (int i = 0; i < count; ++i) {
        zhandle_t* zh = zookeeper_init(hosts.c_str(), nullptr, timeout_ms, nullptr, nullptr, 0);
        if (!zh) {
            *error = "zookeeper_init failed after " + std::to_string(i) + " sessions";
            return false;
        }
        handles.push_back(zh);
    }
    const auto until = start + std::chrono::seconds(120);
    for (zhandle_t* zh : handles) {
        while (zoo_state(zh) != ZOO_CONNECTED_STATE) {
            if (std::chrono::steady_clock::now() > until) {
                *error = "not every session connected within 120 s";
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }
    *ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    static std::vector<zhandle_t*> kept;
    kept = std::move(handles);
    return true;
}

}  // namespace chorus::bench
