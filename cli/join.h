// --join HOST:PORT: a new server learns the ensemble's membership from one
// member's HTTP port (the GET /membership of cli/membership_admin.h), at
// its first start only (NodeOptions::join).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "zab/core/membership.h"

namespace chorus {

// Asks `http_address` ("HOST:PORT") for its membership, trying again every
// half second for up to `patience_ms` while it does not answer (it may be
// starting too), with a log line now and then. kIoError naming the address
// and the last reason if it never answers; kInvalidArgument if what it
// answers is not a membership.
Result<zab::Membership> fetch_membership(const std::string& http_address,
                                         uint64_t patience_ms = 30000);

}  // namespace chorus
