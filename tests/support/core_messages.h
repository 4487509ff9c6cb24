// Hand-made inputs for the core's message-by-message unit tests
// (tests/zab/): a configuration, a durable state with a given history, and
// a vote. Header-only: they are a few lines each.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "zab/core/types.h"
#include "zab/core/wire.h"
#include "zab/zab.pb.h"

namespace chorus::testing {

// Server `id` of `members`, as the unit tests run it: an election timeout
// of 10 ticks, no snapshots unless a test asks.
inline zab::Config config_of(zab::ServerId id, std::vector<zab::ServerId> members,
                             bool bootstrap = true) {
    zab::Config c;
    c.id = id;
    c.members = std::move(members);
    c.bootstrap = bootstrap;
    c.election_timeout_ticks = 10;
    c.snapshot_every_txns = 0;
    return c;
}

// A disk whose accepted and current epoch are `current_epoch` and whose log
// holds, for each (epoch, count) of `runs`, the zxids epoch:1..epoch:count.
inline zab::DurableState log_of(uint64_t current_epoch,
                                std::vector<std::pair<uint64_t, uint64_t>> runs) {
    zab::DurableState d;
    d.accepted_epoch = current_epoch;
    d.current_epoch = current_epoch;
    for (auto [epoch, count] : runs) {
        for (uint64_t c = 1; c <= count; ++c)
            d.log.push_back(zab::Txn{Zxid{epoch, c}, 1, "e" + std::to_string(epoch), 0, 0});
    }
    return d;
}

// A LOOKING vote for `leader` in `round`, from a voting sender whose own
// epochs and last zxid are those of its candidate.
inline zab::pb::PeerMessage vote_for(zab::ServerId leader, uint64_t round,
                                     uint64_t current_epoch = 0, Zxid last = {}) {
    zab::pb::PeerMessage m;
    zab::pb::Vote* v = m.mutable_vote();
    v->set_leader(leader);
    v->set_leader_current_epoch(current_epoch);
    zab::to_pb(last, v->mutable_leader_last_zxid());
    v->set_round(round);
    v->set_state(zab::pb::LOOKING);
    v->set_voting(true);
    v->set_accepted_epoch(current_epoch);
    v->set_current_epoch(current_epoch);
    zab::to_pb(last, v->mutable_sender_last_zxid());
    return m;
}

}  // namespace chorus::testing
