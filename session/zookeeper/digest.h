// ZooKeeper's digest identities: "user:password" (what addAuth("digest")
// sends) becomes "user:" + base64(sha1("user:password")), the id a digest
// ACL names and zkCli's `addauth digest` proves. (OpenSSL's SHA-1.)
#pragma once

#include <string>
#include <string_view>

namespace chorus::zookeeper {

// The digest id of `user_password` ("user:password"; the user is what is
// before the first ':', or all of it, as ZooKeeper splits it).
std::string digest_id(std::string_view user_password);

}  // namespace chorus::zookeeper
