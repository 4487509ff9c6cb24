// What the four-letter words envi, conf and dirs tell about the machine and
// the process (four_letter.h), read when a word asks. Not pure: it reads the
// host name, uname, the user, the working directory, /proc and a directory
// tree; the front end calls it on its I/O thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace chorus::zookeeper {

// envi's lines: ZooKeeper's keys where they mean something here (host.name,
// os.name, os.arch, os.version, user.name, user.home, user.dir), and
// chorus's own (chorus.pid, chorus.memory.resident) for the JVM's.
std::vector<std::pair<std::string, std::string>> host_environment();

// The bytes of every regular file under `dir` (0 if it cannot be read).
uint64_t directory_bytes(const std::string& dir);

}  // namespace chorus::zookeeper
