// ZooKeeper's ACLs over the tracker's nodes: who may do what to a node.
// Pure (the tracker checks writes with it as it applies them, the same on
// every replica; the service checks reads; the ZooKeeper front end checks
// the ACLs clients send).
//
// A node's ACL is a list of entries, each the permissions an identity has.
// Identities: world:anyone (everyone), digest:user:base64(sha1(user:pw))
// (a client that authenticated so), ip:ADDRESS[/BITS] (a client from
// there). An empty ACL is world:anyone with every permission (what nodes
// made without one have). A superuser passes every check.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::session {

enum AclPerm : uint32_t {
    kPermRead = 1,
    kPermWrite = 2,
    kPermCreate = 4,
    kPermDelete = 8,
    kPermAdmin = 16,
    kPermAll = 31,
};

struct AclEntry {
    uint32_t perms = 0;
    std::string scheme;
    std::string id;
    friend bool operator==(const AclEntry&, const AclEntry&) = default;
    friend auto operator<=>(const AclEntry&, const AclEntry&) = default;
};
using AclList = std::vector<AclEntry>;
// Shared by the nodes that have it; null: the default (world:anyone, all).
using SharedAcl = std::shared_ptr<const AclList>;

// An identity of a requester (scheme and id; perms unused).
struct Identity {
    std::string scheme;
    std::string id;
};

struct Requester {
    bool checked = false;  // false: the server's own work, never refused
    bool superuser = false;
    std::vector<Identity> ids;
};

// Whether `acl` gives `who` any of `perms` (ZooKeeper's checkACL: an entry
// that has one of them and whose identity is who's, or world:anyone).
bool acl_allows(const AclList* acl, const Requester& who, uint32_t perms);
inline bool acl_allows(const SharedAcl& acl, const Requester& who, uint32_t perms) {
    return acl_allows(acl.get(), who, perms);
}

// Whether `address` (an IPv4 or IPv6 address) is within `pattern` (an
// address, or ADDRESS/BITS), as ZooKeeper's ip scheme matches.
bool ip_matches(std::string_view address, std::string_view pattern);

// Whether an entry may be stored (ZooKeeper 3.8's rules): world:anyone,
// digest:USER:HASH (one ':', a hash after it), ip:A.B.C.D[/BITS]. On
// failure, `why` says which rule.
bool valid_acl_entry(const AclEntry& entry, std::string* why);

}  // namespace chorus::session
