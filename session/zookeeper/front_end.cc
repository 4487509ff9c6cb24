#include "session/zookeeper/front_end.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string_view>
#include <type_traits>

#include "net/frame.h"
#include "net/frame_io.h"
#include "net/listener.h"
#include "session/server/session_service.h"
#include "session/zookeeper/digest.h"
#include "session/zookeeper/four_letter.h"
#include "session/zookeeper/host_facts.h"
#include "session/zookeeper/translate.h"

namespace chorus::zookeeper {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

uint64_t steady_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The answer to a refused handshake: ZooKeeper's "this session has
// expired" (timeout 0, no session).
ConnectResponse expired_response(const ConnectRequest& request) {
    ConnectResponse r;
    r.password = std::string(16, '\0');
    r.has_read_only = request.has_read_only;
    return r;
}

}  // namespace

struct ZooKeeperFrontEnd::Impl : std::enable_shared_from_this<ZooKeeperFrontEnd::Impl> {
    FrontEndOptions options;
    session::SessionService& service;
    net::Listener listener;

    class Connection;

    Impl(FrontEndOptions o, session::SessionService& s)
        : options(std::move(o)),
          service(s),
          listener("ZooKeeper clients", options.endpoint, options.max_connections) {}

    // Connections number their watches' owner from here (CancelWatches).
    std::atomic<uint64_t> next_owner{1};

    // The connections open now, for the four-letter words, and how many
    // come from each address (max_connections_per_address). Each connection
    // admits itself as it starts and leaves as it closes.
    std::mutex live_mu;
    std::set<Connection*> live;
    std::map<std::string, size_t> per_address;

    bool admit(Connection* c, const std::string& ip) {
        std::lock_guard lock(live_mu);
        size_t& n = per_address[ip];  // at least 1 if over a cap of 1 or more
        if (options.max_connections_per_address != 0 && n >= options.max_connections_per_address)
            return false;
        ++n;
        live.insert(c);
        return true;
    }
    void leave(Connection* c, const std::string& ip) {
        std::lock_guard lock(live_mu);
        if (live.erase(c) == 0) return;
        if (--per_address[ip] == 0) per_address.erase(ip);
    }

    // Server-wide figures of srvr, stat and mntr since the last srst (I/O
    // thread only).
    uint64_t received = 0;
    uint64_t sent = 0;
    Latencies latency;

    // conf's lines, from the facts the server program gave.
    std::vector<std::pair<std::string, std::string>> conf(uint64_t data_dir_bytes) const {
        const ServerFacts& f = options.facts;
        std::vector<std::pair<std::string, std::string>> out;
        auto add = [&](const char* key, const auto& value) {
            if constexpr (std::is_convertible_v<decltype(value), std::string>) {
                out.emplace_back(key, value);
            } else {
                out.emplace_back(key, std::to_string(value));
            }
        };
        add("clientPort", listener.port());
        add("secureClientPort", -1);
        if (!f.data_dir.empty()) {
            add("dataDir", f.data_dir);
            add("dataDirSize", data_dir_bytes);
            add("dataLogDir", f.data_dir);
            add("dataLogSize", data_dir_bytes);
        }
        if (f.tick_ms) add("tickTime", f.tick_ms);
        add("maxClientCnxns", options.max_connections_per_address);
        if (f.min_session_timeout_ms) add("minSessionTimeout", f.min_session_timeout_ms);
        if (f.max_session_timeout_ms) add("maxSessionTimeout", f.max_session_timeout_ms);
        add("clientPortListenBacklog", -1);
        add("serverId", f.server_id);
        for (const auto& [id, address] : f.peers)
            out.emplace_back("server." + std::to_string(id), address);
        return out;
    }
};

class ZooKeeperFrontEnd::Impl::Connection : public net::Listener::Connection,
                                            public std::enable_shared_from_this<Connection> {
 public:
    Connection(std::shared_ptr<Impl> front_end, tcp::socket socket)
        : impl_(std::move(front_end)), socket_(std::move(socket)) {
        error_code ec;
        const auto remote = socket_.remote_endpoint(ec);
        peer_ = ec ? std::string("?")
                   : remote.address().to_string() + ":" + std::to_string(remote.port());
        peer_ip_ = ec ? std::string("?") : remote.address().to_string();
        auth_.ip = peer_ip_;
    }
    ~Connection() override {
        impl_->leave(this, peer_ip_);
        impl_->listener.connection_closed();
    }

    void start() {
        if (!impl_->admit(this, peer_ip_)) {
            spdlog::warn("ZooKeeper client {}: too many connections from {} - max is {}; closing",
                         peer_, peer_ip_, impl_->options.max_connections_per_address);
            return close();
        }
        read_more();
    }
    void close() override {
        if (closed_) return;
        closed_ = true;
        impl_->leave(this, peer_ip_);
        paused_self_.reset();
        // Its watches end with it: they have no deadline of their own.
        if (!data_watches_.empty() || !child_watches_.empty() || !persistent_.empty()) {
            cpb::Request cancel;
            cancel.mutable_cancel_watches()->set_owner(owner_);
            impl_->service.handle(std::move(cancel), [](cpb::Response) {});
            data_watches_.clear();
            child_watches_.clear();
            persistent_.clear();
        }
        error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

 private:
    enum class State { kHandshake, kConnecting, kServing };

    // A reply's place in the connection's order.
    struct Slot {
        bool ready = false;
        std::string frame;
        bool close_after = false;
        // For the figures (cons): the request, when it was read, and the
        // zxid its reply carries.
        int32_t type = 0;
        int32_t xid = 0;
        uint64_t started_ms = 0;
        int64_t zxid = -1;
    };
    // A request that must wait for the writes before it.
    struct Held {
        uint64_t seq;
        Call call;
    };

    void read_more() {
        if (closed_ || reading_ || closing_) return;
        if (!take_frames()) return;
        reading_ = true;
        socket_.async_read_some(reader_.prepare(),
                                [self = shared_from_this()](error_code ec, size_t n) {
                                    self->reading_ = false;
                                    if (self->closed_) return;
                                    if (ec) return self->close();
                                    self->reader_.commit(n);
                                    self->read_more();
                                });
    }

    // Handles the whole frames held; false when reading must wait.
    bool take_frames() {
        uint32_t size = 0;
        // Draining: nothing more is read, and only the replies owed hold
        // the connection (the ask() callbacks hold it weakly).
        if (draining_ && !closed_) paused_self_ = shared_from_this();
        while (!closed_ && !closing_ && !draining_) {
            // Nothing is read while the handshake is answered, nor past the
            // limit of unanswered requests.
            if (state_ == State::kConnecting ||
                slots_.size() >= impl_->options.max_inflight_per_connection) {
                paused_self_ = shared_from_this();
                return false;
            }
            paused_self_.reset();
            if (!reader_.next_length(&size)) return true;
            if (state_ == State::kHandshake) {
                if (std::optional<std::string> word = four_letter_word(size)) {
                    four_letter(*word);
                    return false;
                }
            }
            if (size > impl_->options.max_frame_bytes) {
                spdlog::warn(
                    "ZooKeeper client {}: a frame of {} bytes is over jute.maxbuffer ({}); "
                    "closing",
                    peer_, size, impl_->options.max_frame_bytes);
                close();
                return false;
            }
            std::string_view body;
            if (!reader_.next(&body)) return true;
            ++received_;
            ++impl_->received;
            if (state_ == State::kHandshake) {
                handshake(body);
            } else {
                Call call = read_call(body, session_id_, auth_);
                // Nothing after closeSession or an unknown opcode is read:
                // ZooKeeper would not run it either.
                if (call.close_after || call.header.type == kOpCloseSession) draining_ = true;
                on_request(std::move(call));
            }
        }
        if (draining_ && !closed_) paused_self_ = shared_from_this();
        return false;
    }

    void resume() {
        if (paused_self_) {
            paused_self_.reset();
            read_more();
        }
    }

    // Runs `then(response)` on the I/O thread with the service's answer, if
    // the connection is still open then.
    template <typename Then>
    void ask(cpb::Request request, Then then) {
        std::weak_ptr<Connection> weak = shared_from_this();
        std::weak_ptr<Impl> weak_impl = impl_;
        impl_->service.handle(std::move(request), [weak, weak_impl, then = std::move(then)](
                                                      cpb::Response response) mutable {
            auto impl = weak_impl.lock();
            if (!impl) return;
            asio::post(impl->listener.io(),
                       [weak, response = std::move(response), then = std::move(then)]() mutable {
                           auto self = weak.lock();
                           if (!self || self->closed_) return;
                           then(*self, std::move(response));
                       });
        });
    }

    // --- The handshake ---

    // Answered from the service's figures; nothing more is read.
    void four_letter(const std::string& word) {
        closing_ = true;                    // no more reading
        paused_self_ = shared_from_this();  // alive until the answer is written
        cpb::Request stats;
        stats.mutable_stats();
        received_ = 1;  // the word, as ZooKeeper counts it
        ++impl_->received;
        ask(std::move(stats), [word](Connection& self, cpb::Response r) {
            self.closing_ = false;
            self.paused_self_.reset();  // the write holds it now
            Impl& impl = *self.impl_;
            const bool allowed = four_letter_allowed(word, impl.options.four_letter_words);
            FourLetterFacts facts;
            facts.whitelist = impl.options.four_letter_words;
            facts.stats = r.stats();
            // Read on this, the I/O thread, where every connection's
            // figures change.
            {
                std::lock_guard lock(impl.live_mu);
                for (Connection* c : impl.live) facts.connections.push_back(c->facts());
            }
            facts.received = impl.received;
            facts.sent = impl.sent;
            facts.latency = impl.latency;
            // Only the words that tell them read the disk and the host.
            if (allowed && (word == "conf" || word == "dirs"))
                facts.data_dir_bytes = directory_bytes(impl.options.facts.data_dir);
            if (allowed && word == "conf") facts.conf = impl.conf(facts.data_dir_bytes);
            if (allowed && word == "envi") facts.environment = host_environment();
            if (allowed && word == "crst") {
                std::lock_guard lock(impl.live_mu);
                for (Connection* c : impl.live) c->reset_figures();
            }
            if (allowed && word == "srst") {
                impl.received = 0;
                impl.sent = 0;
                impl.latency = {};
            }
            self.send(four_letter_answer(word, facts), /*then_close=*/true);
        });
    }

    // This connection as cons, stat and the watch words show it.
    ConnectionFacts facts() const {
        ConnectionFacts f;
        f.peer = peer_;
        f.has_session = state_ == State::kServing;
        f.queued = slots_.size();
        f.received = received_;
        f.sent = sent_;
        f.session_id = session_id_;
        f.timeout_ms = timeout_ms_;
        f.established_ms = established_ms_;
        f.last_op = last_op_;
        f.last_cxid = last_cxid_;
        f.last_zxid = last_zxid_;
        f.last_response_ms = last_response_ms_;
        f.last_latency_ms = last_latency_ms_;
        f.latency = latency_;
        for (const auto& [path, armed] : data_watches_) f.data_watches.push_back(path);
        // The data half of a persistent watch is in ZooKeeper's data
        // watches too.
        for (const auto& [path, modes] : persistent_) {
            if ((modes & (kNodeData | kSubtree)) != 0 && data_watches_.count(path) == 0)
                f.data_watches.push_back(path);
        }
        return f;
    }

    // crst: the figures start again (as ZooKeeper resets a connection's).
    void reset_figures() {
        received_ = 0;
        sent_ = 0;
        last_op_ = "NA";
        last_cxid_ = -1;
        last_zxid_ = -1;
        last_response_ms_ = 0;
        last_latency_ms_ = 0;
        latency_ = {};
    }

    // A reply went out: the figures of cons, stat and srvr.
    void note_reply(int32_t type, int32_t xid, int64_t zxid, uint64_t started_ms) {
        const uint64_t now = steady_ms();
        const uint64_t latency = now >= started_ms ? now - started_ms : 0;
        last_op_ = last_op_name(type);
        last_cxid_ = xid;
        if (zxid >= 0) last_zxid_ = zxid;
        last_response_ms_ = static_cast<int64_t>(now);
        last_latency_ms_ = latency;
        latency_.add(latency);
        impl_->latency.add(latency);
    }

    void handshake(std::string_view body) {
        JuteReader in(body);
        ConnectRequest request;
        if (!read_connect_request(in, &request)) {
            spdlog::warn(
                "ZooKeeper client {}: the first frame is not a ConnectRequest ({}); "
                "closing",
                peer_, in.error());
            return close();
        }
        state_ = State::kConnecting;
        if (request.last_zxid_seen <= 0) return open_or_resume(request);
        // Has this server seen what the client has? Only a read barrier
        // tells: the server may simply not have heard of it yet.
        cpb::Request sync;
        sync.mutable_sync();
        ask(std::move(sync), [request](Connection& self, cpb::Response r) {
            if (closes_connection(r.code())) return self.refuse_not_serving();
            const int64_t here = r.has_zxid() ? zk_zxid(r.zxid()) : 0;
            if (here < request.last_zxid_seen) {
                spdlog::warn(
                    "ZooKeeper client {}: it has seen zxid {:#x}, this server only "
                    "{:#x}; refused, so that it tries another server",
                    self.peer_, request.last_zxid_seen, here);
                return self.close();
            }
            self.open_or_resume(request);
        });
    }

    void open_or_resume(const ConnectRequest& request) {
        cpb::Request r;
        if (request.session_id == 0) {
            r.mutable_open()->set_timeout_ms(
                static_cast<uint64_t>(std::max(0, request.timeout_ms)));
        } else {
            if (request.password != password_of(static_cast<uint64_t>(request.session_id))) {
                spdlog::info(
                    "ZooKeeper client {}: a wrong password for session {:#x}; "
                    "answered as expired",
                    peer_, request.session_id);
                return answer_handshake(expired_response(request), /*then_close=*/true);
            }
            r.mutable_revalidate()->set_session_id(static_cast<uint64_t>(request.session_id));
        }
        ask(std::move(r), [request](Connection& self, cpb::Response response) {
            if (response.code() == cpb::NO_SESSION) {
                return self.answer_handshake(expired_response(request), true);
            }
            if (response.code() != cpb::OK) return self.refuse_not_serving();
            ConnectResponse answer;
            answer.protocol_version = 0;
            answer.timeout_ms = static_cast<int32_t>(response.session().timeout_ms());
            answer.session_id = static_cast<int64_t>(response.session().session_id());
            answer.password = password_of(response.session().session_id());
            answer.read_only = false;
            answer.has_read_only = request.has_read_only;
            self.session_id_ = response.session().session_id();
            self.timeout_ms_ = response.session().timeout_ms();
            self.established_ms_ = wall_ms();
            self.last_heartbeat_ms_ = steady_ms();
            self.state_ = State::kServing;
            self.answer_handshake(answer, false);
            self.resume();
        });
    }

    void answer_handshake(const ConnectResponse& response, bool then_close) {
        JuteWriter out;
        write_connect_response(out, response);
        send(net::frame_of_bytes(out.bytes()), then_close);
    }

    void refuse_not_serving() {
        spdlog::debug("ZooKeeper client {}: this server is not serving; closing", peer_);
        close();
    }

    // --- Requests ---

    void on_request(Call call) {
        if (call.malformed) {
            spdlog::warn("ZooKeeper client {}: a request that does not parse ({}); closing", peer_,
                         call.why);
            return close();
        }
        if (call.header.type == kOpPing) return ping(std::move(call));
        if (call.auth_packet) return add_auth(*call.auth_packet, call.header.xid);
        keep_alive();
        if (!call.request && !call.why.empty()) {
            spdlog::debug("ZooKeeper client {}: xid {} refused: {}", peer_, call.header.xid,
                          call.why);
        }
        const uint64_t seq = next_seq_++;
        Slot& slot = slots_.emplace_back();
        slot.type = call.header.type;
        slot.xid = call.header.xid;
        slot.started_ms = steady_ms();
        if (!held_.empty() || must_wait(call)) {
            held_.push_back(Held{seq, std::move(call)});
            return;
        }
        dispatch(seq, std::move(call));
    }

    // Reads wait for the writes before them; everything waits for a read
    // that sets a watch.
    bool must_wait(const Call& call) const {
        return watch_reads_inflight_ > 0 || (!call.orders_reads && writes_inflight_ > 0);
    }

    void dispatch(uint64_t seq, Call call) {
        if (call.set_watches) return restore_watches(seq, std::move(call));
        if (call.multi_read) return dispatch_multi_read(seq, std::move(call));
        if (call.who_am_i) return fill(seq, who_am_i_reply(call.header.xid, auth_), false);
        if (call.reconfig) return reconfig(seq, std::move(call));
        if (call.watch_control) return control_watches(seq, std::move(call));
        if (!call.request) return fill(seq, immediate_reply(call), call.close_after);
        if (call.orders_reads) ++writes_inflight_;
        if (call.watch) ++watch_reads_inflight_;
        cpb::Request request = std::move(*call.request);
        call.request.reset();
        request.set_id(seq);
        ask(std::move(request),
            [seq, call = std::move(call)](Connection& self, cpb::Response response) {
                if (call.orders_reads) --self.writes_inflight_;
                if (call.watch) --self.watch_reads_inflight_;
                if (closes_connection(response.code())) {
                    spdlog::info("ZooKeeper client {}: closing: {}", self.peer_,
                                 response.code() == cpb::UNCERTAIN
                                     ? "a write's outcome is unknown (the leader changed)"
                                     : "this server stopped serving");
                    return self.close();
                }
                self.fill(seq, reply_of(call, response), call.header.type == kOpCloseSession);
                // Set before anything held is sent on: the service sees the
                // watch before any later write.
                if (call.watch && response.code() == cpb::OK) self.watch_after_read(call, response);
                self.release_held();
            });
    }

    // reconfig: for the superuser, through the server program's hook. The
    // answer is ZooKeeper's: the new configuration as getData gives it.
    void reconfig(uint64_t seq, Call call) {
        const int32_t xid = call.header.xid;
        auto refuse = [&](int32_t error, const std::string& why) {
            spdlog::info("ZooKeeper client {}: reconfig refused: {}", peer_, why);
            fill(seq, header_reply(xid, 0, error), false);
        };
        if (!impl_->options.reconfig) {
            return refuse(kReconfigDisabled, "this server does not serve reconfig");
        }
        if (!auth_.superuser) {
            return refuse(kNoAuth,
                          "only the superuser may reconfigure (addauth digest super:PASSWORD, "
                          "with the server's --zookeeper-super-digest)");
        }
        Result<ReconfigChange> change = change_of(*call.reconfig);
        if (!change.is_ok()) return refuse(kBadArguments, change.status().message());
        ++writes_inflight_;
        spdlog::info("ZooKeeper client {}: reconfig: {} server {}", peer_,
                     change->kind == ReconfigChange::Kind::kJoin ? "joining" : "leaving",
                     change->id);
        std::weak_ptr<Connection> weak = shared_from_this();
        std::weak_ptr<Impl> weak_impl = impl_;
        impl_->options.reconfig(
            *change, call.reconfig->cur_config_id,
            [weak, weak_impl, seq, xid](ReconfigAnswer answer) {
                auto impl = weak_impl.lock();
                if (!impl) return;
                asio::post(impl->listener.io(), [weak, seq, xid, answer = std::move(answer)] {
                    auto self = weak.lock();
                    if (!self || self->closed_) return;
                    --self->writes_inflight_;
                    if (answer.error != kOk) {
                        spdlog::info("ZooKeeper client {}: reconfig failed ({}): {}", self->peer_,
                                     answer.error, answer.why);
                        self->fill(seq, header_reply(xid, 0, answer.error), false);
                    } else {
                        JuteWriter out;
                        write_reply_header(out, ReplyHeader{xid, answer.version, kOk});
                        Stat stat;
                        stat.mzxid = answer.version;
                        stat.data_length = static_cast<int32_t>(answer.config.size());
                        write_get_data_response(out, answer.config, stat);
                        self->fill(seq, out.take(), false);
                    }
                    self->release_held();
                });
            });
    }

    // multiRead: each read asked on its own; one reply once all are in.
    void dispatch_multi_read(uint64_t seq, Call call) {
        auto shared = std::make_shared<Call>(std::move(call));
        auto answers = std::make_shared<std::vector<cpb::Response>>(shared->reads.size());
        auto left = std::make_shared<size_t>(0);
        for (const Call& read : shared->reads) *left += read.request ? 1 : 0;
        if (*left == 0) return fill(seq, multi_read_reply_of(*shared, *answers), false);
        for (size_t i = 0; i < shared->reads.size(); ++i) {
            Call& read = shared->reads[i];
            if (!read.request) continue;
            cpb::Request request = std::move(*read.request);
            ask(std::move(request),
                [seq, i, shared, answers, left](Connection& self, cpb::Response r) {
                    if (closes_connection(r.code())) return self.close();
                    (*answers)[i] = std::move(r);
                    if (--*left == 0) self.fill(seq, multi_read_reply_of(*shared, *answers), false);
                });
        }
    }

    void release_held() {
        while (!held_.empty()) {
            if (must_wait(held_.front().call)) return;
            Held h = std::move(held_.front());
            held_.pop_front();
            dispatch(h.seq, std::move(h.call));
        }
    }

    // The reply of request `seq` is ready: send every ready one in order.
    void fill(uint64_t seq, std::string body, bool close_after) {
        Slot& slot = slots_.at(seq - first_seq_);
        slot.ready = true;
        JuteReader header(body);
        int32_t xid = 0;
        int64_t zxid = -1;
        if (!header.read_int("xid", &xid) || !header.read_long("zxid", &zxid)) zxid = -1;
        slot.zxid = zxid;
        slot.frame = net::frame_of_bytes(body);
        slot.close_after = close_after;
        while (!slots_.empty() && slots_.front().ready) {
            Slot front = std::move(slots_.front());
            slots_.pop_front();
            ++first_seq_;
            note_reply(front.type, front.xid, front.zxid, front.started_ms);
            send(std::move(front.frame), front.close_after);
            if (front.close_after) return;
        }
        resume();
    }

    // --- Watches ---
    //
    // Each is a service watch (cpb::Watch) on a node's version, or on its
    // cversion for a child watch, from the version the client's read saw:
    // it answers at the first change after that read, and the front end
    // turns the answer into ZooKeeper's event. One per path and kind, as
    // ZooKeeper keeps them; one-shot; set again after a service timeout.

    struct Armed {
        uint64_t token;   // tells this arming's answer from an earlier one's
        int64_t version;  // -1: an exists watch on a missing node
        Zxid czxid;       // the node as the client saw it
    };

    static Zxid zxid_of(const cpb::Zxid& z) { return Zxid{z.epoch(), z.counter()}; }

    void watch_after_read(const Call& call, const cpb::Response& response) {
        switch (call.header.type) {
            case kOpExists:
            case kOpGetData:
                if (response.node().exists()) {
                    arm(false, call.path, response.node().version(),
                        zxid_of(response.node().stat().czxid()));
                } else if (call.header.type == kOpExists) {
                    arm(false, call.path, -1, Zxid{});  // fires when it is created
                }
                break;
            case kOpGetChildren:
            case kOpGetChildren2:
                if (response.list().exists())
                    arm(true, call.path, response.list().stat().cversion(),
                        zxid_of(response.list().stat().czxid()));
                break;
            default:
                break;
        }
    }

    void arm(bool children, const std::string& path, int64_t version, Zxid czxid) {
        auto& armed = children ? child_watches_ : data_watches_;
        auto it = armed.find(path);
        if (it != armed.end() && it->second.version == version && it->second.czxid == czxid)
            return;  // already set
        if (it == armed.end() && armed.size() >= kMaxWatchesPerConnection) {
            spdlog::warn("ZooKeeper client {}: over {} watches of one kind; closing", peer_,
                         kMaxWatchesPerConnection);
            return close();
        }
        const uint64_t token = next_token_++;
        armed[path] = Armed{token, version, czxid};
        send_watch(children, path, armed[path]);
    }

    // A service watch of ZooKeeper's kind (any_change): it answers at the
    // first transaction that touches the node after the read the client
    // saw, also one that leaves its version as it was (a delete and a
    // create in one multi), and has no deadline.
    void send_watch(bool children, const std::string& path, const Armed& armed) {
        cpb::Request w;
        cpb::Watch* watch = w.mutable_watch();
        if (children) {
            watch->set_children(path);
        } else {
            watch->set_path(path);
        }
        watch->set_version(armed.version);
        watch->set_any_change(true);
        watch->mutable_czxid()->set_epoch(armed.czxid.epoch);
        watch->mutable_czxid()->set_counter(armed.czxid.counter);
        watch->set_owner(owner_);
        set_requester(&w, auth_);  // told only of changes to what it may read
        ask(std::move(w), [children, path, armed](Connection& self, cpb::Response r) {
            self.watch_answered(children, path, armed, r);
        });
    }

    void watch_answered(bool children, const std::string& path, const Armed& seen,
                        const cpb::Response& r) {
        auto& armed = children ? child_watches_ : data_watches_;
        auto it = armed.find(path);
        if (it == armed.end() || it->second.token != seen.token) return;  // ended or set again
        if (r.code() == cpb::TIMEOUT) return send_watch(children, path, seen);
        if (r.code() != cpb::OK) {
            spdlog::info("ZooKeeper client {}: a watch on {} ended ({}); closing", peer_, path,
                         cpb::Code_Name(r.code()));
            return close();
        }
        armed.erase(it);
        // A change to a node this client may not read: used up, untold (as
        // ZooKeeper does since its fix of CVE-2024-23944).
        if (r.watch().unreadable()) return;
        // The first thing that happened to the node since the client looked
        // (as ZooKeeper's event says): it was created, if it was missing;
        // deleted, if it is gone or is another node now; else changed.
        const bool replaced = !r.watch().exists() || zxid_of(r.watch().czxid()) != seen.czxid;
        int32_t type = kEventNodeDataChanged;
        if (!children && seen.version == -1) {
            type = kEventNodeCreated;
        } else if (replaced) {
            type = kEventNodeDeleted;
            // One NodeDeleted for the path, as ZooKeeper sends: it ends
            // both kinds of watch on it.
            (children ? data_watches_ : child_watches_).erase(path);
        } else if (children) {
            type = kEventNodeChildrenChanged;
        }
        // A persistent watch of this connection that covers the change has
        // its own event for it: ZooKeeper sends a connection one event per
        // change, however many of its watches cover it.
        if (persistent_covers(type, path)) return;
        send_event(type, path, r.has_zxid() ? zk_zxid(r.zxid()) : -1);
    }

    // --- Persistent watches (addWatch), and checkWatches, removeWatches ---
    //
    // The service keeps them (SessionService::set_persistent_watch) and
    // hands each change they cover to this connection's sink; persistent_
    // mirrors their modes, updated as the service confirms each change, so
    // that it is as the service's were when each event left it. As in
    // ZooKeeper, a persistent watch counts both as a data and as a child
    // watch of its path (a recursive one too, whose child half hears only
    // of deletions), and removing one kind leaves the other.

    using Modes = uint8_t;
    static constexpr Modes kNodeData = session::SessionService::kNodeData;
    static constexpr Modes kNodeChildren = session::SessionService::kNodeChildren;
    static constexpr Modes kSubtree = session::SessionService::kSubtree;
    static constexpr Modes kSubtreeDeletes = session::SessionService::kSubtreeDeletes;

    Modes persistent_modes(const std::string& path) const {
        auto it = persistent_.find(path);
        return it == persistent_.end() ? 0 : it->second;
    }

    bool persistent_covers(int32_t type, const std::string& path) const {
        if (persistent_.empty()) return false;
        const Modes here = persistent_modes(path);
        if (type == kEventNodeChildrenChanged) return (here & kNodeChildren) != 0;
        if ((here & kNodeData) || (type == kEventNodeDeleted && (here & kNodeChildren)))
            return true;
        const Modes wanted = type == kEventNodeDeleted ? kSubtree | kSubtreeDeletes : kSubtree;
        for (std::string at = path;;) {
            if (persistent_modes(at) & wanted) return true;
            if (at == "/" || at.empty() || at[0] != '/') return false;
            const size_t slash = at.rfind('/');
            at = slash == 0 ? "/" : at.substr(0, slash);
        }
    }

    // Asks the service to set `path`'s modes; `then(self)` once in effect
    // (the connection is closed if the service refuses).
    template <typename Then>
    void set_persistent(const std::string& path, Modes modes, Then then) {
        if (modes != 0 && persistent_.count(path) == 0 &&
            persistent_.size() >= kMaxWatchesPerConnection) {
            spdlog::warn("ZooKeeper client {}: over {} persistent watches; closing", peer_,
                         kMaxWatchesPerConnection);
            return close();
        }
        std::weak_ptr<Connection> weak = shared_from_this();
        std::weak_ptr<Impl> weak_impl = impl_;
        auto on_io = [weak, weak_impl](std::function<void(Connection&)> work) {
            auto impl = weak_impl.lock();
            if (!impl) return;
            asio::post(impl->listener.io(), [weak, work = std::move(work)] {
                auto self = weak.lock();
                if (self && !self->closed_) work(*self);
            });
        };
        auto sink = [on_io](const session::SessionService::WatchEvent& e) {
            on_io([e](Connection& self) { self.persistent_event(e); });
        };
        impl_->service.set_persistent_watch(
            owner_, path, modes, sink, requester_of(auth_), [on_io, path, modes, then](bool ok) {
                on_io([path, modes, ok, then](Connection& self) {
                    if (!ok) {
                        spdlog::warn(
                            "ZooKeeper client {}: the server holds as many watches as it "
                            "may (or stops); closing",
                            self.peer_);
                        return self.close();
                    }
                    if (modes == 0) {
                        self.persistent_.erase(path);
                    } else {
                        self.persistent_[path] = modes;
                    }
                    then(self);
                });
            });
    }

    void persistent_event(const session::SessionService::WatchEvent& e) {
        if (e.lost) {
            spdlog::info(
                "ZooKeeper client {}: changes its persistent watches cover may have been "
                "missed (the state was replaced, or the server stops); closing",
                peer_);
            return close();
        }
        int32_t type = kEventNodeCreated;
        switch (e.kind) {
            case session::NodeEventKind::kCreated:
                type = kEventNodeCreated;
                break;
            case session::NodeEventKind::kDeleted:
                type = kEventNodeDeleted;
                break;
            case session::NodeEventKind::kDataChanged:
                type = kEventNodeDataChanged;
                break;
            case session::NodeEventKind::kChildrenChanged:
                type = kEventNodeChildrenChanged;
                break;
        }
        send_event(type, e.path, zk_zxid(e.zxid));
    }

    void control_watches(uint64_t seq, Call call) {
        const PathModeRequest& r = *call.watch_control;
        const int32_t xid = call.header.xid;
        const Modes modes = persistent_modes(r.path);
        if (call.header.type == kOpAddWatch) {
            ++watch_reads_inflight_;
            const Modes added =
                r.mode == 0 ? Modes(kNodeData | kNodeChildren) : Modes(kSubtree | kSubtreeDeletes);
            set_persistent(r.path, modes | added, [seq, xid](Connection& self) {
                --self.watch_reads_inflight_;
                // Its answer is ZooKeeper's ErrorResponse: the code again.
                JuteWriter out;
                write_reply_header(out, ReplyHeader{xid, 0, kOk});
                out.write_int(kOk);
                self.fill(seq, std::string(out.bytes()), false);
                self.release_held();
            });
            return;
        }
        constexpr int32_t kChildWatches = 1, kDataWatches = 2;  // 3: any
        const bool data = r.mode != kChildWatches;
        const bool children = r.mode != kDataWatches;
        const Modes kept = Modes(modes & ~((data ? kNodeData | kSubtree : 0) |
                                           (children ? kNodeChildren | kSubtreeDeletes : 0)));
        const bool found = (data && data_watches_.count(r.path)) ||
                           (children && child_watches_.count(r.path)) || kept != modes;
        if (!found || call.header.type == kOpCheckWatches) {
            return fill(seq, header_reply(xid, 0, found ? kOk : kNoWatcher), false);
        }
        // One-shot watches are forgotten here (an answer that comes for one
        // now is ignored) and cancelled in the service.
        auto cancel_one_shot = [this](bool of_children, const std::string& path) {
            auto& armed = of_children ? child_watches_ : data_watches_;
            if (armed.erase(path) == 0) return;
            cpb::Request cancel;
            cpb::CancelWatches* c = cancel.mutable_cancel_watches();
            c->set_owner(owner_);
            c->set_path(path);
            c->set_children(of_children);
            impl_->service.handle(std::move(cancel), [](cpb::Response) {});
        };
        if (data) cancel_one_shot(false, r.path);
        if (children) cancel_one_shot(true, r.path);
        if (kept == modes) return fill(seq, header_reply(xid, 0, kOk), false);
        ++watch_reads_inflight_;
        set_persistent(r.path, kept, [seq, xid](Connection& self) {
            --self.watch_reads_inflight_;
            self.fill(seq, header_reply(xid, 0, kOk), false);
            self.release_held();
        });
    }

    void send_event(int32_t type, const std::string& path, int64_t zxid) {
        JuteWriter out;
        write_reply_header(out, ReplyHeader{kXidNotification, zxid, kOk});
        write_watcher_event(out, type, kStateSyncConnected, path);
        send(net::frame_of_bytes(out.bytes()), false);
    }

    // setWatches after a reconnect: each watch fires at once if its node
    // changed after relative_zxid (the last zxid the client saw), and is
    // set again otherwise. Its reply waits until every path was read, and
    // everything after it waits for its reply (Call::watch), so that it
    // holds at most one batch of reads per connection; paths are read once
    // each, invalid ones skipped, and at most kMaxWatchesPerConnection of a
    // kind are set.
    void restore_watches(uint64_t seq, Call call) {
        ++watch_reads_inflight_;
        const SetWatchesRequest& set = *call.set_watches;
        const int64_t seen = set.relative_zxid;
        struct Batch {
            size_t left = 1;  // one for this function, released at its end
            uint64_t seq = 0;
            int32_t xid = 0;
        };
        auto batch = std::make_shared<Batch>();
        batch->seq = seq;
        batch->xid = call.header.xid;
        auto done = [batch](Connection& self) {
            if (--batch->left != 0) return;
            --self.watch_reads_inflight_;
            self.fill(batch->seq, header_reply(batch->xid, 0, kOk), false);
            self.release_held();
        };
        auto unique_valid = [](const std::vector<std::string>& paths) {
            std::set<std::string> out;
            std::string why;
            for (const std::string& p : paths) {
                if (out.size() == kMaxWatchesPerConnection) break;
                if (valid_path(p, false, &why)) out.insert(p);
            }
            return out;
        };
        auto read = [this, batch, done](const std::string& path, bool children, auto then) {
            cpb::Request r;
            if (children) {
                r.mutable_list()->set_path(path);
            } else {
                r.mutable_read()->set_path(path);
            }
            ++batch->left;
            ask(std::move(r), [then, done](Connection& self, cpb::Response answer) {
                then(self, answer);
                if (!self.closed_) done(self);
            });
        };
        // The persistent ones first, so that a change the reads below miss
        // is theirs to report. (ZooKeeper reports none they missed while the
        // client was away.)
        std::map<std::string, Modes> persistent;
        for (const std::string& path : unique_valid(set.persistent))
            persistent[path] |= kNodeData | kNodeChildren;
        for (const std::string& path : unique_valid(set.persistent_recursive))
            persistent[path] |= kSubtree | kSubtreeDeletes;
        for (const auto& [path, modes] : persistent) {
            ++batch->left;
            set_persistent(path, Modes(persistent_modes(path) | modes), done);
            if (closed_) return;
        }
        for (const std::string& path : unique_valid(set.data)) {
            read(path, false, [path, seen](Connection& self, const cpb::Response& r) {
                if (r.code() != cpb::OK) return;
                const cpb::NodeReply& node = r.node();
                if (!node.exists()) return self.send_event(kEventNodeDeleted, path, -1);
                if (zk_zxid(node.stat().mzxid()) > seen)
                    return self.send_event(kEventNodeDataChanged, path, -1);
                self.arm(false, path, node.version(), zxid_of(node.stat().czxid()));
            });
        }
        for (const std::string& path : unique_valid(set.exist)) {
            read(path, false, [path](Connection& self, const cpb::Response& r) {
                if (r.code() != cpb::OK) return;
                if (r.node().exists()) return self.send_event(kEventNodeCreated, path, -1);
                self.arm(false, path, -1, Zxid{});
            });
        }
        for (const std::string& path : unique_valid(set.child)) {
            read(path, true, [path, seen](Connection& self, const cpb::Response& r) {
                if (r.code() != cpb::OK) return;
                const cpb::ListReply& list = r.list();
                if (!list.exists()) return self.send_event(kEventNodeDeleted, path, -1);
                if (zk_zxid(list.stat().pzxid()) > seen)
                    return self.send_event(kEventNodeChildrenChanged, path, -1);
                self.arm(true, path, list.stat().cversion(), zxid_of(list.stat().czxid()));
            });
        }
        done(*this);
    }

    // addAuth, taken at once as ZooKeeper takes it: the requests read after
    // it carry the identity. Its answer needs no place in the order (the
    // clients match it by its xid, -4). A scheme not served fails the
    // authentication and closes the connection, as in ZooKeeper.
    void add_auth(const AuthPacket& packet, int32_t xid) {
        if (packet.scheme == "digest") {
            const std::string id = digest_id(packet.auth);
            auto& digests = auth_.digests;
            if (std::find(digests.begin(), digests.end(), id) == digests.end())
                digests.push_back(id);
            if (!impl_->options.super_digest.empty() && id == impl_->options.super_digest) {
                spdlog::info("ZooKeeper client {}: authenticated as the superuser", peer_);
                auth_.superuser = true;
            }
        } else if (packet.scheme != "ip") {  // ip: its address, which it has already
            spdlog::warn(
                "ZooKeeper client {}: addAuth with the scheme '{}' (digest and ip are "
                "served); closing",
                peer_, packet.scheme);
            draining_ = true;
            return send(net::frame_of_bytes(header_reply(xid, 0, kAuthFailed)), true);
        }
        send(net::frame_of_bytes(header_reply(xid, 0, kOk)), false);
    }

    // A ping is a heartbeat; its answer needs no place in the order (the
    // clients match it by its xid, -2).
    void ping(Call call) {
        last_heartbeat_ms_ = steady_ms();
        const int32_t xid = call.header.xid;
        const uint64_t started = last_heartbeat_ms_;
        ask(std::move(*call.request), [xid, started](Connection& self, cpb::Response response) {
            if (!self.heartbeat_ok(response)) return;
            self.note_reply(kOpPing, xid, -1, started);
            self.send(net::frame_of_bytes(header_reply(xid, 0, kOk)), false);
        });
    }

    // Any request counts as the session being alive (a busy client sends
    // no pings): a heartbeat at most every third of the timeout.
    void keep_alive() {
        const uint64_t now = steady_ms();
        if (now - last_heartbeat_ms_ < timeout_ms_ / 3) return;
        last_heartbeat_ms_ = now;
        cpb::Request hb;
        hb.mutable_heartbeat()->add_session_ids(session_id_);
        ask(std::move(hb), [](Connection& self, cpb::Response r) { self.heartbeat_ok(r); });
    }

    // False (and the connection closed) if the session is gone or owned
    // elsewhere: the client reconnects and learns which.
    bool heartbeat_ok(const cpb::Response& r) {
        if (closes_connection(r.code())) {
            close();
            return false;
        }
        if (r.heartbeat().unknown_size() > 0 || r.heartbeat().not_owned_size() > 0) {
            spdlog::info(
                "ZooKeeper client {}: session {:#x} {}; closing", peer_, session_id_,
                r.heartbeat().unknown_size() > 0 ? "has ended" : "moved to another server");
            close();
            return false;
        }
        return true;
    }

    void send(std::string frame, bool then_close) {
        if (closing_) return;
        ++sent_;
        ++impl_->sent;
        writer_.push(std::move(frame));
        if (writer_.queued_bytes() > impl_->options.max_queued_bytes) {
            spdlog::warn("ZooKeeper client {}: {} bytes of replies unread; closing", peer_,
                         writer_.queued_bytes());
            return close();
        }
        closing_ = then_close;
        if (!writer_.writing()) write_next();
    }

    void write_next() {
        if (closed_) return;
        if (writer_.empty()) {
            if (closing_) close();
            return;
        }
        asio::async_write(socket_, writer_.start_write(),
                          [self = shared_from_this()](error_code ec, size_t) {
                              self->writer_.finish_write();
                              if (self->closed_) return;
                              if (ec) return self->close();
                              self->write_next();
                          });
    }

    std::shared_ptr<Impl> impl_;
    tcp::socket socket_;
    std::string peer_;
    std::string peer_ip_;
    ClientAuth auth_;  // who the client is: its address, and what addAuth proved
    net::FrameReader reader_;
    net::FrameWriter writer_;
    State state_ = State::kHandshake;
    uint64_t session_id_ = 0;
    uint64_t timeout_ms_ = 0;
    uint64_t last_heartbeat_ms_ = 0;
    // The figures of cons (four_letter.h).
    uint64_t received_ = 0;
    uint64_t sent_ = 0;
    int64_t established_ms_ = 0;
    std::string last_op_ = "NA";
    int64_t last_cxid_ = -1;
    int64_t last_zxid_ = -1;
    int64_t last_response_ms_ = 0;
    uint64_t last_latency_ms_ = 0;
    Latencies latency_;
    std::deque<Slot> slots_;  // replies owed, in request order
    uint64_t first_seq_ = 0;  // the request of slots_.front()
    uint64_t next_seq_ = 0;
    std::deque<Held> held_;
    int writes_inflight_ = 0;
    int watch_reads_inflight_ = 0;
    // Well below the server's own limit (ServiceOptions::max_watches), so
    // that no one connection takes every watch there is.
    static constexpr size_t kMaxWatchesPerConnection = 20000;
    std::map<std::string, Armed> data_watches_;   // exists and getData watches
    std::map<std::string, Armed> child_watches_;  // getChildren watches
    std::map<std::string, Modes> persistent_;     // addWatch's, as the service holds them
    uint64_t next_token_ = 1;
    const uint64_t owner_ = impl_->next_owner++;
    bool reading_ = false;
    bool closing_ = false;
    bool draining_ = false;  // a closing request was read: nothing more is
    bool closed_ = false;
    std::shared_ptr<Connection> paused_self_;
};

ZooKeeperFrontEnd::ZooKeeperFrontEnd(FrontEndOptions options, session::SessionService& service)
    : impl_(std::make_shared<Impl>(std::move(options), service)) {}

ZooKeeperFrontEnd::~ZooKeeperFrontEnd() { stop(); }

Status ZooKeeperFrontEnd::start() {
    return impl_->listener.start(net::Listener::making<Impl::Connection>(impl_));
}

void ZooKeeperFrontEnd::stop() { impl_->listener.stop(); }

std::string ZooKeeperFrontEnd::describe() const {
    const uint16_t bound = port();
    return "the ZooKeeper protocol on " + impl_->options.endpoint.host + ":" +
           std::to_string(bound != 0 ? bound : impl_->options.endpoint.port);
}

uint16_t ZooKeeperFrontEnd::port() const { return impl_->listener.port(); }

}  // namespace chorus::zookeeper
