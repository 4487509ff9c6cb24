// TempDir: a fresh directory for one test, removed with everything in it
// when the test ends. Created under $TMPDIR (or /tmp).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/assert.h"

namespace chorus::testing {

class TempDir {
 public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/chorus-test-XXXXXX";
        char* made = ::mkdtemp(pattern.data());
        CHORUS_ASSERT(made != nullptr, "mkdtemp failed");
        path_ = made;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
    std::string path_;
};

}  // namespace chorus::testing
