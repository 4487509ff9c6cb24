// The ensembles chorus-bench measures: real server processes on 127.0.0.1,
// each with its own data directory, fsync on. One interface for chorus
// (chorus-server) and for Apache ZooKeeper 3.8 (QuorumPeerMain on Java).
#pragma once

#include <csignal>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace chorus::bench {

class Ensemble {
 public:
    virtual ~Ensemble() = default;
    virtual std::string system() const = 0;  // "chorus", "chorus-zk" or "zookeeper"
    int size() const { return static_cast<int>(client_ports_.size()); }
    // Starts every server; false (with a reason in error()) if the
    // ensemble does not serve within the timeout.
    virtual bool start_all(int timeout_ms) = 0;
    virtual void start(int id) = 0;
    // The serving leader's id, 0 if none answers as leader now.
    virtual int leader() = 0;
    // Every running server serves (part of a quorum, caught up).
    virtual bool all_serving() = 0;
    void kill(int id) { processes_[id].kill(); }
    // SIGTERM, without waiting: a clean stop (a chorus leader hands
    // leadership over first); wait_exit() reaps it.
    void terminate_async(int id) { processes_[id].signal(SIGTERM); }
    int wait_exit(int id, int timeout_ms) { return processes_[id].wait_exit(timeout_ms); }
    bool running(int id) const { return processes_.at(id).running(); }
    void stop_all();
    std::string client_address(int id) const;
    std::vector<std::string> client_addresses() const;
    // Where the benchmark's clients connect: the client addresses, but for
    // chorus serving ZooKeeper's protocol ("chorus-zk"), its ZooKeeper ports.
    virtual std::vector<std::string> driver_addresses() const { return client_addresses(); }
    // Bytes this server has written to its transaction log so far. chorus:
    // the transactions' payload bytes (NodeStatus.log_bytes_appended, since
    // the process started); ZooKeeper: the used bytes of its log files
    // (records with their headers and checksums; the files are
    // preallocated, so trailing zeros are not counted).
    virtual uint64_t log_bytes(int id) = 0;
    // Resident memory of a server, in bytes (0 if unknown).
    uint64_t rss_bytes(int id) const;
    // The memory a server's data takes: its live heap. chorus: the bytes its
    // allocator has handed out and not had back (Stats heap_bytes: jemalloc's
    // stats.allocated); ZooKeeper: the Java heap in use right after a full
    // collection (jcmd GC.run, then GC.heap_info). Neither counts the
    // allocator's or the JVM's own overhead. `how` says which; by default
    // (a system with neither) resident memory.
    virtual uint64_t memory_in_use(int id, std::string* how) {
        *how = "resident memory";
        return rss_bytes(id);
    }
    // What this server holds on disk: every file under its data directory
    // (ZooKeeper: its data and transaction-log directories), at the files'
    // sizes — but ZooKeeper's transaction logs are preallocated in 64 MiB
    // steps, so for those only the used bytes count (up to the last byte
    // that is not zero), as in log_bytes().
    virtual uint64_t data_dir_bytes(int id) const = 0;
    // This server is back in the quorum: chorus: its Stats say following
    // and serving (it got UPTODATE); ZooKeeper: srvr says "Mode: follower".
    // Cheap to poll: false at once while its client port is closed.
    virtual bool following(int id) = 0;
    const std::string& error() const { return error_; }
    std::string log_tail(int id, int lines = 15) const;

 protected:
    Ensemble(std::string workdir, int servers);
    // Waits until leader() != 0 and all_serving().
    bool wait_serving(int timeout_ms);
    std::string log_of(int id) const;

    std::string workdir_;
    std::map<int, uint16_t> client_ports_;
    std::map<int, uint16_t> peer_ports_;
    std::map<int, uint16_t> election_ports_;  // ZooKeeper only
    std::map<int, testing::ChildProcess> processes_;
    std::string error_;
};

// `binary`: chorus-server. With `zookeeper_protocol`, every server also
// serves ZooKeeper's client protocol (--zookeeper), the system is named
// "chorus-zk", and the benchmark's clients (ZooKeeper's C client) use it.
// `server_args` go at the end of every server's command line.
std::unique_ptr<Ensemble> chorus_ensemble(const std::string& binary, const std::string& workdir,
                                          int servers, bool zookeeper_protocol = false,
                                          std::vector<std::string> server_args = {});

// Whether ZooKeeper's server jar and a Java runtime are installed; if not,
// `why` says what is missing.
bool zookeeper_installed(std::string* why);
std::unique_ptr<Ensemble> zookeeper_ensemble(const std::string& workdir, int servers);

}  // namespace chorus::bench
