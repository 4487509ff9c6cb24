// ZooKeeper's four-letter words: a connection whose first four bytes spell
// one ("ruok", "srvr", "mntr", ...) gets a line of text and is closed, as
// ZooKeeper answers it on its client port. (No ConnectRequest can start
// that way: the four bytes, read as a frame length, are far over
// jute.maxbuffer.) Pure: the front end asks the service for its figures.
//
// Served: ruok, isro, srvr, mntr. The rest of ZooKeeper's words get a line
// saying they are not served; a word off the whitelist gets ZooKeeper's
// own refusal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "session/client.pb.h"

namespace chorus::zookeeper {

// The word the first four bytes spell (read as a big-endian length), if
// ZooKeeper knows it.
std::optional<std::string> four_letter_word(uint32_t first_four_bytes);

// "ruok,srvr" (spaces allowed) or "*": is `word` on it?
bool four_letter_allowed(const std::string& word, const std::string& whitelist);

// What the server answers `word` with, from the service's figures and this
// front end's connection count.
std::string four_letter_answer(const std::string& word, const std::string& whitelist,
                               const client::pb::StatsReply& stats, uint64_t connections);

}  // namespace chorus::zookeeper
