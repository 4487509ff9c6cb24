// The flags of a ZooKeeper port, shared by the server programs that embed
// session::Server (chorus-server, groupd): --zookeeper HOST:PORT (or the
// config key "zookeeper"), --jute-maxbuffer, --zookeeper-super-digest,
// --zookeeper-max-client-cnxns and --4lw-whitelist. docs/zookeeper.md maps
// each to its zoo.cfg key.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "session/zookeeper/front_end.h"
#include "zab/runtime/node.h"

namespace chorus {

namespace session {
struct ServiceOptions;
}

// What the flags hold until finish_zookeeper_flags.
struct ZooKeeperFlags {
    std::string address;  // --zookeeper; empty: the config key, or no port
    zookeeper::FrontEndOptions options;
};

// Declares the flags on `app`.
void add_zookeeper_flags(CLI::App& app, ZooKeeperFlags& flags);

// After finish_node_options: the front end's options, or nullopt when no
// ZooKeeper port was asked for (neither --zookeeper nor the key "zookeeper"
// in `config_file`, which the program lists in NodeFlags::extra_config_keys).
// Fills in what conf and dirs report from `node` and `service`, and turns on
// the nodes ZooKeeper clients expect (/zookeeper) in `service`.
// kInvalidArgument for an address that does not parse.
Result<std::optional<zookeeper::FrontEndOptions>> finish_zookeeper_flags(
    const ZooKeeperFlags& flags, const std::string& config_file, const NodeOptions& node,
    session::ServiceOptions& service);

}  // namespace chorus
