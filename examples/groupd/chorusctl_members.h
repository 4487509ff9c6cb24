// chorusctl's membership commands, on any chorus server's membership routes
// (cli/membership_admin.h: groupd's --http, chorus-server's and kv's --admin):
//   members                          the voters and observers, and who leads
//   add-server ID PEER_ADDRESS [--observer]
//   remove-server ID                 (a leader hands over first)
//   transfer-leader [ID]             leadership to ID, or to any caught-up voter
// Each asks the first of `addresses` that answers; a change may be asked of
// any server (it is forwarded to the leader) and waits until it commits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chorus::chorusctl {

// Prints the membership as a table. 0 on success, 1 if no server answered.
int print_members(const std::vector<std::string>& addresses, int timeout_ms);

// POSTs /membership/add (observer: as=observer) or /membership/remove,
// printing progress and the result. 0 once the change holds, 1 otherwise
// (the server's reason is printed).
int add_server(const std::vector<std::string>& addresses, uint64_t id, const std::string& address,
               bool observer, int timeout_s);
int remove_server(const std::vector<std::string>& addresses, uint64_t id, int timeout_s);
// POSTs /membership/transfer-leader (id 0: any other voter); 0 once the
// new leader serves.
int transfer_leader(const std::vector<std::string>& addresses, uint64_t id, int timeout_s);

}  // namespace chorus::chorusctl
