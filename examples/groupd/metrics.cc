#include "examples/groupd/metrics.h"

#include <fmt/format.h>

#include "session/client.pb.h"

namespace chorus::groupd {

namespace cpb = chorus::client::pb;

void LatencyHistogram::observe(double seconds) {
    ++count_;
    sum_ += seconds;
    for (size_t i = 0; i < kBoundsSeconds.size(); ++i) {
        if (seconds <= kBoundsSeconds[i]) {
            ++buckets_[i];
            return;
        }
    }
}

void LatencyHistogram::render(const std::string& name, std::string* out) const {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBoundsSeconds.size(); ++i) {
        cumulative += buckets_[i];
        *out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBoundsSeconds[i], cumulative);
    }
    *out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, count_);
    *out += fmt::format("{}_sum {}\n{}_count {}\n", name, sum_, name, count_);
}

namespace {

void metric(std::string* out, const char* name, const char* type, const char* help,
            uint64_t value) {
    *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}

void header(std::string* out, const char* name, const char* type, const char* help) {
    *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

std::string metrics_text(const cpb::StatsReply& stats, uint64_t groups,
                         const LatencyHistogram& commit_latency, const HttpCounts& http) {
    std::string out;
    metric(&out, "chorus_server_id", "gauge", "This server's id.", stats.server_id());
    header(&out, "chorus_role", "gauge", "1 for this server's role in the ensemble.");
    for (const char* role : {"looking", "following", "leading"})
        out += fmt::format("chorus_role{{role=\"{}\"}} {}\n", role, stats.role() == role ? 1 : 0);
    metric(&out, "chorus_ready", "gauge",
           "1 when this server is part of a quorum and caught up with the leader.",
           stats.serving() ? 1 : 0);
    metric(&out, "chorus_leader", "gauge", "The leader's id (0: none known).", stats.leader());
    metric(&out, "chorus_epoch", "gauge", "The current epoch.", stats.epoch());
    metric(&out, "chorus_last_zxid_epoch", "gauge", "Epoch of the last logged transaction.",
           stats.last_zxid().epoch());
    metric(&out, "chorus_last_zxid_counter", "gauge", "Counter of the last logged transaction.",
           stats.last_zxid().counter());
    metric(&out, "chorus_sessions", "gauge", "Live sessions.", stats.sessions());
    metric(&out, "chorus_nodes", "gauge", "Nodes in the replicated tree.", stats.nodes());
    metric(&out, "chorus_groups", "gauge", "Groups.", groups);
    metric(&out, "chorus_watches", "gauge", "Waiting watches (long polls) on this server.",
           stats.watches());
    metric(&out, "chorus_heartbeats_received_total", "counter",
           "Heartbeats received from this server's clients.", stats.heartbeats_received());
    metric(&out, "chorus_heartbeats_absorbed_total", "counter",
           "Heartbeats absorbed while leading (never logged).", stats.heartbeats_absorbed());
    metric(&out, "chorus_sessions_expired_total", "counter", "Sessions expired.",
           stats.sessions_expired());
    header(&out, "chorus_log_records_total", "counter",
           "Session-tracker transactions delivered (one log record each), by type.");
    for (const cpb::LogCount& c : stats.log())
        out += fmt::format("chorus_log_records_total{{type=\"{}\"}} {}\n", c.kind(), c.records());
    header(&out, "chorus_log_bytes_total", "counter",
           "Payload bytes of those transactions, by type.");
    for (const cpb::LogCount& c : stats.log())
        out += fmt::format("chorus_log_bytes_total{{type=\"{}\"}} {}\n", c.kind(), c.bytes());
    metric(&out, "chorus_log_records_appended_total", "counter",
           "Records this server appended to its log since it started.",
           stats.log_records_appended());
    metric(&out, "chorus_log_bytes_appended_total", "counter",
           "Payload bytes this server appended to its log since it started.",
           stats.log_bytes_appended());
    header(&out, "groupd_commit_latency_seconds", "histogram",
           "From submitting a join, leave or config write to its commit.");
    commit_latency.render("groupd_commit_latency_seconds", &out);
    header(&out, "groupd_http_requests_total", "counter", "HTTP answers sent, by status.");
    for (const auto& [status, count] : http.by_status)
        out += fmt::format("groupd_http_requests_total{{code=\"{}\"}} {}\n", status, count);
    metric(&out, "groupd_http_connections", "gauge", "Open HTTP connections.", http.connections);
    metric(&out, "groupd_http_connections_timed_out_total", "counter",
           "Connections closed because a request did not arrive in time (slow or idle clients).",
           http.connections_closed_slow);
    return out;
}

}  // namespace chorus::groupd
