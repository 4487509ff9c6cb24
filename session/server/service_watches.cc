// Watches: a request that waits until a node's or a group's version (or a
// node's cversion) passes N (or the node goes away), answered when this
// replica delivers the change, or with TIMEOUT at its deadline, or
// NOT_SERVING at stop. ZooKeeper's kind (any_change) answers at the first
// transaction that touches its node, has no deadline, and is cancelled by
// its owner (CancelWatches) when its connection closes.
#include "session/groups.h"
#include "session/server/service_impl.h"

namespace chorus::session {

WatchedState SessionService::Impl::watched_state(const std::string& key) const {
    WatchedState now;
    if (key[0] == 'g') {
        const std::string group = key.substr(1);
        now.version = tracker.group_version(group);
        now.exists = tracker.node(group_path(group)) != nullptr;
        return now;
    }
    const TreeNode* n = tracker.node(key.substr(1));
    if (!n) return now;
    now.version = key[0] == 'c' ? n->cversion : n->version;
    now.exists = true;
    now.czxid = n->czxid;
    return now;
}

bool SessionService::Impl::differs(const Watcher& w, const WatchedState& now, bool children_key) {
    if (w.version == -1 && !children_key) return now.exists;  // waiting for it to be created
    return !now.exists || now.czxid != w.czxid || now.version != w.version;
}

cpb::Response SessionService::Impl::watch_answer(const Watcher& w, const WatchedState& now) const {
    cpb::Response r;
    r.set_id(w.request_id);
    r.mutable_watch()->set_version(now.version);
    r.mutable_watch()->set_exists(now.exists);
    set_zxid(r.mutable_watch()->mutable_czxid(), now.czxid);
    set_zxid(r.mutable_zxid(), node->status().delivered);
    return r;
}

void SessionService::Impl::wake_watchers(const std::string& key, bool children,
                                         const AclList* acl) {
    auto [begin, end] = watchers.equal_range(key);
    if (begin == end) return;
    const WatchedState now = watched_state(key);
    const bool is_node = key[0] != 'g';
    const bool children_key = key[0] == 'c';
    for (auto it = begin; it != end;) {
        const Watcher& w = it->second;
        bool fire = false;
        if (w.any_change) {
            // Woken means touched by the transaction just delivered; a
            // children key is also woken by its node's own changes, which
            // count only if the node went (or came back anew).
            fire = !children_key || children || !now.exists || now.czxid != w.czxid;
        } else {
            // A node's watch also ends when the node goes away.
            fire = now.version > w.version || (is_node && !now.exists && w.version >= 0);
        }
        if (fire) {
            cpb::Response answer = watch_answer(w, now);
            if (w.any_change && !acl_allows(acl, w.who, kPermRead))
                answer.mutable_watch()->set_unreadable(true);
            it = end_watch(it, std::move(answer));
        } else {
            ++it;
        }
    }
}

void SessionService::Impl::wake_all_watchers() {
    // After a restore: any watched state may have changed. Version watches
    // look again; any_change watches fire if their node is not as it was.
    std::set<std::string> keys;
    for (const auto& [key, w] : watchers) keys.insert(key);
    for (const std::string& key : keys) {
        const WatchedState now = watched_state(key);
        auto [begin, end] = watchers.equal_range(key);
        for (auto it = begin; it != end;) {
            if (it->second.any_change && differs(it->second, now, key[0] == 'c')) {
                it = end_watch(it, watch_answer(it->second, now));
            } else {
                ++it;
            }
        }
        wake_watchers(key);
    }
}

SessionService::Impl::WatchIt SessionService::Impl::end_watch(WatchIt it, cpb::Response response) {
    if (it->second.deadline_ms != 0) watch_deadlines.erase({it->second.deadline_ms, it});
    if (it->second.owner != 0) {
        auto owned = watches_by_owner.find(it->second.owner);
        if (owned != watches_by_owner.end()) {
            owned->second.erase(it);
            if (owned->second.empty()) watches_by_owner.erase(owned);
        }
    }
    Reply reply = std::move(it->second.reply);
    WatchIt next = watchers.erase(it);
    reply(std::move(response));
    return next;
}

void SessionService::Impl::expire_watches() {
    while (!watch_deadlines.empty() && watch_deadlines.begin()->first <= now_ms) {
        const WatchIt it = watch_deadlines.begin()->second;
        const WatchedState now = watched_state(it->first);
        cpb::Response r = error_response(it->second.request_id, cpb::TIMEOUT,
                                         "the watched version did not change within the timeout");
        r.mutable_watch()->set_version(now.version);
        r.mutable_watch()->set_exists(now.exists);
        end_watch(it, std::move(r));
    }
}

void SessionService::Impl::cancel_watches(const cpb::Request& request, Reply reply) {
    const cpb::CancelWatches& cancel = request.cancel_watches();
    auto owned = watches_by_owner.find(cancel.owner());
    // Only those on one node's data or children, or every one (and the
    // owner's persistent watches too).
    const bool one_key = !cancel.path().empty();
    const std::string key = (cancel.children() ? "c" : "n") + cancel.path();
    if (!one_key) cancel_persistent_watches(cancel.owner());
    size_t ended = 0;
    if (owned != watches_by_owner.end()) {
        // Unanswered: their client is gone. Copied first: end_watch edits
        // the index.
        const std::vector<WatchIt> its(owned->second.begin(), owned->second.end());
        for (const WatchIt& it : its) {
            if (one_key && it->first != key) continue;
            it->second.reply = [](cpb::Response) {};
            end_watch(it, cpb::Response());
            ++ended;
        }
    }
    cpb::Response r;
    r.set_id(request.id());
    r.set_message(std::to_string(ended) + " watch(es) cancelled");
    reply(std::move(r));
}

void SessionService::Impl::end_all_watches() {
    persistent_watches_lost(/*forget=*/true);
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
    if (watchers.size() + persistent_count >= options.max_watches)
        return reply(error_response(request.id(), cpb::BUSY, "too many watches on this server"));
    if (w.any_change()) {
        if (key[0] == 'g')
            return reply(error_response(request.id(), cpb::BAD_REQUEST,
                                        "any_change watches are on a path or its children"));
        Watcher watcher{.deadline_ms = 0,
                        .version = w.version(),
                        .reply = std::move(reply),
                        .request_id = request.id(),
                        .any_change = true,
                        .czxid = Zxid{w.czxid().epoch(), w.czxid().counter()},
                        .owner = w.owner(),
                        .who = requester_of(request)};
        const WatchedState now = watched_state(key);
        if (differs(watcher, now, key[0] == 'c')) {
            // Changed since its client looked: answered at once.
            Reply answer = std::move(watcher.reply);
            return answer(watch_answer(watcher, now));
        }
        const WatchIt it = watchers.emplace(key, std::move(watcher));
        if (w.owner() != 0) watches_by_owner[w.owner()].insert(it);
        return;
    }
    const uint64_t wait =
        std::min(w.timeout_ms() == 0 ? options.max_watch_ms : w.timeout_ms(), options.max_watch_ms);
    const WatchIt it = watchers.emplace(key, Watcher{.deadline_ms = now_ms + wait,
                                                     .version = w.version(),
                                                     .reply = std::move(reply),
                                                     .request_id = request.id(),
                                                     .any_change = false,
                                                     .czxid = {},
                                                     .owner = 0,
                                                     .who = {}});
    watch_deadlines.insert({now_ms + wait, it});
    wake_watchers(key);  // already past it?
}

}  // namespace chorus::session
