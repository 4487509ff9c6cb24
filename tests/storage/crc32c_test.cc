#include "storage/crc32c.h"

#include <gtest/gtest.h>

#include <string>

#include "storage/record_codec.h"

namespace chorus::storage {
namespace {

// Known CRC-32C values (RFC 3720, appendix B.4, and the usual check value).
TEST(Crc32c, MatchesPublishedVectors) {
    EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
    EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
    EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
    std::string ascending(32, '\0');
    for (int i = 0; i < 32; ++i) ascending[static_cast<size_t>(i)] = static_cast<char>(i);
    EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
}

TEST(Crc32c, ExtendingPiecesEqualsTheWhole) {
    std::string data;
    for (int i = 0; i < 1000; ++i) data += static_cast<char>(i * 7);
    for (size_t cut : {0u, 1u, 7u, 8u, 9u, 500u, 1000u}) {
        uint32_t crc = crc32c_extend(0, data.data(), cut);
        crc = crc32c_extend(crc, data.data() + cut, data.size() - cut);
        EXPECT_EQ(crc, crc32c(data)) << cut;
    }
}

TEST(RecordCodec, KeysSortInZxidOrder) {
    const Zxid zxids[] = {{0, 1}, {1, 1}, {1, 2}, {1, 256}, {2, 1}, {256, 1}, {UINT64_MAX, 0}};
    for (size_t i = 0; i + 1 < std::size(zxids); ++i) {
        ZxidKey a = encode_zxid_key(zxids[i]);
        ZxidKey b = encode_zxid_key(zxids[i + 1]);
        EXPECT_LT(std::string(a.data(), a.size()), std::string(b.data(), b.size()))
            << zxids[i].str();
        Zxid back;
        ASSERT_TRUE(decode_zxid_key(std::string_view(a.data(), a.size()), &back));
        EXPECT_EQ(back, zxids[i]);
    }
}

TEST(RecordCodec, RoundTripAndEveryFlippedByteIsCaught) {
    Entry entry{Zxid{3, 42}, 5, "the payload"};
    std::string value;
    encode_record(entry, &value);
    ZxidKey key = encode_zxid_key(entry.zxid);
    std::string_view key_view(key.data(), key.size());
    auto back = decode_record(key_view, value, "here");
    ASSERT_TRUE(back.is_ok());
    EXPECT_EQ(back.value(), entry);
    for (size_t i = 0; i < value.size(); ++i) {
        std::string bad = value;
        bad[i] = static_cast<char>(bad[i] ^ 0x10);
        auto r = decode_record(key_view, bad, "here");
        EXPECT_FALSE(r.is_ok()) << "flip at byte " << i << " went unnoticed";
        if (!r.is_ok()) {
            EXPECT_EQ(r.status().code(), Code::kCorrupt);
            EXPECT_NE(r.status().message().find("3:42"), std::string::npos) << r.status().message();
        }
    }
    // A record stored under another zxid's key is caught too.
    ZxidKey other = encode_zxid_key(Zxid{3, 43});
    EXPECT_FALSE(
        decode_record(std::string_view(other.data(), other.size()), value, "here").is_ok());
}

}  // namespace
}  // namespace chorus::storage
