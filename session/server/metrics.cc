#include "session/server/metrics.h"

#include <fmt/format.h>

#include "session/client.pb.h"

namespace chorus::session {

namespace cpb = chorus::client::pb;

void append_metric(std::string* out, const char* name, const char* type, const char* help,
                   uint64_t value) {
    *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}

void append_metric_header(std::string* out, const char* name, const char* type, const char* help) {
    *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void append_server_metrics(const cpb::StatsReply& stats, std::string* out_ptr) {
    std::string& out = *out_ptr;
    append_metric(&out, "chorus_server_id", "gauge", "This server's id.", stats.server_id());
    append_metric_header(&out, "chorus_role", "gauge", "1 for this server's role in the ensemble.");
    for (const char* role : {"looking", "following", "leading"})
        out += fmt::format("chorus_role{{role=\"{}\"}} {}\n", role, stats.role() == role ? 1 : 0);
    append_metric(&out, "chorus_ready", "gauge",
                  "1 when this server is part of a quorum and caught up with the leader.",
                  stats.serving() ? 1 : 0);
    append_metric(&out, "chorus_leader", "gauge", "The leader's id (0: none known).",
                  stats.leader());
    append_metric(&out, "chorus_epoch", "gauge", "The current epoch.", stats.epoch());
    append_metric(&out, "chorus_last_zxid_epoch", "gauge", "Epoch of the last logged transaction.",
                  stats.last_zxid().epoch());
    append_metric(&out, "chorus_last_zxid_counter", "gauge",
                  "Counter of the last logged transaction.", stats.last_zxid().counter());
    append_metric(&out, "chorus_sessions", "gauge", "Live sessions.", stats.sessions());
    append_metric(&out, "chorus_nodes", "gauge", "Nodes in the replicated tree.", stats.nodes());
    append_metric(&out, "chorus_watches", "gauge", "Waiting watches (long polls) on this server.",
                  stats.watches());
    append_metric(&out, "chorus_heartbeats_received_total", "counter",
                  "Heartbeats received from this server's clients.", stats.heartbeats_received());
    append_metric(&out, "chorus_heartbeats_absorbed_total", "counter",
                  "Heartbeats absorbed while leading (never logged).", stats.heartbeats_absorbed());
    append_metric(&out, "chorus_sessions_expired_total", "counter", "Sessions expired.",
                  stats.sessions_expired());
    append_metric_header(&out, "chorus_log_records_total", "counter",
                         "Session-tracker transactions delivered (one log record each), by type.");
    for (const cpb::LogCount& c : stats.log())
        out += fmt::format("chorus_log_records_total{{type=\"{}\"}} {}\n", c.kind(), c.records());
    append_metric_header(&out, "chorus_log_bytes_total", "counter",
                         "Payload bytes of those transactions, by type.");
    for (const cpb::LogCount& c : stats.log())
        out += fmt::format("chorus_log_bytes_total{{type=\"{}\"}} {}\n", c.kind(), c.bytes());
    append_metric(&out, "chorus_log_records_appended_total", "counter",
                  "Records this server appended to its log since it started.",
                  stats.log_records_appended());
    append_metric(&out, "chorus_log_bytes_appended_total", "counter",
                  "Payload bytes this server appended to its log since it started.",
                  stats.log_bytes_appended());
}

}  // namespace chorus::session
