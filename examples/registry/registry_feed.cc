#include "examples/registry/registry_feed.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <mutex>

#include "session/server/session_service.h"
#include "zab/runtime/node.h"

namespace chorus::registry {

namespace {

// The owner of the feed's watch, among the service's other owners (the
// ZooKeeper front end numbers its connections from 1): "registry".
constexpr uint64_t kWatchOwner = 0x7265676973747279;
constexpr const char* kRoot = "/hbase";
// The fixed nodes of the layout (registry_cache.h), and the directories
// whose children are masters and region servers.
constexpr const char* kFixed[] = {"/hbase/hbaseid", "/hbase/master", "/hbase/meta-region-server"};
constexpr const char* kDirectories[] = {"/hbase/backup-masters", "/hbase/rs"};

}  // namespace

struct RegistryFeed::Impl : std::enable_shared_from_this<RegistryFeed::Impl> {
    Impl(session::SessionService& s, Node& n) : service(s), node(n) {}

    session::SessionService& service;
    Node& node;

    mutable std::mutex mu;
    std::shared_ptr<const RegistryView> published = std::make_shared<const RegistryView>();
    std::atomic<bool> ready{false};
    std::atomic<uint64_t> full_reads{0};

    // Core thread only.
    RegistryCache cache;
    bool publish_posted = false;

    void read_node(const std::string& path) {
        const session::TreeNode* n = service.tracker().node(path);
        if (n != nullptr) {
            cache.node_set(path, n->data.str(), n->version, n->ephemeral_owner);
        } else {
            cache.node_deleted(path);
        }
    }

    void full_read() {
        cache.clear();
        for (const char* path : kFixed) read_node(path);
        for (const char* dir : kDirectories)
            for (const std::string& child : service.tracker().children(dir))
                read_node(std::string(dir) + "/" + child);
        ++full_reads;
        publish_now();
        ready = true;
    }

    void on_event(const session::SessionService::WatchEvent& e) {
        if (e.lost) {
            // The replica's state was replaced (a snapshot came), or the
            // service stops: cheap to read again either way.
            spdlog::debug("registry: the watch on {} was reset; reading it all again", kRoot);
            return full_read();
        }
        read_node(e.path);
        if (publish_posted) return;
        // After the rest of this delivery's events: one copy for them all.
        publish_posted = true;
        node.post([weak = weak_from_this()] {
            if (auto self = weak.lock()) {
                self->publish_posted = false;
                self->publish_now();
            }
        });
    }

    void publish_now() {
        auto view = std::make_shared<const RegistryView>(cache.view());
        std::lock_guard lock(mu);
        published = std::move(view);
    }
};

RegistryFeed::RegistryFeed(session::SessionService& service, Node& node)
    : impl_(std::make_shared<Impl>(service, node)) {}

RegistryFeed::~RegistryFeed() = default;

void RegistryFeed::start() {
    std::weak_ptr<Impl> weak = impl_;
    impl_->service.set_persistent_watch(
        kWatchOwner, kRoot, session::SessionService::kSubtree,
        [weak](const session::SessionService::WatchEvent& e) {
            if (auto self = weak.lock()) self->on_event(e);
        },
        session::Requester{},
        [weak](bool ok) {
            auto self = weak.lock();
            if (!self) return;
            if (!ok) {
                spdlog::error("registry: the watch on {} was refused (too many watches?)", kRoot);
                return;
            }
            self->full_read();
        });
}

void RegistryFeed::stop() {
    auto removed = std::make_shared<std::promise<void>>();
    impl_->service.set_persistent_watch(
        kWatchOwner, kRoot, 0, [](const session::SessionService::WatchEvent&) {},
        session::Requester{}, [removed](bool) { removed->set_value(); });
    removed->get_future().wait_for(std::chrono::seconds(1));
}

std::shared_ptr<const RegistryView> RegistryFeed::view() const {
    std::lock_guard lock(impl_->mu);
    return impl_->published;
}

bool RegistryFeed::ready() const { return impl_->ready.load(); }

const RegistryView& RegistryFeed::current() const { return impl_->cache.view(); }

uint64_t RegistryFeed::full_reads() const { return impl_->full_reads.load(); }

}  // namespace chorus::registry
