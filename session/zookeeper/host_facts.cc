#include "session/zookeeper/host_facts.h"

#include <pwd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace chorus::zookeeper {

std::vector<std::pair<std::string, std::string>> host_environment() {
    std::vector<std::pair<std::string, std::string>> out;
    out.emplace_back("zookeeper.version", "chorus (ZooKeeper 3.8 client protocol)");
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) out.emplace_back("host.name", host);
    utsname u{};
    if (::uname(&u) == 0) {
        out.emplace_back("os.name", u.sysname);
        out.emplace_back("os.arch", u.machine);
        out.emplace_back("os.version", u.release);
    }
    // getpwuid_r: the front end's thread is not the only one that may ask.
    passwd pw{};
    passwd* found = nullptr;
    std::string buffer(16384, '\0');
    if (::getpwuid_r(::getuid(), &pw, buffer.data(), buffer.size(), &found) == 0 && found) {
        out.emplace_back("user.name", pw.pw_name);
        out.emplace_back("user.home", pw.pw_dir);
    }
    std::error_code ec;
    const std::filesystem::path cwd = std::filesystem::current_path(ec);
    if (!ec) out.emplace_back("user.dir", cwd.string());
    out.emplace_back("chorus.pid", std::to_string(::getpid()));
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) != 0) continue;
        // strtoull, not stoull: a line it cannot read gives 0, never a throw
        // on the front end's thread.
        const uint64_t kib = std::strtoull(line.c_str() + 6, nullptr, 10);
        out.emplace_back("chorus.memory.resident", std::to_string(kib / 1024) + "MB");
    }
    return out;
}

uint64_t directory_bytes(const std::string& dir) {
    namespace fs = std::filesystem;
    uint64_t bytes = 0;
    std::error_code ec;
    // A file may vanish under the walk (RocksDB compacts): skip it.
    for (fs::recursive_directory_iterator
             it(dir, fs::directory_options::skip_permission_denied, ec),
         end;
         !ec && it != end; it.increment(ec)) {
        std::error_code size_ec;
        if (it->is_regular_file(size_ec)) {
            const uintmax_t size = it->file_size(size_ec);
            if (!size_ec) bytes += size;
        }
    }
    return bytes;
}

}  // namespace chorus::zookeeper
