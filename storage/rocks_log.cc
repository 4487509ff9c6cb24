#include "storage/rocks_log.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "storage/record_codec.h"
#include "storage/records.pb.h"
#include "storage/wal_tail.h"

namespace chorus::storage {
namespace {

constexpr const char* kEntriesFamily = "entries";
constexpr const char* kMetaFamily = "meta";
constexpr const char* kEpochsKey = "epochs";      // 16 bytes: accepted, current (big-endian)
constexpr const char* kJoinedKey = "joined";      // present (one byte, 1): Log::joined_ensemble()
constexpr const char* kOriginalKey = "original";  // present (one byte, 1): Log::original_member()
constexpr const char* kBaseKey = "base";          // a LogBase record
constexpr const char* kMembershipKey = "membership";  // a StoredMembership record

// Forwards RocksDB's warnings and errors (a dropped torn tail among them) to
// our log, so an operator sees them without reading RocksDB's LOG file.
class ForwardingLogger final : public rocksdb::Logger {
 public:
    explicit ForwardingLogger(std::string dir)
        : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), dir_(std::move(dir)) {}
    using rocksdb::Logger::Logv;
    void Logv(const char* format, va_list ap) override {
        Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
    }
    void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
        if (level < GetInfoLogLevel()) return;
        char line[1024];
        std::vsnprintf(line, sizeof line, format, ap);
        if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
            spdlog::error("rocksdb {}: {}", dir_, line);
        } else {
            spdlog::warn("rocksdb {}: {}", dir_, line);
        }
    }

 private:
    std::string dir_;
};

std::string encode_epochs(uint64_t accepted, uint64_t current) {
    std::string out(16, '\0');
    for (int i = 0; i < 8; ++i) {
        out[static_cast<size_t>(7 - i)] = static_cast<char>((accepted >> (8 * i)) & 0xFFu);
        out[static_cast<size_t>(15 - i)] = static_cast<char>((current >> (8 * i)) & 0xFFu);
    }
    return out;
}

std::string encode_base(Zxid base) {
    pb::LogBase record;
    record.set_epoch(base.epoch);
    record.set_counter(base.counter);
    return record.SerializeAsString();
}

rocksdb::Slice slice(const ZxidKey& key) { return rocksdb::Slice(key.data(), key.size()); }

// A failed durable write is fatal: after a failed fsync the kernel may have
// dropped the dirty pages, so a retry could report success for lost data.
void die_on_write_failure(const std::string& dir, const char* what, const rocksdb::Status& s) {
    if (s.ok()) return;
    spdlog::critical(
        "storage {}: durable write ({}) failed: {} — stopping the process; restart "
        "recovers from what is on disk",
        dir, what, s.ToString());
    spdlog::shutdown();
    std::abort();
}

}  // namespace

struct RocksLog::Db {
    std::unique_ptr<rocksdb::DB> db;
    rocksdb::ColumnFamilyHandle* entries = nullptr;
    rocksdb::ColumnFamilyHandle* meta = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::WriteOptions sync_write;

    ~Db() {
        if (!db) return;
        for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
        db->Close().PermitUncheckedError();
    }
};

RocksLog::RocksLog(std::string dir, std::unique_ptr<Db> db)
    : dir_(std::move(dir)), db_(std::move(db)) {}

RocksLog::~RocksLog() = default;

Result<std::unique_ptr<RocksLog>> RocksLog::open(const std::string& dir, RocksLogOptions options) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec);
    if (!exists && !options.create_if_missing) {
        return Status::not_found(dir + ": no log here, and creating one was not asked for");
    }
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::io_error(dir + ": cannot create the log directory: " + ec.message());
    if (exists) {
        if (std::optional<std::string> torn = describe_torn_wal_tail(dir))
            spdlog::warn("{}", *torn);
    }

    rocksdb::DBOptions db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
    db_options.paranoid_checks = true;
    db_options.info_log = std::make_shared<ForwardingLogger>(dir);
    db_options.max_background_jobs = 2;
    db_options.keep_log_file_num = 4;
    // (WAL recycling would save a metadata flush per sync, but RocksDB turns
    // it off under kTolerateCorruptedTailRecords: a recycled file's stale
    // tail would look like corruption.)

    rocksdb::ColumnFamilyOptions family_options;
    rocksdb::ColumnFamilyOptions entries_options;
    // Payloads are mostly encoded protobuf that compresses poorly; spend no
    // CPU on it on the write path.
    entries_options.compression = rocksdb::kNoCompression;
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, family_options},
        {kEntriesFamily, entries_options},
        {kMetaFamily, family_options},
    };
    auto db = std::make_unique<Db>();
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(db_options, dir, families, &db->handles, &raw);
    if (!s.ok()) {
        const Code code = s.IsCorruption() ? Code::kCorrupt : Code::kIoError;
        return Status(code, dir + ": cannot open the log: " + s.ToString());
    }
    db->db.reset(raw);
    db->entries = db->handles[1];
    db->meta = db->handles[2];
    db->sync_write.sync = true;

    std::unique_ptr<RocksLog> log(new RocksLog(dir, std::move(db)));
    if (Status check = log->load_and_check(); !check.is_ok()) return check;
    return log;
}

Status RocksLog::load_and_check() {
    rocksdb::DB& db = *db_->db;
    const std::string where = dir_ + " (log)";

    std::string value;
    rocksdb::Status s = db.Get(rocksdb::ReadOptions(), db_->meta, kEpochsKey, &value);
    if (s.ok()) {
        if (value.size() != 16) return Status::corrupt(where + ": the epochs record is malformed");
        for (int i = 0; i < 8; ++i) {
            accepted_epoch_ =
                (accepted_epoch_ << 8) | static_cast<unsigned char>(value[static_cast<size_t>(i)]);
            current_epoch_ = (current_epoch_ << 8) |
                             static_cast<unsigned char>(value[static_cast<size_t>(8 + i)]);
        }
    } else if (!s.IsNotFound()) {
        return Status::corrupt(where + ": cannot read the epochs: " + s.ToString());
    }
    s = db.Get(rocksdb::ReadOptions(), db_->meta, kJoinedKey, &value);
    if (s.ok()) {
        if (value != std::string(1, '\1'))
            return Status::corrupt(where + ": the joined-ensemble record is malformed");
        joined_ = true;
    } else if (!s.IsNotFound()) {
        return Status::corrupt(where + ": cannot read the joined-ensemble record: " + s.ToString());
    }
    s = db.Get(rocksdb::ReadOptions(), db_->meta, kOriginalKey, &value);
    if (s.ok()) {
        if (value != std::string(1, '\1'))
            return Status::corrupt(where + ": the original-member record is malformed");
        original_ = true;
    } else if (!s.IsNotFound()) {
        return Status::corrupt(where + ": cannot read the original-member record: " + s.ToString());
    }
    s = db.Get(rocksdb::ReadOptions(), db_->meta, kBaseKey, &value);
    if (s.ok()) {
        pb::LogBase record;
        if (!record.ParseFromString(value))
            return Status::corrupt(where + ": the base record does not parse");
        base_ = Zxid{record.epoch(), record.counter()};
    } else if (!s.IsNotFound()) {
        return Status::corrupt(where + ": cannot read the base: " + s.ToString());
    }

    s = db.Get(rocksdb::ReadOptions(), db_->meta, kMembershipKey, &value);
    if (s.ok()) {
        pb::StoredMembership record;
        if (!record.ParseFromString(value))
            return Status::corrupt(where + ": the membership record does not parse");
        const Zxid version{record.epoch(), record.counter()};
        if (record.checksum() != record_checksum(version, 0, record.record()))
            return Status::corrupt(where + ": the membership record (version " + version.str() +
                                   ") fails its checksum");
        membership_ = StoredMembership{version, record.record()};
    } else if (!s.IsNotFound()) {
        return Status::corrupt(where + ": cannot read the membership record: " + s.ToString());
    }

    if (current_epoch_ > accepted_epoch_) {
        return Status::corrupt(where + ": currentEpoch " + std::to_string(current_epoch_) +
                               " is newer than acceptedEpoch " + std::to_string(accepted_epoch_));
    }

    // Walk the whole log once: every record must check out and follow the
    // one before it. Compaction keeps the log short, so this stays cheap.
    rocksdb::ReadOptions scan;
    scan.verify_checksums = true;
    scan.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(scan, db_->entries));
    Zxid prev = base_;
    first_ = Zxid::zero();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        Result<Entry> entry =
            decode_record(it->key().ToStringView(), it->value().ToStringView(), where);
        if (!entry.is_ok()) return entry.status();
        const Zxid zxid = entry->zxid;
        if (!is_successor(prev, zxid)) {
            if (zxid <= base_) {
                return Status::corrupt(where + ": zxid " + zxid.str() +
                                       " is still present although the log was compacted through " +
                                       base_.str());
            }
            return Status::corrupt(where + ": gap in the log: zxid " + zxid.str() + " follows " +
                                   prev.str());
        }
        if (zxid.epoch > accepted_epoch_) {
            return Status::corrupt(where + ": zxid " + zxid.str() + " is from epoch " +
                                   std::to_string(zxid.epoch) + ", newer than acceptedEpoch " +
                                   std::to_string(accepted_epoch_));
        }
        if (first_.is_zero()) first_ = zxid;
        prev = zxid;
    }
    if (!it->status().ok()) {
        return Status::corrupt(where + ": reading the log after zxid " + prev.str() +
                               " failed: " + it->status().ToString());
    }
    last_ = prev;
    if (base_.epoch > accepted_epoch_) {
        return Status::corrupt(where + ": the log continues from zxid " + base_.str() +
                               ", newer than acceptedEpoch " + std::to_string(accepted_epoch_));
    }
    return Status::ok();
}

Status RocksLog::append(std::span<const Entry> entries) {
    if (entries.empty()) return Status::ok();
    if (Status s = check_append(last_, accepted_epoch_, entries); !s.is_ok()) return s;
    rocksdb::WriteBatch batch;
    for (const Entry& entry : entries) {
        encode_record(entry, &scratch_);
        rocksdb::Status s = batch.Put(db_->entries, slice(encode_zxid_key(entry.zxid)), scratch_);
        CHORUS_ASSERT(s.ok(), "building a WriteBatch in memory cannot fail");
    }
    die_on_write_failure(dir_, "append", db_->db->Write(db_->sync_write, &batch));
    if (first_.is_zero()) first_ = entries.front().zxid;
    last_ = entries.back().zxid;
    return Status::ok();
}

Result<std::vector<Entry>> RocksLog::read(Zxid first, Zxid last, ReadLimits limits) {
    if (!base_.is_zero() && first <= base_) {
        return Status::not_found("read from " + first.str() +
                                 " refused: the log was compacted through " + base_.str());
    }
    std::vector<Entry> out;
    if (first > last) return out;
    const ZxidKey upper = encode_zxid_key(last.next());
    const rocksdb::Slice upper_slice = slice(upper);
    rocksdb::ReadOptions options;
    options.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(options, db_->entries));
    const std::string where = dir_ + " (log)";
    size_t bytes = 0;
    for (it->Seek(slice(encode_zxid_key(first))); it->Valid(); it->Next()) {
        if (out.size() >= limits.max_entries) break;
        if (!out.empty() && bytes + it->value().size() > limits.max_bytes) break;
        Result<Entry> entry =
            decode_record(it->key().ToStringView(), it->value().ToStringView(), where);
        if (!entry.is_ok()) return entry.status();
        bytes += entry->payload.size();
        out.push_back(std::move(entry).value());
    }
    if (!it->status().ok())
        return Status::corrupt(where + ": read failed: " + it->status().ToString());
    return out;
}

Status RocksLog::truncate_after(Zxid zxid) {
    if (Status s = check_in_range("truncate", zxid, base_, last_); !s.is_ok()) return s;
    if (zxid == last_) return Status::ok();
    rocksdb::WriteBatch batch;
    const ZxidKey from = encode_zxid_key(zxid.next());
    const ZxidKey to = encode_zxid_key(last_.next());
    CHORUS_ASSERT(batch.DeleteRange(db_->entries, slice(from), slice(to)).ok(), "in-memory batch");
    die_on_write_failure(dir_, "truncate", db_->db->Write(db_->sync_write, &batch));
    last_ = zxid;
    if (last_ == base_) first_ = Zxid::zero();
    return Status::ok();
}

Status RocksLog::compact_through(Zxid zxid) {
    if (Status s = check_in_range("compaction", zxid, base_, last_); !s.is_ok()) return s;
    rocksdb::WriteBatch batch;
    const ZxidKey from = encode_zxid_key(Zxid::zero());
    const ZxidKey to = encode_zxid_key(zxid.next());
    CHORUS_ASSERT(batch.DeleteRange(db_->entries, slice(from), slice(to)).ok(), "in-memory batch");
    CHORUS_ASSERT(batch.Put(db_->meta, kBaseKey, encode_base(zxid)).ok(), "in-memory batch");
    die_on_write_failure(dir_, "compaction", db_->db->Write(db_->sync_write, &batch));
    base_ = zxid;
    if (last_ == zxid) {
        first_ = Zxid::zero();
    } else {
        // The first entry left is the one after zxid; read its key to learn it
        // (it may be in a later epoch).
        std::unique_ptr<rocksdb::Iterator> it(
            db_->db->NewIterator(rocksdb::ReadOptions(), db_->entries));
        it->Seek(slice(encode_zxid_key(zxid.next())));
        CHORUS_ASSERT(it->Valid() && decode_zxid_key(it->key().ToStringView(), &first_),
                      "entries after the compaction point must remain");
    }
    return Status::ok();
}

Status RocksLog::reset_to(Zxid zxid) {
    if (Status s = check_reset(zxid, accepted_epoch_); !s.is_ok()) return s;
    rocksdb::WriteBatch batch;
    const ZxidKey from = encode_zxid_key(Zxid::zero());
    const ZxidKey to = encode_zxid_key(Zxid{UINT64_MAX, UINT64_MAX});
    CHORUS_ASSERT(batch.DeleteRange(db_->entries, slice(from), slice(to)).ok(), "in-memory batch");
    CHORUS_ASSERT(batch.Put(db_->meta, kBaseKey, encode_base(zxid)).ok(), "in-memory batch");
    die_on_write_failure(dir_, "reset", db_->db->Write(db_->sync_write, &batch));
    base_ = zxid;
    first_ = Zxid::zero();
    last_ = zxid;
    return Status::ok();
}

Status RocksLog::write_epochs(uint64_t accepted, uint64_t current) {
    if (Status s = check_epoch_update(accepted_epoch_, current_epoch_, accepted, current);
        !s.is_ok()) {
        return s;
    }
    rocksdb::WriteBatch batch;
    CHORUS_ASSERT(batch.Put(db_->meta, kEpochsKey, encode_epochs(accepted, current)).ok(),
                  "in-memory batch");
    die_on_write_failure(dir_, "epochs", db_->db->Write(db_->sync_write, &batch));
    accepted_epoch_ = accepted;
    current_epoch_ = current;
    return Status::ok();
}

Status RocksLog::flush() {
    rocksdb::FlushOptions options;
    options.wait = true;
    rocksdb::Status s = db_->db->Flush(options, {db_->entries, db_->meta});
    if (!s.ok()) return Status::io_error(dir_ + ": flush failed: " + s.ToString());
    return Status::ok();
}

Status RocksLog::set_accepted_epoch(uint64_t epoch) { return write_epochs(epoch, current_epoch_); }

Status RocksLog::set_current_epoch(uint64_t epoch) { return write_epochs(accepted_epoch_, epoch); }

Status RocksLog::set_mark(const char* key, const char* record, bool* held) {
    if (*held) return Status::ok();
    rocksdb::WriteBatch batch;
    CHORUS_ASSERT(batch.Put(db_->meta, key, std::string(1, '\1')).ok(), "in-memory batch");
    die_on_write_failure(dir_, record, db_->db->Write(db_->sync_write, &batch));
    *held = true;
    return Status::ok();
}

Status RocksLog::set_joined_ensemble() {
    return set_mark(kJoinedKey, "the joined-ensemble record", &joined_);
}

Status RocksLog::set_original_member() {
    return set_mark(kOriginalKey, "the original-member record", &original_);
}

Status RocksLog::set_membership(StoredMembership membership) {
    pb::StoredMembership record;
    record.set_epoch(membership.version.epoch);
    record.set_counter(membership.version.counter);
    record.set_record(membership.record);
    record.set_checksum(record_checksum(membership.version, 0, membership.record));
    rocksdb::WriteBatch batch;
    CHORUS_ASSERT(batch.Put(db_->meta, kMembershipKey, record.SerializeAsString()).ok(),
                  "in-memory batch");
    die_on_write_failure(dir_, "the membership record", db_->db->Write(db_->sync_write, &batch));
    membership_ = std::move(membership);
    return Status::ok();
}

}  // namespace chorus::storage
