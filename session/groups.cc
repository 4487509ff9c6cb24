#include "session/groups.h"

#include <map>

#include "session/tracker.h"

namespace chorus::session {

namespace {
constexpr std::string_view kGroupsRoot = "/groups/";
}

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameBytes) return false;
    for (unsigned char c : name) {
        if (c == '/' || c < 0x20 || c == 0x7f) return false;
    }
    return name != "." && name != "..";
}

std::string group_path(std::string_view group) {
    return std::string(kGroupsRoot) + std::string(group);
}
std::string group_config_path(std::string_view group) { return group_path(group) + "/config"; }
std::string member_path(std::string_view group, std::string_view member) {
    return group_path(group) + "/members/" + std::string(member);
}
std::string member_config_path(std::string_view group, std::string_view member) {
    return group_path(group) + "/member-configs/" + std::string(member);
}

std::string group_of(std::string_view path) {
    if (!path.starts_with(kGroupsRoot)) return {};
    std::string_view rest = path.substr(kGroupsRoot.size());
    return std::string(rest.substr(0, rest.find('/')));
}

GroupView read_group(const Tracker& tracker, std::string_view group) {
    GroupView view;
    const TreeNode* root = tracker.node(group_path(group));
    if (root == nullptr) return view;
    view.exists = true;
    view.version = tracker.group_version(std::string(group));
    if (const TreeNode* config = tracker.node(group_config_path(group))) view.config = config->data;
    std::map<std::string, GroupMember> members;
    const std::string members_dir = group_path(group) + "/members";
    for (const std::string& name : tracker.children(members_dir)) {
        const TreeNode* n = tracker.node(members_dir + "/" + name);
        GroupMember& m = members[name];
        m.name = name;
        m.metadata = n->data;
        m.session_id = n->ephemeral_owner;
    }
    const std::string configs_dir = group_path(group) + "/member-configs";
    std::map<std::string, GroupMember> inactive;
    for (const std::string& name : tracker.children(configs_dir)) {
        const TreeNode* n = tracker.node(configs_dir + "/" + name);
        auto active = members.find(name);
        if (active != members.end()) {
            active->second.config = n->data;
        } else {
            GroupMember& m = inactive[name];
            m.name = name;
            m.config = n->data;
        }
    }
    for (auto& [name, m] : members) view.active.push_back(std::move(m));
    for (auto& [name, m] : inactive) view.inactive.push_back(std::move(m));
    return view;
}

}  // namespace chorus::session
