// A chorus server's figures in Prometheus's text exposition (version
// 0.0.4), from the session service's Stats answer: its role, leader, epoch,
// sessions, nodes, watches, heartbeats, and its log by transaction type.
// Shared by every program's /metrics (chorus-server's admin port, groupd),
// which add their own figures after these. Pure.
#pragma once

#include <cstdint>
#include <string>

namespace chorus::client::pb {
class StatsReply;
}  // namespace chorus::client::pb

namespace chorus::session {

// Appends one metric: its HELP and TYPE lines, and its value.
void append_metric(std::string* out, const char* name, const char* type, const char* help,
                   uint64_t value);
// Appends a metric's HELP and TYPE lines alone (its labelled values follow).
void append_metric_header(std::string* out, const char* name, const char* type, const char* help);
// Appends the server's figures (chorus_*).
void append_server_metrics(const client::pb::StatsReply& stats, std::string* out);

}  // namespace chorus::session
