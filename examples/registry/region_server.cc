#include "examples/registry/region_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "client/client.h"
#include "net/http_server.h"
#include "session/server/metrics.h"

namespace chorus::registry {

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
constexpr uint64_t kMaxWorkMs = 600000;
constexpr size_t kMaxWorkInFlight = 10000;

enum class Registration : uint8_t { kRegistering, kRegistered, kDeregistered, kGaveUp };

const char* registration_name(Registration r) {
    switch (r) {
        case Registration::kRegistering:
            return "registering";
        case Registration::kRegistered:
            return "registered";
        case Registration::kDeregistered:
            return "deregistered";
        case Registration::kGaveUp:
            return "gave up";
    }
    return "?";
}

}  // namespace

struct RegionServer::Impl {
    Impl(RegionServerConfig c, ServerName n)
        : config(std::move(c)),
          name(std::move(n)),
          path("/hbase/rs/" + name.str()),
          client(ClientOptions{.servers = config.masters,
                               .session_timeout_ms = config.session_timeout_ms,
                               .request_timeout_ms = 5000}),
          http(http_options(), [this](net::HttpRequest r, net::Respond respond) {
              on_http(std::move(r), std::move(respond));
          }) {}

    net::HttpServerOptions http_options() const {
        net::HttpServerOptions o;
        const size_t colon = config.http.rfind(':');
        o.endpoint.host = config.http.substr(0, colon);
        std::from_chars(config.http.data() + colon + 1, config.http.data() + config.http.size(),
                        o.endpoint.port);
        o.server_name = "registry-server";
        return o;
    }

    // The metadata registered: the configured object, with where this
    // server's HTTP port is and when it started.
    std::string registered_metadata() const {
        json m = json::parse(config.metadata);
        m["http"] = config.http;
        m["start_code"] = name.start_code;
        return m.dump();
    }

    const RegionServerConfig config;
    const ServerName name;
    const std::string path;
    SyncClient client;
    net::HttpServer http;
    std::function<void()> give_up;
    const Clock::time_point started = Clock::now();

    std::mutex mu;  // guards what follows, with cv
    std::condition_variable cv;
    Registration state = Registration::kRegistering;
    uint64_t session = 0;
    bool stopping = false;
    bool draining = false;
    uint64_t registrations = 0, sessions_lost = 0, failures = 0, failures_in_a_row = 0;
    std::multimap<Clock::time_point, net::Respond> work;  // in flight, by when it is done
    uint64_t work_done = 0, work_refused = 0;
    std::thread control_thread, work_thread;
    bool shut_down = false;

    // One try; the error says what went wrong. `*registered_with`: the
    // session the node was made under.
    Status register_once(uint64_t* registered_with) {
        uint64_t id = 0;
        {
            std::lock_guard lock(mu);
            id = session;
        }
        if (id == 0) {
            auto opened = client.open_session();
            if (!opened.ok())
                return Status(Code::kNotLeader, "opening a session: " + opened.status.str());
            id = opened.value;
            std::lock_guard lock(mu);
            session = id;
        }
        *registered_with = id;
        auto wrote = client.write(id, {ClientOp::create(path, registered_metadata(), true)});
        if (wrote.ok()) return Status::ok();
        if (wrote.status.code == ClientCode::kNodeExists ||
            wrote.status.code == ClientCode::kUncertain) {
            // An earlier try may have applied: it is ours if our session holds it.
            auto node = client.get(path, /*sync=*/true);
            if (node.ok() && node.value.exists && node.value.ephemeral_owner == id)
                return Status::ok();
        }
        if (wrote.status.code == ClientCode::kNoSession) {
            std::lock_guard lock(mu);
            session = 0;
        }
        if (wrote.status.code == ClientCode::kNoParent)
            return Status::not_found("no master has made /hbase/rs yet");
        return Status(Code::kNotLeader, "creating " + path + ": " + wrote.status.str());
    }

    void control() {
        std::mt19937_64 random(name.start_code ^ name.port);
        uint64_t backoff = config.backoff_initial_ms;
        std::unique_lock lock(mu);
        while (!stopping) {
            if (state == Registration::kRegistered) {
                cv.wait(lock, [&] { return stopping || state != Registration::kRegistered; });
                continue;
            }
            lock.unlock();
            uint64_t registered_with = 0;
            Status s = register_once(&registered_with);
            lock.lock();
            if (stopping) break;
            // The session may have been lost while the node was made: then
            // the node went with it, and this try counts as failed.
            if (s.is_ok() && session != registered_with)
                s = Status(Code::kNotLeader, "the session expired as the node was made");
            if (s.is_ok()) {
                state = Registration::kRegistered;
                ++registrations;
                failures_in_a_row = 0;
                backoff = config.backoff_initial_ms;
                spdlog::info("region server {}: registered as {} (session {:#x})", name.str(), path,
                             session);
                continue;
            }
            ++failures;
            ++failures_in_a_row;
            if (failures_in_a_row >= config.max_failures) {
                state = Registration::kGaveUp;
                spdlog::error(
                    "region server {}: {} registrations failed in a row (last: {}); "
                    "giving up",
                    name.str(), failures_in_a_row, s.message());
                lock.unlock();
                if (give_up) give_up();
                return;
            }
            // Jitter: somewhere in the second half of the backoff, so that
            // servers cut off together do not come back together.
            const uint64_t wait = backoff / 2 + random() % (backoff - backoff / 2 + 1);
            spdlog::warn("region server {}: registering failed ({}); again in {} ms ({} of {})",
                         name.str(), s.message(), wait, failures_in_a_row, config.max_failures);
            backoff = std::min(backoff * 2, config.backoff_max_ms);
            cv.wait_for(lock, std::chrono::milliseconds(wait), [&] { return stopping; });
        }
    }

    void session_lost(uint64_t id) {
        std::lock_guard lock(mu);
        if (id != session) return;
        spdlog::warn("region server {}: session {:#x} expired; registering again", name.str(), id);
        session = 0;
        ++sessions_lost;
        if (state == Registration::kRegistered) state = Registration::kRegistering;
        cv.notify_all();
    }

    // Answers work whose time has come.
    void run_work() {
        std::unique_lock lock(mu);
        while (!(shut_down && work.empty())) {
            if (work.empty()) {
                cv.wait(lock);
                continue;
            }
            const auto due = work.begin()->first;
            if (Clock::now() < due) {
                cv.wait_until(lock, due);
                continue;
            }
            net::Respond respond = std::move(work.begin()->second);
            work.erase(work.begin());
            ++work_done;
            cv.notify_all();
            lock.unlock();
            respond(net::HttpReply(200, R"({"done":true})"
                                        "\n"));
            lock.lock();
        }
    }

    void on_http(net::HttpRequest request, net::Respond respond) {
        std::string_view target = request.target;
        if (target.substr(0, 5) == "/work") return start_work(request, std::move(respond));
        if (request.method != "GET" && request.method != "HEAD")
            return respond(net::HttpReply(405, net::json_error("use GET")));
        if (target == "/health") return respond(health());
        if (target == "/ready") {
            std::lock_guard lock(mu);
            const bool ready = state == Registration::kRegistered && !draining;
            return respond(net::HttpReply(ready ? 200 : 503, json{{"ready", ready}}.dump() + "\n"));
        }
        if (target == "/metrics")
            return respond(net::HttpReply(200, metrics(), "text/plain; version=0.0.4"));
        respond(net::HttpReply(
            404, net::json_error("try /health, /ready, /metrics or POST /work?ms=N")));
    }

    void start_work(const net::HttpRequest& request, net::Respond respond) {
        constexpr std::string_view kPrefix = "/work?ms=";
        uint64_t ms = 0;
        std::string_view target = request.target;
        if (request.method != "POST" || target.substr(0, kPrefix.size()) != kPrefix)
            return respond(net::HttpReply(400, net::json_error("POST /work?ms=N")));
        const auto arg = target.substr(kPrefix.size());
        const auto [end, error] = std::from_chars(arg.data(), arg.data() + arg.size(), ms);
        if (error != std::errc() || end != arg.data() + arg.size() || ms > kMaxWorkMs)
            return respond(net::HttpReply(400, net::json_error("ms must be 0-600000")));
        std::lock_guard lock(mu);
        if (draining || work.size() >= kMaxWorkInFlight) {
            ++work_refused;
            return respond(net::HttpReply(
                503, net::json_error(draining ? "draining: this server is stopping" : "busy")));
        }
        work.emplace(Clock::now() + std::chrono::milliseconds(ms), std::move(respond));
        cv.notify_all();
    }

    net::HttpReply health() {
        std::lock_guard lock(mu);
        const bool healthy = state == Registration::kRegistered;
        const net::HttpCounts counts = http.counts();
        json body = {
            {"status", healthy ? "ok" : "unhealthy"},
            {"name", name.str()},
            {"uptime_s",
             std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count()},
            {"session", registration_name(state)},
            {"session_id", fmt::format("{:#x}", session)},
            {"master", client.async().current_server()},
            {"connections", counts.connections},
            {"work_in_flight", work.size()},
            {"draining", draining},
            {"failures_in_a_row", failures_in_a_row},
        };
        return net::HttpReply(healthy ? 200 : 503, body.dump() + "\n");
    }

    std::string metrics() {
        using session::append_metric;
        std::lock_guard lock(mu);
        std::string out;
        append_metric(&out, "registry_server_registered", "gauge",
                      "1 while this region server is registered under /hbase/rs.",
                      state == Registration::kRegistered);
        append_metric(&out, "registry_server_registrations_total", "counter",
                      "Times this region server registered (again after a lost session).",
                      registrations);
        append_metric(&out, "registry_server_sessions_lost_total", "counter",
                      "Sessions of this region server that the ensemble expired.", sessions_lost);
        append_metric(&out, "registry_server_registration_failures_total", "counter",
                      "Registration tries that failed.", failures);
        append_metric(&out, "registry_server_work_in_flight", "gauge", "Work requests under way.",
                      work.size());
        append_metric(&out, "registry_server_work_done_total", "counter", "Work requests answered.",
                      work_done);
        append_metric(&out, "registry_server_work_refused_total", "counter",
                      "Work requests refused (draining or busy).", work_refused);
        const net::HttpCounts counts = http.counts();
        append_metric(&out, "registry_server_http_connections", "gauge", "Open HTTP connections.",
                      counts.connections);
        return out;
    }

    void shutdown() {
        {
            std::lock_guard lock(mu);
            if (shut_down || stopping) return;
            stopping = true;
            cv.notify_all();
        }
        if (control_thread.joinable()) control_thread.join();
        // Deregister first: every master drops this server at once.
        uint64_t id = 0;
        {
            std::lock_guard lock(mu);
            id = session;
            session = 0;
        }
        if (id != 0) {
            auto deleted = client.write(id, {ClientOp::remove(path)});
            auto closed = client.close_session(id);
            spdlog::info("region server {}: deregistered ({}, session {})", name.str(),
                         deleted.ok() ? "node deleted" : deleted.status.str(),
                         closed.ok() ? "closed" : closed.status.str());
        }
        // Then drain: the work in flight finishes, new work is refused.
        std::unique_lock lock(mu);
        state = Registration::kDeregistered;
        draining = true;
        const size_t in_flight = work.size();
        const bool drained = cv.wait_for(lock, std::chrono::milliseconds(config.drain_timeout_ms),
                                         [&] { return work.empty(); });
        spdlog::info("region server {}: {} ({} in flight at the start)", name.str(),
                     drained ? "drained" : "drain timed out", in_flight);
        shut_down = true;
        // What is left is answered at once: the server is going.
        for (auto& [when, respond] : work)
            respond(net::HttpReply(503,
                                   net::json_error("the server stopped before the work was done")));
        work.clear();
        cv.notify_all();
        lock.unlock();
        if (work_thread.joinable()) work_thread.join();
        http.stop();
    }
};

RegionServer::RegionServer(RegionServerConfig config, ServerName name)
    : impl_(std::make_shared<Impl>(std::move(config), std::move(name))) {}

RegionServer::~RegionServer() { shutdown(); }

void RegionServer::on_give_up(std::function<void()> handler) {
    impl_->give_up = std::move(handler);
}

Status RegionServer::start() {
    if (Status s = impl_->http.start(); !s.is_ok()) return s;
    std::weak_ptr<Impl> weak = impl_;
    impl_->client.async().on_session_lost([weak](uint64_t id) {
        if (auto self = weak.lock()) self->session_lost(id);
    });
    impl_->work_thread = std::thread([impl = impl_.get()] { impl->run_work(); });
    impl_->control_thread = std::thread([impl = impl_.get()] { impl->control(); });
    spdlog::info("region server {}: HTTP on {}, registering through {}", impl_->name.str(),
                 impl_->config.http, fmt::join(impl_->config.masters, ","));
    return Status::ok();
}

void RegionServer::shutdown() { impl_->shutdown(); }

}  // namespace chorus::registry
