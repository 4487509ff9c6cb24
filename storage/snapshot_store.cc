#include "storage/snapshot_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "storage/crc32c.h"
#include "storage/file_util.h"
#include "storage/records.pb.h"

namespace chorus::storage {
namespace {

namespace fs = std::filesystem;

constexpr char kHeaderMagic[8] = {'C', 'H', 'S', 'N', 'A', 'P', '1', '\n'};
constexpr char kFooterMagic[8] = {'C', 'H', 'S', 'N', 'A', 'P', 'F', '\n'};
constexpr size_t kMagicSize = 8;
constexpr size_t kMaxMetaSize = 1024;
constexpr size_t kWriteBufferSize = 1 << 20;
constexpr const char* kTempSuffix = ".tmp";

// Parses "snapshot-<16 hex>-<16 hex>.snap".
bool parse_snapshot_name(const std::string& name, Zxid* zxid) {
    if (name.size() != 9 + 16 + 1 + 16 + 5) return false;
    if (name.compare(0, 9, "snapshot-") != 0 || name[25] != '-' ||
        name.compare(42, 5, ".snap") != 0)
        return false;
    auto hex = [](const std::string& s, size_t pos, uint64_t* out) {
        uint64_t v = 0;
        for (size_t i = pos; i < pos + 16; ++i) {
            char c = s[i];
            int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
            if (d < 0) return false;
            v = (v << 4) | static_cast<uint64_t>(d);
        }
        *out = v;
        return true;
    };
    return hex(name, 9, &zxid->epoch) && hex(name, 26, &zxid->counter);
}

std::string describe(const std::string& path, Zxid zxid) {
    return "snapshot " + path + " (zxid " + zxid.str() + ")";
}

// Reads and checks the header and footer of the file at `path`, named for
// `zxid`. Fills `info` and leaves `fd` open for reading the body.
Status read_footer(const std::string& path, Zxid zxid, Fd* fd, SnapshotInfo* info) {
    *fd = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd->valid())
        return Status::io_error(describe(path, zxid) + ": cannot open: " + errno_text(errno));
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0)
        return Status::io_error(describe(path, zxid) + ": cannot stat");
    const uint64_t file_size = static_cast<uint64_t>(st.st_size);
    if (file_size < 2 * kMagicSize + 4)
        return Status::corrupt(describe(path, zxid) + ": truncated");
    char magic[kMagicSize];
    if (Status s = pread_exact(fd->get(), magic, kMagicSize, 0, path); !s.is_ok()) return s;
    if (std::memcmp(magic, kHeaderMagic, kMagicSize) != 0)
        return Status::corrupt(describe(path, zxid) + ": bad header (not a chorus snapshot)");
    char tail[4 + kMagicSize];
    if (Status s = pread_exact(fd->get(), tail, sizeof tail, file_size - sizeof tail, path);
        !s.is_ok())
        return s;
    if (std::memcmp(tail + 4, kFooterMagic, kMagicSize) != 0)
        return Status::corrupt(describe(path, zxid) + ": bad footer (file cut short?)");
    const uint32_t meta_size = (static_cast<uint32_t>(static_cast<unsigned char>(tail[0])) << 24) |
                               (static_cast<uint32_t>(static_cast<unsigned char>(tail[1])) << 16) |
                               (static_cast<uint32_t>(static_cast<unsigned char>(tail[2])) << 8) |
                               static_cast<uint32_t>(static_cast<unsigned char>(tail[3]));
    if (meta_size > kMaxMetaSize || kMagicSize + meta_size + sizeof tail > file_size)
        return Status::corrupt(describe(path, zxid) + ": bad footer length");
    std::string meta_bytes(meta_size, '\0');
    if (Status s = pread_exact(fd->get(), meta_bytes.data(), meta_size,
                               file_size - sizeof tail - meta_size, path);
        !s.is_ok())
        return s;
    pb::SnapshotMeta meta;
    if (!meta.ParseFromString(meta_bytes))
        return Status::corrupt(describe(path, zxid) + ": footer does not parse");
    const uint64_t body_size = file_size - kMagicSize - meta_size - sizeof tail;
    if (meta.size() != body_size)
        return Status::corrupt(describe(path, zxid) + ": footer says " +
                               std::to_string(meta.size()) + " bytes of body, the file holds " +
                               std::to_string(body_size));
    if (Zxid{meta.epoch(), meta.counter()} != zxid)
        return Status::corrupt(describe(path, zxid) + ": footer says zxid " +
                               Zxid{meta.epoch(), meta.counter()}.str());
    *info = SnapshotInfo{zxid, meta.size(), meta.checksum(), path};
    return Status::ok();
}

class FileSnapshotReader final : public SnapshotReader {
 public:
    FileSnapshotReader(Fd fd, SnapshotInfo info) : fd_(std::move(fd)), info_(std::move(info)) {}
    const SnapshotInfo& info() const override { return info_; }
    Status read(size_t max_bytes, std::string* out) override {
        const uint64_t left = info_.size - offset_;
        const size_t n = static_cast<size_t>(std::min<uint64_t>(left, max_bytes));
        out->resize(n);
        if (n == 0) return Status::ok();
        if (Status s = pread_exact(fd_.get(), out->data(), n, kMagicSize + offset_, info_.path);
            !s.is_ok())
            return s;
        offset_ += n;
        return Status::ok();
    }

 private:
    Fd fd_;
    SnapshotInfo info_;
    uint64_t offset_ = 0;
};

// Opens the snapshot described by `listed` and checks its whole body.
Result<std::unique_ptr<SnapshotReader>> open_checked(const SnapshotInfo& listed) {
    Fd fd;
    SnapshotInfo info;
    if (Status s = read_footer(listed.path, listed.zxid, &fd, &info); !s.is_ok()) return s;
    FileSnapshotReader scan(Fd(::dup(fd.get())), info);
    uint32_t crc = 0;
    std::string chunk;
    for (;;) {
        if (Status s = scan.read(kWriteBufferSize, &chunk); !s.is_ok()) return s;
        if (chunk.empty()) break;
        crc = crc32c_extend(crc, chunk.data(), chunk.size());
    }
    if (crc != info.checksum)
        return Status::corrupt(describe(info.path, info.zxid) + ": checksum mismatch in the body");
    return std::unique_ptr<SnapshotReader>(new FileSnapshotReader(std::move(fd), std::move(info)));
}

}  // namespace

std::string snapshot_file_name(Zxid zxid) {
    char name[64];
    std::snprintf(name, sizeof name, "snapshot-%016" PRIx64 "-%016" PRIx64 ".snap", zxid.epoch,
                  zxid.counter);
    return name;
}

Result<std::string> SnapshotReader::read_all() {
    std::string all;
    std::string chunk;
    for (;;) {
        if (Status s = read(kWriteBufferSize, &chunk); !s.is_ok()) return s;
        if (chunk.empty()) return all;
        all += chunk;
    }
}

class FileSnapshotWriter final : public SnapshotWriter {
 public:
    FileSnapshotWriter(SnapshotStore* store, Zxid zxid, std::string final_path,
                       std::string temp_path, Fd fd)
        : store_(store),
          zxid_(zxid),
          final_path_(std::move(final_path)),
          temp_path_(std::move(temp_path)),
          fd_(std::move(fd)) {
        buffer_.assign(kHeaderMagic, kMagicSize);
    }
    ~FileSnapshotWriter() override {
        if (!committed_) ::unlink(temp_path_.c_str());
    }

    Status append(std::string_view bytes) override {
        CHORUS_ASSERT(!committed_, "append after commit");
        crc_ = crc32c_extend(crc_, bytes.data(), bytes.size());
        size_ += bytes.size();
        buffer_.append(bytes);
        if (buffer_.size() >= kWriteBufferSize) return flush();
        return Status::ok();
    }

    Result<SnapshotInfo> commit() override {
        CHORUS_ASSERT(!committed_, "commit twice");
        pb::SnapshotMeta meta;
        meta.set_epoch(zxid_.epoch);
        meta.set_counter(zxid_.counter);
        meta.set_size(size_);
        meta.set_checksum(crc_);
        const std::string meta_bytes = meta.SerializeAsString();
        const auto n = static_cast<uint32_t>(meta_bytes.size());
        buffer_ += meta_bytes;
        const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                             static_cast<char>(n >> 8), static_cast<char>(n)};
        buffer_.append(len, 4);
        buffer_.append(kFooterMagic, kMagicSize);
        if (Status s = flush(); !s.is_ok()) return s;
        sync_or_die(fd_.get(), temp_path_);
        fd_ = Fd();
        if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0)
            return Status::io_error(temp_path_ + ": rename to " + final_path_ +
                                    " failed: " + errno_text(errno));
        committed_ = true;
        sync_dir_or_die(store_->dir());
        SnapshotInfo info{zxid_, size_, crc_, final_path_};
        store_->committed(info);
        return info;
    }

 private:
    Status flush() {
        Status s = write_all(fd_.get(), buffer_.data(), buffer_.size(), temp_path_);
        buffer_.clear();
        return s;
    }

    SnapshotStore* store_;
    Zxid zxid_;
    std::string final_path_;
    std::string temp_path_;
    Fd fd_;
    std::string buffer_;
    uint32_t crc_ = 0;
    uint64_t size_ = 0;
    bool committed_ = false;
};

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::open(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        return Status::io_error(dir + ": cannot create the snapshot directory: " + ec.message());
    std::unique_ptr<SnapshotStore> store(new SnapshotStore(dir));
    bool removed_temp = false;
    for (const fs::directory_entry& file : fs::directory_iterator(dir, ec)) {
        const std::string name = file.path().filename().string();
        const std::string path = file.path().string();
        if (name.ends_with(kTempSuffix)) {
            spdlog::warn("{}: removing an unfinished snapshot left by a crash", path);
            fs::remove(file.path(), ec);
            removed_temp = true;
            continue;
        }
        Zxid zxid;
        if (!parse_snapshot_name(name, &zxid)) {
            return Status::corrupt(path + ": unexpected file in the snapshot directory");
        }
        Fd fd;
        SnapshotInfo info;
        if (Status s = read_footer(path, zxid, &fd, &info); !s.is_ok()) return s;
        store->snapshots_.push_back(std::move(info));
    }
    if (ec) return Status::io_error(dir + ": cannot list the snapshot directory: " + ec.message());
    if (removed_temp) sync_dir_or_die(dir);
    std::sort(store->snapshots_.begin(), store->snapshots_.end(),
              [](const SnapshotInfo& a, const SnapshotInfo& b) { return a.zxid < b.zxid; });
    if (!store->snapshots_.empty()) {
        Result<std::unique_ptr<SnapshotReader>> newest = open_checked(store->snapshots_.back());
        if (!newest.is_ok()) return newest.status();
    }
    return store;
}

Result<std::unique_ptr<SnapshotWriter>> SnapshotStore::begin(Zxid zxid) {
    if (!snapshots_.empty() && zxid <= snapshots_.back().zxid) {
        return Status::invalid_argument("snapshot at zxid " + zxid.str() + " refused: one at " +
                                        snapshots_.back().zxid.str() + " exists already");
    }
    const std::string final_path = (fs::path(dir_) / snapshot_file_name(zxid)).string();
    const std::string temp_path = final_path + kTempSuffix;
    Fd fd(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) return Status::io_error(temp_path + ": cannot create: " + errno_text(errno));
    return std::unique_ptr<SnapshotWriter>(
        new FileSnapshotWriter(this, zxid, final_path, temp_path, std::move(fd)));
}

Result<std::unique_ptr<SnapshotReader>> SnapshotStore::open_latest() const {
    if (snapshots_.empty()) return Status::not_found(dir_ + ": no snapshot");
    return open_checked(snapshots_.back());
}

Result<std::unique_ptr<SnapshotReader>> SnapshotStore::open_at(Zxid zxid) const {
    for (const SnapshotInfo& info : snapshots_) {
        if (info.zxid == zxid) return open_checked(info);
    }
    return Status::not_found(dir_ + ": no snapshot at zxid " + zxid.str());
}

Status SnapshotStore::delete_older_than(Zxid zxid) {
    auto keep = std::find_if(snapshots_.begin(), snapshots_.end(),
                             [zxid](const SnapshotInfo& info) { return info.zxid >= zxid; });
    if (keep == snapshots_.begin()) return Status::ok();
    for (auto it = snapshots_.begin(); it != keep; ++it) {
        if (::unlink(it->path.c_str()) != 0 && errno != ENOENT)
            return Status::io_error(it->path + ": cannot delete: " + errno_text(errno));
    }
    snapshots_.erase(snapshots_.begin(), keep);
    sync_dir_or_die(dir_);
    return Status::ok();
}

}  // namespace chorus::storage
