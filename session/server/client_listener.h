// ClientListener: serves the client protocol (session/client.proto) on a
// TCP port, handing every request to a SessionService.
//
// Frames are a 4-byte big-endian length and one Request. Many requests may
// be in flight on one connection (answers carry the request's id and may
// come in any order). Bad input never takes the server down:
// - a frame that does not parse: a BAD_REQUEST answer (id 0), the
//   connection stays open (the length prefix keeps the stream in step);
// - a frame longer than max_frame_bytes: a TOO_LARGE answer, then the
//   connection is closed (there is no way to skip it safely);
// - a client that sends faster than it reads: reading pauses at
//   max_inflight_per_connection unanswered requests; a connection with more
//   than max_queued_bytes of answers it does not read is closed.
//
// stop() leaves no request uncertain (docs/client-protocol.md,
// "Stopping"): it tells each connection (a frame of id 0, NOT_SERVING),
// refuses what comes, answers what it took, and once a connection is idle
// sends its last frame (id 0, OK: drained) and closes it, waiting at most
// drain_timeout_ms in all.
//
// Threads: one I/O thread of its own; the service answers on the node's
// core thread and the answer is handed back to the I/O thread.
//
// A session::FrontEnd: add it to a session::Server (server.h), which starts
// and stops it; or call start() and stop() yourself.
#pragma once

#include <cstdint>
#include <memory>

#include "base/status.h"
#include "net/endpoint.h"
#include "session/server/front_end.h"

namespace chorus::session {

class SessionService;

struct ListenerOptions {
    net::Endpoint endpoint;
    size_t max_frame_bytes = 4 << 20;
    size_t max_inflight_per_connection = 4096;
    size_t max_queued_bytes = 64 << 20;
    size_t max_connections = 10000;
    // At stop(): how long the requests already taken may take to be
    // answered before their connections close anyway (new ones are refused
    // as not serving meanwhile, and clients send them elsewhere).
    uint64_t drain_timeout_ms = 3000;
};

class ClientListener final : public FrontEnd {
 public:
    // `service` must outlive the listener.
    ClientListener(ListenerOptions options, SessionService& service);
    ~ClientListener() override;  // stops

    // "the client protocol on HOST:PORT".
    std::string describe() const override;
    // Binds and starts serving. kIoError if the address cannot be bound.
    Status start() override;
    // Closes every connection; their unanswered requests get no answer.
    // Idempotent.
    void stop() override;
    // The port actually bound (useful with port 0).
    uint16_t port() const;

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chorus::session
