// One suite, every Log implementation: the contract in storage/log.h.
// RocksLog runs each test with a reopen between steps where durability is
// part of the contract; MemoryLog's "reopen" keeps the same object.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "storage/memory_log.h"
#include "storage/rocks_log.h"
#include "tests/support/temp_dir.h"

namespace chorus::storage {
namespace {

enum class Kind { kMemory, kRocks };

std::string payload_for(Zxid zxid) {
    return "payload-" + zxid.str() + std::string(zxid.counter % 7, 'x');
}

std::vector<Entry> run(uint64_t epoch, uint64_t first_counter, uint64_t last_counter) {
    std::vector<Entry> out;
    for (uint64_t c = first_counter; c <= last_counter; ++c) {
        Zxid z{epoch, c};
        out.push_back(Entry{z, static_cast<uint32_t>(c % 3), payload_for(z)});
    }
    return out;
}

class LogConformance : public ::testing::TestWithParam<Kind> {
 protected:
    void SetUp() override { open(); }

    void open() {
        if (GetParam() == Kind::kMemory) {
            if (!log_) log_ = std::make_unique<MemoryLog>();
            return;
        }
        log_.reset();
        auto opened = RocksLog::open(dir_.sub("log"));
        ASSERT_TRUE(opened.is_ok()) << opened.status().str();
        log_ = std::move(opened).value();
    }
    // A crash-free restart: what was acknowledged must still be there.
    void reopen() { open(); }

    Log& log() { return *log_; }

    void accept_epoch(uint64_t epoch) {
        ASSERT_TRUE(log().set_accepted_epoch(epoch).is_ok());
        ASSERT_TRUE(log().set_current_epoch(epoch).is_ok());
    }

    std::vector<Entry> read_all() {
        auto r = log().read(log().base().next(), Zxid{UINT64_MAX, UINT64_MAX});
        EXPECT_TRUE(r.is_ok()) << r.status().str();
        return r.is_ok() ? std::move(r).value() : std::vector<Entry>{};
    }

    testing::TempDir dir_;
    std::unique_ptr<Log> log_;
};

TEST_P(LogConformance, NewLogIsEmptyWithZeroBoundsAndEpochs) {
    EXPECT_EQ(log().first_zxid(), Zxid::zero());
    EXPECT_EQ(log().last_zxid(), Zxid::zero());
    EXPECT_EQ(log().base(), Zxid::zero());
    EXPECT_EQ(log().accepted_epoch(), 0u);
    EXPECT_EQ(log().current_epoch(), 0u);
    EXPECT_TRUE(read_all().empty());
}

TEST_P(LogConformance, AppendedBatchesReadBackInOrderAfterReopen) {
    accept_epoch(1);
    ASSERT_TRUE(log().append(run(1, 1, 3)).is_ok());
    ASSERT_TRUE(log().append(run(1, 4, 10)).is_ok());
    reopen();
    EXPECT_EQ(log().first_zxid(), (Zxid{1, 1}));
    EXPECT_EQ(log().last_zxid(), (Zxid{1, 10}));
    EXPECT_EQ(read_all(), run(1, 1, 10));
}

TEST_P(LogConformance, EmptyBatchIsAccepted) {
    EXPECT_TRUE(log().append({}).is_ok());
    EXPECT_EQ(log().last_zxid(), Zxid::zero());
}

TEST_P(LogConformance, AppendContinuesIntoLaterEpochAtCounterOne) {
    accept_epoch(4);
    ASSERT_TRUE(log().append(run(1, 1, 3)).is_ok());
    ASSERT_TRUE(log().append(run(4, 1, 2)).is_ok());
    reopen();
    std::vector<Entry> expected = run(1, 1, 3);
    for (Entry& e : run(4, 1, 2)) expected.push_back(e);
    EXPECT_EQ(read_all(), expected);
    EXPECT_EQ(log().last_zxid(), (Zxid{4, 2}));
}

TEST_P(LogConformance, AppendOfZxidNotGreaterThanLastIsRefusedAndChangesNothing) {
    accept_epoch(2);
    ASSERT_TRUE(log().append(run(2, 1, 5)).is_ok());
    for (Zxid bad : {Zxid{2, 5}, Zxid{2, 3}, Zxid{1, 9}}) {
        Status s = log().append(std::vector<Entry>{Entry{bad, 0, "x"}});
        EXPECT_EQ(s.code(), Code::kInvalidArgument) << bad.str();
        EXPECT_NE(s.message().find("not greater than the last zxid 2:5"), std::string::npos)
            << s.message();
    }
    reopen();
    EXPECT_EQ(read_all(), run(2, 1, 5));
}

TEST_P(LogConformance, AppendThatWouldLeaveAGapIsRefused) {
    accept_epoch(3);
    ASSERT_TRUE(log().append(run(1, 1, 3)).is_ok());
    for (Zxid bad : {Zxid{1, 5}, Zxid{2, 2}, Zxid{3, 7}}) {
        Status s = log().append(std::vector<Entry>{Entry{bad, 0, "x"}});
        EXPECT_EQ(s.code(), Code::kInvalidArgument) << bad.str();
        EXPECT_NE(s.message().find("gap after 1:3"), std::string::npos) << s.message();
    }
    EXPECT_EQ(log().last_zxid(), (Zxid{1, 3}));
}

TEST_P(LogConformance, FirstEntryOfANewLogMustStartAnEpoch) {
    accept_epoch(1);
    Status s = log().append(std::vector<Entry>{Entry{Zxid{1, 2}, 0, "x"}});
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_TRUE(log().append(run(1, 1, 1)).is_ok());
}

TEST_P(LogConformance, BatchWithABadEntryInsideIsRefusedWhole) {
    accept_epoch(1);
    std::vector<Entry> batch = run(1, 1, 4);
    batch[2].zxid = Zxid{1, 9};
    EXPECT_EQ(log().append(batch).code(), Code::kInvalidArgument);
    reopen();
    EXPECT_EQ(log().last_zxid(), Zxid::zero());
    EXPECT_TRUE(read_all().empty());
}

TEST_P(LogConformance, AppendFromAnEpochAboveAcceptedEpochIsRefused) {
    accept_epoch(1);
    Status s = log().append(run(2, 1, 1));
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_NE(s.message().find("above acceptedEpoch 1"), std::string::npos) << s.message();
}

TEST_P(LogConformance, ReadHonoursRangeAndLimits) {
    accept_epoch(1);
    ASSERT_TRUE(log().append(run(1, 1, 20)).is_ok());
    auto r = log().read(Zxid{1, 5}, Zxid{1, 9});
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(r.value(), run(1, 5, 9));

    r = log().read(Zxid{1, 5}, Zxid{1, 20}, ReadLimits{.max_entries = 3});
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(r.value(), run(1, 5, 7));

    // max_bytes stops before the entry that would exceed it, but never
    // returns nothing when something is in range.
    r = log().read(Zxid{1, 1}, Zxid{1, 20}, ReadLimits{.max_bytes = 1});
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(r.value(), run(1, 1, 1));

    r = log().read(Zxid{1, 21}, Zxid{1, 30});
    ASSERT_TRUE(r.is_ok());
    EXPECT_TRUE(r.value().empty());
}

TEST_P(LogConformance, TruncateAfterDropsTheSuffixDurably) {
    accept_epoch(2);
    ASSERT_TRUE(log().append(run(1, 1, 5)).is_ok());
    ASSERT_TRUE(log().append(run(2, 1, 4)).is_ok());
    ASSERT_TRUE(log().truncate_after(Zxid{1, 3}).is_ok());
    EXPECT_EQ(log().last_zxid(), (Zxid{1, 3}));
    reopen();
    EXPECT_EQ(log().last_zxid(), (Zxid{1, 3}));
    EXPECT_EQ(read_all(), run(1, 1, 3));
    // The log continues from the truncation point.
    ASSERT_TRUE(log().append(run(2, 1, 2)).is_ok());
    reopen();
    std::vector<Entry> expected = run(1, 1, 3);
    for (Entry& e : run(2, 1, 2)) expected.push_back(e);
    EXPECT_EQ(read_all(), expected);
}

TEST_P(LogConformance, TruncateToLastIsANoOpAndToBaseEmptiesTheLog) {
    accept_epoch(1);
    ASSERT_TRUE(log().append(run(1, 1, 5)).is_ok());
    ASSERT_TRUE(log().truncate_after(Zxid{1, 5}).is_ok());
    EXPECT_EQ(read_all(), run(1, 1, 5));
    ASSERT_TRUE(log().truncate_after(Zxid::zero()).is_ok());
    reopen();
    EXPECT_EQ(log().last_zxid(), Zxid::zero());
    EXPECT_EQ(log().first_zxid(), Zxid::zero());
    EXPECT_TRUE(read_all().empty());
}

TEST_P(LogConformance, TruncateOutsideTheLogIsRefused) {
    accept_epoch(1);
    ASSERT_TRUE(log().append(run(1, 1, 5)).is_ok());
    EXPECT_EQ(log().truncate_after(Zxid{1, 6}).code(), Code::kInvalidArgument);
    ASSERT_TRUE(log().compact_through(Zxid{1, 2}).is_ok());
    EXPECT_EQ(log().truncate_after(Zxid{1, 1}).code(), Code::kInvalidArgument);
    EXPECT_EQ(read_all(), run(1, 3, 5));
}

TEST_P(LogConformance, CompactThroughDeletesThePrefixDurably) {
    accept_epoch(3);
    ASSERT_TRUE(log().append(run(1, 1, 5)).is_ok());
    ASSERT_TRUE(log().append(run(3, 1, 5)).is_ok());
    ASSERT_TRUE(log().compact_through(Zxid{1, 5}).is_ok());
    EXPECT_EQ(log().base(), (Zxid{1, 5}));
    EXPECT_EQ(log().first_zxid(), (Zxid{3, 1}));
    reopen();
    EXPECT_EQ(log().base(), (Zxid{1, 5}));
    EXPECT_EQ(log().first_zxid(), (Zxid{3, 1}));
    EXPECT_EQ(log().last_zxid(), (Zxid{3, 5}));
    EXPECT_EQ(read_all(), run(3, 1, 5));
    EXPECT_EQ(log().read(Zxid{1, 2}, Zxid{3, 5}).status().code(), Code::kNotFound);
}

TEST_P(LogConformance, CompactThroughLastLeavesAnEmptyLogThatContinues) {
    accept_epoch(1);
    ASSERT_TRUE(log().append(run(1, 1, 5)).is_ok());
    ASSERT_TRUE(log().compact_through(Zxid{1, 5}).is_ok());
    reopen();
    EXPECT_EQ(log().last_zxid(), (Zxid{1, 5}));
    EXPECT_EQ(log().first_zxid(), Zxid::zero());
    EXPECT_TRUE(read_all().empty());
    EXPECT_EQ(log().append(run(1, 1, 1)).code(), Code::kInvalidArgument);
    ASSERT_TRUE(log().append(run(1, 6, 7)).is_ok());
    EXPECT_EQ(read_all(), run(1, 6, 7));
}

TEST_P(LogConformance, CompactBeyondTheLogIsRefused) {
    accept_epoch(1);
    ASSERT_TRUE(log().append(run(1, 1, 5)).is_ok());
    EXPECT_EQ(log().compact_through(Zxid{1, 6}).code(), Code::kInvalidArgument);
    EXPECT_EQ(read_all(), run(1, 1, 5));
}

TEST_P(LogConformance, ResetToDropsEverythingAndContinuesFromTheSnapshotZxid) {
    accept_epoch(5);
    ASSERT_TRUE(log().append(run(1, 1, 5)).is_ok());
    ASSERT_TRUE(log().reset_to(Zxid{4, 17}).is_ok());
    reopen();
    EXPECT_EQ(log().base(), (Zxid{4, 17}));
    EXPECT_EQ(log().last_zxid(), (Zxid{4, 17}));
    EXPECT_TRUE(read_all().empty());
    ASSERT_TRUE(log().append(run(4, 18, 19)).is_ok());
    ASSERT_TRUE(log().append(run(5, 1, 1)).is_ok());
    reopen();
    std::vector<Entry> expected = run(4, 18, 19);
    expected.push_back(run(5, 1, 1)[0]);
    EXPECT_EQ(read_all(), expected);
    EXPECT_EQ(log().reset_to(Zxid{6, 1}).code(), Code::kInvalidArgument);
}

TEST_P(LogConformance, EpochsAreDurableAndNeverGoBack) {
    ASSERT_TRUE(log().set_accepted_epoch(3).is_ok());
    ASSERT_TRUE(log().set_current_epoch(2).is_ok());
    reopen();
    EXPECT_EQ(log().accepted_epoch(), 3u);
    EXPECT_EQ(log().current_epoch(), 2u);
    EXPECT_EQ(log().set_accepted_epoch(2).code(), Code::kInvalidArgument);
    EXPECT_EQ(log().set_current_epoch(1).code(), Code::kInvalidArgument);
    Status s = log().set_current_epoch(4);
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_NE(s.message().find("may not exceed acceptedEpoch 3"), std::string::npos) << s.message();
    reopen();
    EXPECT_EQ(log().accepted_epoch(), 3u);
    EXPECT_EQ(log().current_epoch(), 2u);
}

TEST_P(LogConformance, TheOriginalMemberMarkIsDurableAndSurvivesAReset) {
    EXPECT_FALSE(log().original_member());
    ASSERT_TRUE(log().set_original_member().is_ok());
    reopen();
    EXPECT_TRUE(log().original_member());
    EXPECT_FALSE(log().joined_ensemble()) << "one mark is not the other";
    accept_epoch(2);
    ASSERT_TRUE(log().reset_to(Zxid{2, 5}).is_ok());
    ASSERT_TRUE(log().set_original_member().is_ok());  // again: no harm
    reopen();
    EXPECT_TRUE(log().original_member());
}

TEST_P(LogConformance, TheJoinedEnsembleMarkIsDurableAndSurvivesAReset) {
    EXPECT_FALSE(log().joined_ensemble());
    ASSERT_TRUE(log().set_joined_ensemble().is_ok());
    reopen();
    EXPECT_TRUE(log().joined_ensemble());
    accept_epoch(2);
    ASSERT_TRUE(log().reset_to(Zxid{2, 5}).is_ok());
    ASSERT_TRUE(log().set_joined_ensemble().is_ok());  // again: no harm
    reopen();
    EXPECT_TRUE(log().joined_ensemble());
}

TEST_P(LogConformance, TheMembershipIsDurableReplacedWholeAndSurvivesLogChanges) {
    EXPECT_EQ(log().membership(), std::nullopt);
    ASSERT_TRUE(log().set_membership(StoredMembership{Zxid{}, "bootstrap"}).is_ok());
    reopen();
    ASSERT_TRUE(log().membership().has_value());
    EXPECT_EQ(*log().membership(), (StoredMembership{Zxid{}, "bootstrap"}));
    accept_epoch(1);
    ASSERT_TRUE(log()
                    .append(std::vector<Entry>{
                        {Zxid{1, 1}, 1, "a"}, {Zxid{1, 2}, 7, "b"}, {Zxid{1, 3}, 1, "c"}})
                    .is_ok());
    const StoredMembership second{Zxid{1, 2}, std::string("with\0zero", 10)};
    ASSERT_TRUE(log().set_membership(second).is_ok());
    ASSERT_TRUE(log().compact_through(Zxid{1, 2}).is_ok());
    ASSERT_TRUE(log().truncate_after(Zxid{1, 2}).is_ok());
    reopen();
    EXPECT_EQ(log().membership(), second) << "untouched by compaction and truncation";
    accept_epoch(2);
    ASSERT_TRUE(log().reset_to(Zxid{2, 5}).is_ok());
    reopen();
    EXPECT_EQ(log().membership(), second) << "untouched by a reset";
}

TEST_P(LogConformance, LargeAndEmptyPayloadsRoundTrip) {
    accept_epoch(1);
    std::vector<Entry> batch = {Entry{Zxid{1, 1}, 7, std::string(1 << 20, 'z')},
                                Entry{Zxid{1, 2}, 0, ""},
                                Entry{Zxid{1, 3}, 0xFFFFFFFFu, std::string("\0\x01\xff", 3)}};
    ASSERT_TRUE(log().append(batch).is_ok());
    reopen();
    EXPECT_EQ(read_all(), batch);
}

TEST_P(LogConformance, ManyBatchesKeepOrderAcrossReopens) {
    accept_epoch(1);
    uint64_t next = 1;
    for (int round = 0; round < 5; ++round) {
        for (int batch = 0; batch < 20; ++batch) {
            uint64_t size = 1 + static_cast<uint64_t>((round * 20 + batch) % 9);
            ASSERT_TRUE(log().append(run(1, next, next + size - 1)).is_ok());
            next += size;
        }
        reopen();
    }
    EXPECT_EQ(read_all(), run(1, 1, next - 1));
}

INSTANTIATE_TEST_SUITE_P(AllLogs, LogConformance, ::testing::Values(Kind::kMemory, Kind::kRocks),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                             return info.param == Kind::kMemory ? "MemoryLog" : "RocksLog";
                         });

}  // namespace
}  // namespace chorus::storage
