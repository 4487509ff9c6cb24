// kv: a replicated key-value store on chorus — the embedding example.
//
//   kv --id 1 --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003
//      --data-dir /tmp/kv1 --client 127.0.0.1:8001 --bootstrap [--admin 127.0.0.1:9001]
//   kv --id 4 --peers 4=127.0.0.1:7004 --join 127.0.0.1:9001 ...   (a new server)
//
// --admin serves HTTP: GET /health, and the membership routes of
// cli/membership_admin.h (GET /membership, POST /membership/add|remove;
// chorusctl add-server/remove-server/members use them).
//
// Clients speak a line protocol on --client (try `nc 127.0.0.1 8001`):
//   put KEY VALUE   -> ok ZXID            (written on a quorum, any server)
//   get KEY         -> value VALUE | missing   (this replica's state)
//   sync            -> ok ZXID            (read barrier: a get after it is linearizable)
//   status          -> role, leader, epoch, zxids
//   digest          -> count, hash and last zxid of everything applied, in order
// Errors are `error MESSAGE`. SIGTERM stops the server cleanly.
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "cli/membership_admin.h"
#include "cli/node_flags.h"
#include "cli/stop_signals.h"
#include "net/http_server.h"

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// The replicated state: a map. A transaction is "KEY\0VALUE".
//
// Snapshots do not stop the server: snapshot() freezes the current map and
// hands it to another thread to serialise; writes meanwhile go to a small
// overlay, folded back in by snapshot_done().
class KvStore final : public chorus::StateMachine {
 public:
    using Map = std::map<std::string, std::string>;

    std::optional<chorus::Txn> preprocess(const chorus::Request& request) override {
        chorus::Txn txn;
        txn.type = 1;
        txn.data = request.data;
        return txn;
    }
    void deliver(const chorus::Txn& txn) override {
        const size_t split = txn.data.find('\0');
        if (split == std::string::npos) return;
        (frozen_ ? overlay_ : *base_)[txn.data.substr(0, split)] = txn.data.substr(split + 1);
        ++count_;
        for (char c : txn.data) hash_ = (hash_ ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
        hash_ = (hash_ ^ txn.zxid.counter) * 0x100000001b3ull;
        last_ = txn.zxid;
    }
    std::string save() override { return serialize(*base_, overlay_, header()); }
    std::function<std::string()> snapshot() override {
        frozen_ = true;
        std::shared_ptr<const Map> frozen = base_;
        return [frozen, header = header()] { return serialize(*frozen, Map{}, header); };
    }
    void snapshot_done() override {
        if (!frozen_) return;  // a restore came in between
        for (auto& [k, v] : overlay_) (*base_)[k] = std::move(v);
        overlay_.clear();
        frozen_ = false;
    }
    void restore(const std::string& snapshot) override {
        base_ = std::make_shared<Map>();
        overlay_.clear();
        frozen_ = false;
        count_ = hash_ = 0;
        last_ = {};
        if (snapshot.empty()) return;
        size_t pos = snapshot.find('\n');
        std::sscanf(snapshot.substr(0, pos).c_str(), "%lu %lu %lu %lu", &count_, &hash_,
                    &last_.epoch, &last_.counter);
        ++pos;
        while (pos < snapshot.size()) {
            const size_t nl = snapshot.find('\n', pos);
            size_t klen = 0, vlen = 0;
            std::sscanf(snapshot.substr(pos, nl - pos).c_str(), "%zu %zu", &klen, &vlen);
            pos = nl + 1;
            (*base_)[snapshot.substr(pos, klen)] = snapshot.substr(pos + klen, vlen);
            pos += klen + vlen;
        }
    }

    // Core thread only.
    std::optional<std::string> get(const std::string& key) const {
        if (frozen_) {
            auto o = overlay_.find(key);
            if (o != overlay_.end()) return o->second;
        }
        auto it = base_->find(key);
        if (it == base_->end()) return std::nullopt;
        return it->second;
    }
    std::string digest() const {
        return "count " + std::to_string(count_) + " hash " + std::to_string(hash_) + " last " +
               last_.str();
    }

 private:
    std::string header() const {
        return std::to_string(count_) + " " + std::to_string(hash_) + " " +
               std::to_string(last_.epoch) + " " + std::to_string(last_.counter) + "\n";
    }
    static std::string serialize(const Map& base, const Map& overlay, const std::string& header) {
        std::string out = header;
        auto put = [&out](const std::string& k, const std::string& v) {
            out += std::to_string(k.size()) + " " + std::to_string(v.size()) + "\n" + k + v;
        };
        for (const auto& [k, v] : base) {
            if (!overlay.count(k)) put(k, v);
        }
        for (const auto& [k, v] : overlay) put(k, v);
        return out;
    }

    std::shared_ptr<Map> base_ = std::make_shared<Map>();
    Map overlay_;  // writes while base_ is frozen for a snapshot
    bool frozen_ = false;
    uint64_t count_ = 0;
    uint64_t hash_ = 0;
    chorus::Zxid last_;
};

// One client connection: reads a line, answers it, in order.
class Session : public std::enable_shared_from_this<Session> {
 public:
    Session(tcp::socket socket, chorus::Node& node, KvStore& store)
        : socket_(std::move(socket)), node_(node), store_(store) {}
    void start() { read(); }

 private:
    void read() {
        auto self = shared_from_this();
        asio::async_read_until(
            socket_, buffer_, '\n', [self](boost::system::error_code ec, size_t n) {
                if (ec) return;
                std::string line(asio::buffers_begin(self->buffer_.data()),
                                 asio::buffers_begin(self->buffer_.data()) + n);
                self->buffer_.consume(n);
                while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
                    line.pop_back();
                self->handle(line);
            });
    }

    // Called from any thread with the answer; writes it on the client thread.
    void answer(std::string text) {
        auto self = shared_from_this();
        asio::post(socket_.get_executor(), [self, text = std::move(text) + "\n"]() mutable {
            self->out_ = std::move(text);
            asio::async_write(self->socket_, asio::buffer(self->out_),
                              [self](boost::system::error_code ec, size_t) {
                                  if (!ec) self->read();
                              });
        });
    }

    // A read asked once the node stops: Node::post may never run then, so
    // it is refused at once (retry elsewhere), as a write is by submit().
    static constexpr const char* kStopping = "error NotLeader: this server is stopping";

    void handle(const std::string& line) {
        const size_t sp = line.find(' ');
        const std::string cmd = line.substr(0, sp);
        const std::string rest = sp == std::string::npos ? "" : line.substr(sp + 1);
        auto self = shared_from_this();
        if (cmd == "put") {
            const size_t sp2 = rest.find(' ');
            if (rest.empty() || sp2 == std::string::npos || sp2 == 0)
                return answer("error usage: put KEY VALUE");
            chorus::Request request;
            request.type = 1;
            request.data = rest.substr(0, sp2) + std::string(1, '\0') + rest.substr(sp2 + 1);
            node_.submit(std::move(request), [self](chorus::Status s, chorus::Completion c) {
                self->answer(s.is_ok() ? "ok " + c.zxid.str() : "error " + s.str());
            });
        } else if (cmd == "get") {
            if (rest.empty()) return answer("error usage: get KEY");
            if (!node_.running()) return answer(kStopping);
            node_.post([self, rest] {
                auto v = self->store_.get(rest);
                self->answer(v ? "value " + *v : "missing");
            });
        } else if (cmd == "sync") {
            node_.sync([self](chorus::Status s, chorus::Zxid z) {
                self->answer(s.is_ok() ? "ok " + z.str() : "error " + s.str());
            });
        } else if (cmd == "digest") {
            if (!node_.running()) return answer(kStopping);
            node_.post([self] { self->answer(self->store_.digest()); });
        } else if (cmd == "status") {
            const chorus::NodeStatus st = node_.status();
            answer("role " + std::string(chorus::zab::role_name(st.role)) + " leader " +
                   std::to_string(st.leader) + " epoch " + std::to_string(st.epoch) + " last " +
                   st.last_zxid.str() + " committed " + st.committed.str() + " delivered " +
                   st.delivered.str() + " serving " + (st.serving ? "yes" : "no") + " voting " +
                   (st.voting ? "yes" : "no"));
        } else {
            answer("error unknown command '" + cmd + "' (put, get, sync, status, digest)");
        }
    }

    tcp::socket socket_;
    chorus::Node& node_;
    KvStore& store_;
    asio::streambuf buffer_{64 * 1024};
    std::string out_;
};

void accept(tcp::acceptor& acceptor, chorus::Node& node, KvStore& store) {
    acceptor.async_accept([&](boost::system::error_code ec, tcp::socket socket) {
        if (ec) return;
        std::make_shared<Session>(std::move(socket), node, store)->start();
        accept(acceptor, node, store);
    });
}

}  // namespace

int main(int argc, char** argv) {
    chorus::block_stop_signals();  // before any thread starts (cli/stop_signals.h)
    CLI::App app{"kv: a replicated key-value store on chorus"};
    chorus::NodeFlags flags;
    chorus::add_node_flags(app, flags);
    std::string client = "127.0.0.1:0";
    app.add_option("--client", client, "HOST:PORT for the line protocol")->required();
    std::string admin;
    app.add_option("--admin", admin,
                   "HOST:PORT for HTTP: /health and the membership (/membership, chorusctl)");
    CLI11_PARSE(app, argc, argv);
    auto options = chorus::finish_node_options(app, flags);
    if (!options.is_ok()) {
        std::fprintf(stderr, "kv: %s\n", options.status().message().c_str());
        return 2;
    }
    auto client_endpoint = chorus::parse_endpoint(client);
    if (!client_endpoint.is_ok()) {
        std::fprintf(stderr, "kv: --client: %s\n", client_endpoint.status().message().c_str());
        return 2;
    }
    spdlog::set_pattern("[%H:%M:%S.%e] [kv " + std::to_string(options->id) + "] %v");

    std::optional<chorus::net::Endpoint> admin_endpoint;
    if (!admin.empty()) {
        auto e = chorus::parse_endpoint(admin);
        if (!e.is_ok()) {
            std::fprintf(stderr, "kv: --admin: %s\n", e.status().message().c_str());
            return 2;
        }
        admin_endpoint = e.value();
    }

    KvStore store;
    chorus::Node node(options.value(), store);
    chorus::MembershipAdmin membership(node, options->id);
    std::unique_ptr<chorus::net::HttpServer> admin_http;
    if (admin_endpoint) {
        chorus::net::HttpServerOptions http_options;
        http_options.endpoint = *admin_endpoint;
        http_options.server_name = "kv";
        admin_http = std::make_unique<chorus::net::HttpServer>(
            http_options,
            [&membership](chorus::net::HttpRequest request, chorus::net::Respond respond) {
                if (membership.handle(request, respond)) return;
                if (request.target == "/health")
                    return respond(chorus::net::HttpReply{200, R"({"status":"up"})"});
                respond(chorus::net::HttpReply{
                    404, chorus::net::json_error("no such page: /health and /membership")});
            });
        // Before the node starts: a server joining through this one's
        // --admin may ask while it loads its data.
        if (chorus::Status s = admin_http->start(); !s.is_ok()) {
            std::fprintf(stderr, "kv: --admin %s: %s\n", admin.c_str(), s.str().c_str());
            return 1;
        }
        spdlog::info("serving HTTP (health, membership) on {}", admin);
    }
    if (chorus::Status s = node.start(); !s.is_ok()) {
        std::fprintf(stderr, "kv: %s\n", s.str().c_str());
        return 1;
    }
    asio::io_context io;
    tcp::acceptor acceptor(io);
    boost::system::error_code ec;
    const tcp::endpoint endpoint(asio::ip::make_address(client_endpoint->host),
                                 client_endpoint->port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        std::fprintf(stderr, "kv: cannot listen for clients on %s: %s\n", client.c_str(),
                     ec.message().c_str());
        node.stop();
        return 1;
    }
    accept(acceptor, node, store);
    std::thread client_thread([&io] { io.run(); });
    spdlog::info("serving clients on {}", client);
    // On SIGTERM: node.stop() hands leadership over if this server leads
    // and answers the requests it took; meanwhile, and for a moment after,
    // new requests (on new connections too: closing the listener would drop
    // connections waiting in its backlog, requests unread) are answered
    // "NotLeader", which a client retries elsewhere. So a rolling restart
    // leaves no request uncertain (tests/process/kv_rolling_restart_test.py).
    const int rc = chorus::wait_for_stop_signal(node);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    io.stop();
    client_thread.join();
    if (admin_http) admin_http->stop();
    return rc;
}
