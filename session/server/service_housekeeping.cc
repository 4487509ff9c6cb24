// The leader's housekeeping of the tree, while it leads and serves:
// - once a second, the container sweeper deletes the containers that have had children
//   and have none left (Tracker::empty_containers), as ZooKeeper's
//   ContainerManager does. Each is its own delete at the version seen, so a
//   container that gains a child or changes meanwhile is left alone (the
//   delete fails, and nothing else with it);
// - at every tick, with zookeeper_system_nodes, it creates /zookeeper, /zookeeper/config
//   and /zookeeper/quota where they are missing, as a ZooKeeper server has
//   them from its start, and keeps the data of /zookeeper/config the
//   committed membership, in ZooKeeper's dynamic configuration format
//   (session/zookeeper/reconfig.h): a write like any other, so getData and
//   watches on it work on every server, a tick after each change commits.
#include "session/server/service_impl.h"
#include "session/zookeeper/reconfig.h"

namespace chorus::session {

void SessionService::Impl::housekeeping(uint64_t elapsed_ms) {
    if (role != zab::Role::kLeading || !serving()) return;
    // At once (two lookups a tick), so that they are there as soon as a
    // client can look.
    if (options.zookeeper_system_nodes) {
        create_system_nodes();
        keep_config_node();
    }
    housekeeping_ms += elapsed_ms;
    if (housekeeping_ms < 1000) return;
    housekeeping_ms = 0;
    sweep_containers();
}

void SessionService::Impl::create_system_nodes() {
    for (const char* path : {"/zookeeper/config", "/zookeeper/quota"}) {
        if (tracker.node(path) || !system_nodes_asked.insert(path).second) continue;
        pb::TrackerRequest r;
        pb::NodeOp* op = r.mutable_nodes()->add_ops();
        op->set_kind(pb::NodeOp::CREATE);
        op->set_path(path);
        op->set_expected_version(-1);
        op->set_make_parents(true);
        r.mutable_nodes()->mutable_requester()->set_server(true);  // whatever the ACLs say
        node->submit(tracker_request(r), [this, path = std::string(path)](Status, Completion) {
            system_nodes_asked.erase(path);
        });
    }
}

void SessionService::Impl::keep_config_node() {
    const TreeNode* config = tracker.node("/zookeeper/config");
    if (!config || config_set_asked) return;
    const zab::Membership m = node->membership();
    // Only a committed one (a CONFIG is in force on the leader from its
    // proposal, R1, and may yet be truncated).
    if (m.voters.empty() || m.version > node->status().committed) return;
    std::string text = zookeeper::config_text(m);
    if (config->data.str() == text) return;
    pb::TrackerRequest r;
    pb::NodeOp* op = r.mutable_nodes()->add_ops();
    op->set_kind(pb::NodeOp::SET);
    op->set_path("/zookeeper/config");
    op->set_data(std::move(text));
    op->set_expected_version(config->version);                 // lost to a newer set: tried again
    r.mutable_nodes()->mutable_requester()->set_server(true);  // whatever the ACLs say
    config_set_asked = true;
    node->submit(tracker_request(r), [this](Status, Completion) { config_set_asked = false; });
}

void SessionService::Impl::sweep_containers() {
    constexpr size_t kPerSweep = 100;
    size_t sent = 0;
    for (const std::string& path : tracker.empty_containers()) {
        if (sent == kPerSweep) break;
        if (!containers_deleting.insert(path).second) continue;  // already asked
        const TreeNode* n = tracker.node(path);
        pb::TrackerRequest r;
        pb::NodeOp* op = r.mutable_nodes()->add_ops();
        op->set_kind(pb::NodeOp::DELETE);
        op->set_path(path);
        op->set_expected_version(n ? n->version : -1);
        op->set_container(true);  // applied only if it still is an emptied container
        r.mutable_nodes()->mutable_requester()->set_server(true);  // whatever the ACLs say
        node->submit(tracker_request(r),
                     [this, path](Status, Completion) { containers_deleting.erase(path); });
        ++sent;
    }
}

}  // namespace chorus::session
