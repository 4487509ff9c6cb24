// groupd's /metrics: Prometheus text exposition (version 0.0.4). Pure.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "net/http_server.h"

namespace chorus::client::pb {
class StatsReply;
}  // namespace chorus::client::pb

namespace chorus::groupd {

// Commit latency of groupd's writes (joins, leaves, configs): from the
// moment groupd submits one to its answer, as a Prometheus histogram.
class LatencyHistogram {
 public:
    static constexpr std::array<double, 11> kBoundsSeconds = {
        0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};
    void observe(double seconds);
    // Appends the histogram's lines, named `name`.
    void render(const std::string& name, std::string* out) const;

 private:
    std::array<uint64_t, kBoundsSeconds.size()> buckets_ = {};  // not cumulative
    uint64_t count_ = 0;
    double sum_ = 0;
};

// The server's figures (session/server/metrics.h), and groupd's own.
std::string metrics_text(const client::pb::StatsReply& stats, uint64_t groups,
                         const LatencyHistogram& commit_latency, const net::HttpCounts& http);

}  // namespace chorus::groupd
