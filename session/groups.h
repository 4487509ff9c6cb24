// Groups, laid out in the tracker's node tree:
//
//   /groups/<group>                          the group (persistent)
//   /groups/<group>/config                   group-wide config (persistent)
//   /groups/<group>/members/<member>         a live member: ephemeral, data = its metadata
//   /groups/<group>/member-configs/<member>  per-member config (persistent; may exist
//                                            before the member ever joins)
//
// A member with a config but no live ephemeral node is *inactive*. The
// group's version (Tracker::group_version) goes up by one with every
// transaction that changes anything under /groups/<group>: a join, a leave,
// an expiry, a config change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::session {

class Tracker;

inline constexpr size_t kMaxNameBytes = 128;

// A group or member name: 1..kMaxNameBytes bytes, no '/', no control
// characters.
bool valid_name(std::string_view name);

std::string group_path(std::string_view group);
std::string group_config_path(std::string_view group);
std::string member_path(std::string_view group, std::string_view member);
std::string member_config_path(std::string_view group, std::string_view member);
// The group a path belongs to, or "" for a path outside /groups/<group>.
std::string group_of(std::string_view path);

struct GroupMember {
    std::string name;
    std::optional<std::string> metadata;  // active members only
    std::optional<std::string> config;
    uint64_t session_id = 0;  // active members only
};

struct GroupView {
    bool exists = false;
    int64_t version = 0;
    std::optional<std::string> config;
    std::vector<GroupMember> active;    // sorted by name
    std::vector<GroupMember> inactive;  // config but no live session; sorted by name
};

GroupView read_group(const Tracker& tracker, std::string_view group);

}  // namespace chorus::session
