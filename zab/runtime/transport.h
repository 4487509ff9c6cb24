// Transport: TCP links between the servers of an ensemble, on Boost.Asio.
//
// One connection per pair of servers: the server with the lower id dials,
// the higher one accepts (so two servers never race to open two links). The
// dialer retries with backoff (100 ms doubling to 2 s). The first frame on a
// connection is a Hello naming the caller. Every frame is a 4-byte
// big-endian length and a serialized PeerMessage; a frame over
// `max_frame_bytes`, or one that does not parse, closes that connection with
// a log line — never the server.
//
// Frames are frames here: cutting snapshots into paced chunks and putting
// them back together is the driver's (snapshot_transfer.h), so the
// simulator runs that code too.
//
// Thread: everything runs on the io_context's thread (the core thread);
// callbacks are invoked there. Not thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/status.h"
#include "net/endpoint.h"
#include "zab/core/types.h"

namespace chorus::runtime {

struct TransportOptions {
    zab::ServerId self = 0;
    std::map<zab::ServerId, net::Endpoint> peers;  // every server, this one included
    size_t max_frame_bytes = 64 << 20;
    size_t max_queued_bytes = 256 << 20;  // per link; beyond it the link is closed and redone
};

class Transport {
 public:
    struct Callbacks {
        std::function<void(zab::ServerId, zab::pb::PeerMessage&)> on_message;
        std::function<void(zab::ServerId)> on_connected;
        std::function<void(zab::ServerId)> on_disconnected;
        // Frames queued for the peer were written (the kernel took them).
        std::function<void(zab::ServerId)> on_written;
    };

    Transport(boost::asio::io_context& io, TransportOptions options, Callbacks callbacks);
    ~Transport();

    // Binds the listening socket (kIoError naming the address if it cannot)
    // and starts dialing.
    Status start();
    // Sends `message` to `to` if linked; drops it otherwise (the core copes:
    // a broken link is reported and the protocol starts that peer over).
    void send(zab::ServerId to, const zab::pb::PeerMessage& message);
    // Makes `peer` one of the servers this transport links with, at
    // `endpoint`: a server a membership change added (docs/protocol.md,
    // "Reconfiguration"). A new peer is dialed if it has the higher id, and
    // its Hello is accepted if it has the lower; a known peer at another
    // address has its link closed and redialed there. Peers are never
    // forgotten within a run: a removed server may still need telling.
    void add_peer(zab::ServerId peer, const net::Endpoint& endpoint);
    // Closes the link to `peer` (the dialing side reconnects); reported
    // later through on_disconnected, never from inside this call.
    void reset(zab::ServerId peer);
    // Closes everything; no callbacks after it returns.
    void stop();

    struct Stats {
        uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0, bad_frames = 0;
    };
    const Stats& stats() const { return stats_; }

 private:
    class Link;
    friend class Link;
    void accept();
    void dial(zab::ServerId peer);
    void link_up(zab::ServerId peer, std::shared_ptr<Link> link);
    void link_down(zab::ServerId peer, Link* link);
    void deliver(zab::ServerId from, zab::pb::PeerMessage& message);
    void wrote_to(zab::ServerId peer);

    boost::asio::io_context& io_;
    TransportOptions options_;
    Callbacks callbacks_;
    struct State;
    std::unique_ptr<State> state_;
    Stats stats_;
};

}  // namespace chorus::runtime
