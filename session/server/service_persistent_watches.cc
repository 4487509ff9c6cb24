// Persistent watches (ZooKeeper's addWatch): each change a delivered
// transaction makes (Tracker's node_event) is matched against the watches
// on its path, and for a subtree watch on each ancestor, and handed to each
// owner once. Costs nothing while there are none, and a few map lookups
// per change (the path's depth) while there are.
#include <algorithm>

#include "base/assert.h"
#include "session/server/service_impl.h"

namespace chorus::session {

namespace {

// "/a/b" -> "/a"; "/a" -> "/".
std::string parent_path(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

}  // namespace

void SessionService::Impl::set_persistent_watch(uint64_t owner, const std::string& path,
                                                uint8_t modes, SessionService::EventSink sink,
                                                Requester who) {
    auto& at_path = persistent_by_path[path];
    const bool had = at_path.count(owner) != 0;
    if (modes == 0) {
        if (had) {
            at_path.erase(owner);
            --persistent_count;
            auto o = persistent_owners.find(owner);
            o->second.paths.erase(path);
            if (o->second.paths.empty()) persistent_owners.erase(o);
        }
        if (at_path.empty()) persistent_by_path.erase(path);
        return;
    }
    at_path[owner] = modes;
    PersistentOwner& o = persistent_owners[owner];
    o.sink = std::move(sink);
    o.who = std::move(who);
    o.paths.insert(path);
    if (!had) ++persistent_count;
}

void SessionService::Impl::persistent_event(NodeEventKind kind, const std::string& path, Zxid zxid,
                                            const AclList* acl) {
    if (persistent_by_path.empty()) return;
    std::vector<uint64_t> owners;
    auto collect = [&](const std::string& at, uint8_t wanted) {
        auto it = persistent_by_path.find(at);
        if (it == persistent_by_path.end()) return;
        for (const auto& [owner, modes] : it->second) {
            if (modes & wanted) owners.push_back(owner);
        }
    };
    // As ZooKeeper's data and child watches split them: a child event is
    // the node's children's, a deletion both kinds', the rest its data's.
    switch (kind) {
        case NodeEventKind::kChildrenChanged:
            collect(path, kNodeChildren);
            break;
        case NodeEventKind::kDeleted:
            collect(path, kNodeData | kNodeChildren);
            break;
        default:
            collect(path, kNodeData);
            break;
    }
    if (kind != NodeEventKind::kChildrenChanged) {
        const uint8_t wanted =
            kind == NodeEventKind::kDeleted ? kSubtree | kSubtreeDeletes : kSubtree;
        for (std::string at = path;; at = parent_path(at)) {
            collect(at, wanted);
            if (at == "/") break;
        }
    }
    if (owners.empty()) return;
    std::sort(owners.begin(), owners.end());
    owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
    const SessionService::WatchEvent event{.kind = kind, .path = path, .zxid = zxid, .lost = false};
    for (uint64_t owner : owners) {
        auto o = persistent_owners.find(owner);
        // Only of what it may read (ZooKeeper 3.8.4's fix of CVE-2024-23944).
        if (o != persistent_owners.end() && o->second.sink &&
            acl_allows(acl, o->second.who, kPermRead))
            o->second.sink(event);
    }
}

void SessionService::Impl::cancel_persistent_watches(uint64_t owner) {
    auto o = persistent_owners.find(owner);
    if (o == persistent_owners.end()) return;
    for (const std::string& path : o->second.paths) {
        auto at = persistent_by_path.find(path);
        if (at == persistent_by_path.end()) continue;
        at->second.erase(owner);
        --persistent_count;
        if (at->second.empty()) persistent_by_path.erase(at);
    }
    persistent_owners.erase(o);
}

void SessionService::Impl::persistent_watches_lost(bool forget) {
    // Copied first: a sink may cancel its owner's watches.
    std::vector<SessionService::EventSink> sinks;
    for (const auto& [owner, o] : persistent_owners) sinks.push_back(o.sink);
    if (forget) {
        persistent_owners.clear();
        persistent_by_path.clear();
        persistent_count = 0;
    }
    SessionService::WatchEvent lost;
    lost.lost = true;
    for (const auto& sink : sinks) {
        if (sink) sink(lost);
    }
}

void SessionService::set_persistent_watch(uint64_t owner, std::string path, uint8_t modes,
                                          EventSink sink, Requester who,
                                          std::function<void(bool)> done) {
    Impl& m = *impl_;
    CHORUS_ASSERT(m.node != nullptr, "SessionService::set_persistent_watch before attach()");
    m.node->post([&m, owner, path = std::move(path), modes, sink = std::move(sink),
                  who = std::move(who), done = std::move(done)]() mutable {
        auto at = m.persistent_by_path.find(path);
        const bool adds =
            modes != 0 && (at == m.persistent_by_path.end() || at->second.count(owner) == 0);
        if (m.stopped ||
            (adds && m.watchers.size() + m.persistent_count >= m.options.max_watches)) {
            if (done) done(false);
            return;
        }
        m.set_persistent_watch(owner, path, modes, std::move(sink), std::move(who));
        if (done) done(true);
    });
}

}  // namespace chorus::session
