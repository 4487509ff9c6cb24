#include "examples/registry/master_front_end.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>

#include "cli/membership_admin.h"
#include "examples/registry/lookups.h"
#include "examples/registry/master_election.h"
#include "examples/registry/master_http.h"
#include "examples/registry/registry_feed.h"
#include "session/client.pb.h"
#include "session/server/metrics.h"
#include "session/server/server.h"

namespace chorus::registry {

namespace cpb = chorus::client::pb;
using json = nlohmann::json;

namespace {

constexpr const char* kMetaPath = "/hbase/meta-region-server";
// How long a stopping master waits for its session to close.
constexpr uint64_t kResignWaitMs = 2000;

uint64_t steady_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

// The requests counted in /metrics, by name.
constexpr std::array<std::pair<pb::RegistryRequest::OpCase, const char*>, 6> kOps = {{
    {pb::RegistryRequest::kGetClusterId, "get_cluster_id"},
    {pb::RegistryRequest::kGetActiveMaster, "get_active_master"},
    {pb::RegistryRequest::kGetMetaLocation, "get_meta_location"},
    {pb::RegistryRequest::kGetRegionServers, "get_region_servers"},
    {pb::RegistryRequest::kGetMasters, "get_masters"},
    {pb::RegistryRequest::kSetMetaLocation, "set_meta_location"},
}};

}  // namespace

struct MasterFrontEnd::Impl : std::enable_shared_from_this<MasterFrontEnd::Impl> {
    Impl(MasterOptions o, session::Server& s)
        : options(std::move(o)),
          server(s),
          feed(s.service(), s.node()),
          election(ElectionOptions{.self = options.self,
                                   .session_timeout_ms = options.session_timeout_ms,
                                   .new_cluster_id = options.new_cluster_id},
                   s.service(), s.node()),
          lookups(options.lookups,
                  [this](pb::RegistryRequest r, LookupReply reply) {
                      handle(std::move(r), std::move(reply));
                  }),
          http(options.http, [this](net::HttpRequest r, net::Respond respond) {
              on_http(std::move(r), std::move(respond));
          }) {}

    const MasterOptions options;
    session::Server& server;
    RegistryFeed feed;
    MasterElection election;
    LookupListener lookups;
    net::HttpServer http;
    const uint64_t started_ms = steady_ms();
    std::atomic<bool> serving{false};
    std::atomic<bool> started{false};
    std::atomic<bool> stopped{false};
    // Core thread: serving began (again) at this replica, and a read
    // barrier issued since has completed — until then its cache may lag far
    // behind (a healed partition delivers its backlog in slices).
    uint64_t serving_period = 0;  // counts the times serving began
    uint64_t epoch_seen = 0;
    uint64_t leader_seen = 0;
    bool was_serving = false;
    bool barrier_in_flight = false;
    std::atomic<bool> caught_up{false};
    std::array<std::atomic<uint64_t>, kOps.size()> requests{};
    std::atomic<uint64_t> meta_writes{0};
    std::atomic<uint64_t> meta_conflicts{0};

    LookupContext context() const {
        // Serving now, not as of the last tick (the core thread may stall).
        return LookupContext{.self = options.self,
                             .serving = serving.load() && server.node().status().serving &&
                                        caught_up.load() && feed.ready()};
    }

    void count(pb::RegistryRequest::OpCase op) {
        for (size_t i = 0; i < kOps.size(); ++i)
            if (kOps[i].first == op) ++requests[i];
    }

    // Any thread: a lookup is answered at once from the published view; a
    // meta write goes to the tree.
    void handle(pb::RegistryRequest request, const LookupReply& reply) {
        count(request.op_case());
        if (request.op_case() == pb::RegistryRequest::kSetMetaLocation)
            return set_meta(request, reply);
        reply(answer(request, *feed.view(), context()));
    }

    void set_meta(const pb::RegistryRequest& request, const LookupReply& reply) {
        pb::RegistryResponse r;
        r.set_id(request.id());
        *r.mutable_served_by() = to_pb(options.self);
        r.set_meta_version(-1);
        const auto name = from_pb(request.set_meta_location().server());
        const int64_t expected = request.set_meta_location().expected_version();
        if (!name || expected < -1) {
            r.set_code(pb::BAD_REQUEST);
            r.set_message(!name ? "not a server name HBase would take"
                                : "expected_version must be -1 (none yet) or a version");
            return reply(std::move(r));
        }
        cpb::Request write;
        cpb::Op* op = write.mutable_write()->add_ops();
        op->set_path(kMetaPath);
        op->set_data(name->str());
        if (expected == -1) {
            op->set_kind(cpb::Op::CREATE);
        } else {
            op->set_kind(cpb::Op::SET);
            op->set_expected_version(expected);
        }
        std::weak_ptr<Impl> weak = weak_from_this();
        server.service().handle(std::move(write), [weak, r = std::move(r), reply,
                                                   name = *name](cpb::Response answer) mutable {
            auto self = weak.lock();
            if (!self) return;
            switch (answer.code()) {
                case cpb::OK:
                    ++self->meta_writes;
                    *r.mutable_meta_location() = to_pb(name);
                    if (answer.results_size() > 0)
                        r.set_meta_version(answer.results(0).stat().version());
                    break;
                case cpb::BAD_VERSION:
                case cpb::NODE_EXISTS:
                case cpb::NO_NODE:
                    ++self->meta_conflicts;
                    r.set_code(pb::BAD_VERSION);
                    r.set_message(answer.code() == cpb::NODE_EXISTS
                                      ? "a meta location is already set (expected -1)"
                                  : answer.code() == cpb::NO_NODE
                                      ? "no meta location is set yet (expect -1)"
                                      : "the meta location's version is not the one expected");
                    break;
                case cpb::NOT_SERVING:
                case cpb::BUSY:
                case cpb::NO_PARENT:  // /hbase not made yet: no master has started
                    r.set_code(pb::NOT_SERVING);
                    r.set_message("not written: " + answer.message() + "; try again");
                    break;
                case cpb::UNCERTAIN:
                    r.set_code(pb::UNCERTAIN);
                    r.set_message(answer.message());
                    break;
                default:
                    r.set_code(pb::BAD_REQUEST);
                    r.set_message(cpb::Code_Name(answer.code()) + ": " + answer.message());
            }
            if (r.code() != pb::OK) {
                // The one there now, as this replica has it (the write's
                // answer comes after its delivery here).
                if (const auto& meta = self->feed.current().meta) {
                    *r.mutable_meta_location() = to_pb(meta->server);
                    r.set_meta_version(meta->version);
                }
            }
            r.set_generation(self->feed.current().generation);
            reply(std::move(r));
        });
    }

    void on_http(net::HttpRequest request, net::Respond respond) {
        if (options.membership && options.membership->handle(request, respond)) return;
        HttpRoute route = route_of(request);
        if (auto* reply = std::get_if<net::HttpReply>(&route)) return respond(std::move(*reply));
        if (auto* r = std::get_if<pb::RegistryRequest>(&route)) {
            const auto op = r->op_case();
            return handle(std::move(*r), [respond, op](pb::RegistryResponse answer) {
                respond(http_reply_of(op, answer));
            });
        }
        switch (std::get<HttpOperations>(route).page) {
            case HttpOperations::Page::kHealth:
                return respond(health());
            case HttpOperations::Page::kReady: {
                const bool ready = context().serving && election.state() != MasterState::kStarting;
                return respond(
                    net::HttpReply(ready ? 200 : 503, json{{"ready", ready}}.dump() + "\n"));
            }
            case HttpOperations::Page::kMetrics:
                return metrics(std::move(respond));
        }
    }

    net::HttpReply health() const {
        const auto view = feed.view();
        const bool healthy = context().serving && election.session_id() != 0;
        json body = {
            {"status", healthy ? "ok" : "unhealthy"},
            {"name", options.self.str()},
            {"state", master_state_name(election.state())},
            {"serving", serving.load()},
            {"cache_ready", feed.ready()},
            {"session", fmt::format("{:#x}", election.session_id())},
            {"uptime_s", (steady_ms() - started_ms) / 1000},
            {"active_master", view->active_master ? json(view->active_master->str()) : json()},
            {"backup_masters", view->backup_masters.size()},
            {"region_servers", view->region_servers.size()},
            {"generation", view->generation},
            {"lookup_connections", lookups.connections()},
        };
        return net::HttpReply(healthy ? 200 : 503, body.dump() + "\n");
    }

    void metrics(net::Respond respond) {
        cpb::Request stats;
        stats.mutable_stats();
        std::weak_ptr<Impl> weak = weak_from_this();
        server.service().handle(std::move(stats), [weak, respond](cpb::Response answer) {
            auto self = weak.lock();
            if (!self) return respond(net::HttpReply(503, net::json_error("stopping")));
            net::HttpReply reply(200, self->metrics_text(answer.stats()),
                                 "text/plain; version=0.0.4");
            respond(std::move(reply));
        });
    }

    std::string metrics_text(const cpb::StatsReply& stats) const {
        using session::append_metric;
        std::string out;
        session::append_server_metrics(stats, &out);
        const auto view = feed.view();
        const MasterState state = election.state();
        session::append_metric_header(&out, "registry_master_state", "gauge",
                                      "This master's state: 1 for the one it is in.");
        for (MasterState s : {MasterState::kStarting, MasterState::kBackup, MasterState::kActive})
            out += fmt::format("registry_master_state{{state=\"{}\"}} {}\n", master_state_name(s),
                               s == state ? 1 : 0);
        append_metric(&out, "registry_master_active", "gauge",
                      "1 while this master is the active one.", state == MasterState::kActive);
        append_metric(&out, "registry_master_elections_won_total", "counter",
                      "Times this master became active.", election.times_won());
        append_metric(&out, "registry_master_sessions_lost_total", "counter",
                      "Sessions of this master that the ensemble expired.",
                      election.sessions_lost());
        append_metric(&out, "registry_region_servers", "gauge",
                      "Live region servers in this master's cache.", view->region_servers.size());
        append_metric(&out, "registry_backup_masters", "gauge",
                      "Backup masters in this master's cache.", view->backup_masters.size());
        append_metric(&out, "registry_active_master_known", "gauge",
                      "1 if this master's cache names an active master.",
                      view->active_master.has_value());
        append_metric(&out, "registry_cache_generation", "gauge",
                      "Changes applied to this master's cache.", view->generation);
        append_metric(&out, "registry_cache_full_reads_total", "counter",
                      "Times this master read all of /hbase (at start, and after missed changes).",
                      feed.full_reads());
        session::append_metric_header(&out, "registry_requests_total", "counter",
                                      "Registry requests answered, binary and HTTP, by operation.");
        for (size_t i = 0; i < kOps.size(); ++i)
            out += fmt::format("registry_requests_total{{op=\"{}\"}} {}\n", kOps[i].second,
                               requests[i].load());
        append_metric(&out, "registry_meta_writes_total", "counter",
                      "Meta location writes that applied.", meta_writes.load());
        append_metric(&out, "registry_meta_conflicts_total", "counter",
                      "Meta location writes refused for a version that did not match.",
                      meta_conflicts.load());
        append_metric(&out, "registry_lookup_connections", "gauge",
                      "Open connections of the binary lookup protocol.", lookups.connections());
        append_metric(&out, "registry_lookup_bad_frames_total", "counter",
                      "Lookup frames that did not parse or were too large.", lookups.bad_frames());
        const net::HttpCounts counts = http.counts();
        session::append_metric_header(&out, "registry_http_requests_total", "counter",
                                      "HTTP answers sent, by status.");
        for (const auto& [status, n] : counts.by_status)
            out += fmt::format("registry_http_requests_total{{code=\"{}\"}} {}\n", status, n);
        return out;
    }
};

MasterFrontEnd::MasterFrontEnd(MasterOptions options, session::Server& server)
    : impl_(std::make_shared<Impl>(std::move(options), server)) {}

MasterFrontEnd::~MasterFrontEnd() { stop(); }

std::string MasterFrontEnd::describe() const {
    const auto port = [](uint16_t bound, uint16_t asked) { return bound != 0 ? bound : asked; };
    return fmt::format("registry lookups on {}:{} and HTTP on {}:{}",
                       impl_->options.lookups.endpoint.host,
                       port(impl_->lookups.port(), impl_->options.lookups.endpoint.port),
                       impl_->options.http.endpoint.host,
                       port(impl_->http.port(), impl_->options.http.endpoint.port));
}

Status MasterFrontEnd::start() {
    if (Status s = impl_->lookups.start(); !s.is_ok()) return s;
    if (Status s = impl_->http.start(); !s.is_ok()) {
        impl_->lookups.stop();
        return s;
    }
    impl_->feed.start();
    impl_->started = true;
    return Status::ok();
}

void MasterFrontEnd::stop() {
    // Only what started stops (a failed start leaves nothing to undo, and
    // the service may be detached by then).
    if (!impl_->started.load() || impl_->stopped.exchange(true)) return;
    // Lookups stop naming anyone first: the feed no longer follows /hbase
    // (the service ended the watches), and a standby wins once we resign.
    impl_->serving = false;
    impl_->election.resign(kResignWaitMs);
    impl_->http.stop();
    impl_->lookups.stop();
    impl_->feed.stop();
}

void MasterFrontEnd::tick(uint64_t now_ms) {
    Impl& m = *impl_;
    if (m.stopped.load()) return;
    const NodeStatus status = m.server.node().status();
    const bool serving = status.serving;
    // A new leader or epoch between two ticks is a new period too, even if
    // this replica served on both sides of it.
    if (serving != m.was_serving || status.epoch != m.epoch_seen ||
        status.leader != m.leader_seen) {
        m.epoch_seen = status.epoch;
        m.leader_seen = status.leader;
        ++m.serving_period;
        m.caught_up = false;
    }
    if (serving && !m.caught_up.load() && !m.barrier_in_flight) {
        m.barrier_in_flight = true;
        std::weak_ptr<Impl> weak = impl_;
        m.server.node().sync([weak, period = m.serving_period](Status s, Zxid) {
            auto self = weak.lock();
            if (!self) return;
            self->barrier_in_flight = false;
            // A barrier of an earlier period proves nothing of this one.
            if (s.is_ok() && period == self->serving_period) self->caught_up = true;
        });
    }
    m.was_serving = serving;
    m.serving = serving;
    m.election.tick(now_ms, m.feed.current(), serving && m.caught_up.load() && m.feed.ready());
}

}  // namespace chorus::registry
