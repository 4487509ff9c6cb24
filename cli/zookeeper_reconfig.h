// The ZooKeeper front end's reconfig (session/zookeeper/reconfig.h), made
// as the membership routes make a change (cli/membership_admin.h): a
// joining server is POST /membership/add (a voter catches up as an observer
// first, docs/protocol.md R8), a leaving one POST /membership/remove (a
// leader hands over first). Their refusals become ZooKeeper's error codes:
// 400 BADARGUMENTS, 409 RECONFIGINPROGRESS for another change being made
// and BADARGUMENTS for one the rules refuse, 503 NEWCONFIGNOQUORUM.
#pragma once

#include "cli/membership_admin.h"
#include "session/zookeeper/front_end.h"
#include "zab/runtime/node.h"

namespace chorus {

// A hook for FrontEndOptions::reconfig. `admin` and `node` must outlive
// the front end that calls it.
zookeeper::ReconfigHook zookeeper_reconfig_through(MembershipAdmin& admin, Node& node);

}  // namespace chorus
