// Snapshot transfers between peers, above any transport.
//
// A SNAP larger than a frame should be travels as SnapChunk frames.
// SnapshotSender cuts them one at a time from the shared snapshot bytes
// (never copying the whole) and paces them to a rate, so catching one
// follower up never starves the broadcast; frames sent to that peer
// meanwhile wait behind the last chunk, so the order on a link never
// changes. SnapshotAssembler, on the other side, puts the chunks back
// together, so the core only ever sees a whole Snap.
//
// Thread: the driver thread (driver.h), like everything they call.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "zab/core/types.h"
#include "zab/runtime/driver_env.h"

namespace chorus::runtime {

class SnapshotSender {
 public:
    // `env` must outlive the sender.
    SnapshotSender(DriverEnv& env, size_t chunk_bytes, uint64_t bytes_per_s);
    ~SnapshotSender();

    // Sends a SNAP of `data` to `to`: whole if it fits one chunk, else in
    // paced chunks. A new snapshot replaces one still flowing to `to`, and
    // the frames that waited behind it (the follower starts over).
    // `header` is the core's SNAP (epoch, zxid, membership), without data.
    void send_snapshot(zab::ServerId to, const zab::pb::Snap& header,
                       std::shared_ptr<const std::string> data);
    // Sends `message` to `to` now, or behind the snapshot flowing there.
    void send(zab::ServerId to, const zab::pb::PeerMessage& message);
    bool flowing_to(zab::ServerId peer) const { return paced_.count(peer) > 0; }
    // The link to `peer` went down: what was flowing there is void.
    void drop(zab::ServerId peer) { paced_.erase(peer); }

 private:
    struct Paced {
        std::shared_ptr<const std::string> data;
        zab::pb::Snap header;  // no data
        size_t offset = 0;     // the next chunk starts here
        uint64_t generation = 0;
        std::deque<zab::pb::PeerMessage> after;
    };
    void pace(zab::ServerId to, uint64_t generation);

    DriverEnv& env_;
    size_t chunk_bytes_;
    uint64_t bytes_per_s_;
    std::map<zab::ServerId, Paced> paced_;
    uint64_t next_generation_ = 1;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class SnapshotAssembler {
 public:
    enum class Outcome : uint8_t { kPartial, kWhole, kBroken };
    // Adds a chunk from `from`. kWhole: `whole` now holds the Snap.
    // kBroken: the chunk does not continue what came before (a gap, or more
    // than the announced total); the caller resets the link.
    Outcome add(zab::ServerId from, const zab::pb::SnapChunk& chunk, zab::pb::PeerMessage* whole);
    void drop(zab::ServerId peer) { partial_.erase(peer); }

 private:
    struct Partial {
        zab::pb::Snap snap;
        uint64_t total = 0;
    };
    std::map<zab::ServerId, Partial> partial_;
};

}  // namespace chorus::runtime
