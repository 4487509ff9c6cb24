// groupd's HTTP API, as routes: what a request's method and target ask for,
// or why it is refused. Pure: no sockets, no JSON; the server
// (examples/groupd/api.h) maps each route onto the session service.
//
//   PUT    /{group}/{member}[?timeout=SECONDS]  join (metadata in the body)
//   HEAD   /{group}/{member}                    heartbeat
//   GET    /{group}/{member}                    heartbeat + the group document
//   DELETE /{group}/{member}                    leave
//   PUT    /{group}/{member}/config             per-member config
//   PUT    /{group}/config                      group-wide config
//   GET    /{group}[?wait-version=N]            the group document (long-poll with wait-version)
//   GET    /health, /ready, /metrics            operations
//   GET    /                                    this server's status and the groups
//
// So "config" cannot be a member's name, and "health", "ready", "metrics"
// and "membership" cannot be a group's name (they are refused with 400;
// /membership... is the server's membership, cli/membership_admin.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace chorus::groupd {

struct Route {
    enum class Kind : uint8_t {
        kJoin,
        kHeartbeat,          // HEAD
        kHeartbeatDocument,  // GET /{group}/{member}
        kLeave,
        kMemberConfig,
        kGroupConfig,
        kGroupDocument,
        kHealth,
        kReady,
        kMetrics,
        kStatus,  // GET /: this server and the groups (for chorusctl)
    } kind;
    std::string group;
    std::string member;
    std::optional<uint64_t> timeout_s;    // kJoin
    std::optional<int64_t> wait_version;  // kGroupDocument
};

struct RouteError {
    int status;  // 400, 404 or 405
    std::string message;
};

std::variant<Route, RouteError> parse_route(std::string_view method, std::string_view target);

// "%2F" -> "/", "+" stays "+"; nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace chorus::groupd
