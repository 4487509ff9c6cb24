#include <algorithm>
#include <future>

#include "bench/harness/driver.h"
#include "client/client.h"

namespace chorus::bench {

namespace {

class ChorusDriver final : public Driver {
 public:
    ChorusDriver(const std::vector<std::string>& servers, int tag)
        : client_(ClientOptions{
              .servers = servers, .request_timeout_ms = 5000, .connect_timeout_ms = 500}),
          prefix_("/bench/d" + std::to_string(tag) + "-k"),
          tag_("d" + std::to_string(tag)) {}

    bool connect(int timeout_ms, std::string* error) override {
        // The client connects on demand; a sync proves a server serves.
        std::promise<ClientStatus> done;
        client_.sync([&](ClientStatus s, bool) { done.set_value(s); });
        auto f = done.get_future();
        if (f.wait_for(std::chrono::milliseconds(timeout_ms)) != std::future_status::ready) {
            *error = "no answer to a sync";
            return false;
        }
        ClientStatus s = f.get();
        if (!s.ok()) *error = s.str();
        return s.ok();
    }

    bool prepare(int count, const std::string& value, std::string* error) override {
        for (int key = -1; key < count; ++key) {
            std::promise<ClientStatus> done;
            const std::string path = key < 0 ? "/bench" : prefix_ + std::to_string(key);
            client_.write(0, {ClientOp::put(path, key < 0 ? "" : value)},
                          [&](ClientStatus s, bool) { done.set_value(s); });
            ClientStatus s = done.get_future().get();
            if (!s.ok()) {
                *error = "writing " + path + ": " + s.str();
                return false;
            }
        }
        return true;
    }

    void read(int key, bool sync, Done done) override {
        client_.get(
            prefix_ + std::to_string(key), sync,
            [done = std::move(done)](ClientStatus s, TreeNodeData d) { done(s.ok() && d.exists); });
    }

    bool prepare_group(std::string* error) override {
        std::promise<std::pair<ClientStatus, uint64_t>> opened;
        client_.open_session([&](ClientStatus s, uint64_t id) {
            opened.set_value({std::move(s), id});
        });
        auto [status, id] = opened.get_future().get();
        if (!status.ok()) *error = "opening a session: " + status.str();
        session_ = id;
        return status.ok();
    }
    void join(int member, Done done) override {
        client_.join_group(session_, "churn", member_name(member), "",
                           [done = std::move(done)](ClientStatus s, bool) { done(s.ok()); });
    }
    void leave(int member, Done done) override {
        // Already out (an earlier run may have left it so) is where the loop
        // wants it. (A join is a PUT: already in is fine too.)
        client_.leave_group("churn", member_name(member),
                            [done = std::move(done)](ClientStatus s, bool) {
                                done(s.ok() || s.code == ClientCode::kNoNode);
                            });
    }
    void watch_group(std::shared_ptr<std::atomic<bool>> stop,
                     std::function<void()> changed) override {
        watch_from(0, std::move(stop), std::move(changed));
    }

    void write(int key, const std::string& value, Done done) override {
        client_.write(0, {ClientOp::put(prefix_ + std::to_string(key), value)},
                      [done = std::move(done)](ClientStatus s, bool) { done(s.ok()); });
    }

 private:
    std::string member_name(int member) const { return tag_ + "-m" + std::to_string(member); }
    // Long-polls the group's version; each answer above `version` is a change.
    void watch_from(int64_t version, std::shared_ptr<std::atomic<bool>> stop,
                    std::function<void()> changed) {
        if (*stop) return;
        client_.watch_group("churn", version, 2000,
                            [this, version, stop, changed](ClientStatus s, WatchResult w) {
                                if (s.ok() && w.version > version) changed();
                                watch_from(std::max(version, w.version), stop, changed);
                            });
    }

    Client client_;
    std::string prefix_;
    std::string tag_;
    uint64_t session_ = 0;
};

}  // namespace

std::unique_ptr<Driver> chorus_driver(const std::vector<std::string>& servers, int tag) {
    return std::make_unique<ChorusDriver>(servers, tag);
}

}  // namespace chorus::bench
