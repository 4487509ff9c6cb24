// session/acl.h: ZooKeeper's ACL rules, and the tracker applying them.
#include "session/acl.h"

#include <gtest/gtest.h>

namespace chorus::session {
namespace {

Requester anonymous_from(const std::string& ip) {
    return Requester{.checked = true, .superuser = false, .ids = {{"ip", ip}}};
}

TEST(Acl, AnEntryGivesItsPermissionsToItsIdentityOnly) {
    const AclList acl = {{kPermRead | kPermAdmin, "digest", "alice:hash"},
                         {kPermRead, "ip", "10.0.0.0/8"}};
    Requester alice = anonymous_from("127.0.0.1");
    alice.ids.push_back({"digest", "alice:hash"});
    EXPECT_TRUE(acl_allows(&acl, alice, kPermAdmin));
    EXPECT_FALSE(acl_allows(&acl, alice, kPermWrite));
    EXPECT_TRUE(acl_allows(&acl, alice, kPermWrite | kPermRead)) << "any one of them";
    EXPECT_FALSE(acl_allows(&acl, anonymous_from("127.0.0.1"), kPermRead));
    EXPECT_TRUE(acl_allows(&acl, anonymous_from("10.1.2.3"), kPermRead));
    EXPECT_FALSE(acl_allows(&acl, anonymous_from("10.1.2.3"), kPermAdmin));
    Requester super = anonymous_from("127.0.0.1");
    super.superuser = true;
    EXPECT_TRUE(acl_allows(&acl, super, kPermWrite));
    EXPECT_TRUE(acl_allows(&acl, Requester{}, kPermWrite)) << "the server's own work";
    EXPECT_TRUE(acl_allows(nullptr, anonymous_from("1.2.3.4"), kPermAll)) << "the default";
    const AclList none = {{0, "world", "anyone"}};
    EXPECT_FALSE(acl_allows(&none, anonymous_from("1.1.1.1"), kPermRead));
}

TEST(Acl, AddressesMatchByPrefix) {
    EXPECT_TRUE(ip_matches("10.1.2.3", "10.0.0.0/8"));
    EXPECT_FALSE(ip_matches("11.1.2.3", "10.0.0.0/8"));
    EXPECT_TRUE(ip_matches("192.168.7.9", "192.168.4.0/22"));
    EXPECT_FALSE(ip_matches("192.168.8.1", "192.168.4.0/22"));
    EXPECT_TRUE(ip_matches("127.0.0.1", "127.0.0.1"));
    EXPECT_FALSE(ip_matches("127.0.0.2", "127.0.0.1"));
    EXPECT_TRUE(ip_matches("1.2.3.4", "0.0.0.0/0"));
    EXPECT_FALSE(ip_matches("1.2.3.4", "1.2.3.4/33"));
    EXPECT_FALSE(ip_matches("not an address", "0.0.0.0/0"));
}

TEST(Acl, OnlyEntriesZooKeeperTakesAreValid) {
    std::string why;
    EXPECT_TRUE(valid_acl_entry({31, "world", "anyone"}, &why));
    EXPECT_FALSE(valid_acl_entry({31, "world", "someone"}, &why));
    EXPECT_TRUE(valid_acl_entry({31, "digest", "bob:abc="}, &why));
    EXPECT_TRUE(valid_acl_entry({31, "digest", ":abc="}, &why)) << "as ZooKeeper's split allows";
    EXPECT_FALSE(valid_acl_entry({31, "digest", "nocolon"}, &why));
    EXPECT_FALSE(valid_acl_entry({31, "digest", "a:b:c"}, &why));
    EXPECT_FALSE(valid_acl_entry({31, "digest", "a:"}, &why));
    EXPECT_TRUE(valid_acl_entry({31, "ip", "10.0.0.0/8"}, &why));
    EXPECT_FALSE(valid_acl_entry({31, "ip", "10.0.0.0/33"}, &why));
    EXPECT_FALSE(valid_acl_entry({31, "ip", "::1"}, &why)) << "ZooKeeper 3.8 takes IPv4 only";
    EXPECT_FALSE(valid_acl_entry({31, "sasl", "x"}, &why));
    EXPECT_NE(why.find("sasl"), std::string::npos) << why;
}

}  // namespace
}  // namespace chorus::session
