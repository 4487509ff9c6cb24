// Membership's checks and encoding (zab/core/membership.h): the rule R2 of
// docs/protocol.md, "Reconfiguration", and the payload of a CONFIG.
#include "zab/core/membership.h"

#include <gtest/gtest.h>

#include "zab/membership.pb.h"

namespace chorus::zab {
namespace {

Membership three() { return Membership::bootstrap({{1, "a:1"}, {2, "b:1"}, {3, "c:1"}}); }

TEST(Membership, QuorumIsAMajorityOfTheVotersOnly) {
    Membership m = three();
    EXPECT_EQ(m.quorum(), 2u);
    m.observers[4] = "d:1";
    m.observers[5] = "e:1";
    EXPECT_EQ(m.quorum(), 2u);  // observers never count
    m.voters[4] = "d:1";
    m.observers.erase(4);
    EXPECT_EQ(m.quorum(), 3u);  // 3 of 4
    EXPECT_TRUE(m.is_voter(4));
    EXPECT_TRUE(m.is_observer(5));
    EXPECT_FALSE(m.contains(6));
    EXPECT_EQ(m.address(5), "e:1");
    EXPECT_EQ(m.address(6), std::nullopt);
    EXPECT_EQ(m.str(), "voters 1,2,3,4; observers 5");
}

TEST(Membership, OneVoterAtATime) {
    const Membership from = three();
    Membership add = from;
    add.voters[4] = "d:1";
    EXPECT_TRUE(check_change(from, add).is_ok());
    Membership remove = from;
    remove.voters.erase(3);
    EXPECT_TRUE(check_change(from, remove).is_ok());

    Membership two_added = add;
    two_added.voters[5] = "e:1";
    Status s = check_change(from, two_added);
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_NE(s.message().find("adds voter(s) 4 and 5"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("one voter at a time"), std::string::npos) << s.message();

    Membership swapped = from;  // a replacement in one step: two voters change
    swapped.voters.erase(3);
    swapped.voters[4] = "d:1";
    s = check_change(from, swapped);
    EXPECT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("adds voter(s) 4 and removes voter(s) 3"), std::string::npos)
        << s.message();
}

TEST(Membership, ObserversChangeFreelyAndPromotionIsOneVoter) {
    const Membership from = three();
    Membership learners = from;
    learners.observers = {{4, "d:1"}, {5, "e:1"}, {6, "f:1"}};
    EXPECT_TRUE(check_change(from, learners).is_ok());
    Membership promoted = learners;
    promoted.observers.erase(4);
    promoted.voters[4] = "d:1";
    EXPECT_TRUE(check_change(learners, promoted).is_ok());
    Membership both = learners;
    both.voters[4] = "d:1";  // still an observer too
    EXPECT_NE(check_change(learners, both).message().find("both a voter and an observer"),
              std::string::npos);
}

TEST(Membership, RefusesNoVoterIdZeroNoAddressAndAMovedVoter) {
    const Membership one = Membership::bootstrap({{1, "a:1"}});
    Membership none = one;
    none.voters.clear();
    EXPECT_NE(check_change(one, none).message().find("no voter left"), std::string::npos);
    Membership zero = one;
    zero.observers[0] = "z:1";
    EXPECT_NE(check_change(one, zero).message().find("id 0"), std::string::npos);
    Membership blank = one;
    blank.observers[2] = "";
    EXPECT_NE(check_change(one, blank).message().find("no address"), std::string::npos);
    Membership moved = one;
    moved.voters[1] = "elsewhere:1";
    EXPECT_NE(check_change(one, moved).message().find("under a new id"), std::string::npos);
}

TEST(Membership, EncodesAndDecodesWithItsVersion) {
    Membership m = three();
    m.observers[7] = "g:2";
    const Zxid version{4, 17};
    auto back = Membership::decode(version, m.encode());
    ASSERT_TRUE(back.is_ok()) << back.status().str();
    EXPECT_TRUE(back->same_servers(m));
    EXPECT_EQ(back->version, version);
}

TEST(Membership, DecodeRefusesCorruptAndImpossiblePayloads) {
    EXPECT_EQ(Membership::decode({1, 1}, "\xff\xff\xff").status().code(), Code::kCorrupt);
    pb::MembershipRecord twice;
    for (int i = 0; i < 2; ++i) {
        auto* s = twice.add_voters();
        s->set_id(1);
        s->set_address("a:1");
    }
    auto r = Membership::decode({1, 2}, twice.SerializeAsString());
    EXPECT_EQ(r.status().code(), Code::kCorrupt);
    EXPECT_NE(r.status().message().find("voter 1 twice"), std::string::npos);
    // An empty record parses, but a membership with no voter is not one.
    r = Membership::decode({1, 3}, "");
    EXPECT_EQ(r.status().code(), Code::kCorrupt);
    EXPECT_NE(r.status().message().find("no voter left"), std::string::npos);
}

}  // namespace
}  // namespace chorus::zab
