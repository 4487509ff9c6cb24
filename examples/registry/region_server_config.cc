#include "examples/registry/region_server_config.h"

#include <nlohmann/json.hpp>
#include <toml.hpp>

#include "examples/registry/registry_cache.h"

namespace chorus::registry {

namespace {

bool is_endpoint(const std::string& text) {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    const std::string port = text.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos)
        return false;
    const unsigned long n = std::stoul(port);
    return n >= 1 && n <= 65535;
}

}  // namespace

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        std::string part = text.substr(start, comma - start);
        const size_t first = part.find_first_not_of(" \t");
        const size_t last = part.find_last_not_of(" \t");
        if (first != std::string::npos) out.push_back(part.substr(first, last - first + 1));
        start = comma + 1;
    }
    return out;
}

Status read_region_server_config(const std::string& file, RegionServerConfig* config) {
    toml::value root;
    try {
        root = toml::parse(file);
    } catch (const std::exception& e) {
        return Status::invalid_argument("--config " + file + ": " + e.what());
    }
    if (!root.is_table()) return Status::invalid_argument("--config " + file + ": not a table");
    const auto bad = [&](const std::string& key, const std::string& why) {
        return Status::invalid_argument("--config " + file + ": " + key + ": " + why);
    };
    for (const auto& [key, value] : root.as_table()) {
        try {
            if (key == "masters") {
                if (value.is_string()) {
                    config->masters = split_list(value.as_string());
                } else {
                    config->masters = toml::get<std::vector<std::string>>(value);
                }
            } else if (key == "host") {
                config->host = toml::get<std::string>(value);
            } else if (key == "http") {
                config->http = toml::get<std::string>(value);
            } else if (key == "metadata") {
                config->metadata = toml::get<std::string>(value);
            } else if (key == "port" || key == "max_failures") {
                const int64_t n = toml::get<int64_t>(value);
                if (n < 0 || n > UINT32_MAX) return bad(key, "out of range");
                (key == "port" ? config->port : config->max_failures) = static_cast<uint32_t>(n);
            } else if (key == "session_timeout_ms" || key == "backoff_initial_ms" ||
                       key == "backoff_max_ms" || key == "drain_timeout_ms") {
                const int64_t n = toml::get<int64_t>(value);
                if (n < 0) return bad(key, "must not be negative");
                uint64_t* out = key == "session_timeout_ms"   ? &config->session_timeout_ms
                                : key == "backoff_initial_ms" ? &config->backoff_initial_ms
                                : key == "backoff_max_ms"     ? &config->backoff_max_ms
                                                              : &config->drain_timeout_ms;
                *out = static_cast<uint64_t>(n);
            } else {
                return bad(key,
                           "not a key registry-server knows (masters, host, port, http, "
                           "session_timeout_ms, max_failures, backoff_initial_ms, backoff_max_ms, "
                           "drain_timeout_ms, metadata)");
            }
        } catch (const std::exception&) {
            return bad(key, "a value of the wrong type");
        }
    }
    return Status::ok();
}

Status check_region_server_config(const RegionServerConfig& c) {
    const auto bad = [](const std::string& m) { return Status::invalid_argument(m); };
    if (c.masters.empty())
        return bad("--masters is missing: the masters' client ports, HOST:PORT,...");
    for (const std::string& m : c.masters)
        if (!is_endpoint(m)) return bad("--masters: '" + m + "' is not HOST:PORT");
    if (c.port < 1 || c.port > 65535) return bad("--port must be 1-65535 (the server's own port)");
    if (!ServerName::parse(c.host + "," + std::to_string(c.port) + ",0"))
        return bad("--host '" + c.host + "' cannot be part of a server name (a comma or slash?)");
    if (c.http.empty()) return bad("--http is missing (HOST:PORT for /health and /metrics)");
    if (!is_endpoint(c.http)) return bad("--http: '" + c.http + "' is not HOST:PORT");
    if (c.session_timeout_ms < 100 || c.session_timeout_ms > 3600000)
        return bad("--session-timeout-ms must be 100-3600000");
    if (c.max_failures < 1) return bad("--max-failures must be at least 1");
    if (c.backoff_initial_ms < 1 || c.backoff_initial_ms > c.backoff_max_ms)
        return bad("--backoff-initial-ms must be at least 1 and at most --backoff-max-ms");
    if (c.drain_timeout_ms > 3600000) return bad("--drain-timeout-ms must be at most 3600000");
    const nlohmann::json metadata = nlohmann::json::parse(c.metadata, nullptr, false);
    if (metadata.is_discarded() || !metadata.is_object())
        return bad("--metadata must be a JSON object");
    return Status::ok();
}

}  // namespace chorus::registry
