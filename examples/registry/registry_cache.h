// The master registry's view of the cluster (issue 16, docs: HBASE-18095),
// as every master keeps it in memory and answers clients from it: the
// cluster id, the active master, the backup masters, the meta location and
// the live region servers. Built from the nodes under /hbase, at HBase's own
// paths so that zkCli shows the same:
//
//   /hbase/hbaseid                          the cluster id (created once)
//   /hbase/master                           the active master (ephemeral)
//   /hbase/backup-masters/<server name>     a standby master (ephemeral)
//   /hbase/meta-region-server               where meta is (set with versions)
//   /hbase/rs/<server name>                 a live region server (ephemeral)
//
// A server name is HBase's "host,port,startcode". Pure: the master feeds it
// every change under /hbase (a persistent recursive watch) after a full
// read, and starts it over (clear) when changes may have been missed.
//
// Not thread-safe: one owner feeds it and copies views out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::registry {

// HBase's name of a server process: where it listens, and when it started
// (so that a restarted server is a new name).
struct ServerName {
    std::string host;
    uint16_t port = 0;
    uint64_t start_code = 0;

    std::string str() const;  // "host,port,startcode"
    // "host,port,startcode" with a port of 1-65535 and a decimal start code;
    // nullopt otherwise (the host may not hold a comma or a slash).
    static std::optional<ServerName> parse(std::string_view text);
    bool operator==(const ServerName&) const = default;
};

struct MetaLocation {
    ServerName server;
    int64_t version = 0;  // of /hbase/meta-region-server: the next write names it
};

// What a master answers lookups from.
struct RegistryView {
    std::string cluster_id;  // empty until /hbase/hbaseid exists
    std::optional<ServerName> active_master;
    uint64_t active_master_session = 0;      // the session /hbase/master is ephemeral to
    std::vector<ServerName> backup_masters;  // ordered by name
    std::optional<MetaLocation> meta;
    std::map<std::string, std::string> region_servers;  // server name -> its metadata
    // Counts the changes applied (clear included): a view with a higher
    // generation is newer.
    uint64_t generation = 0;
};

class RegistryCache {
 public:
    // The node at `path` now holds `data` at `version` (created or changed),
    // ephemeral to `session` (0: persistent). Paths outside the layout
    // above, and names that do not parse, are ignored (and counted).
    void node_set(std::string_view path, std::string_view data, int64_t version,
                  uint64_t session = 0);
    // The node at `path` is gone.
    void node_deleted(std::string_view path);
    // Everything forgotten, to be read again.
    void clear();

    const RegistryView& view() const { return view_; }
    uint64_t ignored() const { return ignored_; }

 private:
    void refresh_backups();

    RegistryView view_;
    std::map<std::string, ServerName> backups_;  // by name
    uint64_t ignored_ = 0;
};

}  // namespace chorus::registry
