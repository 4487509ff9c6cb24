#include "session/zookeeper/reconfig.h"

#include <cstdio>
#include <map>
#include <vector>

namespace chorus::zookeeper {
namespace {

std::vector<std::string> split(const std::string& text, char by) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
        const size_t at = text.find(by, start);
        parts.push_back(
            text.substr(start, at == std::string::npos ? std::string::npos : at - start));
        if (at == std::string::npos) return parts;
        start = at + 1;
    }
}

std::string trimmed(const std::string& s) {
    const size_t first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

std::optional<uint64_t> number(const std::string& s) {
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return std::stoull(s);
}

// The non-empty items of a comma-separated list.
std::vector<std::string> items(const std::optional<std::string>& list) {
    std::vector<std::string> out;
    if (!list) return out;
    for (const std::string& part : split(*list, ',')) {
        std::string item = trimmed(part);
        if (!item.empty()) out.push_back(std::move(item));
    }
    return out;
}

Status bad(const std::string& why) { return Status(Code::kInvalidArgument, why); }

// "server.4=127.0.0.1:7004:7005:participant;2181"
Result<ReconfigChange> joining_of(const std::string& spec) {
    const std::string form =
        "a joining server is server.ID=HOST:PORT[:PORT][:participant|:observer][;CLIENT]";
    const size_t eq = spec.find('=');
    if (spec.rfind("server.", 0) != 0 || eq == std::string::npos)
        return bad(form + ", not \"" + spec + "\"");
    const std::optional<uint64_t> id = number(spec.substr(7, eq - 7));
    if (!id || *id == 0) return bad("\"" + spec + "\": the server id must be a number, 1 or more");
    std::string server = spec.substr(eq + 1);
    server = server.substr(0, server.find(';'));  // the client address: not chorus's to keep
    std::vector<std::string> parts = split(server, ':');
    ReconfigChange c;
    c.kind = ReconfigChange::Kind::kJoin;
    c.id = *id;
    if (parts.back() == "participant" || parts.back() == "observer") {
        c.observer = parts.back() == "observer";
        parts.pop_back();
    }
    // HOST:PORT or HOST:PORT:PORT (ZooKeeper's quorum and election ports).
    if (parts.size() == 3) parts.pop_back();
    if (parts.size() != 2 || parts[0].empty() || !number(parts[1]) || *number(parts[1]) == 0 ||
        *number(parts[1]) > 65535)
        return bad(form + ", not \"" + spec + "\"");
    // A host name or an IPv4 address: nothing that could mean more where
    // the address is passed on (the review: "&id=1" in HOST changed
    // another server).
    if (parts[0].find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
        std::string::npos)
        return bad("\"" + spec + "\": the host may hold only letters, digits, '.', '-' and '_'");
    c.address = parts[0] + ":" + parts[1];
    return c;
}

}  // namespace

bool read_reconfig_request(JuteReader& in, ReconfigRequest* out) {
    return in.read_buffer("joiningServers", &out->joining) &&
           in.read_buffer("leavingServers", &out->leaving) &&
           in.read_buffer("newMembers", &out->new_members) &&
           in.read_long("curConfigId", &out->cur_config_id);
}

void write_reconfig_request(JuteWriter& out, const ReconfigRequest& r) {
    for (const auto* field : {&r.joining, &r.leaving, &r.new_members}) {
        if (*field) {
            out.write_string(**field);
        } else {
            out.write_null();
        }
    }
    out.write_long(r.cur_config_id);
}

Result<ReconfigChange> change_of(const ReconfigRequest& r) {
    if (!items(r.new_members).empty()) {
        return bad(
            "a non-incremental reconfig (new members) is not served: chorus changes one "
            "server at a time; name the one joining or leaving");
    }
    const std::vector<std::string> joining = items(r.joining);
    const std::vector<std::string> leaving = items(r.leaving);
    if (joining.size() + leaving.size() == 0) return bad("the reconfig names no server");
    if (joining.size() + leaving.size() > 1) {
        return bad(
            "the reconfig names " + std::to_string(joining.size() + leaving.size()) +
            " servers; chorus changes one at a time (docs/protocol.md, R2): ask for each in turn");
    }
    if (!joining.empty()) return joining_of(joining[0]);
    const std::optional<uint64_t> id = number(leaving[0]);
    if (!id || *id == 0) return bad("a leaving server is its id, not \"" + leaving[0] + "\"");
    ReconfigChange c;
    c.kind = ReconfigChange::Kind::kLeave;
    c.id = *id;
    return c;
}

int64_t config_version_of(const zab::Membership& m) {
    return static_cast<int64_t>((m.version.epoch << 32) | (m.version.counter & 0xffffffffu));
}

std::string config_text(const zab::Membership& m) {
    std::map<zab::ServerId, std::string> lines;
    for (const auto& [id, address] : m.voters) {
        const std::string port = address.substr(address.rfind(':') + 1);
        lines[id] = "server." + std::to_string(id) + "=" + address + ":" + port + ":participant";
    }
    for (const auto& [id, address] : m.observers) {
        const std::string port = address.substr(address.rfind(':') + 1);
        lines[id] = "server." + std::to_string(id) + "=" + address + ":" + port + ":observer";
    }
    std::string text;
    for (const auto& [id, line] : lines) text += line + "\n";
    char version[24];
    std::snprintf(version, sizeof version, "%llx",
                  static_cast<unsigned long long>(config_version_of(m)));
    return text + "version=" + version;
}

}  // namespace chorus::zookeeper
