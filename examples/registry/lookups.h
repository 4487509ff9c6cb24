// The answers to registry lookups, from a master's view (pure): shared by
// the binary protocol (registry.proto) and the HTTP/JSON one.
#pragma once

#include <optional>

#include "examples/registry/registry.pb.h"
#include "examples/registry/registry_cache.h"

namespace chorus::registry {

pb::ServerName to_pb(const ServerName& name);
// Nullopt for a name that HBase would not accept (an empty host, a host
// with a comma or a slash, port 0 or over 65535).
std::optional<ServerName> from_pb(const pb::ServerName& name);

// What the answering master is now.
struct LookupContext {
    ServerName self;
    bool serving = false;  // part of a working quorum, and the cache read once
};

// True for the requests answer() answers (every one but SetMetaLocation).
bool is_lookup(const pb::RegistryRequest& request);

// The answer to a lookup from `view`: OK with what was asked; NOT_FOUND if
// there is no active master or meta location yet; NOT_SERVING if the
// master is not serving (but the cluster id, which never changes once
// made, is answered from any master that has read it); BAD_REQUEST for a
// request with no op. Every answer carries the id, the generation and the
// master's own name.
pb::RegistryResponse answer(const pb::RegistryRequest& request, const RegistryView& view,
                            const LookupContext& context);

}  // namespace chorus::registry
