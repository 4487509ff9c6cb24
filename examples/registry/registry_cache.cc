#include "examples/registry/registry_cache.h"

#include <charconv>

namespace chorus::registry {
namespace {

constexpr std::string_view kRoot = "/hbase";
constexpr std::string_view kClusterId = "/hbase/hbaseid";
constexpr std::string_view kMaster = "/hbase/master";
constexpr std::string_view kBackups = "/hbase/backup-masters/";
constexpr std::string_view kMeta = "/hbase/meta-region-server";
constexpr std::string_view kRegionServers = "/hbase/rs/";

// The child name of `path` under `dir` (which ends in '/'), if it is one
// level below it.
std::optional<std::string_view> child_of(std::string_view path, std::string_view dir) {
    if (path.size() <= dir.size() || path.substr(0, dir.size()) != dir) return std::nullopt;
    std::string_view name = path.substr(dir.size());
    if (name.find('/') != std::string_view::npos) return std::nullopt;
    return name;
}

template <typename T>
bool parse_number(std::string_view text, T* out) {
    if (text.empty()) return false;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
    return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string ServerName::str() const {
    return host + "," + std::to_string(port) + "," + std::to_string(start_code);
}

std::optional<ServerName> ServerName::parse(std::string_view text) {
    const size_t first = text.find(',');
    if (first == std::string_view::npos || first == 0) return std::nullopt;
    const size_t second = text.find(',', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    ServerName name;
    name.host = std::string(text.substr(0, first));
    if (name.host.find('/') != std::string::npos) return std::nullopt;
    uint32_t port = 0;
    if (!parse_number(text.substr(first + 1, second - first - 1), &port) || port == 0 ||
        port > 65535)
        return std::nullopt;
    name.port = static_cast<uint16_t>(port);
    if (!parse_number(text.substr(second + 1), &name.start_code)) return std::nullopt;
    return name;
}

void RegistryCache::node_set(std::string_view path, std::string_view data, int64_t version,
                             uint64_t session) {
    if (path == kClusterId) {
        view_.cluster_id = std::string(data);
    } else if (path == kMaster || path == kMeta) {
        std::optional<ServerName> name = ServerName::parse(data);
        if (!name) {
            // The node no longer says who: neither does the view (the old
            // value would be a lie).
            ++ignored_;
            const bool had =
                path == kMaster ? view_.active_master.has_value() : view_.meta.has_value();
            if (path == kMaster) {
                view_.active_master.reset();
                view_.active_master_session = 0;
            } else {
                view_.meta.reset();
            }
            if (had) ++view_.generation;
            return;
        }
        if (path == kMaster) {
            view_.active_master = std::move(name);
            view_.active_master_session = session;
        } else {
            view_.meta = MetaLocation{std::move(*name), version};
        }
    } else if (auto backup = child_of(path, kBackups)) {
        std::optional<ServerName> name = ServerName::parse(*backup);
        if (!name) {
            ++ignored_;
            return;
        }
        backups_[std::string(*backup)] = std::move(*name);
        refresh_backups();
    } else if (auto server = child_of(path, kRegionServers)) {
        if (!ServerName::parse(*server)) {
            ++ignored_;
            return;
        }
        view_.region_servers[std::string(*server)] = std::string(data);
    } else {
        // /hbase and its two directories hold nothing of the view.
        if (path != kRoot && path != kBackups.substr(0, kBackups.size() - 1) &&
            path != kRegionServers.substr(0, kRegionServers.size() - 1))
            ++ignored_;
        return;
    }
    ++view_.generation;
}

void RegistryCache::refresh_backups() {
    view_.backup_masters.clear();
    for (const auto& [key, name] : backups_) view_.backup_masters.push_back(name);
}

void RegistryCache::node_deleted(std::string_view path) {
    if (path == kClusterId) {
        view_.cluster_id.clear();
    } else if (path == kMaster) {
        view_.active_master.reset();
        view_.active_master_session = 0;
    } else if (path == kMeta) {
        view_.meta.reset();
    } else if (auto backup = child_of(path, kBackups)) {
        if (backups_.erase(std::string(*backup)) == 0) return;
        refresh_backups();
    } else if (auto server = child_of(path, kRegionServers)) {
        if (view_.region_servers.erase(std::string(*server)) == 0) return;
    } else {
        return;
    }
    ++view_.generation;
}

void RegistryCache::clear() {
    const uint64_t generation = view_.generation;
    view_ = RegistryView{};
    backups_.clear();
    view_.generation = generation + 1;
}

}  // namespace chorus::registry
