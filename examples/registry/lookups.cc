#include "examples/registry/lookups.h"

namespace chorus::registry {

pb::ServerName to_pb(const ServerName& name) {
    pb::ServerName out;
    out.set_host(name.host);
    out.set_port(name.port);
    out.set_start_code(name.start_code);
    return out;
}

std::optional<ServerName> from_pb(const pb::ServerName& name) {
    if (name.port() == 0 || name.port() > 65535) return std::nullopt;
    // The one parser decides what a name may hold.
    return ServerName::parse(name.host() + "," + std::to_string(name.port()) + "," +
                             std::to_string(name.start_code()));
}

bool is_lookup(const pb::RegistryRequest& request) {
    return request.op_case() != pb::RegistryRequest::kSetMetaLocation &&
           request.op_case() != pb::RegistryRequest::OP_NOT_SET;
}

pb::RegistryResponse answer(const pb::RegistryRequest& request, const RegistryView& view,
                            const LookupContext& context) {
    pb::RegistryResponse r;
    r.set_id(request.id());
    r.set_generation(view.generation);
    *r.mutable_served_by() = to_pb(context.self);
    r.set_meta_version(-1);
    if (!is_lookup(request)) {
        r.set_code(pb::BAD_REQUEST);
        r.set_message(request.op_case() == pb::RegistryRequest::OP_NOT_SET
                          ? "the request names no operation"
                          : "not a lookup");
        return r;
    }
    if (request.op_case() == pb::RegistryRequest::kGetClusterId && !view.cluster_id.empty()) {
        r.set_cluster_id(view.cluster_id);
        return r;
    }
    if (!context.serving) {
        r.set_code(pb::NOT_SERVING);
        r.set_message("this master is not part of a working quorum; ask another");
        return r;
    }
    switch (request.op_case()) {
        case pb::RegistryRequest::kGetClusterId:
            r.set_code(pb::NOT_FOUND);
            r.set_message("no cluster id yet (no master has started)");
            break;
        case pb::RegistryRequest::kGetActiveMaster:
            if (view.active_master) {
                *r.mutable_active_master() = to_pb(*view.active_master);
            } else {
                r.set_code(pb::NOT_FOUND);
                r.set_message("no active master now");
            }
            break;
        case pb::RegistryRequest::kGetMetaLocation:
            if (view.meta) {
                *r.mutable_meta_location() = to_pb(view.meta->server);
                r.set_meta_version(view.meta->version);
            } else {
                r.set_code(pb::NOT_FOUND);
                r.set_message("no meta location yet");
            }
            break;
        case pb::RegistryRequest::kGetRegionServers:
            for (const auto& [name, metadata] : view.region_servers) {
                pb::RegionServer* s = r.add_region_servers();
                // The cache holds only names that parse.
                if (auto parsed = ServerName::parse(name)) *s->mutable_name() = to_pb(*parsed);
                s->set_metadata(metadata);
            }
            break;
        case pb::RegistryRequest::kGetMasters:
            if (view.active_master) *r.mutable_active_master() = to_pb(*view.active_master);
            // A backup that has just won is listed until it unlists itself.
            for (const ServerName& backup : view.backup_masters)
                if (backup != view.active_master) *r.add_backup_masters() = to_pb(backup);
            break;
        default:
            break;
    }
    return r;
}

}  // namespace chorus::registry
