#include "session/acl.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace chorus::session {

namespace {

// The address's bytes (4 or 16); false if it is neither form.
bool parse_address(std::string_view text, unsigned char* bytes, int* length) {
    const std::string s(text);
    if (inet_pton(AF_INET, s.c_str(), bytes) == 1) {
        *length = 4;
        return true;
    }
    if (inet_pton(AF_INET6, s.c_str(), bytes) == 1) {
        *length = 16;
        return true;
    }
    return false;
}

// ADDRESS[/BITS]: the address's bytes and the prefix length.
bool parse_pattern(std::string_view pattern, unsigned char* bytes, int* length, int* bits) {
    const size_t slash = pattern.find('/');
    if (!parse_address(pattern.substr(0, slash), bytes, length)) return false;
    *bits = *length * 8;
    if (slash == std::string_view::npos) return true;
    const std::string_view b = pattern.substr(slash + 1);
    int value = -1;
    auto [end, ec] = std::from_chars(b.data(), b.data() + b.size(), value);
    if (ec != std::errc() || end != b.data() + b.size() || value < 0 || value > *length * 8)
        return false;
    *bits = value;
    return true;
}

bool identity_matches(const Identity& who, const AclEntry& entry) {
    if (who.scheme != entry.scheme) return false;
    if (entry.scheme == "ip") return ip_matches(who.id, entry.id);
    return who.id == entry.id;
}

}  // namespace

bool ip_matches(std::string_view address, std::string_view pattern) {
    unsigned char a[16], p[16];
    int a_length = 0, p_length = 0, bits = 0;
    if (!parse_address(address, a, &a_length) || !parse_pattern(pattern, p, &p_length, &bits))
        return false;
    if (a_length != p_length) return false;
    for (int i = 0; i < a_length && bits > 0; ++i, bits -= 8) {
        const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
        if ((a[i] & mask) != (p[i] & mask)) return false;
    }
    return true;
}

bool acl_allows(const AclList* acl, const Requester& who, uint32_t perms) {
    if (!who.checked || who.superuser || acl == nullptr || acl->empty()) return true;
    for (const AclEntry& entry : *acl) {
        if ((entry.perms & perms) == 0) continue;
        if (entry.scheme == "world" && entry.id == "anyone") return true;
        for (const Identity& id : who.ids) {
            if (identity_matches(id, entry)) return true;
        }
    }
    return false;
}

bool valid_acl_entry(const AclEntry& entry, std::string* why) {
    auto fail = [&](std::string reason) {
        if (why) *why = std::move(reason);
        return false;
    };
    if (entry.scheme == "world") {
        if (entry.id != "anyone") return fail("the world scheme has only the id 'anyone'");
        return true;
    }
    if (entry.scheme == "digest") {
        // Two parts around one ':' (the user may be empty, as ZooKeeper's
        // split allows; the hash may not).
        const size_t colon = entry.id.find(':');
        if (colon == std::string::npos || colon + 1 == entry.id.size() ||
            entry.id.find(':', colon + 1) != std::string::npos)
            return fail("a digest id is USER:BASE64(SHA1(USER:PASSWORD))");
        return true;
    }
    if (entry.scheme == "ip") {
        // IPv4 only, as ZooKeeper 3.8 takes them.
        unsigned char bytes[16];
        int length = 0, bits = 0;
        if (!parse_pattern(entry.id, bytes, &length, &bits) || length != 4)
            return fail("an ip id is an IPv4 ADDRESS or ADDRESS/BITS");
        return true;
    }
    return fail("no ACL scheme '" + entry.scheme + "' (world, digest, ip and auth are served)");
}

}  // namespace chorus::session
