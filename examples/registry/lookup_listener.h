// LookupListener: serves the registry's binary protocol (registry.proto) on
// a TCP port: length-prefixed RegistryRequest frames in, RegistryResponse
// frames out, many in flight per connection (answers carry the request's
// id and may come in any order).
//
// Bad input never takes the master down: a frame that does not parse gets
// BAD_REQUEST (id 0) and the connection stays open; a frame over
// max_frame_bytes gets TOO_LARGE and the connection closes; a connection
// with max_inflight unanswered requests is not read until answers go out.
//
// Threads: one I/O thread of its own; the handler runs on it and may answer
// from any thread (once per request).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "base/status.h"
#include "examples/registry/registry.pb.h"
#include "net/endpoint.h"

namespace chorus::registry {

struct LookupListenerOptions {
    net::Endpoint endpoint;
    size_t max_frame_bytes = 64 << 10;
    size_t max_inflight = 1024;
    size_t max_connections = 10000;
};

using LookupReply = std::function<void(pb::RegistryResponse)>;
using LookupHandler = std::function<void(pb::RegistryRequest, LookupReply)>;

class LookupListener {
 public:
    LookupListener(LookupListenerOptions options, LookupHandler handler);
    ~LookupListener();  // stops

    // Binds and starts serving: kIoError if the address cannot be bound.
    Status start();
    void stop();  // idempotent
    uint16_t port() const;
    uint64_t bad_frames() const;
    uint64_t connections() const;

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chorus::registry
