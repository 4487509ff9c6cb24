#include "examples/registry/master_http.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "examples/registry/lookups.h"

namespace chorus::registry {

namespace {

using json = nlohmann::json;

net::HttpReply error_reply(int status, const std::string& message) {
    return net::HttpReply(status, net::json_error(message));
}

bool parse_int(std::string_view text, int64_t* out) {
    if (text.empty()) return false;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
    return error == std::errc() && end == text.data() + text.size();
}

// Metadata is JSON when a registry-server wrote it; anything else is
// shown as a string.
json metadata_json(const std::string& metadata) {
    json parsed = json::parse(metadata, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) return parsed;
    return json(std::string(metadata.begin(), metadata.end()));
}

}  // namespace

std::string name_text(const pb::ServerName& name) {
    return name.host() + "," + std::to_string(name.port()) + "," +
           std::to_string(name.start_code());
}

HttpRoute route_of(const net::HttpRequest& request) {
    std::string_view target = request.target, query;
    if (const size_t q = target.find('?'); q != std::string_view::npos) {
        query = target.substr(q + 1);
        target = target.substr(0, q);
    }
    const bool get = request.method == "GET" || request.method == "HEAD";
    pb::RegistryRequest r;
    if (target == "/health" || target == "/ready" || target == "/metrics") {
        if (!get) return error_reply(405, "use GET");
        if (!query.empty()) return error_reply(400, "no query parameters here");
        return HttpOperations{target == "/health"  ? HttpOperations::Page::kHealth
                              : target == "/ready" ? HttpOperations::Page::kReady
                                                   : HttpOperations::Page::kMetrics};
    }
    if (target == "/meta-location" && request.method == "PUT") {
        constexpr std::string_view kKey = "expected-version=";
        int64_t expected = 0;
        if (query.substr(0, kKey.size()) != kKey ||
            !parse_int(query.substr(kKey.size()), &expected) || expected < -1)
            return error_reply(400,
                               "PUT /meta-location needs ?expected-version=N (N >= 0, or -1 for "
                               "none set yet)");
        std::string_view body = request.body;
        while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' '))
            body.remove_suffix(1);
        auto name = ServerName::parse(body);
        if (!name)
            return error_reply(400, "the body must be a server name, \"host,port,startcode\"");
        *r.mutable_set_meta_location()->mutable_server() = to_pb(*name);
        r.mutable_set_meta_location()->set_expected_version(expected);
        return r;
    }
    if (target == "/cluster-id") {
        r.mutable_get_cluster_id();
    } else if (target == "/active-master") {
        r.mutable_get_active_master();
    } else if (target == "/meta-location") {
        r.mutable_get_meta_location();
    } else if (target == "/region-servers") {
        r.mutable_get_region_servers();
    } else if (target == "/masters") {
        r.mutable_get_masters();
    } else {
        return error_reply(404,
                           "no such page: try /cluster-id, /active-master, /meta-location, "
                           "/region-servers, /masters, /health, /ready or /metrics");
    }
    if (!get) return error_reply(405, "use GET");
    if (!query.empty()) return error_reply(400, "no query parameters here");
    return r;
}

int http_status_of(pb::Code code) {
    switch (code) {
        case pb::OK:
            return 200;
        case pb::NOT_FOUND:
            return 404;
        case pb::BAD_VERSION:
            return 409;
        case pb::NOT_SERVING:
        case pb::UNCERTAIN:
            return 503;
        default:
            return 400;
    }
}

net::HttpReply http_reply_of(pb::RegistryRequest::OpCase op, const pb::RegistryResponse& r) {
    json body;
    body["generation"] = r.generation();
    if (r.has_served_by()) body["served_by"] = name_text(r.served_by());
    if (r.code() != pb::OK) {
        body["error"] = r.message();
        body["code"] = pb::Code_Name(r.code());
    }
    const auto meta = [&] {
        if (r.has_meta_location())
            body["meta_location"] = {{"server", name_text(r.meta_location())},
                                     {"version", r.meta_version()}};
    };
    switch (op) {
        case pb::RegistryRequest::kGetClusterId:
            if (r.code() == pb::OK) body["cluster_id"] = r.cluster_id();
            break;
        case pb::RegistryRequest::kGetActiveMaster:
            if (r.has_active_master()) body["active_master"] = name_text(r.active_master());
            break;
        case pb::RegistryRequest::kGetMetaLocation:
        case pb::RegistryRequest::kSetMetaLocation:
            meta();
            break;
        case pb::RegistryRequest::kGetRegionServers: {
            json servers = json::array();
            for (const pb::RegionServer& s : r.region_servers())
                servers.push_back(
                    {{"name", name_text(s.name())}, {"metadata", metadata_json(s.metadata())}});
            if (r.code() == pb::OK) body["region_servers"] = std::move(servers);
            break;
        }
        case pb::RegistryRequest::kGetMasters: {
            if (r.code() != pb::OK) break;
            body["active_master"] =
                r.has_active_master() ? json(name_text(r.active_master())) : json(nullptr);
            json backups = json::array();
            for (const pb::ServerName& b : r.backup_masters()) backups.push_back(name_text(b));
            body["backup_masters"] = std::move(backups);
            break;
        }
        default:
            break;
    }
    return net::HttpReply(http_status_of(r.code()), body.dump() + "\n");
}

}  // namespace chorus::registry
