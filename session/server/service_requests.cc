// Client requests that read or change the replicated state: open,
// revalidate and close a session, write (a multi-op on nodes), the reads
// (node, children, group, sync) and stats. Each checks its input here and
// answers once, on the core thread.
#include "session/groups.h"
#include "session/server/service_impl.h"
#include "zab/runtime/heap.h"

namespace chorus::session {
namespace {

cpb::Code code_of(NodeResult result) {
    switch (result) {
        case NodeResult::kOk:
            return cpb::OK;
        case NodeResult::kNoNode:
            return cpb::NO_NODE;
        case NodeResult::kNodeExists:
            return cpb::NODE_EXISTS;
        case NodeResult::kBadVersion:
            return cpb::BAD_VERSION;
        case NodeResult::kNoParent:
            return cpb::NO_PARENT;
        case NodeResult::kNoSession:
            return cpb::NO_SESSION;
        case NodeResult::kNotEmpty:
            return cpb::NOT_EMPTY;
        case NodeResult::kBadPath:
            return cpb::BAD_PATH;
        case NodeResult::kEphemeralParent:
            return cpb::EPHEMERAL_PARENT;
        case NodeResult::kNoAuth:
            return cpb::NO_AUTH;
        case NodeResult::kInvalidAcl:
            return cpb::INVALID_ACL;
    }
    return cpb::BAD_REQUEST;
}

// The answer to a change (a write, a close) that Node::submit failed: a
// refusal was never applied (the client may send it again, NOT_SERVING
// even does so by itself); an unknown outcome is UNCERTAIN.
cpb::Code failed_change(const Status& s) {
    switch (s.code()) {
        case Code::kInvalidArgument:
            return cpb::TOO_LARGE;
        case Code::kNotLeader:
            return cpb::NOT_SERVING;
        case Code::kBusy:
            return cpb::BUSY;
        default:  // kTimeout, kUnknownOutcome
            return cpb::UNCERTAIN;
    }
}

void add_acl(const AclList* acl, google::protobuf::RepeatedPtrField<cpb::Acl>* out) {
    if (acl == nullptr || acl->empty()) {
        cpb::Acl* a = out->Add();
        a->set_perms(kPermAll);
        a->set_scheme("world");
        a->set_id("anyone");
        return;
    }
    for (const AclEntry& e : *acl) {
        cpb::Acl* a = out->Add();
        a->set_perms(e.perms);
        a->set_scheme(e.scheme);
        a->set_id(e.id);
    }
}

}  // namespace

Requester requester_of(const cpb::Request& request) {
    Requester who;
    who.checked = true;
    who.superuser = request.requester().superuser();
    for (const cpb::Acl& id : request.requester().ids())
        who.ids.push_back(Identity{id.scheme(), id.id()});
    return who;
}

void SessionService::Impl::open(const cpb::Request& request, Reply reply) {
    const uint64_t timeout =
        std::clamp<uint64_t>(request.open().timeout_ms(), options.min_session_timeout_ms,
                             options.max_session_timeout_ms);
    pb::TrackerRequest r;
    r.mutable_open()->set_owner(options.id);
    r.mutable_open()->set_timeout_ms(timeout);
    node->submit(tracker_request(r), [id = request.id(), timeout, reply = std::move(reply)](
                                         Status s, Completion c) {
        if (!s.is_ok()) {
            // A session opened by a lost request expires by itself, so the
            // client may simply open again.
            const bool busy = s.code() == Code::kBusy || s.code() == Code::kTimeout;
            return reply(error_response(id, busy ? cpb::BUSY : cpb::NOT_SERVING, s.message()));
        }
        cpb::Response r;
        r.set_id(id);
        r.mutable_session()->set_session_id(session_id_of(c.zxid));
        r.mutable_session()->set_timeout_ms(timeout);
        set_zxid(r.mutable_zxid(), c.zxid);
        reply(std::move(r));
    });
}

void SessionService::Impl::revalidate(const cpb::Request& request, Reply reply) {
    const uint64_t session = request.revalidate().session_id();
    // The session may have been opened moments ago through another server:
    // look only after a read barrier.
    node->sync(
        [this, id = request.id(), session, reply = std::move(reply)](Status s, Zxid) mutable {
            if (!s.is_ok()) return reply(error_response(id, cpb::NOT_SERVING, s.message()));
            auto known = tracker.sessions().find(session);
            if (known == tracker.sessions().end())
                return reply(
                    error_response(id, cpb::NO_SESSION, "no such session (expired or closed)"));
            const uint64_t timeout = known->second.timeout_ms;
            if (known->second.owner == options.id) {
                pending_heartbeats.push_back(session);
                cpb::Response r;
                r.set_id(id);
                r.mutable_session()->set_session_id(session);
                r.mutable_session()->set_timeout_ms(timeout);
                return reply(std::move(r));
            }
            pb::TrackerRequest t;
            t.mutable_revalidate()->set_session_id(session);
            t.mutable_revalidate()->set_owner(options.id);
            node->submit(tracker_request(t), [this, id, session, timeout, reply = std::move(reply)](
                                                 Status s, Completion c) {
                if (!s.is_ok()) return reply(error_response(id, cpb::NOT_SERVING, s.message()));
                auto now = tracker.sessions().find(session);
                if (now == tracker.sessions().end() || now->second.owner != options.id)
                    return reply(
                        error_response(id, cpb::NO_SESSION, "the session expired before it moved"));
                cpb::Response r;
                r.set_id(id);
                r.mutable_session()->set_session_id(session);
                r.mutable_session()->set_timeout_ms(timeout);
                set_zxid(r.mutable_zxid(), c.zxid);
                reply(std::move(r));
            });
        });
}

void SessionService::Impl::close(const cpb::Request& request, Reply reply) {
    const uint64_t session = request.close().session_id();
    if (!tracker.sessions().count(session))
        return reply(error_response(request.id(), cpb::NO_SESSION, "no such session"));
    pb::TrackerRequest r;
    r.mutable_close()->set_session_id(session);
    node->submit(tracker_request(r),
                 [id = request.id(), reply = std::move(reply)](Status s, Completion c) {
                     if (!s.is_ok())
                         return reply(error_response(id, failed_change(s), s.message()));
                     cpb::Response r;
                     r.set_id(id);
                     set_zxid(r.mutable_zxid(), c.zxid);
                     reply(std::move(r));
                 });
}

void SessionService::Impl::write(const cpb::Request& request, Reply reply) {
    const cpb::Write& w = request.write();
    if (w.ops_size() == 0)
        return reply(error_response(request.id(), cpb::BAD_REQUEST, "a write with no ops"));
    if (static_cast<size_t>(w.ops_size()) > options.max_ops_per_write) {
        return reply(error_response(request.id(), cpb::TOO_LARGE,
                                    "a write with " + std::to_string(w.ops_size()) +
                                        " ops; the limit is " +
                                        std::to_string(options.max_ops_per_write)));
    }
    pb::TrackerRequest r;
    for (const cpb::Op& op : w.ops()) {
        if (op.data().size() > options.max_value_bytes) {
            return reply(error_response(request.id(), cpb::TOO_LARGE,
                                        "a value of " + std::to_string(op.data().size()) +
                                            " bytes; the limit is " +
                                            std::to_string(options.max_value_bytes)));
        }
        if (op.path().size() > 1024)
            return reply(error_response(request.id(), cpb::BAD_PATH, "a path over 1024 bytes"));
        if (op.ephemeral() && !tracker.sessions().count(w.session_id()))
            return reply(error_response(request.id(), cpb::NO_SESSION,
                                        "an ephemeral node needs a live session"));
        pb::NodeOp* out = r.mutable_nodes()->add_ops();
        switch (op.kind()) {
            case cpb::Op::CREATE:
                out->set_kind(pb::NodeOp::CREATE);
                break;
            case cpb::Op::DELETE:
                out->set_kind(pb::NodeOp::DELETE);
                break;
            case cpb::Op::SET:
                out->set_kind(pb::NodeOp::SET);
                break;
            case cpb::Op::CHECK:
                out->set_kind(pb::NodeOp::CHECK);
                break;
            case cpb::Op::PUT:
                out->set_kind(pb::NodeOp::PUT);
                break;
            case cpb::Op::SET_ACL:
                out->set_kind(pb::NodeOp::SET_ACL);
                break;
            default:
                return reply(error_response(request.id(), cpb::BAD_REQUEST, "an unknown op kind"));
        }
        out->set_path(op.path());
        out->set_data(op.data());
        out->set_expected_version(op.has_expected_version() ? op.expected_version() : -1);
        out->set_ephemeral_owner(op.ephemeral() ? w.session_id() : 0);
        out->set_make_parents(op.make_parents());
        out->set_sequential(op.sequential());
        out->set_container(op.container());
        for (const cpb::Acl& a : op.acl()) {
            std::string why;
            if (!valid_acl_entry(AclEntry{a.perms(), a.scheme(), a.id()}, &why))
                return reply(error_response(request.id(), cpb::INVALID_ACL, why));
            pb::Acl* stored = out->add_acl();
            stored->set_perms(a.perms());
            stored->set_scheme(a.scheme());
            stored->set_id(a.id());
        }
        if (op.kind() == cpb::Op::SET_ACL && op.acl().empty())
            return reply(error_response(request.id(), cpb::INVALID_ACL, "an empty ACL"));
    }
    // Checked as it applies, on every replica alike (tracker.cc); an
    // anonymous client's carries nothing.
    if (request.requester().superuser() || request.requester().ids_size() > 0) {
        pb::Requester* who = r.mutable_nodes()->mutable_requester();
        who->set_superuser(request.requester().superuser());
        for (const cpb::Acl& id : request.requester().ids()) {
            pb::Acl* out = who->add_ids();
            out->set_scheme(id.scheme());
            out->set_id(id.id());
        }
    }
    node->submit(tracker_request(r),
                 [this, id = request.id(), reply = std::move(reply)](Status s, Completion c) {
                     if (!s.is_ok())
                         return reply(error_response(id, failed_change(s), s.message()));
                     const NodeOutcome* outcome = tracker.node_outcome(c.zxid);
                     cpb::Response r;
                     r.set_id(id);
                     set_zxid(r.mutable_zxid(), c.zxid);
                     if (!outcome) {
                         r.set_code(cpb::UNCERTAIN);
                         r.set_message("the write's outcome was forgotten before its answer");
                         return reply(std::move(r));
                     }
                     r.set_code(code_of(outcome->result));
                     if (outcome->result != NodeResult::kOk) {
                         r.set_message(node_result_name(outcome->result));
                         if (outcome->failed_op >= 0) r.set_failed_op(outcome->failed_op);
                     }
                     for (const NodeOutcome::Op& op : outcome->ops) {
                         cpb::OpResult* out = r.add_results();
                         out->set_path(op.path);
                         if (op.stat.czxid != Zxid{}) set_stat(out->mutable_stat(), op.stat);
                     }
                     reply(std::move(r));
                 });
}

void SessionService::Impl::maybe_sync(uint64_t id, bool sync, Reply reply,
                                      std::function<void(Reply)> then) {
    if (!sync) return then(std::move(reply));
    node->sync([id, reply = std::move(reply), then = std::move(then)](Status s, Zxid) mutable {
        if (!s.is_ok()) return reply(error_response(id, cpb::NOT_SERVING, s.message()));
        then(std::move(reply));
    });
}

void SessionService::Impl::read(const cpb::Request& request, Reply reply) {
    const uint64_t id = request.id();
    auto respond = [this, request](Reply reply) {
        cpb::Response r;
        r.set_id(request.id());
        set_zxid(r.mutable_zxid(), node->status().delivered);
        switch (request.op_case()) {
            case cpb::Request::kRead: {
                auto* out = r.mutable_node();
                if (const TreeNode* n = tracker.node(request.read().path())) {
                    if (request.read().need_perms() != 0 &&
                        !acl_allows(n->acl, requester_of(request), request.read().need_perms())) {
                        return reply(error_response(request.id(), cpb::NO_AUTH,
                                                    "not allowed by the node's ACL"));
                    }
                    if (request.read().with_acl()) add_acl(n->acl.get(), out->mutable_acl());
                    out->set_exists(true);
                    out->set_data(n->data.str());
                    out->set_version(n->version);
                    out->set_ephemeral_owner(n->ephemeral_owner);
                    set_stat(out->mutable_stat(), n->stat());
                } else {
                    out->set_version(-1);
                }
                break;
            }
            case cpb::Request::kList: {
                const cpb::List& list = request.list();
                if (const TreeNode* n = tracker.node(list.path())) {
                    if (list.need_perms() != 0 &&
                        !acl_allows(n->acl, requester_of(request), list.need_perms())) {
                        return reply(error_response(request.id(), cpb::NO_AUTH,
                                                    "not allowed by the node's ACL"));
                    }
                    r.mutable_list()->set_exists(true);
                    set_stat(r.mutable_list()->mutable_stat(), n->stat());
                }
                if (list.ephemerals_of() != 0) {
                    const std::string prefix = list.path();
                    for (std::string& path : tracker.ephemerals_of(list.ephemerals_of())) {
                        if (path.starts_with(prefix)) r.mutable_list()->add_names(std::move(path));
                    }
                } else if (list.count_all()) {
                    r.mutable_list()->set_all_children(
                        static_cast<int64_t>(tracker.descendants(list.path())));
                } else {
                    for (std::string& name : tracker.children(list.path()))
                        r.mutable_list()->add_names(std::move(name));
                }
                break;
            }
            case cpb::Request::kGetGroup: {
                if (!valid_name(request.get_group().group())) {
                    return reply(
                        error_response(request.id(), cpb::BAD_REQUEST, "invalid group name"));
                }
                GroupView view = read_group(tracker, request.get_group().group());
                auto* out = r.mutable_group();
                out->set_exists(view.exists);
                out->set_version(view.version);
                if (view.config) out->set_config(*view.config);
                auto copy = [](const GroupMember& m, cpb::Member* to) {
                    to->set_name(m.name);
                    if (m.metadata) to->set_metadata(*m.metadata);
                    if (m.config) to->set_config(*m.config);
                    to->set_session_id(m.session_id);
                };
                for (const GroupMember& m : view.active) copy(m, out->add_active());
                for (const GroupMember& m : view.inactive) copy(m, out->add_inactive());
                break;
            }
            default:  // kSync
                break;
        }
        reply(std::move(r));
    };
    const bool sync = request.op_case() == cpb::Request::kSync ||
                      (request.op_case() == cpb::Request::kRead && request.read().sync()) ||
                      (request.op_case() == cpb::Request::kList && request.list().sync()) ||
                      (request.op_case() == cpb::Request::kGetGroup && request.get_group().sync());
    maybe_sync(id, sync, std::move(reply), std::move(respond));
}

void SessionService::Impl::stats(const cpb::Request& request, Reply reply) {
    const NodeStatus status = node->status();
    cpb::Response r;
    r.set_id(request.id());
    auto* out = r.mutable_stats();
    out->set_server_id(options.id);
    out->set_role(zab::role_name(status.role));
    out->set_leader(status.leader);
    out->set_epoch(status.epoch);
    set_zxid(out->mutable_last_zxid(), status.last_zxid);
    set_zxid(out->mutable_delivered(), status.delivered);
    out->set_serving(status.serving);
    out->set_sessions(tracker.sessions().size());
    out->set_nodes(tracker.nodes().size());
    const Tracker::Counters& c = tracker.counters();
    out->set_heartbeats_absorbed(c.heartbeats_absorbed);
    out->set_heartbeats_received(heartbeats_received);
    out->set_sessions_expired(c.sessions_expired);
    for (size_t k = 0; k < static_cast<size_t>(TxnKind::kCount); ++k) {
        auto* log = out->add_log();
        log->set_kind(txn_kind_name(static_cast<TxnKind>(k)));
        log->set_records(c.log_records[k]);
        log->set_bytes(c.log_bytes[k]);
    }
    out->set_log_records_appended(status.log_records_appended);
    out->set_log_bytes_appended(status.log_bytes_appended);
    out->set_heap_bytes(runtime::heap_bytes_in_use());
    out->set_watches(watchers.size());
    reply(std::move(r));
}

}  // namespace chorus::session
