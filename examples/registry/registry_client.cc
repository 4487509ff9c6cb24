#include "examples/registry/registry_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "examples/registry/lookups.h"
#include "examples/registry/registry.pb.h"
#include "net/endpoint.h"
#include "net/frame.h"
#include "net/frame_io.h"

namespace chorus::registry {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxAnswerBytes = 64 << 20;
// How often active_master() asks again while there is none, and a lookup
// that found no master serving.
constexpr auto kNoActiveRetry = std::chrono::milliseconds(20);
constexpr auto kRetryPause = std::chrono::milliseconds(20);

// Answers that settle a lookup; the others (not serving, no answer) send it
// on to the next master.
bool settles(pb::Code code) { return code != pb::NOT_SERVING; }

// "host:port" -> host and port; nullopt if it does not split.
std::optional<std::pair<std::string, std::string>> split_address(const std::string& address) {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
        return std::nullopt;
    return std::make_pair(address.substr(0, colon), address.substr(colon + 1));
}

}  // namespace

// One master's connection (I/O thread only). Requests wait in `pending`
// for their answers; a broken connection fails them all (nullopt).
class Link : public std::enable_shared_from_this<Link> {
 public:
    // The answer, or nullopt and why not; `unsent`: the request never left
    // (the connection was never made), so it cannot have been applied.
    using Answer =
        std::function<void(std::optional<pb::RegistryResponse>, std::string error, bool unsent)>;

    Link(asio::io_context& io, std::string address)
        : address_(std::move(address)), resolver_(io), socket_(io) {}

    const std::string& address() const { return address_; }

    void request(const pb::RegistryRequest& r, Answer answer) {
        pending_[r.id()] = std::move(answer);
        writer_.push(net::frame_of(r));
        if (state_ == State::kUp) return write_next();
        if (state_ == State::kIdle) connect();
    }

    // The request's answer is no longer wanted (its attempt timed out).
    void forget(uint64_t id) { pending_.erase(id); }

    void close(const std::string& why) {
        const bool unsent = state_ != State::kUp;
        ++generation_;  // the closed connection's handlers, still queued, now do nothing
        error_code ignored;
        resolver_.cancel();
        socket_.close(ignored);
        state_ = State::kIdle;
        reader_ = net::FrameReader();
        writer_ = net::FrameWriter();
        reading_ = false;
        auto failed = std::move(pending_);
        pending_.clear();
        for (auto& [id, answer] : failed) answer(std::nullopt, why, unsent);
    }

 private:
    enum class State : uint8_t { kIdle, kConnecting, kUp };

    void connect() {
        auto parts = split_address(address_);
        if (!parts) {
            return close("'" + address_ + "' is not HOST:PORT");
        }
        state_ = State::kConnecting;
        resolver_.async_resolve(
            parts->first, parts->second,
            [self = shared_from_this(), gen = generation_](error_code ec,
                                                           tcp::resolver::results_type results) {
                if (gen != self->generation_ || self->state_ != State::kConnecting) return;
                if (ec)
                    return self->close("cannot resolve " + self->address_ + ": " + ec.message());
                asio::async_connect(
                    self->socket_, results, [self, gen](error_code ec, const auto&) {
                        if (gen != self->generation_ || self->state_ != State::kConnecting) return;
                        if (ec)
                            return self->close("cannot connect to " + self->address_ + ": " +
                                               ec.message());
                        self->socket_.set_option(tcp::no_delay(true), ec);
                        self->state_ = State::kUp;
                        self->read_more();
                        self->write_next();
                    });
            });
    }

    void write_next() {
        if (state_ != State::kUp || writer_.writing() || writer_.empty()) return;
        asio::async_write(socket_, writer_.start_write(),
                          [self = shared_from_this(), gen = generation_](error_code ec, size_t) {
                              if (gen != self->generation_) return;  // another connection's
                              self->writer_.finish_write();
                              if (ec) return self->close("lost " + self->address_);
                              self->write_next();
                          });
    }

    void read_more() {
        if (reading_ || state_ != State::kUp) return;
        reading_ = true;
        socket_.async_read_some(reader_.prepare(), [self = shared_from_this(), gen = generation_](
                                                       error_code ec, size_t n) {
            if (gen != self->generation_) return;  // another connection's
            self->reading_ = false;
            if (ec) return self->close("lost " + self->address_ + ": " + ec.message());
            self->reader_.commit(n);
            uint32_t length = 0;
            std::string_view body;
            while (self->reader_.next_length(&length)) {
                if (length > kMaxAnswerBytes)
                    return self->close(self->address_ + " sent an answer too large to be one");
                if (!self->reader_.next(&body)) break;
                pb::RegistryResponse r;
                if (!r.ParseFromArray(body.data(), static_cast<int>(body.size())))
                    return self->close(self->address_ + " sent a frame that is not an answer");
                auto it = self->pending_.find(r.id());
                if (it == self->pending_.end()) continue;  // forgotten, or id 0 (a bad frame)
                Answer answer = std::move(it->second);
                self->pending_.erase(it);
                answer(std::move(r), "", false);
            }
            self->read_more();
        });
    }

    const std::string address_;
    tcp::resolver resolver_;
    tcp::socket socket_;
    State state_ = State::kIdle;
    net::FrameReader reader_;
    net::FrameWriter writer_;
    bool reading_ = false;
    // Counts connections: a handler of an earlier one (completed after
    // close(), maybe after a new connect()) must not touch the new one's
    // reader, writer or reading_ flag.
    uint64_t generation_ = 0;
    std::map<uint64_t, Answer> pending_;
};

namespace {

struct Outcome {
    std::optional<pb::RegistryResponse> response;
    Status error;
    // Every master said it is not serving, or could not be reached: nothing
    // was applied, and an election or a restart may be all it is.
    bool retryable = false;
};

}  // namespace

struct RegistryClient::Impl : std::enable_shared_from_this<RegistryClient::Impl> {
    explicit Impl(RegistryClientOptions o)
        : options(std::move(o)),
          random(options.seed != 0 ? options.seed : std::random_device()()),
          work(asio::make_work_guard(io)),
          thread([this] { io.run(); }) {}

    // Fails what is in flight, closes the connections and ends the I/O
    // thread (whose handlers hold this state: it is freed once they are).
    void shutdown() {
        closing = true;  // lookups failing over now finish instead
        asio::post(io, [this] {
            for (auto& [address, link] : links) link->close("the client is closing");
            links.clear();
            work.reset();
        });
        if (thread.joinable()) thread.join();
    }

    RegistryClientOptions options;
    mutable std::mutex mu;  // guards the fields up to `io`
    std::mt19937_64 random;
    std::map<pb::RegistryRequest::OpCase, std::pair<pb::RegistryResponse, Clock::time_point>> cache;
    std::string last_master;
    LookupCounters counters;

    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work;
    std::map<std::string, std::shared_ptr<Link>> links;  // I/O thread
    uint64_t next_id = 1;                                // I/O thread
    std::atomic<bool> closing{false};
    std::thread thread;

    std::shared_ptr<Link> link(const std::string& address) {
        auto& l = links[address];
        if (!l) l = std::make_shared<Link>(io, address);
        return l;
    }

    // One lookup on its way (I/O thread).
    struct Lookup {
        pb::RegistryRequest request;
        std::vector<std::string> order;  // the masters, shuffled
        size_t next = 0;
        size_t outstanding = 0;
        bool done = false;
        Status last_error;
        bool all_unapplied = true;  // every failure so far left nothing applied
        bool write = false;         // SetMetaLocation: never hedged, never re-sent blind
        std::string answered_by;
        std::promise<Outcome> promise;
        std::unique_ptr<asio::steady_timer> deadline;
    };

    void finish(const std::shared_ptr<Lookup>& l, Outcome outcome) {
        if (l->done) return;
        l->done = true;
        l->deadline->cancel();
        l->promise.set_value(std::move(outcome));
    }

    void launch_next(const std::shared_ptr<Lookup>& l) {
        if (l->done) return;
        if (closing.load())
            return finish(l,
                          Outcome{std::nullopt, Status(Code::kTimeout, "the client is closing")});
        if (l->next == l->order.size()) {
            if (l->outstanding == 0)
                // Asked again after a pause if nothing can have applied: any
                // lookup (a read), or a write no master may have taken.
                finish(l,
                       Outcome{std::nullopt,
                               l->last_error.is_ok() ? Status(Code::kTimeout, "no masters to ask")
                                                     : l->last_error,
                               l->all_unapplied || !l->write});
            return;
        }
        const std::string address = l->order[l->next++];
        auto master = link(address);
        pb::RegistryRequest r = l->request;
        const uint64_t id = next_id++;
        r.set_id(id);
        ++l->outstanding;
        {
            std::lock_guard lock(mu);
            ++counters.requests;
        }
        auto settled = std::make_shared<bool>(false);
        auto timer = std::make_shared<asio::steady_timer>(
            io, std::chrono::milliseconds(options.attempt_timeout_ms));
        auto self = shared_from_this();
        auto result = [self, l, address, settled, timer](std::optional<pb::RegistryResponse> r,
                                                         std::string error, bool unsent) {
            if (*settled) return;
            *settled = true;
            timer->cancel();
            --l->outstanding;
            if (l->done) return;
            if (r && settles(r->code())) {
                std::lock_guard lock(self->mu);
                self->last_master = address;
                l->answered_by = address;
            }
            if (r && settles(r->code())) return self->finish(l, Outcome{std::move(r), Status()});
            {
                std::lock_guard lock(self->mu);
                ++self->counters.failovers;
            }
            if (!r && !unsent) l->all_unapplied = false;  // sent, and no answer came
            l->last_error = r ? Status(Code::kNotLeader, address + ": " + r->message())
                              : Status(Code::kTimeout, std::move(error));
            // A write sent without an answer may have applied: sending it to
            // another master could make it look refused by its own success.
            if (l->write && !l->all_unapplied)
                return self->finish(
                    l, Outcome{std::nullopt,
                               Status(Code::kUnknownOutcome,
                                      l->last_error.message() +
                                          "; the write may have applied: read the meta location")});
            self->launch_next(l);
        };
        timer->async_wait([result, master, id](error_code ec) {
            if (ec) return;  // cancelled: answered
            master->forget(id);
            result(std::nullopt, master->address() + " did not answer in time", false);
        });
        master->request(r, result);
    }

    // Asks until a master settles it, within the timeout: a lookup that
    // found every master not serving or unreachable (an election, a
    // restart) is tried again after a pause, while time is left.
    Outcome ask(const pb::RegistryRequest& request, bool cacheable) {
        return ask(request, cacheable,
                   Clock::now() + std::chrono::milliseconds(options.timeout_ms));
    }
    Outcome ask(const pb::RegistryRequest& request, bool cacheable, Clock::time_point deadline) {
        for (;;) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            Outcome outcome = ask_once(request, cacheable, std::max<int64_t>(left.count(), 1));
            if (!outcome.retryable || closing.load() || Clock::now() + kRetryPause >= deadline)
                return outcome;
            std::this_thread::sleep_for(kRetryPause);
        }
    }

    Outcome ask_once(pb::RegistryRequest request, bool cacheable, int64_t timeout_ms) {
        const auto op = request.op_case();
        std::vector<std::string> order;
        {
            std::lock_guard lock(mu);
            ++counters.lookups;
            if (cacheable && options.cache_ttl_ms > 0) {
                auto it = cache.find(op);
                if (it != cache.end() && Clock::now() - it->second.second <
                                             std::chrono::milliseconds(options.cache_ttl_ms)) {
                    ++counters.cache_hits;
                    return Outcome{it->second.first, Status()};
                }
            }
            order = options.masters;
            // Each master once, however often it is listed.
            std::sort(order.begin(), order.end());
            order.erase(std::unique(order.begin(), order.end()), order.end());
            std::shuffle(order.begin(), order.end(), random);
        }
        if (order.empty()) return Outcome{std::nullopt, Status::invalid_argument("no masters")};
        auto l = std::make_shared<Lookup>();
        l->request = std::move(request);
        l->order = std::move(order);
        auto future = l->promise.get_future();
        l->write = l->request.has_set_meta_location();
        const uint32_t hedge = l->write ? 1 : std::max<uint32_t>(options.hedge, 1);
        asio::post(io, [self = shared_from_this(), l, hedge, timeout_ms] {
            l->deadline = std::make_unique<asio::steady_timer>(
                self->io, std::chrono::milliseconds(timeout_ms));
            l->deadline->async_wait([self, l](error_code ec) {
                if (ec) return;
                self->finish(l,
                             Outcome{std::nullopt,
                                     Status(Code::kTimeout,
                                            "no master answered within " +
                                                std::to_string(self->options.timeout_ms) + " ms" +
                                                (l->last_error.is_ok()
                                                     ? std::string()
                                                     : " (" + l->last_error.message() + ")"))});
            });
            for (uint32_t i = 0; i < hedge; ++i) self->launch_next(l);
        });
        Outcome outcome = future.get();
        if (cacheable && outcome.response && outcome.response->code() == pb::OK) {
            std::lock_guard lock(mu);
            cache[op] = {*outcome.response, Clock::now()};
        }
        return outcome;
    }
};

namespace {

// The error a settled answer that is not OK stands for.
Status error_of(const pb::RegistryResponse& r) {
    switch (r.code()) {
        case pb::NOT_FOUND:
            return Status::not_found(r.message());
        case pb::UNCERTAIN:
            return Status(Code::kUnknownOutcome, r.message());
        default:
            return Status::invalid_argument(pb::Code_Name(r.code()) + ": " + r.message());
    }
}

template <typename T, typename Make>
Result<T> result_of(Outcome outcome, Make make) {
    if (!outcome.response) return outcome.error;
    if (outcome.response->code() != pb::OK) return error_of(*outcome.response);
    return make(*outcome.response);
}

ServerName name_of(const pb::ServerName& name) {
    return ServerName{.host = name.host(),
                      .port = static_cast<uint16_t>(name.port()),
                      .start_code = name.start_code()};
}

}  // namespace

RegistryClient::RegistryClient(RegistryClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {}

RegistryClient::~RegistryClient() { impl_->shutdown(); }

Result<std::string> RegistryClient::cluster_id() {
    pb::RegistryRequest r;
    r.mutable_get_cluster_id();
    return result_of<std::string>(impl_->ask(std::move(r), true),
                                  [](const pb::RegistryResponse& a) { return a.cluster_id(); });
}

Result<ServerName> RegistryClient::active_master() {
    // No active master is what a failover looks like from outside (the old
    // one's node gone, the next one's not yet made): ask again, for as long
    // as the timeout allows, before saying there is none.
    const auto deadline = Clock::now() + std::chrono::milliseconds(impl_->options.timeout_ms);
    for (;;) {
        pb::RegistryRequest r;
        r.mutable_get_active_master();
        Outcome outcome = impl_->ask(r, true, deadline);
        if (outcome.response && outcome.response->code() == pb::NOT_FOUND &&
            Clock::now() + kNoActiveRetry < deadline) {
            std::this_thread::sleep_for(kNoActiveRetry);
            continue;
        }
        return result_of<ServerName>(std::move(outcome), [](const pb::RegistryResponse& a) {
            return name_of(a.active_master());
        });
    }
}

Result<MetaLocation> RegistryClient::meta_location() {
    pb::RegistryRequest r;
    r.mutable_get_meta_location();
    return result_of<MetaLocation>(
        impl_->ask(std::move(r), true), [](const pb::RegistryResponse& a) {
            return MetaLocation{.server = name_of(a.meta_location()), .version = a.meta_version()};
        });
}

Result<std::vector<RegionServerInfo>> RegistryClient::region_servers() {
    pb::RegistryRequest r;
    r.mutable_get_region_servers();
    return result_of<std::vector<RegionServerInfo>>(
        impl_->ask(std::move(r), true), [](const pb::RegistryResponse& a) {
            std::vector<RegionServerInfo> out;
            for (const pb::RegionServer& s : a.region_servers())
                out.push_back({name_of(s.name()), s.metadata()});
            return out;
        });
}

Result<Masters> RegistryClient::masters() {
    pb::RegistryRequest r;
    r.mutable_get_masters();
    return result_of<Masters>(impl_->ask(std::move(r), true), [](const pb::RegistryResponse& a) {
        Masters m;
        if (a.has_active_master()) m.active = name_of(a.active_master());
        for (const pb::ServerName& b : a.backup_masters()) m.backups.push_back(name_of(b));
        return m;
    });
}

Result<MetaWrite> RegistryClient::set_meta_location(const ServerName& server,
                                                    int64_t expected_version) {
    pb::RegistryRequest r;
    *r.mutable_set_meta_location()->mutable_server() = to_pb(server);
    r.mutable_set_meta_location()->set_expected_version(expected_version);
    Outcome outcome = impl_->ask(std::move(r), false);
    if (!outcome.response) return outcome.error;
    const pb::RegistryResponse& a = *outcome.response;
    if (a.code() != pb::OK && a.code() != pb::BAD_VERSION) return error_of(a);
    MetaWrite w;
    w.applied = a.code() == pb::OK;
    if (a.has_meta_location())
        w.now = MetaLocation{.server = name_of(a.meta_location()), .version = a.meta_version()};
    // What is cached may be the version just replaced.
    std::lock_guard lock(impl_->mu);
    impl_->cache.erase(pb::RegistryRequest::kGetMetaLocation);
    return w;
}

void RegistryClient::invalidate() {
    std::lock_guard lock(impl_->mu);
    impl_->cache.clear();
}

void RegistryClient::set_masters(std::vector<std::string> masters) {
    {
        std::lock_guard lock(impl_->mu);
        impl_->options.masters = masters;
        impl_->cache.clear();
    }
    asio::post(impl_->io, [impl = impl_, masters = std::move(masters)] {
        for (auto it = impl->links.begin(); it != impl->links.end();) {
            if (std::find(masters.begin(), masters.end(), it->first) == masters.end()) {
                it->second->close("no longer a master");
                it = impl->links.erase(it);
            } else {
                ++it;
            }
        }
    });
}

std::string RegistryClient::last_master() const {
    std::lock_guard lock(impl_->mu);
    return impl_->last_master;
}

LookupCounters RegistryClient::counters() const {
    std::lock_guard lock(impl_->mu);
    return impl_->counters;
}

}  // namespace chorus::registry
