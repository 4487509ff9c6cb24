// Watches: a request that waits until a node's or a group's version (or a
// node's cversion) passes N (or the node goes away), answered when this
// replica delivers the change, or with TIMEOUT at its deadline, or
// NOT_SERVING at stop.
#include "session/groups.h"
#include "session/server/service_impl.h"

namespace chorus::session {

std::pair<int64_t, bool> SessionService::Impl::watched_state(const std::string& key) const {
    if (key[0] == 'g') {
        const std::string group = key.substr(1);
        return {tracker.group_version(group), tracker.node(group_path(group)) != nullptr};
    }
    const TreeNode* n = tracker.node(key.substr(1));
    if (!n) return {-1, false};
    return {key[0] == 'c' ? n->cversion : n->version, true};
}

void SessionService::Impl::wake_watchers(const std::string& key) {
    auto [begin, end] = watchers.equal_range(key);
    if (begin == end) return;
    const auto [version, exists] = watched_state(key);
    const bool is_node = key[0] != 'g';
    for (auto it = begin; it != end;) {
        // A node's watch also ends when the node goes away.
        if (version > it->second.version || (is_node && !exists && it->second.version >= 0)) {
            cpb::Response r;
            r.set_id(it->second.request_id);
            r.mutable_watch()->set_version(version);
            r.mutable_watch()->set_exists(exists);
            set_zxid(r.mutable_zxid(), node->status().delivered);
            it = end_watch(it, std::move(r));
        } else {
            ++it;
        }
    }
}

void SessionService::Impl::wake_all_watchers() {
    std::set<std::string> keys;
    for (const auto& [key, w] : watchers) keys.insert(key);
    for (const std::string& key : keys) wake_watchers(key);
}

SessionService::Impl::WatchIt SessionService::Impl::end_watch(WatchIt it, cpb::Response response) {
    watch_deadlines.erase({it->second.deadline_ms, it});
    Reply reply = std::move(it->second.reply);
    WatchIt next = watchers.erase(it);
    reply(std::move(response));
    return next;
}

void SessionService::Impl::expire_watches() {
    while (!watch_deadlines.empty() && watch_deadlines.begin()->first <= now_ms) {
        const WatchIt it = watch_deadlines.begin()->second;
        const auto [version, exists] = watched_state(it->first);
        cpb::Response r = error_response(it->second.request_id, cpb::TIMEOUT,
                                         "the watched version did not change within the timeout");
        r.mutable_watch()->set_version(version);
        r.mutable_watch()->set_exists(exists);
        end_watch(it, std::move(r));
    }
}

void SessionService::Impl::end_all_watches() {
    while (!watchers.empty()) {
        const uint64_t id = watchers.begin()->second.request_id;
        end_watch(watchers.begin(),
                  error_response(id, cpb::NOT_SERVING, "the server is stopping; try another"));
    }
}

void SessionService::Impl::watch(const cpb::Request& request, Reply reply) {
    const cpb::Watch& w = request.watch();
    std::string key;
    if (w.target_case() == cpb::Watch::kGroup) {
        if (!valid_name(w.group()))
            return reply(error_response(request.id(), cpb::BAD_REQUEST, "invalid group name"));
        key = "g" + w.group();
    } else if (w.target_case() == cpb::Watch::kPath) {
        key = "n" + w.path();
    } else if (w.target_case() == cpb::Watch::kChildren) {
        key = "c" + w.children();
    } else {
        return reply(error_response(request.id(), cpb::BAD_REQUEST,
                                    "a watch needs a path, a node's children or a group"));
    }
    if (stopped)
        return reply(
            error_response(request.id(), cpb::NOT_SERVING, "the server is stopping; try another"));
    if (watchers.size() >= options.max_watches)
        return reply(error_response(request.id(), cpb::BUSY, "too many watches on this server"));
    const uint64_t wait =
        std::min(w.timeout_ms() == 0 ? options.max_watch_ms : w.timeout_ms(), options.max_watch_ms);
    const WatchIt it =
        watchers.emplace(key, Watcher{now_ms + wait, w.version(), std::move(reply), request.id()});
    watch_deadlines.insert({now_ms + wait, it});
    wake_watchers(key);  // already past it?
}

}  // namespace chorus::session
