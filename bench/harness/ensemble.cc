#include "bench/harness/ensemble.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "client/client.h"

namespace chorus::bench {

namespace fs = std::filesystem;

Ensemble::Ensemble(std::string workdir, int servers) : workdir_(std::move(workdir)) {
    for (int id = 1; id <= servers; ++id) {
        client_ports_[id] = testing::free_port();
        peer_ports_[id] = testing::free_port();
        election_ports_[id] = testing::free_port();
    }
}

void Ensemble::stop_all() {
    for (auto& [id, p] : processes_) {
        if (p.running()) p.terminate(5000);
    }
}

std::string Ensemble::client_address(int id) const {
    return "127.0.0.1:" + std::to_string(client_ports_.at(id));
}

std::vector<std::string> Ensemble::client_addresses() const {
    std::vector<std::string> out;
    for (const auto& [id, port] : client_ports_) out.push_back(client_address(id));
    return out;
}

uint64_t Ensemble::rss_bytes(int id) const {
    auto it = processes_.find(id);
    if (it == processes_.end() || !it->second.running()) return 0;
    std::ifstream status("/proc/" + std::to_string(it->second.pid()) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
    }
    return 0;
}

std::string Ensemble::log_of(int id) const {
    return workdir_ + "/" + system() + std::to_string(id) + ".log";
}

std::string Ensemble::log_tail(int id, int lines) const {
    std::ifstream in(log_of(id));
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);) all.push_back(line);
    std::string out;
    for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
         i < all.size(); ++i)
        out += all[i] + "\n";
    return out;
}

namespace {

// Whether something listens on this loopback port (a refused connect on
// loopback fails at once).
bool accepts(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

// A preallocated file's used length: up to its last byte that is not zero.
// ZooKeeper pads its logs by writing one byte far ahead, so the padding is
// a hole where the filesystem allows: start at the first hole, then read
// backwards a block at a time (the file may be gigabytes).
uint64_t used_bytes(const fs::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    const off_t size = ::lseek(fd, 0, SEEK_END);
    off_t end = ::lseek(fd, 0, SEEK_HOLE);
    if (end < 0 || end > size) end = std::max<off_t>(size, 0);
    std::vector<char> block(1 << 20);
    uint64_t used = 0;
    while (end > 0 && used == 0) {
        const off_t n = std::min<off_t>(end, static_cast<off_t>(block.size()));
        if (::pread(fd, block.data(), static_cast<size_t>(n), end - n) != n) break;
        for (off_t i = n; i > 0; --i) {
            if (block[static_cast<size_t>(i - 1)] != '\0') {
                used = static_cast<uint64_t>(end - n + i);
                break;
            }
        }
        end -= n;
    }
    ::close(fd);
    return used;
}

// The bytes of every file under `dir`; files whose names start with
// `preallocated_prefix` (if not empty) count only their used bytes. Files
// may come and go while it walks (a server compacts and deletes): those
// count as what could be read.
uint64_t directory_bytes(const fs::path& dir, const std::string& preallocated_prefix = "") {
    uint64_t total = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
        std::error_code file_ec;
        if (!it->is_regular_file(file_ec)) continue;
        if (!preallocated_prefix.empty() &&
            it->path().filename().string().rfind(preallocated_prefix, 0) == 0) {
            total += used_bytes(it->path());
            continue;
        }
        const uintmax_t size = fs::file_size(it->path(), file_ec);
        if (!file_ec) total += size;
    }
    return total;
}

}  // namespace

bool Ensemble::wait_serving(int timeout_ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < until) {
        if (leader() != 0 && all_serving()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    error_ = system() + " did not serve within " + std::to_string(timeout_ms) + " ms";
    return false;
}

// ---- chorus -----------------------------------------------------------------

namespace {

class ChorusEnsemble final : public Ensemble {
 public:
    ChorusEnsemble(std::string binary, std::string workdir, int servers, bool zookeeper_protocol,
                   std::vector<std::string> server_args)
        : Ensemble(std::move(workdir), servers),
          binary_(std::move(binary)),
          server_args_(std::move(server_args)) {
        for (const auto& [id, port] : peer_ports_) {
            peers_ += (peers_.empty() ? "" : ",") + std::to_string(id) +
                      "=127.0.0.1:" + std::to_string(port);
            if (zookeeper_protocol) zookeeper_ports_[id] = testing::free_port();
        }
    }
    std::string system() const override {
        return zookeeper_ports_.empty() ? "chorus" : "chorus-zk";
    }
    std::vector<std::string> driver_addresses() const override {
        if (zookeeper_ports_.empty()) return client_addresses();
        std::vector<std::string> out;
        for (const auto& [id, port] : zookeeper_ports_)
            out.push_back("127.0.0.1:" + std::to_string(port));
        return out;
    }

    bool start_all(int timeout_ms) override {
        for (const auto& [id, port] : client_ports_) start(id);
        return wait_serving(timeout_ms);
    }
    void start(int id) override {
        std::vector<std::string> argv = {
            binary_,      "--id",       std::to_string(id), "--peers",          peers_,
            "--data-dir", data_dir(id), "--client",         client_address(id), "--bootstrap"};
        if (!zookeeper_ports_.empty()) {
            argv.push_back("--zookeeper");
            argv.push_back("127.0.0.1:" + std::to_string(zookeeper_ports_.at(id)));
            // Every benchmark client is on 127.0.0.1, thousands of them in
            // the sessions workload (ZooKeeper's own runs with
            // maxClientCnxns=0 too).
            argv.push_back("--zookeeper-max-client-cnxns");
            argv.push_back("0");
        }
        argv.insert(argv.end(), server_args_.begin(), server_args_.end());
        processes_[id].start(argv, log_of(id));
    }
    int leader() override {
        for (const auto& [id, port] : client_ports_) {
            auto s = stats(id);
            if (s && s->role == "leading" && s->serving) return id;
        }
        return 0;
    }
    uint64_t log_bytes(int id) override {
        auto s = stats(id);
        return s ? s->log_bytes_appended : 0;
    }
    uint64_t memory_in_use(int id, std::string* how) override {
        *how = "live heap (allocator)";
        auto s = stats(id);
        return s ? s->heap_bytes : 0;
    }
    bool all_serving() override {
        for (const auto& [id, port] : client_ports_) {
            if (!running(id)) continue;
            auto s = stats(id);
            if (!s || !s->serving) return false;
        }
        return true;
    }
    uint64_t data_dir_bytes(int id) const override { return directory_bytes(data_dir(id)); }
    bool following(int id) override {
        if (!running(id) || !accepts(client_ports_.at(id))) return false;
        auto s = stats(id);
        return s && s->role == "following" && s->serving;
    }

 private:
    std::string data_dir(int id) const { return workdir_ + "/chorus-data" + std::to_string(id); }
    std::optional<ServerStats> stats(int id) {
        if (!running(id)) return std::nullopt;
        SyncClient c(ClientOptions{.servers = {client_address(id)},
                                   .request_timeout_ms = 1000,
                                   .connect_timeout_ms = 500});
        auto s = c.stats();
        if (!s.ok()) return std::nullopt;
        return s.value;
    }
    std::string binary_;
    std::vector<std::string> server_args_;
    std::string peers_;
    std::map<int, uint16_t> zookeeper_ports_;  // chorus-zk only
};

// ---- ZooKeeper --------------------------------------------------------------

constexpr const char* kZooKeeperJar = "/usr/share/java/zookeeper.jar";
constexpr const char* kJcmd = "/usr/bin/jcmd";

// A four-letter-word command's answer ("" if none within a second).
std::string four_letter_word(uint16_t port, const char* word) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return "";
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::send(fd, word, 4, MSG_NOSIGNAL) == 4) {
        char buffer[4096];
        for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) out.append(buffer, n);
    }
    ::close(fd);
    return out;
}

class ZooKeeperEnsemble final : public Ensemble {
 public:
    ZooKeeperEnsemble(std::string workdir, int servers) : Ensemble(std::move(workdir), servers) {}
    std::string system() const override { return "zookeeper"; }

    bool start_all(int timeout_ms) override {
        for (const auto& [id, port] : client_ports_) start(id);
        return wait_serving(timeout_ms);
    }

    void start(int id) override {
        const std::string dir = workdir_ + "/zookeeper" + std::to_string(id);
        fs::create_directories(dir + "/data");
        fs::create_directories(dir + "/log");
        std::ofstream(dir + "/data/myid") << id << "\n";
        {
            // Defaults as shipped, but for what a benchmark on one machine
            // needs: its own ports, separate data and transaction-log
            // directories, fsync on (forceSync=yes, the default), no
            // connection limit, the admin server off, srvr/mntr allowed.
            std::ofstream cfg(dir + "/zoo.cfg");
            cfg << "tickTime=2000\ninitLimit=10\nsyncLimit=5\n"
                << "dataDir=" << dir << "/data\ndataLogDir=" << dir << "/log\n"
                << "clientPort=" << client_ports_[id] << "\nclientPortAddress=127.0.0.1\n"
                << "maxClientCnxns=0\nforceSync=yes\nadmin.enableServer=false\n"
                << "4lw.commands.whitelist=srvr,mntr\n";
            if (size() > 1) {
                for (const auto& [peer, port] : peer_ports_) {
                    cfg << "server." << peer << "=127.0.0.1:" << port << ":"
                        << election_ports_[peer] << "\n";
                }
            }
        }
        std::ofstream(dir + "/log4j.properties")
            << "log4j.rootLogger=INFO, file\n"
            << "log4j.appender.file=org.apache.log4j.FileAppender\n"
            << "log4j.appender.file.File=" << log_of(id) << ".log4j\n"
            << "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
            << "log4j.appender.file.layout.ConversionPattern=%d{ISO8601} %-5p %c{1} - %m%n\n";
        const std::string classpath = dir + ":" + kZooKeeperJar +
                                      ":/usr/share/java/slf4j-log4j12.jar:/usr/share/java/"
                                      "log4j-1.2.jar";
        std::vector<std::string> argv = {"/usr/bin/java",
                                         "-Xms256m",
                                         "-Xmx1g",
                                         "-Dzookeeper.log.dir=" + dir,
                                         "-Dlog4j.configuration=file:" + dir + "/log4j.properties",
                                         "-cp",
                                         classpath};
        argv.push_back(size() > 1 ? "org.apache.zookeeper.server.quorum.QuorumPeerMain"
                                  : "org.apache.zookeeper.server.ZooKeeperServerMain");
        argv.push_back(dir + "/zoo.cfg");
        processes_[id].start(argv, log_of(id));
    }

    uint64_t memory_in_use(int id, std::string* how) override {
        *how = "Java heap after a full GC";
        auto it = processes_.find(id);
        if (it == processes_.end() || !it->second.running()) return 0;
        // jcmd comes with the JDK; without it, resident memory it is.
        if (!fs::exists(kJcmd)) return Ensemble::memory_in_use(id, how);
        const std::string pid = std::to_string(it->second.pid());
        const std::string command = "timeout 30 " + std::string(kJcmd) + " " + pid +
                                    " GC.run >/dev/null 2>&1; timeout 30 " + kJcmd + " " + pid +
                                    " GC.heap_info 2>&1";
        std::string out;
        if (FILE* p = popen(command.c_str(), "r")) {
            char buffer[4096];
            for (size_t n; (n = fread(buffer, 1, sizeof buffer, p)) > 0;) out.append(buffer, n);
            pclose(p);
        }
        // " garbage-first heap   total 262144K, used 23456K [...]"
        const size_t at = out.find("used ");
        if (at == std::string::npos) return 0;
        return std::strtoull(out.c_str() + at + 5, nullptr, 10) * 1024;
    }

    uint64_t log_bytes(int id) override {
        uint64_t total = 0;
        const fs::path dir = workdir_ + "/zookeeper" + std::to_string(id) + "/log/version-2";
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            if (entry.path().filename().string().rfind("log.", 0) != 0) continue;
            total += used_bytes(entry.path());
        }
        return total;
    }
    uint64_t data_dir_bytes(int id) const override {
        const std::string dir = workdir_ + "/zookeeper" + std::to_string(id);
        return directory_bytes(dir + "/data") + directory_bytes(dir + "/log", "log.");
    }
    bool following(int id) override {
        // A closed port answers at once: no probe needed first.
        return running(id) &&
               four_letter_word(client_ports_.at(id), "srvr").find("Mode: follower") !=
                   std::string::npos;
    }
    int leader() override {
        for (const auto& [id, port] : client_ports_) {
            if (!running(id)) continue;
            const std::string srvr = four_letter_word(port, "srvr");
            if (srvr.find("Mode: leader") != std::string::npos ||
                srvr.find("Mode: standalone") != std::string::npos)
                return id;
        }
        return 0;
    }
    bool all_serving() override {
        for (const auto& [id, port] : client_ports_) {
            if (!running(id)) continue;
            const std::string srvr = four_letter_word(port, "srvr");
            if (srvr.find("Mode: ") == std::string::npos) return false;
        }
        return true;
    }
};

}  // namespace

std::unique_ptr<Ensemble> chorus_ensemble(const std::string& binary, const std::string& workdir,
                                          int servers, bool zookeeper_protocol,
                                          std::vector<std::string> server_args) {
    return std::make_unique<ChorusEnsemble>(binary, workdir, servers, zookeeper_protocol,
                                            std::move(server_args));
}

bool zookeeper_installed(std::string* why) {
    if (!fs::exists(kZooKeeperJar)) {
        *why = std::string(kZooKeeperJar) + " is missing (Debian package zookeeper)";
        return false;
    }
    if (!fs::exists("/usr/bin/java")) {
        *why = "/usr/bin/java is missing (Debian package default-jre-headless)";
        return false;
    }
    return true;
}

std::unique_ptr<Ensemble> zookeeper_ensemble(const std::string& workdir, int servers) {
    return std::make_unique<ZooKeeperEnsemble>(workdir, servers);
}

}  // namespace chorus::bench
