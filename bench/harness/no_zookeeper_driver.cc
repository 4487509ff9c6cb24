// Built instead of zookeeper_driver.cc when ZooKeeper's C client
// (libzookeeper-mt-dev) is not installed: chorus-bench then runs chorus alone.
#include "bench/harness/driver.h"

namespace chorus::bench {

std::unique_ptr<Driver> zookeeper_driver(const std::vector<std::string>&, int) { return nullptr; }
bool zookeeper_client_built() { return false; }
bool zookeeper_hold_sessions(int, int, const std::vector<std::string>&, double*,
                             std::string* error) {
    *error = "built without ZooKeeper's C client";
    return false;
}

}  // namespace chorus::bench
