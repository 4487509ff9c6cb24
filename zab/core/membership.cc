#include "zab/core/membership.h"

#include <vector>

#include "zab/membership.pb.h"

namespace chorus::zab {
namespace {

std::string ids(const std::map<ServerId, std::string>& servers) {
    std::string out;
    for (const auto& [id, address] : servers) out += (out.empty() ? "" : ",") + std::to_string(id);
    return out.empty() ? "none" : out;
}

std::string id_list(const std::vector<ServerId>& list) {
    std::string out;
    for (ServerId id : list) out += (out.empty() ? "" : " and ") + std::to_string(id);
    return out;
}

}  // namespace

Membership Membership::bootstrap(std::map<ServerId, std::string> voters) {
    Membership m;
    m.voters = std::move(voters);
    return m;
}

std::optional<std::string> Membership::address(ServerId id) const {
    if (auto it = voters.find(id); it != voters.end()) return it->second;
    if (auto it = observers.find(id); it != observers.end()) return it->second;
    return std::nullopt;
}

bool Membership::same_servers(const Membership& other) const {
    return voters == other.voters && observers == other.observers;
}

std::string Membership::str() const {
    std::string out = "voters " + ids(voters);
    if (!observers.empty()) out += "; observers " + ids(observers);
    return out;
}

std::string Membership::encode() const {
    pb::MembershipRecord record;
    for (const auto& [id, address] : voters) {
        auto* s = record.add_voters();
        s->set_id(id);
        s->set_address(address);
    }
    for (const auto& [id, address] : observers) {
        auto* s = record.add_observers();
        s->set_id(id);
        s->set_address(address);
    }
    return record.SerializeAsString();
}

Result<Membership> Membership::decode(Zxid version, const std::string& bytes) {
    pb::MembershipRecord record;
    if (!record.ParseFromString(bytes))
        return Status::corrupt("a CONFIG at " + version.str() + " does not parse");
    Membership m;
    m.version = version;
    const auto add = [&](const pb::MembershipRecord::Server& s,
                         std::map<ServerId, std::string>* into) {
        // A repeated id within one list would be lost by the map: refuse it.
        return into->emplace(s.id(), s.address()).second;
    };
    for (const auto& s : record.voters())
        if (!add(s, &m.voters))
            return Status::corrupt("a CONFIG at " + version.str() + " lists voter " +
                                   std::to_string(s.id()) + " twice");
    for (const auto& s : record.observers())
        if (!add(s, &m.observers))
            return Status::corrupt("a CONFIG at " + version.str() + " lists observer " +
                                   std::to_string(s.id()) + " twice");
    if (Status s = check_servers(m); !s.is_ok())
        return Status::corrupt("a CONFIG at " + version.str() + ": " + s.message());
    return m;
}

Status check_servers(const Membership& m) {
    if (m.voters.empty()) return Status::invalid_argument("no voter left: keep at least one");
    for (const auto* servers : {&m.voters, &m.observers}) {
        for (const auto& [id, address] : *servers) {
            if (id == 0) return Status::invalid_argument("server id 0 is not allowed");
            if (address.empty())
                return Status::invalid_argument("server " + std::to_string(id) + " has no address");
        }
    }
    for (const auto& [id, address] : m.observers)
        if (m.is_voter(id))
            return Status::invalid_argument("server " + std::to_string(id) +
                                            " is both a voter and an observer");
    return Status::ok();
}

Status check_change(const Membership& from, const Membership& to) {
    if (Status s = check_servers(to); !s.is_ok()) return s;
    std::vector<ServerId> added, removed;
    for (const auto& [id, address] : to.voters)
        if (!from.is_voter(id)) added.push_back(id);
    for (const auto& [id, address] : from.voters)
        if (!to.is_voter(id)) removed.push_back(id);
    if (added.size() + removed.size() > 1) {
        std::string what;
        if (!added.empty()) what = "adds voter(s) " + id_list(added);
        if (!removed.empty())
            what +=
                (what.empty() ? "" : " and ") + std::string("removes voter(s) ") + id_list(removed);
        return Status::invalid_argument(
            "the change " + what +
            ": one voter at a time (docs/protocol.md, \"Reconfiguration\", R2)");
    }
    // A voter that keeps its id keeps its address: a moved server is a new
    // server (a new id), replaced by adding it and removing the old one.
    for (const auto& [id, address] : to.voters)
        if (from.is_voter(id) && from.voters.at(id) != address)
            return Status::invalid_argument("voter " + std::to_string(id) +
                                            " would change its address: add the new server "
                                            "under a new id, then remove this one");
    return Status::ok();
}

}  // namespace chorus::zab
