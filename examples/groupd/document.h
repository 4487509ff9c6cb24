// The JSON groupd answers with. Pure: built from the session service's
// replies, no sockets or clocks.
//
// Members' metadata and configs are stored as the JSON text the client sent,
// checked and normalised when written (normalise_json), so they come back
// as JSON values — not as strings holding JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::client::pb {
class GroupReply;
class StatsReply;
}  // namespace chorus::client::pb

namespace chorus::groupd {

inline constexpr size_t kMaxJsonDepth = 64;

// `text` as compact JSON (numbers in the library's canonical form), or
// nullopt with a message in `error` when it is not one JSON value in UTF-8
// or nests deeper than kMaxJsonDepth.
std::optional<std::string> normalise_json(std::string_view text, std::string* error);

// {"version": N, "config": ..., "endpoints": [...],
//  "active_members": [{"name": metadata or config or null}, ...],
//  "inactive_members": [{"name": config}, ...]}
std::string group_document(const client::pb::GroupReply& group,
                           const std::vector<std::string>& endpoints);

// {"error": message}
std::string error_document(std::string_view message);

// GET /: this server's role and state, and the groups it knows. `ready` as
// /ready answers: serving, and its own address among `endpoints`.
std::string status_document(const client::pb::StatsReply& stats, bool ready,
                            std::string_view http_address,
                            const std::vector<std::string>& endpoints,
                            const std::vector<std::string>& groups);

}  // namespace chorus::groupd
