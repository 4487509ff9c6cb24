#include "zab/runtime/snapshot_transfer.h"

#include <algorithm>

#include "zab/core/wire.h"

namespace chorus::runtime {

SnapshotSender::SnapshotSender(DriverEnv& env, size_t chunk_bytes, uint64_t bytes_per_s)
    : env_(env),
      chunk_bytes_(std::max<size_t>(chunk_bytes, 1)),
      bytes_per_s_(std::max<uint64_t>(bytes_per_s, 1)) {}

SnapshotSender::~SnapshotSender() { *alive_ = false; }

void SnapshotSender::send_snapshot(zab::ServerId to, const zab::pb::Snap& header,
                                   std::shared_ptr<const std::string> data) {
    paced_.erase(to);
    if (data->size() <= chunk_bytes_) {
        zab::pb::PeerMessage m;
        *m.mutable_snap() = header;
        m.mutable_snap()->set_data(*data);
        env_.send(to, m);
        return;
    }
    env_.log(LogLevel::kInfo, "sending a snapshot of " + std::to_string(data->size()) +
                                  " bytes to server " + std::to_string(to) + ", at up to " +
                                  std::to_string(bytes_per_s_) + " bytes/s");
    Paced& out = paced_[to];
    out.data = std::move(data);
    out.header = header;
    out.header.clear_data();
    out.generation = next_generation_++;
    pace(to, out.generation);
}

void SnapshotSender::pace(zab::ServerId to, uint64_t generation) {
    auto p = paced_.find(to);
    if (p == paced_.end() || p->second.generation != generation) return;  // replaced or dropped
    Paced& out = p->second;
    if (out.offset < out.data->size()) {
        const size_t size = std::min(chunk_bytes_, out.data->size() - out.offset);
        zab::pb::PeerMessage chunk;
        auto* c = chunk.mutable_snap_chunk();
        c->set_epoch(out.header.epoch());
        *c->mutable_zxid() = out.header.zxid();
        if (out.offset == 0 && !out.header.membership().empty()) {
            c->set_membership(out.header.membership());
            *c->mutable_membership_version() = out.header.membership_version();
        }
        c->set_offset(out.offset);
        c->set_total(out.data->size());
        c->set_data(out.data->data() + out.offset, size);
        out.offset += size;
        env_.send(to, chunk);
        // Its share of the rate, then the next one.
        env_.run_after(size * 1000000 / bytes_per_s_, [this, alive = alive_, to, generation] {
            if (*alive) pace(to, generation);
        });
        return;
    }
    std::deque<zab::pb::PeerMessage> after = std::move(out.after);
    paced_.erase(p);
    for (const zab::pb::PeerMessage& m : after) env_.send(to, m);
}

void SnapshotSender::send(zab::ServerId to, const zab::pb::PeerMessage& message) {
    if (auto p = paced_.find(to); p != paced_.end()) {
        p->second.after.push_back(message);  // behind the snapshot
        return;
    }
    env_.send(to, message);
}

SnapshotAssembler::Outcome SnapshotAssembler::add(zab::ServerId from,
                                                  const zab::pb::SnapChunk& chunk,
                                                  zab::pb::PeerMessage* whole) {
    Partial& p = partial_[from];
    if (chunk.offset() == 0) {
        p.snap.Clear();
        p.snap.set_epoch(chunk.epoch());
        *p.snap.mutable_zxid() = chunk.zxid();
        p.snap.set_membership(chunk.membership());
        if (chunk.has_membership_version())
            *p.snap.mutable_membership_version() = chunk.membership_version();
        p.total = chunk.total();
    }
    if (chunk.offset() != p.snap.data().size() || chunk.total() != p.total ||
        chunk.data().size() > p.total - p.snap.data().size() || chunk.epoch() != p.snap.epoch() ||
        zab::from_pb(chunk.zxid()) != zab::from_pb(p.snap.zxid())) {
        partial_.erase(from);
        return Outcome::kBroken;
    }
    p.snap.mutable_data()->append(chunk.data());
    if (p.snap.data().size() < p.total) return Outcome::kPartial;
    whole->Clear();
    *whole->mutable_snap() = std::move(p.snap);
    partial_.erase(from);
    return Outcome::kWhole;
}

}  // namespace chorus::runtime
