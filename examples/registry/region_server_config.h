// registry-server's configuration: a TOML file, with flags on top, checked
// as a whole with errors a person can act on (docs/registry.md lists the
// keys). Pure: no sockets, no clock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace chorus::registry {

struct RegionServerConfig {
    // The masters' chorus client ports ("host:port"), through which the
    // server registers; any one will do.
    std::vector<std::string> masters;
    std::string host = "127.0.0.1";  // its name's host and port: "host,port,startcode"
    uint32_t port = 0;
    std::string http;                     // HOST:PORT for /health, /ready, /metrics, /work
    uint64_t session_timeout_ms = 10000;  // gone from every master within this after a crash
    uint32_t max_failures = 10;           // registrations failed in a row, then exit (status 3)
    uint64_t backoff_initial_ms = 100;    // the first wait after a failure; doubles each time
    uint64_t backoff_max_ms = 10000;
    uint64_t drain_timeout_ms = 30000;  // in-flight work waited for at SIGTERM
    std::string metadata = "{}";        // a JSON object, registered with the server
};

// Reads `file` into `config` (keys it does not hold stay as they are).
// kInvalidArgument naming the file and key: a file that does not parse, a
// key it does not know, a value of the wrong type. `masters` may be an
// array of strings or one comma-separated string.
Status read_region_server_config(const std::string& file, RegionServerConfig* config);

// "a,b,c" -> {"a","b","c"} (empty parts dropped).
std::vector<std::string> split_list(const std::string& text);

// Checks the whole: at least one master, each HOST:PORT; a host HBase would
// take in a name (no comma or slash); a port of 1-65535; an --http that
// parses; backoffs and timeouts that make sense; metadata a JSON object.
Status check_region_server_config(const RegionServerConfig& config);

}  // namespace chorus::registry
