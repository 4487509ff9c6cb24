#include "session/server/server.h"

#include <spdlog/spdlog.h>

#include "base/assert.h"

namespace chorus::session {
namespace {

ServerOptions filled(ServerOptions options) {
    options.service.id = options.node.id;
    options.service.tick_ms = options.node.tick_ms;
    return options;
}

}  // namespace

Status check_server_options(const ServerOptions& options) {
    const ServiceOptions& s = options.service;
    if (s.min_session_timeout_ms == 0 || s.min_session_timeout_ms > s.max_session_timeout_ms) {
        return Status(Code::kInvalidArgument,
                      "--min-session-timeout-ms (" + std::to_string(s.min_session_timeout_ms) +
                          ") must be above 0 and not above --max-session-timeout-ms (" +
                          std::to_string(s.max_session_timeout_ms) + ")");
    }
    const uint64_t election_ms =
        uint64_t{options.node.tick_ms} * options.node.election_timeout_ticks;
    if (s.min_session_timeout_ms < 2 * election_ms) {
        return Status(Code::kInvalidArgument,
                      "--min-session-timeout-ms (" + std::to_string(s.min_session_timeout_ms) +
                          ") should be at least twice the election timeout (" +
                          std::to_string(election_ms) +
                          " ms), or sessions expire during a failover");
    }
    return Status::ok();
}

Server::Server(ServerOptions options)
    : options_(filled(std::move(options))),
      service_(options_.service),
      node_(options_.node, service_) {
    service_.attach(node_);
    // The front ends' periodic work, after the service's (attach added its
    // hook first). The vector does not change once the node runs.
    node_.on_tick([this](uint64_t now) {
        const size_t n = ticking_front_ends_;
        for (size_t i = 0; i < n; ++i) front_ends_[i]->tick(now);
    });
}

Server::~Server() {
    stop();
    // node_ is destroyed before service_ (members go in reverse order, and
    // the node must not outlive its state machine): the service must not
    // reach for it from its destructor. Also when start() failed or never
    // ran, so stop() did nothing.
    service_.detach();
}

void Server::add_front_end(std::unique_ptr<FrontEnd> front_end) {
    CHORUS_ASSERT(!started_, "Server::add_front_end after start()");
    front_ends_.push_back(std::move(front_end));
}

Status Server::start() {
    CHORUS_ASSERT(!started_, "Server::start called twice");
    started_ = true;
    if (Status s = check_server_options(options_); !s.is_ok()) return s;
    if (Status s = node_.start(); !s.is_ok()) return s;
    for (auto& front_end : front_ends_) {
        if (Status s = front_end->start(); !s.is_ok()) {
            const std::string what = front_end->describe();
            stop();
            return Status(s.code(), what + ": " + s.message());
        }
        ++started_front_ends_;
        ticking_front_ends_ = started_front_ends_;
        spdlog::info("serving {}", front_end->describe());
    }
    return Status::ok();
}

void Server::stop() {
    if (!started_ || stopped_) return;
    stopped_ = true;
    // No more ticks for the front ends. service_.stop() then waits for the
    // core thread to end the waiting watches, so a tick that began before
    // has finished too when it returns: no front end stops half way
    // through one. (If the node is not running there are no ticks.)
    ticking_front_ends_ = 0;
    service_.stop();
    // Then the front ends, last first, while the node still runs.
    while (started_front_ends_ > 0) front_ends_[--started_front_ends_]->stop();
    node_.stop();
}

Node& Server::node() { return node_; }
SessionService& Server::service() { return service_; }
const ServerOptions& Server::options() const { return options_; }

}  // namespace chorus::session
