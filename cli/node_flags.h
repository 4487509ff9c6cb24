// Server configuration: a TOML file and command-line flags (flags win).
//
// Every server program takes the same core flags:
//   --id N  --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003
//   --data-dir DIR  --config FILE  --bootstrap  --tick-ms  --election-timeout-ticks ...
// or, for a server joining a running ensemble (docs/operations.md):
//   --id 4 --peers 4=127.0.0.1:7004 --join 127.0.0.1:8001   (a member's HTTP/admin port)
// and the same keys in the file (id, peers, data_dir, tick_ms,
// election_timeout_ticks, heartbeat_interval_ticks, max_inflight_proposals,
// max_batch_txns, snapshot_every_txns, snapshot_every_bytes,
// snapshot_send_bytes_per_s, log_tail_keep_txns, max_frame_bytes). A key it
// does not know is refused, and so is `bootstrap`: that one is a flag only,
// given for the first start of a new ensemble and never left on. See
// docs/operations.md.
#pragma once

#include <CLI/CLI.hpp>
#include <set>
#include <string>

#include "zab/runtime/node.h"

namespace chorus {

// What the flags hold until the file has been read.
struct NodeFlags {
    std::string config_file;
    NodeOptions options;
    std::string peers;
    std::string join;  // --join HOST:PORT
    // Keys of the config file that the program reads itself (groupd's
    // "http"): not refused as unknown.
    std::set<std::string> extra_config_keys;
};

// Declares the core flags on `app`.
void add_node_flags(CLI::App& app, NodeFlags& flags);

// After app.parse(): reads the config file (if any), lets flags given on the
// command line win, and checks the result. kInvalidArgument with a message
// a person can act on: duplicate ids, own id not among the peers, an
// address that does not parse, a data directory that is not writable,
// timeouts that make no sense, --join with --bootstrap or with --peers
// naming other servers. With --join, options.join asks that member for the
// membership (cli/join.h) when the server first starts.
Result<NodeOptions> finish_node_options(const CLI::App& app, const NodeFlags& flags);

// A string key the program reads itself (one of flags.extra_config_keys)
// from the config file `file`: "" if there is no file, no such key, or the
// file does not parse (finish_node_options reports a broken file).
std::string config_string(const std::string& file, const std::string& key);

// "1=127.0.0.1:7001,2=..." -> peers.
Result<std::map<ServerId, net::Endpoint>> parse_peers(const std::string& text);
Result<net::Endpoint> parse_endpoint(const std::string& text);

}  // namespace chorus
