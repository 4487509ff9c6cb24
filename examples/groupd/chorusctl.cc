// chorusctl: what a groupd ensemble is doing, in readable tables.
//
//   chorusctl --servers 127.0.0.1:8001            every server (found from one) and every group
//   chorusctl --servers 127.0.0.1:8001 servers    role, epoch, last zxid, sessions, readiness
//   chorusctl --servers 127.0.0.1:8001 groups     each group's members
//   chorusctl --servers 127.0.0.1:8001 group web  one group, with configs and metadata
//
// It asks each server for GET / (its status) and GET /{group}; the servers
// listed are completed with the endpoints the ensemble has recorded, so one
// address is enough. Exit status 0 when every server answered, 1 otherwise.
//
// The membership commands work on any chorus server's HTTP or admin port
// (examples/groupd/chorusctl_members.h):
//   chorusctl --servers 127.0.0.1:8001 members
//   chorusctl --servers 127.0.0.1:8001 add-server 4 127.0.0.1:7004 [--observer]
//   chorusctl --servers 127.0.0.1:8001 remove-server 4
//   chorusctl --servers 127.0.0.1:8001 transfer-leader [2]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "examples/common/table.h"
#include "examples/groupd/chorusctl_members.h"
#include "net/http_client.h"

namespace {

using chorus::examples::print_table;

using chorus::net::HttpClient;
using chorus::net::HttpResult;
using nlohmann::ordered_json;

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        if (comma > start) out.push_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

std::optional<ordered_json> get_json(const std::string& address, const std::string& target,
                                     int timeout_ms, std::string* error) {
    HttpClient client(address, timeout_ms);
    HttpResult r = client.request("GET", target);
    if (!r.answered()) {
        *error = r.error;
        return std::nullopt;
    }
    ordered_json doc = ordered_json::parse(r.body, nullptr, false);
    if (doc.is_discarded()) {
        *error = "HTTP " + std::to_string(r.status) + " with a body that is not JSON";
        return std::nullopt;
    }
    if (r.status != 200) {
        *error = doc.contains("error") ? doc["error"].get<std::string>()
                                       : "HTTP " + std::to_string(r.status);
        return std::nullopt;
    }
    return doc;
}

// A name as one path segment: every byte but letters, digits and -._~ as %XX.
std::string percent_encode(const std::string& name) {
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : name) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

std::string text_of(const ordered_json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
}

struct Ensemble {
    std::vector<std::string> addresses;  // every server, as given or recorded
    std::vector<std::pair<std::string, std::optional<ordered_json>>> status;  // per address
    std::vector<std::string> errors;
    std::set<std::string> groups;
    std::string any_answering;  // an address that answered
};

Ensemble survey(std::vector<std::string> addresses, int timeout_ms) {
    Ensemble e;
    std::set<std::string> seen;
    for (size_t i = 0; i < addresses.size(); ++i) {
        const std::string address = addresses[i];
        if (!seen.insert(address).second) continue;
        std::string error;
        auto doc = get_json(address, "/", timeout_ms, &error);
        e.status.emplace_back(address, doc);
        e.errors.push_back(error);
        if (!doc) continue;
        if (e.any_answering.empty()) e.any_answering = address;
        for (const auto& endpoint : (*doc)["endpoints"]) addresses.push_back(endpoint);
        for (const auto& group : (*doc)["groups"]) e.groups.insert(group.get<std::string>());
    }
    return e;
}

bool print_servers(const Ensemble& e) {
    std::vector<std::vector<std::string>> rows = {
        {"SERVER", "ADDRESS", "ROLE", "LEADER", "EPOCH", "LAST ZXID", "SESSIONS", "READY"}};
    bool all = true;
    for (size_t i = 0; i < e.status.size(); ++i) {
        const auto& [address, doc] = e.status[i];
        if (!doc) {
            rows.push_back({"?", address, "unreachable"});
            all = false;
            continue;
        }
        const ordered_json& d = *doc;
        rows.push_back(
            {std::to_string(d["id"].get<uint64_t>()), address, d["role"],
             d["leader"].get<uint64_t>() ? std::to_string(d["leader"].get<uint64_t>()) : "-",
             std::to_string(d["epoch"].get<uint64_t>()), d["last_zxid"],
             std::to_string(d["sessions"].get<uint64_t>()), d["ready"].get<bool>() ? "yes" : "no"});
    }
    print_table(rows);
    for (size_t i = 0; i < e.status.size(); ++i) {
        if (!e.status[i].second)
            std::printf("  %s: %s\n", e.status[i].first.c_str(), e.errors[i].c_str());
    }
    return all;
}

bool print_group(const std::string& address, const std::string& group, int timeout_ms) {
    std::string error;
    auto doc = get_json(address, "/" + percent_encode(group), timeout_ms, &error);
    if (!doc) {
        std::printf("group %s: %s\n", group.c_str(), error.c_str());
        return false;
    }
    const ordered_json& d = *doc;
    std::printf("group %s  version %lld  config %s\n", group.c_str(),
                static_cast<long long>(d["version"].get<int64_t>()), d["config"].dump().c_str());
    std::vector<std::vector<std::string>> rows = {{"  MEMBER", "STATE", "METADATA / CONFIG"}};
    for (const char* state : {"active", "inactive"}) {
        for (const auto& member : d[std::string(state) + "_members"]) {
            for (const auto& [name, value] : member.items())
                rows.push_back({"  " + name, state, text_of(value)});
        }
    }
    if (rows.size() == 1) rows.push_back({"  (no members)"});
    print_table(rows);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"chorusctl: the servers, groups and membership of a chorus ensemble"};
    std::string servers;
    int timeout_ms = 2000;
    std::string group;
    app.add_option("--servers", servers,
                   "HOST:PORT[,HOST:PORT...] of groupd servers (one is enough)")
        ->required();
    app.add_option("--timeout-ms", timeout_ms, "how long to wait for each server")
        ->capture_default_str()
        ->check(CLI::Range(1, 600000));
    auto* servers_cmd = app.add_subcommand("servers", "each server's role, epoch, zxid, readiness");
    auto* groups_cmd = app.add_subcommand("groups", "every group and its members");
    auto* group_cmd = app.add_subcommand("group", "one group's members, configs and metadata");
    group_cmd->add_option("name", group, "the group")->required();
    auto* members_cmd = app.add_subcommand("members", "the voters and observers, and who leads");
    uint64_t server_id = 0;
    std::string peer_address;
    bool as_observer = false;
    int change_timeout_s = 120;
    auto* add_cmd = app.add_subcommand(
        "add-server", "add a voter (an observer first, promoted once caught up) or an observer");
    add_cmd->add_option("id", server_id, "the new server's id")->required();
    add_cmd->add_option("address", peer_address, "its peer address HOST:PORT")->required();
    add_cmd->add_flag("--observer", as_observer, "add it as an observer, never to vote");
    auto* remove_cmd = app.add_subcommand("remove-server", "take a voter or an observer out");
    remove_cmd->add_option("id", server_id, "the server's id")->required();
    uint64_t transfer_to = 0;
    auto* transfer_cmd = app.add_subcommand(
        "transfer-leader", "hand leadership to a voter (by default any caught-up one)");
    transfer_cmd->add_option("id", transfer_to, "the voter to lead");
    for (auto* cmd : {add_cmd, remove_cmd, transfer_cmd}) {
        cmd->add_option("--wait-s", change_timeout_s, "how long the change may take")
            ->capture_default_str()
            ->check(CLI::Range(1, 3600));
    }
    app.require_subcommand(0, 1);
    CLI11_PARSE(app, argc, argv);

    const std::vector<std::string> given = split(servers);
    if (given.empty()) {
        std::fprintf(stderr, "chorusctl: --servers names no server\n");
        return 2;
    }
    if (members_cmd->parsed()) return chorus::chorusctl::print_members(given, timeout_ms);
    if (add_cmd->parsed())
        return chorus::chorusctl::add_server(given, server_id, peer_address, as_observer,
                                             change_timeout_s);
    if (remove_cmd->parsed())
        return chorus::chorusctl::remove_server(given, server_id, change_timeout_s);
    if (transfer_cmd->parsed())
        return chorus::chorusctl::transfer_leader(given, transfer_to, change_timeout_s);
    Ensemble e = survey(given, timeout_ms);
    bool ok = true;
    const bool everything = !servers_cmd->parsed() && !groups_cmd->parsed() && !group_cmd->parsed();
    if (everything || servers_cmd->parsed()) ok = print_servers(e) && ok;
    if (e.any_answering.empty()) {
        if (!everything && !servers_cmd->parsed())
            std::fprintf(stderr, "chorusctl: no server answered\n");
        return 1;
    }
    if (group_cmd->parsed()) return print_group(e.any_answering, group, timeout_ms) ? 0 : 1;
    if (everything || groups_cmd->parsed()) {
        if (everything) std::printf("\n");
        if (e.groups.empty()) std::printf("no groups\n");
        for (const std::string& g : e.groups)
            ok = print_group(e.any_answering, g, timeout_ms) && ok;
    }
    return ok ? 0 : 1;
}
