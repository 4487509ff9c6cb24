#include "examples/groupd/front_end.h"

#include "session/server/server.h"

namespace chorus::groupd {

// How often the recorded HTTP address is checked (a restore or a new
// --advertise may have changed it).
constexpr uint64_t kRecordEveryMs = 500;

GroupdFrontEnd::GroupdFrontEnd(ApiOptions api_options, HttpServerOptions http_options,
                               session::Server& server)
    : http_options_(http_options),
      membership_(server.node(), api_options.server_id),
      api_(std::move(api_options), server.service(), server.node()),
      http_(std::move(http_options), [this](HttpRequest request, Respond respond) {
          if (membership_.handle(request, respond)) return;
          api_.handle(std::move(request), std::move(respond));
      }) {
    api_.set_http_counts([this] { return http_.counts(); });
}

GroupdFrontEnd::~GroupdFrontEnd() { stop(); }

std::string GroupdFrontEnd::describe() const {
    const uint16_t bound = http_.port();
    return "HTTP on " + http_options_.endpoint.host + ":" +
           std::to_string(bound != 0 ? bound : http_options_.endpoint.port);
}

Status GroupdFrontEnd::start() { return http_.start(); }

void GroupdFrontEnd::stop() { http_.stop(); }

void GroupdFrontEnd::tick(uint64_t now_ms) {
    if (now_ms < next_record_ms_) return;
    next_record_ms_ = now_ms + kRecordEveryMs;
    api_.record_endpoint();  // posts its work: never blocks the tick
}

}  // namespace chorus::groupd
