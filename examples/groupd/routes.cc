#include "examples/groupd/routes.h"

#include <charconv>
#include <vector>

#include "session/groups.h"

namespace chorus::groupd {

namespace {

std::optional<int> hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return std::nullopt;
}

template <class T>
std::optional<T> parse_number(std::string_view text) {
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

// Well-formed UTF-8 (names end up in JSON documents): no overlong forms,
// no surrogates, nothing past U+10FFFF.
bool valid_utf8(std::string_view text) {
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    for (size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        size_t extra = 0;
        uint32_t code = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            code = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            code = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            code = c & 0x07;
        } else {
            return false;
        }
        if (text.size() - i <= extra) return false;  // cut short
        for (size_t k = 1; k <= extra; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) return false;
            code = (code << 6) | (next & 0x3F);
        }
        if (code < kMin[extra] || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF)
            return false;
        i += extra + 1;
    }
    return true;
}

RouteError bad(std::string message) { return RouteError{400, std::move(message)}; }

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) return std::nullopt;  // needs two hex digits
        const auto hi = hex_value(text[i + 1]);
        const auto lo = hex_value(text[i + 2]);
        if (!hi || !lo) return std::nullopt;
        out += static_cast<char>(*hi * 16 + *lo);
        i += 2;
    }
    return out;
}

std::variant<Route, RouteError> parse_route(std::string_view method, std::string_view target) {
    if (target.empty() || target[0] != '/') return bad("the target must start with /");
    std::string_view path = target, query;
    if (const size_t q = target.find('?'); q != std::string_view::npos) {
        path = target.substr(0, q);
        query = target.substr(q + 1);
    }
    // Segments, each decoded and checked as a name (a decoded '/' is no name).
    std::vector<std::string> segments;
    for (std::string_view rest = path.substr(1); !rest.empty() || segments.empty();) {
        const size_t slash = rest.find('/');
        auto decoded = percent_decode(rest.substr(0, slash));
        if (!decoded) return bad("a malformed %-escape in the path");
        segments.push_back(std::move(*decoded));
        if (slash == std::string_view::npos) break;
        rest = rest.substr(slash + 1);
        if (rest.empty()) segments.emplace_back();  // a trailing slash: an empty name
    }
    // Query parameters: only timeout and wait-version are known.
    std::optional<std::string> timeout, wait_version;
    for (std::string_view rest = query; !rest.empty();) {
        const size_t amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        const size_t eq = pair.find('=');
        const std::string_view key = pair.substr(0, eq);
        const std::string value(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
        if (key == "timeout") {
            timeout = value;
        } else if (key == "wait-version") {
            wait_version = value;
        } else {
            return bad("unknown query parameter '" + std::string(key) + "'");
        }
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }

    if (path == "/") {
        if (timeout || wait_version) return bad("/ takes no query parameters");
        if (method != "GET") return RouteError{405, "/ supports GET"};
        return Route{Route::Kind::kStatus, {}, {}, {}, {}};
    }
    const bool operation =
        segments.size() == 1 &&
        (segments[0] == "health" || segments[0] == "ready" || segments[0] == "metrics");
    if (operation && method != "GET") return RouteError{405, "/" + segments[0] + " supports GET"};
    if (segments.size() == 1 && method == "GET") {
        if (segments[0] == "health") return Route{Route::Kind::kHealth, {}, {}, {}, {}};
        if (segments[0] == "ready") return Route{Route::Kind::kReady, {}, {}, {}, {}};
        if (segments[0] == "metrics") return Route{Route::Kind::kMetrics, {}, {}, {}, {}};
    }
    for (const std::string& s : segments) {
        if (!valid_utf8(s)) return bad("a name must be UTF-8");
        if (!session::valid_name(s)) {
            return bad(s.empty() ? "an empty name in the path"
                                 : "a name must be 1-128 bytes with no '/' or control characters");
        }
    }
    const std::string& group = segments[0];
    // "membership": the server's membership routes (cli/membership_admin.h),
    // answered before the group API.
    if (group == "health" || group == "ready" || group == "metrics" || group == "membership")
        return bad("'" + group + "' is reserved and cannot name a group");
    if (timeout && !(segments.size() == 2 && method == "PUT"))
        return bad("timeout applies only to a join (PUT /{group}/{member})");
    if (wait_version && !(segments.size() == 1 && method == "GET"))
        return bad("wait-version applies only to GET /{group}");

    if (segments.size() == 1) {
        if (method != "GET") return RouteError{405, "a group supports GET"};
        Route r{Route::Kind::kGroupDocument, group, {}, {}, {}};
        if (wait_version) {
            r.wait_version = parse_number<int64_t>(*wait_version);
            if (!r.wait_version || *r.wait_version < 0)
                return bad("wait-version must be a whole number, 0 or more");
        }
        return r;
    }
    if (segments.size() == 2 && segments[1] == "config") {
        if (method != "PUT") return RouteError{405, "a group's config supports PUT"};
        return Route{Route::Kind::kGroupConfig, group, {}, {}, {}};
    }
    if (segments.size() == 2) {
        const std::string& member = segments[1];
        if (method == "PUT") {
            Route r{Route::Kind::kJoin, group, member, {}, {}};
            if (timeout) {
                r.timeout_s = parse_number<uint64_t>(*timeout);
                if (!r.timeout_s || *r.timeout_s == 0 || *r.timeout_s > 3600)
                    return bad("timeout must be a whole number of seconds, 1-3600");
            }
            return r;
        }
        if (method == "HEAD") return Route{Route::Kind::kHeartbeat, group, member, {}, {}};
        if (method == "GET") return Route{Route::Kind::kHeartbeatDocument, group, member, {}, {}};
        if (method == "DELETE") return Route{Route::Kind::kLeave, group, member, {}, {}};
        return RouteError{405, "a member supports PUT, HEAD, GET and DELETE"};
    }
    if (segments.size() == 3 && segments[2] == "config") {
        if (method != "PUT") return RouteError{405, "a member's config supports PUT"};
        return Route{Route::Kind::kMemberConfig, group, segments[1], {}, {}};
    }
    return RouteError{404, "no such resource"};
}

}  // namespace chorus::groupd
