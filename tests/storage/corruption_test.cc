// Opening a data directory with anything it cannot trust fails with kCorrupt
// and a message naming the file and the zxid; nothing is skipped. The one
// exception, a torn write at the very tail of the write-ahead log, is
// dropped: it was never acknowledged.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "storage/data_dir.h"
#include "storage/record_codec.h"
#include "storage/records.pb.h"
#include "storage/rocks_log.h"
#include "storage/wal_tail.h"
#include "tests/support/temp_dir.h"

namespace chorus::storage {
namespace {

namespace fs = std::filesystem;

const std::string kMarker = "MARKER-0123456789-abcdefghij-MARKER";

std::vector<Entry> entries(uint64_t epoch, uint64_t first, uint64_t last) {
    std::vector<Entry> out;
    for (uint64_t c = first; c <= last; ++c)
        out.push_back(Entry{Zxid{epoch, c}, 1, kMarker + std::to_string(c)});
    return out;
}

DataDir open_ok(const std::string& path) {
    auto dir = open_data_dir(path);
    EXPECT_TRUE(dir.is_ok()) << dir.status().str();
    return dir.is_ok() ? std::move(dir).value() : DataDir{};
}

// A data dir holding entries 1:1..1:30 (one batch each) and a snapshot at 1:10.
void populate(const std::string& path) {
    DataDir dir = open_ok(path);
    ASSERT_TRUE(dir.log->set_accepted_epoch(1).is_ok());
    ASSERT_TRUE(dir.log->set_current_epoch(1).is_ok());
    for (uint64_t c = 1; c <= 30; ++c) ASSERT_TRUE(dir.log->append(entries(1, c, c)).is_ok());
    auto writer = dir.snapshots->begin(Zxid{1, 10});
    ASSERT_TRUE(writer.is_ok());
    ASSERT_TRUE((*writer)->append(std::string(10000, 's')).is_ok());
    ASSERT_TRUE((*writer)->commit().is_ok());
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

// Flips one byte of the n-th occurrence (counting from 0) of `needle` in the
// files of `dir` whose name ends in `suffix`. Returns the file changed.
fs::path flip_in_files(const fs::path& dir, const std::string& suffix, const std::string& needle,
                       int n) {
    for (const auto& file : fs::directory_iterator(dir)) {
        if (!file.path().string().ends_with(suffix)) continue;
        std::string bytes = read_file(file.path());
        size_t pos = bytes.find(needle);
        for (int i = 0; i < n && pos != std::string::npos; ++i) pos = bytes.find(needle, pos + 1);
        if (pos == std::string::npos) continue;
        bytes[pos + 3] = static_cast<char>(bytes[pos + 3] ^ 0x01);
        write_file(file.path(), bytes);
        return file.path();
    }
    return {};
}

void expect_corrupt(const Result<DataDir>& opened, const std::vector<std::string>& mentions) {
    ASSERT_FALSE(opened.is_ok()) << "a damaged data directory was opened without complaint";
    EXPECT_EQ(opened.status().code(), Code::kCorrupt) << opened.status().str();
    for (const std::string& m : mentions) {
        EXPECT_NE(opened.status().message().find(m), std::string::npos)
            << "the error should mention '" << m << "': " << opened.status().message();
    }
}

TEST(Corruption, ACleanDataDirOpens) {
    testing::TempDir tmp;
    populate(tmp.path());
    DataDir dir = open_ok(tmp.path());
    EXPECT_EQ(dir.log->last_zxid(), (Zxid{1, 30}));
    EXPECT_EQ(dir.snapshots->list().size(), 1u);
}

TEST(Corruption, AFlippedByteInTheSnapshotBodyFailsItsChecksum) {
    testing::TempDir tmp;
    populate(tmp.path());
    const fs::path snap = tmp.sub("snapshots") + "/" + snapshot_file_name(Zxid{1, 10});
    std::string bytes = read_file(snap);
    bytes[5000] = static_cast<char>(bytes[5000] ^ 0x40);
    write_file(snap, bytes);
    expect_corrupt(open_data_dir(tmp.path()), {snap.string(), "1:10", "checksum"});
}

TEST(Corruption, EveryFlippedByteInASnapshotIsCaught) {
    testing::TempDir tmp;
    populate(tmp.path());
    const fs::path snap = tmp.sub("snapshots") + "/" + snapshot_file_name(Zxid{1, 10});
    const std::string good = read_file(snap);
    // Header, a stretch of body, and the whole footer.
    std::vector<size_t> positions;
    for (size_t i = 0; i < 8; ++i) positions.push_back(i);
    for (size_t i = 8; i < 200; i += 17) positions.push_back(i);
    for (size_t i = good.size() - 40; i < good.size(); ++i) positions.push_back(i);
    for (size_t pos : positions) {
        std::string bad = good;
        bad[pos] = static_cast<char>(bad[pos] ^ 0x04);
        write_file(snap, bad);
        auto opened = open_data_dir(tmp.path());
        EXPECT_FALSE(opened.is_ok()) << "flip at byte " << pos << " went unnoticed";
        if (!opened.is_ok()) {
            EXPECT_NE(opened.status().message().find(snap.string()), std::string::npos)
                << opened.status().str();
        }
    }
    write_file(snap, good);
    open_ok(tmp.path());
}

TEST(Corruption, ATruncatedSnapshotIsCaught) {
    testing::TempDir tmp;
    populate(tmp.path());
    const fs::path snap = tmp.sub("snapshots") + "/" + snapshot_file_name(Zxid{1, 10});
    fs::resize_file(snap, fs::file_size(snap) - 100);
    expect_corrupt(open_data_dir(tmp.path()), {snap.string(), "1:10"});
}

TEST(Corruption, AFlippedByteInTheWriteAheadLogIsRefused) {
    testing::TempDir tmp;
    populate(tmp.path());
    // Entry 1:5 sits in the middle of the write-ahead log (*.log).
    const fs::path changed = flip_in_files(tmp.sub("log"), ".log", kMarker + "5", 0);
    ASSERT_FALSE(changed.empty()) << "the test's marker was not found in the write-ahead log";
    auto opened = open_data_dir(tmp.path());
    ASSERT_FALSE(opened.is_ok());
    EXPECT_EQ(opened.status().code(), Code::kCorrupt) << opened.status().str();
    EXPECT_NE(opened.status().message().find(tmp.sub("log")), std::string::npos)
        << opened.status().str();
}

TEST(Corruption, AFlippedByteInATableFileIsRefused) {
    testing::TempDir tmp;
    populate(tmp.path());
    {
        DataDir dir = open_ok(tmp.path());
        ASSERT_TRUE(dir.log->flush().is_ok());  // move the entries from the WAL into an SST file
    }
    const fs::path changed = flip_in_files(tmp.sub("log"), ".sst", kMarker + "7", 0);
    ASSERT_FALSE(changed.empty()) << "the test's marker was not found in a table file";
    auto opened = open_data_dir(tmp.path());
    ASSERT_FALSE(opened.is_ok());
    EXPECT_EQ(opened.status().code(), Code::kCorrupt) << opened.status().str();
    EXPECT_NE(opened.status().message().find(tmp.sub("log")), std::string::npos)
        << opened.status().str();
}

// Damage that RocksDB's own checksums cannot see (a record rewritten through
// RocksDB itself) is caught by the record's checksum, naming the zxid.
class RawRocks {
 public:
    explicit RawRocks(const std::string& dir) {
        rocksdb::Options options;
        std::vector<rocksdb::ColumnFamilyDescriptor> families = {
            {rocksdb::kDefaultColumnFamilyName, {}}, {"entries", {}}, {"meta", {}}};
        rocksdb::DB* raw = nullptr;
        rocksdb::Status s = rocksdb::DB::Open(options, dir, families, &handles_, &raw);
        EXPECT_TRUE(s.ok()) << s.ToString();
        db_.reset(raw);
    }
    ~RawRocks() {
        for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    }
    void put_entry(Zxid zxid, const std::string& value) {
        ZxidKey key = encode_zxid_key(zxid);
        ASSERT_TRUE(db_->Put({}, handles_[1], rocksdb::Slice(key.data(), key.size()), value).ok());
    }
    void erase_entry(Zxid zxid) {
        ZxidKey key = encode_zxid_key(zxid);
        ASSERT_TRUE(db_->Delete({}, handles_[1], rocksdb::Slice(key.data(), key.size())).ok());
    }
    void put_meta(const std::string& key, const std::string& value) {
        ASSERT_TRUE(db_->Put({}, handles_[2], key, value).ok());
    }

 private:
    std::unique_ptr<rocksdb::DB> db_;
    std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

TEST(Corruption, ARecordWhoseChecksumDoesNotMatchIsRefused) {
    testing::TempDir tmp;
    populate(tmp.path());
    {
        RawRocks raw(tmp.sub("log"));
        Entry entry = entries(1, 12, 12)[0];
        std::string value;
        encode_record(entry, &value);
        value[value.size() - 8] =
            static_cast<char>(value[value.size() - 8] ^ 0x01);  // inside the payload
        raw.put_entry(entry.zxid, value);
    }
    expect_corrupt(open_data_dir(tmp.path()), {tmp.sub("log"), "1:12", "checksum mismatch"});
}

TEST(Corruption, AGapInTheLogIsRefused) {
    testing::TempDir tmp;
    populate(tmp.path());
    { RawRocks(tmp.sub("log")).erase_entry(Zxid{1, 17}); }
    expect_corrupt(open_data_dir(tmp.path()), {tmp.sub("log"), "gap", "1:18", "1:16"});
}

TEST(Corruption, AnEntryNewerThanTheAcceptedEpochIsRefused) {
    testing::TempDir tmp;
    populate(tmp.path());
    {
        RawRocks raw(tmp.sub("log"));
        Entry entry{Zxid{2, 1}, 1, "from the future"};
        std::string value;
        encode_record(entry, &value);
        raw.put_entry(entry.zxid, value);
    }
    expect_corrupt(open_data_dir(tmp.path()), {tmp.sub("log"), "2:1", "acceptedEpoch 1"});
}

TEST(Corruption, AMembershipRecordThatFailsItsChecksumIsRefused) {
    testing::TempDir tmp;
    populate(tmp.path());
    {
        auto log = RocksLog::open(tmp.sub("log"));
        ASSERT_TRUE(log.is_ok()) << log.status().str();
        ASSERT_TRUE(log.value()->set_membership(StoredMembership{Zxid{1, 4}, "voters"}).is_ok());
    }
    ASSERT_TRUE(open_data_dir(tmp.path()).is_ok());
    {
        pb::StoredMembership record;
        record.set_epoch(1);
        record.set_counter(4);
        record.set_record("votors");  // one byte changed, the checksum kept
        record.set_checksum(record_checksum(Zxid{1, 4}, 0, "voters"));
        RawRocks(tmp.sub("log")).put_meta("membership", record.SerializeAsString());
    }
    expect_corrupt(open_data_dir(tmp.path()), {tmp.sub("log"), "membership", "1:4", "checksum"});
    { RawRocks(tmp.sub("log")).put_meta("membership", "\xff\xff garbage"); }
    expect_corrupt(open_data_dir(tmp.path()), {tmp.sub("log"), "membership record does not parse"});
}

TEST(Corruption, ACurrentEpochAboveTheAcceptedEpochIsRefused) {
    testing::TempDir tmp;
    populate(tmp.path());
    {
        std::string epochs(16, '\0');
        epochs[7] = 1;   // accepted 1
        epochs[15] = 3;  // current 3
        RawRocks(tmp.sub("log")).put_meta("epochs", epochs);
    }
    expect_corrupt(open_data_dir(tmp.path()),
                   {tmp.sub("log"), "currentEpoch 3", "acceptedEpoch 1"});
}

TEST(Corruption, ALogCompactedBeyondTheNewestSnapshotIsRefused) {
    testing::TempDir tmp;
    populate(tmp.path());
    {
        DataDir dir = open_ok(tmp.path());
        ASSERT_TRUE(dir.log->compact_through(Zxid{1, 20}).is_ok());  // but the snapshot is at 1:10
    }
    expect_corrupt(open_data_dir(tmp.path()), {tmp.sub("log"), "1:20", "1:10"});
}

TEST(Corruption, ASnapshotFromAnEpochAboveTheAcceptedEpochIsRefused) {
    testing::TempDir tmp;
    populate(tmp.path());
    {
        DataDir dir = open_ok(tmp.path());
        auto writer = dir.snapshots->begin(Zxid{5, 1});
        ASSERT_TRUE(writer.is_ok());
        ASSERT_TRUE((*writer)->commit().is_ok());
    }
    expect_corrupt(open_data_dir(tmp.path()),
                   {snapshot_file_name(Zxid{5, 1}), "5:1", "acceptedEpoch 1"});
}

TEST(Corruption, ATornWriteAtTheTailOfTheWriteAheadLogIsDropped) {
    testing::TempDir tmp;
    populate(tmp.path());
    // Cut the write-ahead log in the middle of its last record, as a crash
    // during the last (unacknowledged) write would.
    fs::path wal;
    for (const auto& file : fs::directory_iterator(tmp.sub("log"))) {
        if (file.path().extension() == ".log" && fs::file_size(file.path()) > 0) wal = file.path();
    }
    ASSERT_FALSE(wal.empty());
    std::string bytes = read_file(wal);
    const size_t last = bytes.rfind(kMarker + "30");
    ASSERT_NE(last, std::string::npos);
    EXPECT_EQ(describe_torn_wal_tail(tmp.sub("log")), std::nullopt)
        << "a clean log was called torn";
    bytes.resize(last + 5);
    write_file(wal, bytes);
    const std::optional<std::string> torn = describe_torn_wal_tail(tmp.sub("log"));
    ASSERT_TRUE(torn.has_value())
        << "the torn tail went unnoticed: it would be dropped without a log line";
    EXPECT_NE(torn->find(wal.string()), std::string::npos) << *torn;

    DataDir dir = open_ok(tmp.path());
    EXPECT_EQ(dir.log->last_zxid(), (Zxid{1, 29}));  // the torn batch, and only it, is gone
    auto all = dir.log->read(Zxid{1, 1}, Zxid{1, 30});
    ASSERT_TRUE(all.is_ok());
    EXPECT_EQ(all.value(), entries(1, 1, 29));
}

TEST(Corruption, AMissingLogIsNotSilentlyRecreatedWhenCreationIsOff) {
    testing::TempDir tmp;
    auto opened = open_data_dir(tmp.path(), DataDirOptions{.create_if_missing = false});
    ASSERT_FALSE(opened.is_ok());
    EXPECT_EQ(opened.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace chorus::storage
