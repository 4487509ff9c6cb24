#include "examples/groupd/metrics.h"

#include <fmt/format.h>

#include "session/client.pb.h"
#include "session/server/metrics.h"

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

std::string metrics_text(const cpb::StatsReply& stats, uint64_t groups,
                         const LatencyHistogram& commit_latency, const net::HttpCounts& http) {
    using session::append_metric;
    using session::append_metric_header;
    std::string out;
    session::append_server_metrics(stats, &out);
    append_metric(&out, "chorus_groups", "gauge", "Groups.", groups);
    append_metric_header(&out, "groupd_commit_latency_seconds", "histogram",
                         "From submitting a join, leave or config write to its commit.");
    commit_latency.render("groupd_commit_latency_seconds", &out);
    append_metric_header(&out, "groupd_http_requests_total", "counter",
                         "HTTP answers sent, by status.");
    for (const auto& [status, count] : http.by_status)
        out += fmt::format("groupd_http_requests_total{{code=\"{}\"}} {}\n", status, count);
    append_metric(&out, "groupd_http_connections", "gauge", "Open HTTP connections.",
                  http.connections);
    append_metric(
        &out, "groupd_http_connections_timed_out_total", "counter",
        "Connections closed because a request did not arrive in time (slow or idle clients).",
        http.connections_closed_slow);
    return out;
}

}  // namespace chorus::groupd
