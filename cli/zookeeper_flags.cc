#include "cli/zookeeper_flags.h"

#include "cli/node_flags.h"
#include "session/server/session_service.h"

namespace chorus {

void add_zookeeper_flags(CLI::App& app, ZooKeeperFlags& flags) {
    zookeeper::FrontEndOptions& o = flags.options;
    app.add_option("--zookeeper", flags.address,
                   "HOST:PORT to serve ZooKeeper's client protocol on (or zookeeper = \"...\" "
                   "in --config)");
    app.add_option("--jute-maxbuffer", o.max_frame_bytes,
                   "largest ZooKeeper request frame, as ZooKeeper's jute.maxbuffer")
        ->capture_default_str()
        ->check(CLI::Range(size_t{1024}, size_t{64} << 20));
    app.add_option("--zookeeper-super-digest", o.super_digest,
                   "the ZooKeeper superuser's digest id, super:BASE64(SHA1(super:PASSWORD)) "
                   "(ZooKeeper's zookeeper.DigestAuthenticationProvider.superDigest): a client "
                   "that proves it with addauth passes every ACL");
    app.add_option("--zookeeper-max-client-cnxns", o.max_connections_per_address,
                   "ZooKeeper connections at once from one IP address, as ZooKeeper's "
                   "maxClientCnxns (0: no limit)")
        ->capture_default_str();
    app.add_option("--4lw-whitelist", o.four_letter_words,
                   "ZooKeeper four-letter words answered on the ZooKeeper port, comma-separated, "
                   "or * for all (4lw.commands.whitelist)")
        ->capture_default_str();
}

Result<std::optional<zookeeper::FrontEndOptions>> finish_zookeeper_flags(
    const ZooKeeperFlags& flags, const std::string& config_file, const NodeOptions& node,
    session::ServiceOptions& service) {
    const std::string address =
        flags.address.empty() ? config_string(config_file, "zookeeper") : flags.address;
    if (address.empty()) return std::optional<zookeeper::FrontEndOptions>();
    auto endpoint = parse_endpoint(address);
    if (!endpoint.is_ok())
        return Status::invalid_argument("--zookeeper: " + endpoint.status().message());
    zookeeper::FrontEndOptions o = flags.options;
    o.endpoint = endpoint.value();
    service.zookeeper_system_nodes = true;
    // What the four-letter words conf and dirs report.
    o.facts.server_id = node.id;
    o.facts.data_dir = node.data_dir;
    o.facts.tick_ms = node.tick_ms;
    o.facts.min_session_timeout_ms = service.min_session_timeout_ms;
    o.facts.max_session_timeout_ms = service.max_session_timeout_ms;
    for (const auto& [id, peer] : node.peers) o.facts.peers.emplace_back(id, peer.str());
    return std::optional<zookeeper::FrontEndOptions>(std::move(o));
}

}  // namespace chorus
