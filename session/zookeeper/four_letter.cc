#include "session/zookeeper/four_letter.h"

#include <array>
#include <cstdio>
#include <sstream>

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

std::string four_letter_answer(const std::string& word, const std::string& whitelist,
                               const client::pb::StatsReply& stats, uint64_t connections) {
    if (!four_letter_allowed(word, whitelist))
        return word + " is not executed because it is not in the whitelist.\n";
    const int64_t zxid = zk_zxid(stats.last_zxid());
    if (word == "ruok") return "imok";
    if (word == "isro") return "rw";
    if (word == "srvr") {
        if (!stats.serving()) return "This ZooKeeper instance is not currently serving requests\n";
        std::ostringstream out;
        out << "Zookeeper version: chorus (ZooKeeper 3.8 client protocol)\n"
            << "Connections: " << connections << "\n"
            << "Outstanding: 0\n"
            << "Zxid: " << hex(zxid) << "\n"
            << "Mode: " << mode_of(stats.role()) << "\n"
            << "Node count: " << stats.nodes() + 1 << "\n";  // the root too, as ZooKeeper counts
        return out.str();
    }
    if (word == "mntr") {
        if (!stats.serving()) return "This ZooKeeper instance is not currently serving requests\n";
        std::ostringstream out;
        auto line = [&](const char* key, const auto& value) {
            out << key << '\t' << value << '\n';
        };
        line("zk_version", "chorus (ZooKeeper 3.8 client protocol)");
        line("zk_server_state", mode_of(stats.role()));
        line("zk_znode_count", stats.nodes() + 1);
        line("zk_watch_count", stats.watches());
        line("zk_num_alive_connections", connections);
        line("zk_outstanding_requests", 0);
        // chorus's own figures: the log, the sessions, the heartbeats the
        // leader absorbed (never logged).
        line("chorus_server_id", stats.server_id());
        line("chorus_leader", stats.leader());
        line("chorus_epoch", stats.epoch());
        line("chorus_last_zxid", hex(zxid));
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
    return word + " is not served by chorus (see docs/zookeeper.md).\n";
}

}  // namespace chorus::zookeeper
