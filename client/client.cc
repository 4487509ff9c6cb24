#include "client/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "net/frame_io.h"
#include "session/client.pb.h"
#include "session/groups.h"

namespace chorus {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
namespace cpb = chorus::client::pb;

const char* client_code_name(ClientCode code) {
    switch (code) {
        case ClientCode::kOk:
            return "ok";
        case ClientCode::kNotServing:
            return "not serving";
        case ClientCode::kNoSession:
            return "no such session";
        case ClientCode::kNotOwner:
            return "not the session's owner";
        case ClientCode::kNoNode:
            return "no such node";
        case ClientCode::kNodeExists:
            return "node exists";
        case ClientCode::kBadVersion:
            return "version mismatch";
        case ClientCode::kNoParent:
            return "no parent node";
        case ClientCode::kNotEmpty:
            return "node has children";
        case ClientCode::kBadPath:
            return "bad path";
        case ClientCode::kBadRequest:
            return "bad request";
        case ClientCode::kTooLarge:
            return "too large";
        case ClientCode::kTimeout:
            return "timeout";
        case ClientCode::kUncertain:
            return "outcome uncertain";
        case ClientCode::kBusy:
            return "busy";
        case ClientCode::kConnectionLost:
            return "connection lost";
        case ClientCode::kClosed:
            return "client closed";
    }
    return "?";
}

std::string ClientStatus::str() const {
    std::string s = client_code_name(code);
    if (!message.empty()) s += ": " + message;
    return s;
}

ClientOp ClientOp::create(std::string path, std::string data, bool ephemeral) {
    return ClientOp{Kind::kCreate, std::move(path), std::move(data),
                    std::nullopt,  ephemeral,       false};
}
ClientOp ClientOp::put(std::string path, std::string data, bool ephemeral) {
    return ClientOp{Kind::kPut, std::move(path), std::move(data), std::nullopt, ephemeral, false};
}
ClientOp ClientOp::set(std::string path, std::string data, std::optional<int64_t> expected) {
    return ClientOp{Kind::kSet, std::move(path), std::move(data), expected, false, false};
}
ClientOp ClientOp::remove(std::string path, std::optional<int64_t> expected) {
    return ClientOp{Kind::kDelete, std::move(path), {}, expected, false, false};
}
ClientOp ClientOp::check(std::string path, int64_t expected) {
    return ClientOp{Kind::kCheck, std::move(path), {}, expected, false, false};
}

const ServerStats::LogCount* ServerStats::log_of(const std::string& kind) const {
    for (const LogCount& c : log) {
        if (c.kind == kind) return &c;
    }
    return nullptr;
}

namespace {

// What a request's answer is handed to (on the I/O thread).
using Done = std::function<void(ClientStatus, const cpb::Response&)>;

ClientCode code_of(cpb::Code code) {
    switch (code) {
        case cpb::OK:
            return ClientCode::kOk;
        case cpb::NOT_SERVING:
            return ClientCode::kNotServing;
        case cpb::NO_SESSION:
            return ClientCode::kNoSession;
        case cpb::NOT_OWNER:
            return ClientCode::kNotOwner;
        case cpb::NO_NODE:
            return ClientCode::kNoNode;
        case cpb::NODE_EXISTS:
            return ClientCode::kNodeExists;
        case cpb::BAD_VERSION:
            return ClientCode::kBadVersion;
        case cpb::NO_PARENT:
        case cpb::EPHEMERAL_PARENT:
            return ClientCode::kNoParent;
        case cpb::NOT_EMPTY:
            return ClientCode::kNotEmpty;
        case cpb::BAD_PATH:
            return ClientCode::kBadPath;
        case cpb::TOO_LARGE:
            return ClientCode::kTooLarge;
        case cpb::TIMEOUT:
            return ClientCode::kTimeout;
        case cpb::UNCERTAIN:
            return ClientCode::kUncertain;
        case cpb::BUSY:
            return ClientCode::kBusy;
        default:
            return ClientCode::kBadRequest;
    }
}

constexpr int kHeartbeatsPerFrame = 5000;
// A server takes frames up to 4 MiB (ClientListener); answers are capped at
// 64 MiB here, so a stream that is not ours cannot make us allocate 4 GiB.
constexpr size_t kMaxRequestBytes = (4u << 20) - 64;
constexpr uint32_t kMaxAnswerBytes = 64u << 20;

uint64_t now_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

}  // namespace

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
    class Conn;
    struct Pending {
        cpb::Request request;
        Done done;
        uint64_t deadline_ms = 0;
        bool read_only = false;  // safe to send again, or to several servers
        bool internal = false;   // heartbeats and revalidations
        std::set<Conn*> sent_on;
    };

    ClientOptions options;
    asio::io_context io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::thread thread;
    std::mt19937_64 rng;

    // I/O thread only.
    std::vector<std::string> servers;
    std::shared_ptr<Conn> primary;
    std::map<std::string, std::shared_ptr<Conn>> hedges;  // extra connections for reads
    std::map<uint64_t, Pending> pending;
    uint64_t next_id = 1;
    std::map<uint64_t, uint64_t> sessions;  // id -> timeout
    std::set<uint64_t> moving;              // being revalidated at the current server
    std::function<void(uint64_t)> lost_handler;
    asio::steady_timer heartbeat_timer{io};
    asio::steady_timer housekeeping{io};
    asio::steady_timer resend_timer{io};
    bool resend_scheduled = false;
    uint64_t resend_delay_ms = 5;      // the next resend_soon() delay
    uint64_t not_serving_since = 0;    // when the current server began refusing (0: it serves)
    std::set<uint64_t> to_revalidate;  // refused while the server was not serving
    uint64_t last_heartbeat_ms = 0;
    uint64_t connect_failures = 0;
    std::map<std::string, uint64_t> failed_at;  // server -> when it last failed us
    uint64_t conn_generation = 0;
    bool closing = false;

    mutable std::mutex current_mutex;
    std::string current;

    explicit Impl(ClientOptions o) : options(std::move(o)) {
        rng.seed(options.seed != 0 ? options.seed : std::random_device{}());
        servers = options.servers;
    }

    void start();
    void shutdown();
    void call(cpb::Request request, bool read_only, Done done);
    void send_pending(Conn* conn);
    void on_response(Conn* conn, cpb::Response response);
    void on_connected(Conn* conn);
    void on_lost(Conn* conn, const std::string& why);
    void failover(const std::string& why);
    void connect_primary(std::string avoid);
    std::string pick_server(const std::string& avoid);
    void revalidate_all();
    void resend_soon();
    void revalidate(uint64_t session);
    void heartbeat_tick();
    void housekeeping_tick();
    void session_lost(uint64_t session);
    void finish(uint64_t id, ClientStatus status, const cpb::Response& response);
    void drop_requests_on(Conn* conn, const std::string& why);
    uint64_t primary_generation() const;
    uint64_t heartbeat_interval_ms() const {
        uint64_t t = options.session_timeout_ms;
        for (const auto& [id, timeout] : sessions) t = std::min(t, timeout);
        return std::max<uint64_t>(t / 3, 10);
    }
};

// One connection to one server.
class Client::Impl::Conn : public std::enable_shared_from_this<Conn> {
 public:
    Conn(std::weak_ptr<Impl> client, asio::io_context& io, std::string server, uint64_t generation)
        : server(std::move(server)),
          generation(generation),
          client_(std::move(client)),
          socket_(io),
          resolver_(io),
          timer_(io) {}

    const std::string server;
    // Unique per connection: callbacks compare it, never a Conn* (a new
    // connection can reuse a freed one's address).
    const uint64_t generation;
    bool connected = false;
    bool closed = false;
    // The server's last frame said it drained (id 0, OK; it stops): it had
    // answered every request it took here and reads nothing more, so a
    // request still unanswered on this connection was never taken. Only
    // this positive word counts: a close without it (a crash, a timed-out
    // drain, our own failover) leaves writes uncertain.
    bool drained = false;

    void connect(uint64_t timeout_ms) {
        const size_t colon = server.rfind(':');
        if (colon == std::string::npos) return fail("not host:port");
        auto self = shared_from_this();
        timer_.expires_after(std::chrono::milliseconds(timeout_ms));
        timer_.async_wait([self](error_code ec) {
            if (!ec && !self->connected) self->fail("no connection within the connect timeout");
        });
        resolver_.async_resolve(server.substr(0, colon), server.substr(colon + 1),
                                [self](error_code ec, tcp::resolver::results_type results) {
                                    if (self->closed) return;
                                    if (ec) return self->fail(ec.message());
                                    asio::async_connect(
                                        self->socket_, results,
                                        [self](error_code ec, const tcp::endpoint&) {
                                            if (self->closed) return;
                                            if (ec) return self->fail(ec.message());
                                            self->connected = true;
                                            self->timer_.cancel();
                                            error_code ignored;
                                            self->socket_.set_option(tcp::no_delay(true), ignored);
                                            self->read_more();
                                            if (!self->writer_.empty()) self->write_next();
                                            if (auto c = self->client_.lock())
                                                c->on_connected(self.get());
                                        });
                                });
    }

    void send(const cpb::Request& request) {
        if (closed) return;
        writer_.push(net::frame_of(request));
        if (!writer_.writing() && connected) write_next();
    }

    void close() {
        if (closed) return;
        closed = true;
        connected = false;
        error_code ignored;
        timer_.cancel();
        resolver_.cancel();
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

 private:
    void fail(const std::string& why) {
        if (closed) return;
        close();
        if (auto c = client_.lock()) c->on_lost(this, why);
    }

    // Reads what has arrived (often many answers at once) and hands out the
    // whole frames.
    void read_more() {
        socket_.async_read_some(
            reader_.prepare(), [self = shared_from_this()](error_code ec, size_t n) {
                if (self->closed) return;
                if (ec) return self->fail(ec.message());
                self->reader_.commit(n);
                uint32_t size = 0;
                std::string_view body;
                while (!self->closed && self->reader_.next_length(&size)) {
                    if (size > kMaxAnswerBytes)
                        return self->fail("an answer of " + std::to_string(size) +
                                          " bytes: not a chorus server?");
                    if (!self->reader_.next(&body)) break;
                    cpb::Response response;
                    if (!response.ParseFromArray(body.data(), static_cast<int>(body.size())))
                        return self->fail("an answer that does not parse");
                    if (auto c = self->client_.lock())
                        c->on_response(self.get(), std::move(response));
                }
                if (!self->closed) self->read_more();
            });
    }

    // Everything queued leaves in one write (up to a limit).
    void write_next() {
        if (closed || writer_.empty()) return;
        asio::async_write(socket_, writer_.start_write(),
                          [self = shared_from_this()](error_code ec, size_t) {
                              self->writer_.finish_write();
                              if (self->closed) return;
                              if (ec) return self->fail(ec.message());
                              self->write_next();
                          });
    }

    std::weak_ptr<Impl> client_;
    tcp::socket socket_;
    tcp::resolver resolver_;
    asio::steady_timer timer_;
    net::FrameReader reader_;
    net::FrameWriter writer_;

    friend struct Client::Impl;
};

uint64_t Client::Impl::primary_generation() const { return primary ? primary->generation : 0; }

void Client::Impl::start() {
    work.emplace(io.get_executor());
    thread = std::thread([this] { io.run(); });
    asio::post(io, [self = shared_from_this()] {
        self->connect_primary("");
        self->heartbeat_tick();
        self->housekeeping_tick();
    });
}

void Client::Impl::shutdown() {
    std::promise<void> done;
    asio::post(io, [this, &done] {
        closing = true;
        heartbeat_timer.cancel();
        housekeeping.cancel();
        resend_timer.cancel();
        if (primary) primary->close();
        for (auto& [server, conn] : hedges) conn->close();
        auto all = std::move(pending);
        pending.clear();
        for (auto& [id, p] : all) {
            if (!p.internal) p.done(ClientStatus{ClientCode::kClosed, "the client is closing"}, {});
        }
        work.reset();
        done.set_value();
    });
    done.get_future().wait();
    io.stop();
    if (thread.joinable()) thread.join();
}

std::string Client::Impl::pick_server(const std::string& avoid) {
    // Prefer servers that have not failed us lately: a stopped server still
    // accepts connections (the kernel does), and going back to it would
    // cost another timeout.
    const uint64_t now = now_ms();
    std::vector<std::string> choices;
    for (const std::string& s : servers) {
        auto failed = failed_at.find(s);
        const bool recent =
            failed != failed_at.end() && now < failed->second + 2 * options.session_timeout_ms;
        if (s != avoid && !recent) choices.push_back(s);
    }
    if (choices.empty()) {
        for (const std::string& s : servers) {
            if (s != avoid) choices.push_back(s);
        }
    }
    if (choices.empty()) choices = servers;
    if (choices.empty()) return {};
    return choices[std::uniform_int_distribution<size_t>(0, choices.size() - 1)(rng)];
}

void Client::Impl::connect_primary(std::string avoid) {
    if (closing) return;
    const std::string server = pick_server(avoid);
    if (server.empty()) return;
    primary = std::make_shared<Conn>(weak_from_this(), io, server, ++conn_generation);
    {
        std::lock_guard lock(current_mutex);
        current.clear();
    }
    primary->connect(options.connect_timeout_ms);
}

void Client::Impl::on_connected(Conn* conn) {
    if (conn != primary.get()) {
        send_pending(conn);
        return;
    }
    connect_failures = 0;
    {
        std::lock_guard lock(current_mutex);
        current = conn->server;
    }
    revalidate_all();
    send_pending(conn);
}

void Client::Impl::drop_requests_on(Conn* conn, const std::string& why) {
    // Requests this connection was carrying: reads go again elsewhere;
    // anything else may or may not have been applied (kConnectionLost) —
    // but on a connection whose server said it drained, what it left
    // unanswered it never took, and goes again too. Heartbeats and
    // revalidations end; their callbacks see that the connection is gone.
    const bool never_taken = conn->drained;
    std::vector<uint64_t> failed;
    for (auto& [id, p] : pending) {
        if (!p.sent_on.erase(conn)) continue;
        if (!p.sent_on.empty()) continue;  // a hedge is still out
        if (!p.read_only && !never_taken) failed.push_back(id);
    }
    for (uint64_t id : failed) {
        finish(id, ClientStatus{ClientCode::kConnectionLost, conn->server + ": " + why}, {});
    }
}

void Client::Impl::on_lost(Conn* conn, const std::string& why) {
    if (closing) return;
    drop_requests_on(conn, why);
    if (primary && conn == primary.get()) {
        failover(conn->server + ": " + why);
    } else {
        hedges.erase(conn->server);
    }
}

void Client::Impl::failover(const std::string& why) {
    if (closing) return;
    std::string avoid;
    moving.clear();
    to_revalidate.clear();
    not_serving_since = 0;
    if (primary) {
        std::shared_ptr<Conn> old = std::move(primary);
        avoid = old->server;
        failed_at[avoid] = now_ms();
        old->close();
        drop_requests_on(old.get(), why);
    }
    ++connect_failures;
    // After a full round of failures, wait a little before the next try.
    const uint64_t delay = connect_failures > servers.size() ? 50 : 0;
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(delay));
    timer->async_wait([self = shared_from_this(), timer, avoid](error_code) {
        if (!self->primary) self->connect_primary(avoid);
    });
}

void Client::Impl::call(cpb::Request request, bool read_only, Done done) {
    if (closing) return done(ClientStatus{ClientCode::kClosed, "the client is closing"}, {});
    if (request.ByteSizeLong() > kMaxRequestBytes) {
        return done(ClientStatus{ClientCode::kTooLarge, "a request of " +
                                                            std::to_string(request.ByteSizeLong()) +
                                                            " bytes; servers take frames up to " +
                                                            std::to_string(kMaxRequestBytes)},
                    {});
    }
    const uint64_t id = next_id++;
    request.set_id(id);
    uint64_t timeout = options.request_timeout_ms;
    if (request.has_watch()) timeout += request.watch().timeout_ms();
    Pending& p = pending[id];
    p.request = std::move(request);
    p.done = std::move(done);
    p.deadline_ms = now_ms() + timeout;
    p.read_only = read_only;
    p.internal = p.request.has_heartbeat() || p.request.has_revalidate();
    if (primary && primary->connected) {
        p.sent_on.insert(primary.get());
        primary->send(p.request);
    }
    if (read_only && options.hedged_reads > 1) {
        // Hedged: the same read to other servers too; the first answer wins.
        uint32_t extra = options.hedged_reads - 1;
        for (const std::string& server : servers) {
            if (extra == 0) break;
            if (primary && server == primary->server) continue;
            std::shared_ptr<Conn> conn = hedges[server];
            if (!conn || conn->closed) {
                conn = std::make_shared<Conn>(weak_from_this(), io, server, ++conn_generation);
                hedges[server] = conn;
                conn->connect(options.connect_timeout_ms);  // may fail at once
            }
            if (conn->closed) continue;
            p.sent_on.insert(conn.get());
            conn->send(p.request);
            --extra;
        }
    }
}

void Client::Impl::send_pending(Conn* conn) {
    for (auto& [id, p] : pending) {
        if (!p.sent_on.empty()) continue;
        if (conn != primary.get()) continue;
        // Heartbeats and revalidations are made afresh for each server.
        if (p.internal) continue;
        p.sent_on.insert(conn);
        conn->send(p.request);
    }
}

void Client::Impl::finish(uint64_t id, ClientStatus status, const cpb::Response& response) {
    auto it = pending.find(id);
    if (it == pending.end()) return;
    Done done = std::move(it->second.done);
    pending.erase(it);
    done(std::move(status), response);
}

void Client::Impl::on_response(Conn* conn, cpb::Response response) {
    if (response.id() == 0) {  // about the connection itself
        if (response.code() == cpb::OK) conn->drained = true;
        return;
    }
    auto it = pending.find(response.id());
    if (it == pending.end()) return;  // a hedge that lost, or an answer after a timeout
    Pending& p = it->second;
    if (response.code() == cpb::NOT_SERVING) {
        p.sent_on.erase(conn);
        if (p.request.has_revalidate() && primary && conn == primary.get()) {
            // Try again in a moment (resend_soon), here.
            moving.erase(p.request.revalidate().session_id());
            to_revalidate.insert(p.request.revalidate().session_id());
        }
        const bool drop = p.internal && p.sent_on.empty();
        if (drop) pending.erase(it);
        if (primary && conn == primary.get()) {
            // Not applied: it goes again (until its deadline). Usually the
            // ensemble is electing and this server will serve again in a
            // moment: stay, so that an election does not move every client
            // (and revalidate every session). Move only if it goes on
            // refusing for a third of the session timeout — it may be cut
            // off from the quorum, and its sessions orphaned.
            const uint64_t now = now_ms();
            if (not_serving_since == 0) not_serving_since = now;
            if (now - not_serving_since >= heartbeat_interval_ms()) {
                failover(conn->server + " is not serving");
            } else {
                resend_soon();
            }
        }
        return;
    }
    if (primary && conn == primary.get()) {
        not_serving_since = 0;
        resend_delay_ms = 5;
    }
    ClientStatus status{code_of(response.code()), response.message()};
    finish(response.id(), std::move(status), response);
}

void Client::Impl::resend_soon() {
    if (resend_scheduled) return;
    resend_scheduled = true;
    // 5 ms, then doubling up to 50 ms: an election on a LAN is over in
    // milliseconds, and the first write after it should not wait long.
    resend_timer.expires_after(std::chrono::milliseconds(resend_delay_ms));
    resend_delay_ms = std::min<uint64_t>(50, resend_delay_ms * 2);
    resend_timer.async_wait([self = shared_from_this()](error_code ec) {
        self->resend_scheduled = false;
        if (ec || !self->primary || !self->primary->connected) return;
        auto again = std::move(self->to_revalidate);
        self->to_revalidate.clear();
        for (uint64_t session : again) {
            if (self->sessions.count(session)) self->revalidate(session);
        }
        self->send_pending(self->primary.get());
    });
}

void Client::Impl::revalidate_all() {
    for (const auto& [session, timeout] : sessions) revalidate(session);
}

void Client::Impl::revalidate(uint64_t session) {
    if (!primary || !primary->connected || moving.count(session)) return;
    moving.insert(session);
    cpb::Request r;
    r.mutable_revalidate()->set_session_id(session);
    const uint64_t at = primary->generation;
    call(std::move(r), false,
         [this, session, at, server = primary->server](ClientStatus s, const cpb::Response&) {
             if (at != primary_generation()) return;  // moved on meanwhile
             moving.erase(session);
             if (s.code == ClientCode::kNoSession) session_lost(session);
             if (s.code == ClientCode::kTimeout)
                 failover(server + " did not answer a revalidation");
         });
    // Like a heartbeat, a revalidation must be answered within a third of
    // the timeout, or the session could expire while we wait.
    auto p = pending.find(next_id - 1);
    if (p != pending.end()) p->second.deadline_ms = now_ms() + heartbeat_interval_ms();
}

void Client::Impl::session_lost(uint64_t session) {
    if (!sessions.erase(session)) return;
    moving.erase(session);
    if (lost_handler) lost_handler(session);
}

void Client::Impl::heartbeat_tick() {
    if (closing) return;
    const uint64_t interval = heartbeat_interval_ms();
    if (primary && primary->connected && !sessions.empty()) {
        // Frames of at most kHeartbeatsPerFrame sessions each.
        std::vector<cpb::Request> frames(1);
        for (const auto& [session, timeout] : sessions) {
            if (moving.count(session)) continue;
            if (frames.back().heartbeat().session_ids_size() >= kHeartbeatsPerFrame)
                frames.emplace_back();
            frames.back().mutable_heartbeat()->add_session_ids(session);
        }
        for (cpb::Request& r : frames) {
            if (r.heartbeat().session_ids_size() == 0) continue;
            if (!primary) break;
            const uint64_t at = primary->generation;
            call(std::move(r), false,
                 [this, at, server = primary->server](ClientStatus s,
                                                      const cpb::Response& response) {
                     if (at != primary_generation()) return;
                     if (s.code == ClientCode::kTimeout) {
                         // A server that stopped answering (not a closed socket:
                         // a stopped or partitioned process): move on.
                         failover(server + " did not answer a heartbeat");
                         return;
                     }
                     if (!s.ok()) return;
                     for (uint64_t session : response.heartbeat().unknown()) session_lost(session);
                     for (uint64_t session : response.heartbeat().not_owned()) revalidate(session);
                 });
            // A heartbeat must be answered within a third of the timeout.
            auto p = pending.find(next_id - 1);
            if (p != pending.end()) p->second.deadline_ms = now_ms() + interval;
            if (at != primary_generation()) break;  // failed over while sending
        }
    }
    heartbeat_timer.expires_after(std::chrono::milliseconds(interval));
    heartbeat_timer.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->heartbeat_tick();
    });
}

void Client::Impl::housekeeping_tick() {
    if (closing) return;
    const uint64_t now = now_ms();
    std::vector<uint64_t> late;
    bool primary_silent = false;
    for (const auto& [id, p] : pending) {
        if (p.deadline_ms > now) continue;
        late.push_back(id);
        // A server that leaves a request unanswered that long is not
        // healthy (heartbeats and revalidations decide for themselves).
        if (!p.internal && primary && p.sent_on.count(primary.get())) primary_silent = true;
    }
    const uint64_t silent = primary_silent ? primary_generation() : 0;
    for (uint64_t id : late) {
        finish(id, ClientStatus{ClientCode::kTimeout, "no answer within the request timeout"}, {});
    }
    if (silent != 0 && silent == primary_generation())
        failover(primary->server + " left a request unanswered");
    housekeeping.expires_after(std::chrono::milliseconds(20));
    housekeeping.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->housekeeping_tick();
    });
}

// ---- the public API ----------------------------------------------------------

Client::Client(ClientOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {
    impl_->start();
}

Client::~Client() { impl_->shutdown(); }

void Client::open_session(Callback<uint64_t> done) {
    auto impl = impl_;
    asio::post(impl->io, [impl, done = std::move(done)]() mutable {
        cpb::Request r;
        r.mutable_open()->set_timeout_ms(impl->options.session_timeout_ms);
        impl->call(std::move(r), false,
                   [impl, done = std::move(done)](ClientStatus s, const cpb::Response& response) {
                       if (!s.ok()) return done(std::move(s), 0);
                       const uint64_t id = response.session().session_id();
                       impl->sessions[id] = response.session().timeout_ms();
                       done(std::move(s), id);
                   });
    });
}

void Client::close_session(uint64_t session_id, Callback<bool> done) {
    auto impl = impl_;
    asio::post(impl->io, [impl, session_id, done = std::move(done)]() mutable {
        impl->sessions.erase(session_id);
        cpb::Request r;
        r.mutable_close()->set_session_id(session_id);
        impl->call(std::move(r), false,
                   [done = std::move(done)](ClientStatus s, const cpb::Response&) {
                       done(std::move(s), true);
                   });
    });
}

void Client::on_session_lost(std::function<void(uint64_t)> handler) {
    auto impl = impl_;
    asio::post(impl->io, [impl, handler = std::move(handler)]() mutable {
        impl->lost_handler = std::move(handler);
    });
}

void Client::abandon_session(uint64_t session_id) {
    auto impl = impl_;
    asio::post(impl->io, [impl, session_id] { impl->sessions.erase(session_id); });
}

void Client::write(uint64_t session_id, std::vector<ClientOp> ops, Callback<bool> done) {
    cpb::Request r;
    r.mutable_write()->set_session_id(session_id);
    for (ClientOp& op : ops) {
        cpb::Op* out = r.mutable_write()->add_ops();
        out->set_kind(static_cast<cpb::Op::Kind>(op.kind));
        out->set_path(std::move(op.path));
        out->set_data(std::move(op.data));
        if (op.expected_version) out->set_expected_version(*op.expected_version);
        out->set_ephemeral(op.ephemeral);
        out->set_make_parents(op.make_parents);
    }
    auto impl = impl_;
    asio::post(impl->io, [impl, r = std::move(r), done = std::move(done)]() mutable {
        impl->call(std::move(r), false,
                   [done = std::move(done)](ClientStatus s, const cpb::Response& response) {
                       done(std::move(s), response.code() == cpb::OK);
                   });
    });
}

namespace {

template <class T, class Convert>
Done converting(Client::Callback<T> done, Convert convert) {
    return [done = std::move(done), convert](ClientStatus s, const cpb::Response& response) {
        if (!s.ok() && s.code != ClientCode::kTimeout) return done(std::move(s), T{});
        done(std::move(s), convert(response));
    };
}

}  // namespace

void Client::get(std::string path, bool sync, Callback<TreeNodeData> done) {
    cpb::Request r;
    r.mutable_read()->set_path(std::move(path));
    r.mutable_read()->set_sync(sync);
    auto impl = impl_;
    asio::post(impl->io, [impl, r = std::move(r), done = std::move(done)]() mutable {
        impl->call(std::move(r), true,
                   converting<TreeNodeData>(std::move(done), [](const cpb::Response& x) {
                       return TreeNodeData{x.node().exists(), x.node().data(), x.node().version(),
                                           x.node().ephemeral_owner()};
                   }));
    });
}

void Client::list(std::string path, bool sync, Callback<std::vector<std::string>> done) {
    cpb::Request r;
    r.mutable_list()->set_path(std::move(path));
    r.mutable_list()->set_sync(sync);
    auto impl = impl_;
    asio::post(impl->io, [impl, r = std::move(r), done = std::move(done)]() mutable {
        impl->call(
            std::move(r), true,
            converting<std::vector<std::string>>(std::move(done), [](const cpb::Response& x) {
                return std::vector<std::string>(x.list().names().begin(), x.list().names().end());
            }));
    });
}

void Client::sync(Callback<bool> done) {
    cpb::Request r;
    r.mutable_sync();
    auto impl = impl_;
    asio::post(impl->io, [impl, r = std::move(r), done = std::move(done)]() mutable {
        impl->call(std::move(r), true,
                   converting<bool>(std::move(done), [](const cpb::Response&) { return true; }));
    });
}

void Client::watch_node(std::string path, int64_t version, uint64_t timeout_ms,
                        Callback<WatchResult> done) {
    watch(false, std::move(path), version, timeout_ms, std::move(done));
}

void Client::watch_group(std::string group, int64_t version, uint64_t timeout_ms,
                         Callback<WatchResult> done) {
    watch(true, std::move(group), version, timeout_ms, std::move(done));
}

void Client::watch(bool group, std::string target, int64_t version, uint64_t timeout_ms,
                   Callback<WatchResult> done) {
    if (timeout_ms == 0) timeout_ms = 60000;  // what the server does with 0
    cpb::Request r;
    if (group) {
        r.mutable_watch()->set_group(std::move(target));
    } else {
        r.mutable_watch()->set_path(std::move(target));
    }
    r.mutable_watch()->set_version(version);
    r.mutable_watch()->set_timeout_ms(timeout_ms);
    auto impl = impl_;
    asio::post(impl->io, [impl, r = std::move(r), done = std::move(done)]() mutable {
        impl->call(std::move(r), true,
                   converting<WatchResult>(std::move(done), [](const cpb::Response& x) {
                       return WatchResult{x.watch().version(), x.watch().exists()};
                   }));
    });
}

void Client::join_group(uint64_t session_id, const std::string& group, const std::string& member,
                        std::string metadata, Callback<bool> done) {
    if (!session::valid_name(group) || !session::valid_name(member)) {
        return done(ClientStatus{ClientCode::kBadRequest, "invalid group or member name"}, false);
    }
    ClientOp op = ClientOp::put(session::member_path(group, member), std::move(metadata), true);
    op.make_parents = true;
    write(session_id, {std::move(op)}, std::move(done));
}

void Client::leave_group(const std::string& group, const std::string& member, Callback<bool> done) {
    if (!session::valid_name(group) || !session::valid_name(member)) {
        return done(ClientStatus{ClientCode::kBadRequest, "invalid group or member name"}, false);
    }
    write(0, {ClientOp::remove(session::member_path(group, member))}, std::move(done));
}

void Client::set_member_config(const std::string& group, const std::string& member,
                               std::string config, Callback<bool> done) {
    if (!session::valid_name(group) || !session::valid_name(member)) {
        return done(ClientStatus{ClientCode::kBadRequest, "invalid group or member name"}, false);
    }
    ClientOp op = ClientOp::put(session::member_config_path(group, member), std::move(config));
    op.make_parents = true;
    write(0, {std::move(op)}, std::move(done));
}

void Client::set_group_config(const std::string& group, std::string config, Callback<bool> done) {
    if (!session::valid_name(group)) {
        return done(ClientStatus{ClientCode::kBadRequest, "invalid group name"}, false);
    }
    ClientOp op = ClientOp::put(session::group_config_path(group), std::move(config));
    op.make_parents = true;
    write(0, {std::move(op)}, std::move(done));
}

void Client::get_group(std::string group, bool sync, Callback<GroupData> done) {
    cpb::Request r;
    r.mutable_get_group()->set_group(std::move(group));
    r.mutable_get_group()->set_sync(sync);
    auto impl = impl_;
    asio::post(impl->io, [impl, r = std::move(r), done = std::move(done)]() mutable {
        impl->call(std::move(r), true,
                   converting<GroupData>(std::move(done), [](const cpb::Response& x) {
                       GroupData g;
                       g.exists = x.group().exists();
                       g.version = x.group().version();
                       if (x.group().has_config()) g.config = x.group().config();
                       auto copy = [](const cpb::Member& m) {
                           GroupMemberData out;
                           out.name = m.name();
                           if (m.has_metadata()) out.metadata = m.metadata();
                           if (m.has_config()) out.config = m.config();
                           out.session_id = m.session_id();
                           return out;
                       };
                       for (const auto& m : x.group().active()) g.active.push_back(copy(m));
                       for (const auto& m : x.group().inactive()) g.inactive.push_back(copy(m));
                       return g;
                   }));
    });
}

void Client::stats(Callback<ServerStats> done) {
    cpb::Request r;
    r.mutable_stats();
    auto impl = impl_;
    asio::post(impl->io, [impl, r = std::move(r), done = std::move(done)]() mutable {
        impl->call(std::move(r), false,
                   converting<ServerStats>(std::move(done), [](const cpb::Response& x) {
                       const cpb::StatsReply& s = x.stats();
                       ServerStats out;
                       out.server_id = s.server_id();
                       out.role = s.role();
                       out.leader = s.leader();
                       out.epoch = s.epoch();
                       out.serving = s.serving();
                       out.sessions = s.sessions();
                       out.nodes = s.nodes();
                       out.heartbeats_absorbed = s.heartbeats_absorbed();
                       out.heartbeats_received = s.heartbeats_received();
                       out.sessions_expired = s.sessions_expired();
                       out.log_records_appended = s.log_records_appended();
                       out.log_bytes_appended = s.log_bytes_appended();
                       out.heap_bytes = s.heap_bytes();
                       out.connections = s.connections();
                       out.bad_frames = s.bad_frames();
                       out.watches = s.watches();
                       for (const auto& l : s.log())
                           out.log.push_back({l.kind(), l.records(), l.bytes()});
                       return out;
                   }));
    });
}

void Client::set_servers(std::vector<std::string> servers) {
    auto impl = impl_;
    asio::post(impl->io, [impl, servers = std::move(servers)]() mutable {
        impl->servers = std::move(servers);
        const bool still_listed =
            impl->primary && std::find(impl->servers.begin(), impl->servers.end(),
                                       impl->primary->server) != impl->servers.end();
        if (!still_listed) impl->failover("the server list changed");
    });
}

std::string Client::current_server() const {
    std::lock_guard lock(impl_->current_mutex);
    return impl_->current;
}

}  // namespace chorus
