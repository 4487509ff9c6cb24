#include "examples/groupd/document.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "session/client.pb.h"

namespace chorus::groupd {

namespace cpb = chorus::client::pb;
// Keys stay in the order written: documents read the way the API describes them.
using json = nlohmann::ordered_json;

namespace {

// A stored value back as JSON. Values are checked when written; one that
// does not parse (written by another client of the ensemble, through the
// binary protocol) comes back as a string rather than failing the document.
json stored_value(const std::string& text) {
    if (text.empty()) return nullptr;
    try {
        json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
        return value.is_discarded() ? json(text) : value;
    } catch (const json::exception&) {
        return json(text);
    }
}

// JSON text, never throwing: bytes that are not UTF-8 (in a name, say)
// become U+FFFD.
std::string text_of(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// How deeply `text` nests arrays and objects (strings skipped). Checked
// before parsing: printing and copying a JSON value recurse, so a body of
// 60,000 '[' would overflow the stack.
size_t nesting_depth(std::string_view text) {
    size_t depth = 0, deepest = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

std::string zxid_text(const cpb::Zxid& z) {
    return std::to_string(z.epoch()) + ":" + std::to_string(z.counter());
}

}  // namespace

std::optional<std::string> normalise_json(std::string_view text, std::string* error) {
    if (nesting_depth(text) > kMaxJsonDepth) {
        *error = "the body nests arrays and objects deeper than " + std::to_string(kMaxJsonDepth);
        return std::nullopt;
    }
    try {
        // dump() with its default handler refuses text that is not UTF-8.
        return json::parse(text).dump();
    } catch (const json::exception& e) {
        *error = std::string("the body is not valid JSON (UTF-8): ") + e.what();
        return std::nullopt;
    }
}

std::string group_document(const cpb::GroupReply& group,
                           const std::vector<std::string>& endpoints) {
    json doc;
    doc["version"] = group.version();
    doc["config"] = group.has_config() ? stored_value(group.config()) : json(nullptr);
    doc["endpoints"] = endpoints;
    json active = json::array();
    for (const cpb::Member& m : group.active()) {
        // What a member says about itself wins; its config stands in.
        json value = m.has_metadata() && !m.metadata().empty() ? stored_value(m.metadata())
                     : m.has_config()                          ? stored_value(m.config())
                                                               : json(nullptr);
        active.push_back(json::object({{m.name(), std::move(value)}}));
    }
    json inactive = json::array();
    for (const cpb::Member& m : group.inactive())
        inactive.push_back(json::object({{m.name(), stored_value(m.config())}}));
    doc["active_members"] = std::move(active);
    doc["inactive_members"] = std::move(inactive);
    return text_of(doc);
}

std::string error_document(std::string_view message) {
    return text_of(json::object({{"error", std::string(message)}}));
}

std::string status_document(const cpb::StatsReply& stats, bool ready, std::string_view http_address,
                            const std::vector<std::string>& endpoints,
                            const std::vector<std::string>& groups) {
    json doc;
    doc["id"] = stats.server_id();
    doc["http"] = std::string(http_address);
    doc["role"] = stats.role();
    doc["leader"] = stats.leader();
    doc["epoch"] = stats.epoch();
    doc["last_zxid"] = zxid_text(stats.last_zxid());
    doc["delivered"] = zxid_text(stats.delivered());
    doc["ready"] = ready;
    doc["sessions"] = stats.sessions();
    doc["endpoints"] = endpoints;
    doc["groups"] = groups;
    return text_of(doc);
}

}  // namespace chorus::groupd
