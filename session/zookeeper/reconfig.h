// ZooKeeper's reconfig (opcode 16, ReconfigRequest) and the dynamic
// configuration text that is the data of /zookeeper/config, mapped onto
// chorus's membership (docs/zookeeper.md, "Reconfiguration"). Pure.
//
// chorus changes one server at a time (docs/protocol.md, R2), so of the
// three forms ZooKeeper's clients send, incremental ones naming a single
// server are served: joining "server.4=HOST:PORT:PORT[:participant|
// :observer][;CLIENT]" or leaving "4". The first PORT is the server's
// chorus peer port (chorus has no second one; it is read and ignored), and
// the client part is ignored. A non-incremental reconfig (new members) is
// refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"
#include "session/zookeeper/jute.h"
#include "zab/core/membership.h"

namespace chorus::zookeeper {

struct ReconfigRequest {
    std::optional<std::string> joining;      // comma-separated server specs
    std::optional<std::string> leaving;      // comma-separated ids
    std::optional<std::string> new_members;  // a whole new configuration
    int64_t cur_config_id = -1;              // the version expected; -1: any
};

bool read_reconfig_request(JuteReader& in, ReconfigRequest* out);
void write_reconfig_request(JuteWriter& out, const ReconfigRequest& r);

// The one change a reconfig asks for.
struct ReconfigChange {
    enum class Kind : uint8_t { kJoin, kLeave } kind = Kind::kJoin;
    zab::ServerId id = 0;
    std::string address;    // kJoin: the peer address, HOST:PORT
    bool observer = false;  // kJoin: as an observer (ZooKeeper's role "observer")
};

// The change `r` asks for; kInvalidArgument, with the reason, for a
// request that is empty, names more than one server, is non-incremental or
// does not parse.
Result<ReconfigChange> change_of(const ReconfigRequest& r);

// ZooKeeper's version of a membership: its zxid as one 64-bit number
// (epoch in the high half), as the "version=" line and cur_config_id give it.
int64_t config_version_of(const zab::Membership& m);

// The text of /zookeeper/config for `m`: a line
// "server.ID=HOST:PORT:PORT:participant" (or ":observer") per server, by
// id, then "version=" and the version in hex, as ZooKeeper writes it.
std::string config_text(const zab::Membership& m);

}  // namespace chorus::zookeeper
