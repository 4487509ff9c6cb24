#include "tests/sim/quorum_witness.h"

#include <algorithm>

namespace chorus::sim {

void QuorumWitness::on_durable(zab::ServerId server, uint64_t epoch, Zxid last) {
    if (epoch == 0) return;
    Zxid& held = held_[server][epoch];
    held = std::max(held, last);
}

std::string QuorumWitness::check(const zab::Membership& counted, uint64_t epoch, Zxid zxid) const {
    size_t holding = 0;
    std::string who;
    for (const auto& [id, address] : counted.voters) {
        auto s = held_.find(id);
        if (s == held_.end()) continue;
        auto e = s->second.find(epoch);
        if (e == s->second.end() || e->second < zxid) continue;
        ++holding;
        who += (who.empty() ? "" : ",") + std::to_string(id);
    }
    if (holding >= counted.quorum()) return "";
    return "only voters {" + who + "} of " + counted.str() + " held " + zxid.str() +
           " durably in epoch " + std::to_string(epoch) + " (a quorum is " +
           std::to_string(counted.quorum()) + ")";
}

}  // namespace chorus::sim
