#include "session/zookeeper/four_letter.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <sstream>

#include "session/zookeeper/records.h"
#include "session/zookeeper/translate.h"

namespace chorus::zookeeper {
namespace {

// Every word ZooKeeper 3.8 knows.
constexpr std::array<const char*, 18> kWords = {"ruok", "isro", "srvr", "stat", "mntr", "conf",
                                                "cons", "crst", "dump", "envi", "srst", "wchs",
                                                "wchc", "wchp", "dirs", "gtmk", "stmk", "hash"};

std::string hex(int64_t v) {
    char out[24];
    std::snprintf(out, sizeof out, "0x%llx", static_cast<unsigned long long>(v));
    return out;
}

// ZooKeeper's names for the roles.
std::string mode_of(const std::string& role) {
    if (role == "leading") return "leader";
    if (role == "following") return "follower";
    return role;
}

}  // namespace

std::optional<std::string> four_letter_word(uint32_t bytes) {
    const std::string word = {static_cast<char>(bytes >> 24), static_cast<char>(bytes >> 16),
                              static_cast<char>(bytes >> 8), static_cast<char>(bytes)};
    for (const char* known : kWords) {
        if (word == known) return word;
    }
    return std::nullopt;
}

bool four_letter_allowed(const std::string& word, const std::string& whitelist) {
    std::stringstream in(whitelist);
    for (std::string item; std::getline(in, item, ',');) {
        const size_t b = item.find_first_not_of(' ');
        const size_t e = item.find_last_not_of(' ');
        if (b == std::string::npos) continue;
        item = item.substr(b, e - b + 1);
        if (item == "*" || item == word) return true;
    }
    return false;
}

void Latencies::add(uint64_t ms) {
    min_ms = count == 0 ? ms : std::min(min_ms, ms);
    max_ms = std::max(max_ms, ms);
    total_ms += ms;
    ++count;
}

std::string Latencies::min_avg_max() const {
    char out[96];
    std::snprintf(out, sizeof out, "%llu/%.1f/%llu", static_cast<unsigned long long>(min_ms),
                  count == 0 ? 0.0 : static_cast<double>(total_ms) / static_cast<double>(count),
                  static_cast<unsigned long long>(max_ms));
    return out;
}

namespace {

constexpr const char* kVersion = "chorus (ZooKeeper 3.8 client protocol)";
constexpr const char* kNotServing = "This ZooKeeper instance is not currently serving requests\n";

// " /127.0.0.1:58472[1](queued=0,recved=2,sent=2" — the start of a
// connection's line in stat and cons ([1]: reading requests; [0]: not yet
// a session, such as the connection asking).
std::string connection_head(const ConnectionFacts& c) {
    std::ostringstream out;
    out << " /" << c.peer << "[" << (c.has_session ? 1 : 0) << "](queued=" << c.queued
        << ",recved=" << c.received << ",sent=" << c.sent;
    return out.str();
}

// srvr's lines, and stat's after its client list.
void server_summary(std::ostringstream& out, const FourLetterFacts& f) {
    out << "Latency min/avg/max: " << f.latency.min_avg_max() << "\n"
        << "Received: " << f.received << "\n"
        << "Sent: " << f.sent << "\n"
        << "Connections: " << f.connections.size() << "\n"
        << "Outstanding: 0\n"
        << "Zxid: " << hex(zk_zxid(f.stats.last_zxid())) << "\n"
        << "Mode: " << mode_of(f.stats.role()) << "\n"
        << "Node count: " << f.stats.nodes() + 1 << "\n";  // the root too, as ZooKeeper counts
}

std::string connections_list(const FourLetterFacts& f) {
    std::ostringstream out;
    for (const ConnectionFacts& c : f.connections) {
        out << connection_head(c);
        if (c.has_session) {
            out << ",sid=" << hex(static_cast<int64_t>(c.session_id)) << ",lop=" << c.last_op
                << ",est=" << c.established_ms << ",to=" << c.timeout_ms
                << ",lcxid=" << hex(c.last_cxid) << ",lzxid=" << hex(c.last_zxid)
                << ",lresp=" << c.last_response_ms << ",llat=" << c.last_latency_ms
                << ",minlat=" << c.latency.min_ms
                << ",avglat=" << (c.latency.count ? c.latency.total_ms / c.latency.count : 0)
                << ",maxlat=" << c.latency.max_ms;
        }
        out << ")\n";
    }
    out << "\n";
    return out.str();
}

std::string mntr(const FourLetterFacts& f) {
    const client::pb::StatsReply& stats = f.stats;
    std::ostringstream out;
    auto line = [&](const char* key, const auto& value) { out << key << '\t' << value << '\n'; };
    line("zk_version", kVersion);
    line("zk_server_state", mode_of(stats.role()));
    line("zk_avg_latency", f.latency.count ? f.latency.total_ms / f.latency.count : 0);
    line("zk_max_latency", f.latency.max_ms);
    line("zk_min_latency", f.latency.min_ms);
    line("zk_packets_received", f.received);
    line("zk_packets_sent", f.sent);
    line("zk_num_alive_connections", f.connections.size());
    line("zk_outstanding_requests", 0);
    line("zk_znode_count", stats.nodes() + 1);
    line("zk_watch_count", stats.watches());
    // chorus's own figures: the log, the sessions, the heartbeats the
    // leader absorbed (never logged).
    line("chorus_server_id", stats.server_id());
    line("chorus_leader", stats.leader());
    line("chorus_epoch", stats.epoch());
    line("chorus_last_zxid", hex(zk_zxid(stats.last_zxid())));
    line("chorus_delivered_zxid", hex(zk_zxid(stats.delivered())));
    line("chorus_sessions", stats.sessions());
    line("chorus_sessions_expired", stats.sessions_expired());
    line("chorus_heartbeats_received", stats.heartbeats_received());
    line("chorus_heartbeats_absorbed", stats.heartbeats_absorbed());
    line("chorus_log_records_appended", stats.log_records_appended());
    line("chorus_log_bytes_appended", stats.log_bytes_appended());
    for (const auto& log : stats.log()) {
        out << "chorus_log_records_" << log.kind() << '\t' << log.records() << '\n';
        out << "chorus_log_bytes_" << log.kind() << '\t' << log.bytes() << '\n';
    }
    line("chorus_heap_bytes", stats.heap_bytes());
    return out.str();
}

// wchs, wchc and wchp: the data watches of every connection.
std::string watches(const std::string& word, const FourLetterFacts& f) {
    std::map<std::string, std::vector<uint64_t>> by_path;
    size_t watching = 0;
    size_t total = 0;
    std::ostringstream out;
    for (const ConnectionFacts& c : f.connections) {
        if (c.data_watches.empty()) continue;
        ++watching;
        total += c.data_watches.size();
        if (word == "wchc") out << hex(static_cast<int64_t>(c.session_id)) << "\n";
        for (const std::string& path : c.data_watches) {
            by_path[path].push_back(c.session_id);
            if (word == "wchc") out << "\t" << path << "\n";
        }
    }
    if (word == "wchs") {
        out << watching << " connections watching " << by_path.size() << " paths\n"
            << "Total watches:" << total << "\n";
        return out.str();
    }
    if (word == "wchp") {
        for (const auto& [path, sessions] : by_path) {
            out << path << "\n";
            for (uint64_t s : sessions) out << "\t" << hex(static_cast<int64_t>(s)) << "\n";
        }
    }
    out << "\n";
    return out.str();
}

std::string key_values(const std::vector<std::pair<std::string, std::string>>& lines) {
    std::ostringstream out;
    for (const auto& [key, value] : lines) out << key << "=" << value << "\n";
    return out.str();
}

}  // namespace

std::string four_letter_answer(const std::string& word, const FourLetterFacts& f) {
    if (!four_letter_allowed(word, f.whitelist))
        return word + " is not executed because it is not in the whitelist.\n";
    if (word == "ruok") return "imok";
    if (word == "isro") return "rw";
    if (word == "envi") return "Environment:\n" + key_values(f.environment);
    if (word == "conf") return key_values(f.conf);
    if (word == "crst") return "Connection stats reset.\n";
    if (word == "srst") return "Server stats reset.\n";
    if (word == "dirs") {
        // ZooKeeper's two directories are one in chorus: both sizes are its.
        return "datadir_size: " + std::to_string(f.data_dir_bytes) +
               "\nlogdir_size: " + std::to_string(f.data_dir_bytes) + "\n";
    }
    if (word == "cons") return connections_list(f);
    if (word == "wchs" || word == "wchc" || word == "wchp") return watches(word, f);
    if (word == "srvr" || word == "stat" || word == "mntr") {
        if (!f.stats.serving()) return kNotServing;
        if (word == "mntr") return mntr(f);
        std::ostringstream out;
        out << "Zookeeper version: " << kVersion << "\n";
        if (word == "stat") {
            out << "Clients:\n";
            for (const ConnectionFacts& c : f.connections) out << connection_head(c) << ")\n";
            out << "\n";
        }
        server_summary(out, f);
        return out.str();
    }
    return word + " is not served by chorus (see docs/zookeeper.md).\n";
}

const char* last_op_name(int32_t type) {
    switch (type) {
        case kOpPing:
            return "PING";
        case kOpCloseSession:
            return "CLOS";
        case kOpMulti:
            return "MULT";
        case kOpMultiRead:
            return "MLTR";
        case kOpCreate:
        case kOpCreate2:
        case kOpCreateContainer:
        case kOpCreateTtl:
            return "CREA";
        case kOpDelete:
        case kOpDeleteContainer:
            return "DELE";
        case kOpSetData:
            return "SETD";
        case kOpReconfig:
            return "RECO";
        case kOpSetAcl:
            return "SETA";
        case kOpCheck:
            return "CHEC";
        case kOpSync:
            return "SYNC";
        case kOpExists:
            return "EXIS";
        case kOpGetData:
            return "GETD";
        case kOpSetWatches:
            return "SETW";
        case kOpSetWatches2:
            return "STW2";
        case kOpAddWatch:
            return "ADDW";
        case kOpGetAcl:
            return "GETA";
        case kOpGetChildren:
        case kOpGetChildren2:
            return "GETC";
        case kOpGetAllChildrenNumber:
            return "GETACN";
        case kOpCheckWatches:
            return "CHKW";
        case kOpRemoveWatches:
            return "REMW";
        case kOpGetEphemerals:
            return "GETE";
        case kOpWhoAmI:
            return "HOMI";
        default:
            return "NA";
    }
}

}  // namespace chorus::zookeeper
