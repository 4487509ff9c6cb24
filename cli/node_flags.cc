#include "cli/node_flags.h"

#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <filesystem>
#include <set>
#include <toml.hpp>

#include "cli/join.h"

namespace chorus {

Result<net::Endpoint> parse_endpoint(const std::string& text) { return net::parse_endpoint(text); }

Result<std::map<ServerId, net::Endpoint>> parse_peers(const std::string& text) {
    std::map<ServerId, net::Endpoint> peers;
    std::set<std::string> addresses;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        const std::string item = text.substr(start, comma - start);
        start = comma + 1;
        if (item.empty()) continue;
        const size_t eq = item.find('=');
        const std::string id_text = eq == std::string::npos ? "" : item.substr(0, eq);
        if (id_text.empty() || id_text.find_first_not_of("0123456789") != std::string::npos ||
            id_text.size() > 18 || std::stoull(id_text) == 0) {
            return Status::invalid_argument("peer '" + item +
                                            "' is not ID=HOST:PORT with an ID of 1 or more");
        }
        const ServerId id = std::stoull(id_text);
        auto endpoint = parse_endpoint(item.substr(eq + 1));
        if (!endpoint.is_ok())
            return Status::invalid_argument("peer " + id_text + ": " + endpoint.status().message());
        if (peers.count(id))
            return Status::invalid_argument("server id " + id_text + " appears twice in the peers");
        if (!addresses.insert(endpoint->str()).second) {
            return Status::invalid_argument("address " + endpoint->str() +
                                            " appears twice in the peers");
        }
        peers[id] = endpoint.value();
    }
    if (peers.empty())
        return Status::invalid_argument("no peers given (--peers 1=HOST:PORT,2=HOST:PORT,...)");
    return peers;
}

void add_node_flags(CLI::App& app, NodeFlags& f) {
    NodeOptions& o = f.options;
    app.add_option("--config", f.config_file,
                   "a TOML file with any of the settings below (flags win)");
    app.add_option("--id", o.id, "this server's id (one of the ids in --peers)");
    app.add_option("--peers", f.peers,
                   "every server of the ensemble: 1=127.0.0.1:7001,2=127.0.0.1:7002,...");
    app.add_option("--data-dir", o.data_dir, "where this server keeps its log and snapshots");
    app.add_option("--join", f.join,
                   "join a running ensemble: HOST:PORT of a member's HTTP or admin port, asked "
                   "for the membership at the first start (then --peers names only this "
                   "server)");
    app.add_flag(
        "--bootstrap", o.bootstrap,
        "first start of a new ensemble: an empty data dir may vote (never use it for a server "
        "whose disk was lost)");
    app.add_option("--tick-ms", o.tick_ms, "length of one tick")->capture_default_str();
    app.add_option("--election-timeout-ticks", o.election_timeout_ticks,
                   "silence (in ticks) after which a follower elects, or a leader steps down")
        ->capture_default_str();
    app.add_option("--heartbeat-interval-ticks", o.heartbeat_interval_ticks,
                   "ticks between leader pings")
        ->capture_default_str();
    app.add_option("--max-inflight-proposals", o.max_inflight_proposals,
                   "proposal batches in flight (window)")
        ->capture_default_str();
    app.add_option("--max-batch-txns", o.max_batch_txns, "transactions per proposal batch")
        ->capture_default_str();
    app.add_option("--snapshot-every-txns", o.snapshot_every_txns,
                   "take a snapshot after this many transactions")
        ->capture_default_str();
    app.add_option("--snapshot-every-bytes", o.snapshot_every_bytes,
                   "or after this many bytes of transactions")
        ->capture_default_str();
    app.add_option("--snapshot-send-bytes-per-s", o.snapshot_send_bytes_per_s,
                   "throttle for sending a snapshot to a follower that is far behind")
        ->capture_default_str();
    app.add_option("--log-tail-keep-txns", o.log_tail_keep_txns,
                   "log entries kept below a snapshot for DIFF sync")
        ->capture_default_str();
    app.add_option("--max-frame-bytes", o.max_frame_bytes, "largest peer frame accepted")
        ->capture_default_str();
    app.add_option("--transfer-on-stop", o.transfer_on_stop,
                   "a leader stopping (SIGTERM) hands leadership to a caught-up voter first, so "
                   "writes stall for a round trip, not an election (false: it only says "
                   "goodbye)")
        ->capture_default_str();
}

namespace {

template <typename T>
void read_key(const toml::value& file, const char* key, T* out) {
    if (file.contains(key)) *out = toml::find<T>(file, key);
}

}  // namespace

std::string config_string(const std::string& file, const std::string& key) {
    if (file.empty()) return "";
    try {
        const toml::value v = toml::parse(file);
        return v.contains(key) ? toml::find<std::string>(v, key) : "";
    } catch (const std::exception&) {
        return "";
    }
}

Result<NodeOptions> finish_node_options(const CLI::App& app, const NodeFlags& flags) {
    NodeOptions o;
    std::string peers_text;
    std::string join;
    if (!flags.config_file.empty()) {
        try {
            const toml::value file = toml::parse(flags.config_file);
            // A key we do not know is a typo or a setting of another
            // program: say so rather than run without it.
            static const char* const kKnown[] = {"id",
                                                 "peers",
                                                 "data_dir",
                                                 "join",
                                                 "tick_ms",
                                                 "election_timeout_ticks",
                                                 "heartbeat_interval_ticks",
                                                 "max_inflight_proposals",
                                                 "max_batch_txns",
                                                 "snapshot_every_txns",
                                                 "log_tail_keep_txns",
                                                 "snapshot_every_bytes",
                                                 "snapshot_send_bytes_per_s",
                                                 "max_frame_bytes",
                                                 "transfer_on_stop"};
            for (const auto& [key, value] : toml::get<toml::table>(file)) {
                if (key == "bootstrap") {
                    return Status::invalid_argument(
                        "config file " + flags.config_file +
                        ": bootstrap cannot be set in a config file; pass --bootstrap on the "
                        "command line, for the first start of a new ensemble only (left on, a "
                        "server whose disk is later lost would vote with an empty history)");
                }
                if (std::find_if(std::begin(kKnown), std::end(kKnown),
                                 [&](const char* k) { return key == k; }) == std::end(kKnown) &&
                    !flags.extra_config_keys.count(key)) {
                    return Status::invalid_argument("config file " + flags.config_file +
                                                    ": unknown setting '" + key + "'");
                }
            }
            read_key(file, "id", &o.id);
            read_key(file, "peers", &peers_text);
            read_key(file, "data_dir", &o.data_dir);
            read_key(file, "join", &join);
            read_key(file, "tick_ms", &o.tick_ms);
            read_key(file, "election_timeout_ticks", &o.election_timeout_ticks);
            read_key(file, "heartbeat_interval_ticks", &o.heartbeat_interval_ticks);
            read_key(file, "max_inflight_proposals", &o.max_inflight_proposals);
            read_key(file, "max_batch_txns", &o.max_batch_txns);
            read_key(file, "snapshot_every_txns", &o.snapshot_every_txns);
            read_key(file, "log_tail_keep_txns", &o.log_tail_keep_txns);
            read_key(file, "snapshot_every_bytes", &o.snapshot_every_bytes);
            read_key(file, "snapshot_send_bytes_per_s", &o.snapshot_send_bytes_per_s);
            read_key(file, "max_frame_bytes", &o.max_frame_bytes);
            read_key(file, "transfer_on_stop", &o.transfer_on_stop);
        } catch (const std::exception& e) {
            return Status::invalid_argument("config file " + flags.config_file + ": " + e.what());
        }
    }
    const NodeOptions& f = flags.options;
    auto given = [&app](const char* name) { return app.count(name) > 0; };
    if (given("--id")) o.id = f.id;
    if (given("--peers")) peers_text = flags.peers;
    if (given("--data-dir")) o.data_dir = f.data_dir;
    if (given("--join")) join = flags.join;
    if (given("--bootstrap")) o.bootstrap = f.bootstrap;
    if (given("--tick-ms")) o.tick_ms = f.tick_ms;
    if (given("--election-timeout-ticks")) o.election_timeout_ticks = f.election_timeout_ticks;
    if (given("--heartbeat-interval-ticks"))
        o.heartbeat_interval_ticks = f.heartbeat_interval_ticks;
    if (given("--max-inflight-proposals")) o.max_inflight_proposals = f.max_inflight_proposals;
    if (given("--max-batch-txns")) o.max_batch_txns = f.max_batch_txns;
    if (given("--snapshot-every-txns")) o.snapshot_every_txns = f.snapshot_every_txns;
    if (given("--log-tail-keep-txns")) o.log_tail_keep_txns = f.log_tail_keep_txns;
    if (given("--snapshot-every-bytes")) o.snapshot_every_bytes = f.snapshot_every_bytes;
    if (given("--snapshot-send-bytes-per-s"))
        o.snapshot_send_bytes_per_s = f.snapshot_send_bytes_per_s;
    if (given("--max-frame-bytes")) o.max_frame_bytes = f.max_frame_bytes;
    if (given("--transfer-on-stop")) o.transfer_on_stop = f.transfer_on_stop;

    if (o.id == 0) return Status::invalid_argument("--id is missing (this server's id, 1 or more)");
    auto peers = parse_peers(peers_text);
    if (!peers.is_ok()) return peers.status();
    o.peers = peers.value();
    if (!o.peers.count(o.id)) {
        return Status::invalid_argument("--id " + std::to_string(o.id) +
                                        " is not among the peers (" + peers_text + ")");
    }
    if (!join.empty()) {
        auto member = parse_endpoint(join);
        if (!member.is_ok())
            return Status::invalid_argument("--join: " + member.status().message());
        if (o.bootstrap) {
            return Status::invalid_argument(
                "--join and --bootstrap exclude each other: --join adds this server to a "
                "running ensemble, --bootstrap starts a new one");
        }
        if (o.peers.size() != 1) {
            return Status::invalid_argument(
                "with --join, --peers names only this server (" + std::to_string(o.id) +
                "=HOST:PORT, its peer address): the others are learned from " + join);
        }
        o.join = [address = member->str()] { return fetch_membership(address); };
    }
    if (o.data_dir.empty()) return Status::invalid_argument("--data-dir is missing");
    std::error_code ec;
    std::filesystem::create_directories(o.data_dir, ec);
    if (ec || ::access(o.data_dir.c_str(), W_OK) != 0) {
        return Status::invalid_argument("data dir " + o.data_dir + " is not writable" +
                                        (ec ? ": " + ec.message() : std::string()));
    }
    if (o.tick_ms == 0 || o.tick_ms > 10000)
        return Status::invalid_argument("--tick-ms must be 1..10000");
    if (o.heartbeat_interval_ticks == 0)
        return Status::invalid_argument("--heartbeat-interval-ticks must be 1 or more");
    if (o.election_timeout_ticks < 2 * o.heartbeat_interval_ticks + 1) {
        return Status::invalid_argument(
            "--election-timeout-ticks (" + std::to_string(o.election_timeout_ticks) +
            ") must exceed two heartbeat intervals (" + std::to_string(o.heartbeat_interval_ticks) +
            " ticks each), or every pause looks like a failure");
    }
    if (o.max_inflight_proposals == 0 || o.max_batch_txns == 0) {
        return Status::invalid_argument(
            "--max-inflight-proposals and --max-batch-txns must be 1 or more");
    }
    if (o.snapshot_send_bytes_per_s < 4096) {
        return Status::invalid_argument("--snapshot-send-bytes-per-s must be at least 4096");
    }
    if (o.max_frame_bytes < 4096)
        return Status::invalid_argument("--max-frame-bytes must be at least 4096");
    return o;
}

}  // namespace chorus
