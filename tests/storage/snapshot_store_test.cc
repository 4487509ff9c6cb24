#include "storage/snapshot_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage/crc32c.h"
#include "tests/support/temp_dir.h"

namespace chorus::storage {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<SnapshotStore> open_store(const std::string& dir) {
    auto store = SnapshotStore::open(dir);
    EXPECT_TRUE(store.is_ok()) << store.status().str();
    return store.is_ok() ? std::move(store).value() : nullptr;
}

void write_snapshot(SnapshotStore& store, Zxid zxid, const std::string& body, size_t piece = 1000) {
    auto writer = store.begin(zxid);
    ASSERT_TRUE(writer.is_ok()) << writer.status().str();
    for (size_t i = 0; i < body.size(); i += piece) {
        ASSERT_TRUE((*writer)->append(std::string_view(body).substr(i, piece)).is_ok());
    }
    auto info = (*writer)->commit();
    ASSERT_TRUE(info.is_ok()) << info.status().str();
    EXPECT_EQ(info->zxid, zxid);
    EXPECT_EQ(info->size, body.size());
    EXPECT_EQ(info->checksum, crc32c(body));
}

std::string body_of(int seed, size_t size) {
    std::string s(size, '\0');
    for (size_t i = 0; i < size; ++i)
        s[i] = static_cast<char>((i * 131 + static_cast<size_t>(seed)) % 251);
    return s;
}

TEST(SnapshotStore, EmptyStoreHasNoLatest) {
    testing::TempDir dir;
    auto store = open_store(dir.path());
    EXPECT_TRUE(store->list().empty());
    EXPECT_EQ(store->open_latest().status().code(), Code::kNotFound);
}

TEST(SnapshotStore, WrittenSnapshotsAreListedInZxidOrderAndReadBackAfterReopen) {
    testing::TempDir dir;
    {
        auto store = open_store(dir.path());
        write_snapshot(*store, Zxid{1, 9}, body_of(1, 5000));
        write_snapshot(*store, Zxid{2, 3}, body_of(2, 3 << 20));  // spans several write buffers
        write_snapshot(*store, Zxid{10, 1}, "");
    }
    auto store = open_store(dir.path());
    ASSERT_EQ(store->list().size(), 3u);
    EXPECT_EQ(store->list()[0].zxid, (Zxid{1, 9}));
    EXPECT_EQ(store->list()[1].zxid, (Zxid{2, 3}));
    EXPECT_EQ(store->list()[2].zxid, (Zxid{10, 1}));
    EXPECT_EQ(fs::path(store->list()[1].path).filename(),
              "snapshot-0000000000000002-0000000000000003.snap");

    auto latest = store->open_latest();
    ASSERT_TRUE(latest.is_ok());
    EXPECT_EQ((*latest)->info().zxid, (Zxid{10, 1}));
    EXPECT_EQ((*latest)->read_all().value(), "");

    auto middle = store->open_at(Zxid{2, 3});
    ASSERT_TRUE(middle.is_ok());
    EXPECT_EQ((*middle)->read_all().value(), body_of(2, 3 << 20));
    EXPECT_EQ(store->open_at(Zxid{2, 4}).status().code(), Code::kNotFound);
}

TEST(SnapshotStore, ASnapshotNotNewerThanTheLatestIsRefused) {
    testing::TempDir dir;
    auto store = open_store(dir.path());
    write_snapshot(*store, Zxid{2, 5}, "abc");
    EXPECT_EQ(store->begin(Zxid{2, 5}).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(store->begin(Zxid{1, 50}).status().code(), Code::kInvalidArgument);
}

TEST(SnapshotStore, AnUncommittedWriterLeavesNothingBehind) {
    testing::TempDir dir;
    auto store = open_store(dir.path());
    {
        auto writer = store->begin(Zxid{1, 1});
        ASSERT_TRUE(writer.is_ok());
        ASSERT_TRUE((*writer)->append("half a snapshot").is_ok());
    }
    EXPECT_TRUE(fs::is_empty(dir.path()));
    EXPECT_TRUE(store->list().empty());
}

TEST(SnapshotStore, ATemporaryFileLeftByACrashIsRemovedOnOpen) {
    testing::TempDir dir;
    {
        auto store = open_store(dir.path());
        write_snapshot(*store, Zxid{1, 4}, "whole");
    }
    const std::string leftover = dir.path() + "/" + snapshot_file_name(Zxid{1, 8}) + ".tmp";
    std::ofstream(leftover) << "CHSNAP1\npartial";
    auto store = open_store(dir.path());
    EXPECT_FALSE(fs::exists(leftover));
    ASSERT_EQ(store->list().size(), 1u);
    EXPECT_EQ(store->list()[0].zxid, (Zxid{1, 4}));
}

TEST(SnapshotStore, DeleteOlderThanKeepsTheGivenOneAndNewer) {
    testing::TempDir dir;
    auto store = open_store(dir.path());
    for (uint64_t c = 1; c <= 4; ++c)
        write_snapshot(*store, Zxid{1, c * 10}, body_of(static_cast<int>(c), 10));
    ASSERT_TRUE(store->delete_older_than(Zxid{1, 30}).is_ok());
    ASSERT_EQ(store->list().size(), 2u);
    EXPECT_EQ(store->list()[0].zxid, (Zxid{1, 30}));
    auto reopened = open_store(dir.path());
    ASSERT_EQ(reopened->list().size(), 2u);
    EXPECT_FALSE(fs::exists(dir.path() + "/" + snapshot_file_name(Zxid{1, 20})));
}

TEST(SnapshotStore, AnUnexpectedFileInTheDirectoryIsReported) {
    testing::TempDir dir;
    std::ofstream(dir.path() + "/notes.txt") << "hello";
    auto store = SnapshotStore::open(dir.path());
    ASSERT_FALSE(store.is_ok());
    EXPECT_EQ(store.status().code(), Code::kCorrupt);
    EXPECT_NE(store.status().message().find("notes.txt"), std::string::npos);
}

}  // namespace
}  // namespace chorus::storage
