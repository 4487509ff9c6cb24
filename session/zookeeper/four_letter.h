// ZooKeeper's four-letter words: a connection whose first four bytes spell
// one ("ruok", "srvr", "mntr", ...) gets a line of text and is closed, as
// ZooKeeper answers it on its client port. (No ConnectRequest can start
// that way: the four bytes, read as a frame length, are far over
// jute.maxbuffer.) Pure: the front end gathers the facts (FourLetterFacts)
// and this file writes them out in ZooKeeper 3.8's layout.
//
// Served: ruok, isro, srvr, stat, mntr, conf, cons, crst, envi, srst, wchs,
// wchc, wchp, dirs. The rest of ZooKeeper's words (dump, gtmk, stmk, hash)
// get a line saying they are not served; a word off the whitelist gets
// ZooKeeper's own refusal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "session/client.pb.h"

namespace chorus::zookeeper {

// Request latencies in whole milliseconds, as ZooKeeper counts them.
struct Latencies {
    uint64_t count = 0;
    uint64_t total_ms = 0;
    uint64_t min_ms = 0;
    uint64_t max_ms = 0;

    void add(uint64_t ms);
    // ZooKeeper's "min/avg/max" (0/0.0/0 before the first request).
    std::string min_avg_max() const;
};

// One ZooKeeper connection of this server, as cons and stat list it.
struct ConnectionFacts {
    std::string peer;          // "127.0.0.1:58472"
    bool has_session = false;  // the handshake is done (false: also a 4lw's own)
    uint64_t queued = 0;       // requests read and not yet answered
    uint64_t received = 0;     // packets read, pings included
    uint64_t sent = 0;         // packets written, events included
    uint64_t session_id = 0;
    uint64_t timeout_ms = 0;
    int64_t established_ms = 0;  // wall clock, ms since the epoch
    std::string last_op = "NA";  // ZooKeeper's abbreviation (last_op_name)
    int64_t last_cxid = -1;
    int64_t last_zxid = -1;
    int64_t last_response_ms = 0;  // steady clock, ms
    uint64_t last_latency_ms = 0;
    Latencies latency;
    // Paths with a watch of ZooKeeper's data kind (exists, getData, and the
    // data half of addWatch), which wchs, wchc and wchp count.
    std::vector<std::string> data_watches;
};

// Everything a word may tell.
struct FourLetterFacts {
    std::string whitelist;                     // 4lw.commands.whitelist
    client::pb::StatsReply stats;              // the service's figures
    std::vector<ConnectionFacts> connections;  // this front end's, the asking one too
    uint64_t received = 0;                     // packets, server-wide (since srst)
    uint64_t sent = 0;
    Latencies latency;
    std::vector<std::pair<std::string, std::string>> conf;         // conf's key=value lines
    std::vector<std::pair<std::string, std::string>> environment;  // envi's
    uint64_t data_dir_bytes = 0;  // dirs: chorus keeps log and snapshots in one directory
};

// The word the first four bytes spell (read as a big-endian length), if
// ZooKeeper knows it.
std::optional<std::string> four_letter_word(uint32_t first_four_bytes);

// "ruok,srvr" (spaces allowed) or "*": is `word` on it?
bool four_letter_allowed(const std::string& word, const std::string& whitelist);

// What the server answers `word` with. (crst and srst answer that the
// figures were reset; the front end resets them.)
std::string four_letter_answer(const std::string& word, const FourLetterFacts& facts);

// ZooKeeper's abbreviation of an opcode in cons's "lop" (GETD, SETD, ...).
const char* last_op_name(int32_t type);

}  // namespace chorus::zookeeper
