#include "storage/crc32c.h"

#include <array>
#include <cstring>

namespace chorus::storage {
namespace {

constexpr uint32_t kPolynomialReflected = 0x82F63B78u;

constexpr std::array<uint32_t, 256> make_table() {
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t crc = i;
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc >> 1) ^ ((crc & 1u) ? kPolynomialReflected : 0u);
        table[i] = crc;
    }
    return table;
}

constexpr std::array<uint32_t, 256> kTable = make_table();

uint32_t extend_portable(uint32_t crc, const unsigned char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) crc = kTable[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t extend_sse42(uint32_t crc, const unsigned char* p,
                                                        size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t word;
        std::memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = static_cast<uint32_t>(c);
    while (n > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p);
        ++p;
        --n;
    }
    return c32;
}

bool cpu_has_sse42() {
    static const bool has = __builtin_cpu_supports("sse4.2");
    return has;
}
#endif

}  // namespace

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    crc = ~crc;
#if defined(__x86_64__)
    if (cpu_has_sse42()) return ~extend_sse42(crc, p, size);
#endif
    return ~extend_portable(crc, p, size);
}

}  // namespace chorus::storage
