// An outside program: it knows chorus only through `pkg-config chorus`.
#include <chorus/storage/data_dir.h>
#include <chorus/storage/memory_log.h>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    auto dir = chorus::storage::open_data_dir(argv[1]);
    if (!dir.is_ok()) {
        std::fprintf(stderr, "%s\n", dir.status().str().c_str());
        return 1;
    }
    chorus::storage::Log& log = *dir->log;
    if (!log.set_accepted_epoch(1).is_ok()) return 1;
    std::vector<chorus::storage::Entry> batch = {{chorus::Zxid{1, 1}, 0, "hello"},
                                                 {chorus::Zxid{1, 2}, 0, "world"}};
    if (!log.append(batch).is_ok()) return 1;
    auto back = log.read(chorus::Zxid{1, 1}, chorus::Zxid{1, 2});
    if (!back.is_ok() || back->size() != 2 || (*back)[1].payload != "world") return 1;

    chorus::storage::MemoryLog memory;
    if (!memory.set_accepted_epoch(1).is_ok() || !memory.append(batch).is_ok()) return 1;
    std::printf("consumer: appended and read back %zu entries, last zxid %s\n", back->size(),
                log.last_zxid().str().c_str());
    return 0;
}
