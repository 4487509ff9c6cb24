// FrameReader and FrameWriter (net/frame_io.h): frames cut out of
// reads of any size, big frames, limits checked before a frame is held, and
// queued frames leaving together.
#include "net/frame_io.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace chorus::net {
namespace {

std::string frame_with(const std::string& body) {
    std::string frame(kFrameHeaderBytes, '\0');
    const auto size = static_cast<uint32_t>(body.size());
    frame[0] = static_cast<char>(size >> 24);
    frame[1] = static_cast<char>(size >> 16);
    frame[2] = static_cast<char>(size >> 8);
    frame[3] = static_cast<char>(size);
    return frame + body;
}

// Feeds `bytes` to the reader in reads of at most `step` bytes; returns the
// bodies handed out.
std::vector<std::string> feed(FrameReader& reader, const std::string& bytes, size_t step) {
    std::vector<std::string> bodies;
    size_t at = 0;
    while (at < bytes.size()) {
        auto space = reader.prepare();
        const size_t n = std::min({step, space.size(), bytes.size() - at});
        std::memcpy(space.data(), bytes.data() + at, n);
        reader.commit(n);
        at += n;
        std::string_view body;
        while (reader.next(&body)) bodies.emplace_back(body);
    }
    return bodies;
}

TEST(FrameReader, CutsFramesOutOfReadsOfAnySize) {
    std::vector<std::string> sent;
    std::string stream;
    for (int i = 0; i < 300; ++i) {
        sent.push_back(
            std::string(static_cast<size_t>(i * 37 % 1000), static_cast<char>('a' + i % 26)));
        stream += frame_with(sent.back());
    }
    sent.push_back("");  // an empty frame is a frame
    stream += frame_with("");
    for (size_t step :
         {size_t{1}, size_t{3}, size_t{4}, size_t{5}, size_t{1000}, size_t{1} << 20}) {
        FrameReader reader;
        EXPECT_EQ(feed(reader, stream, step), sent) << "reads of " << step << " bytes";
    }
}

TEST(FrameReader, HoldsAFrameLargerThanItsChunkWhole) {
    const std::string big(3 << 20, 'x');
    const std::string stream = frame_with("small") + frame_with(big) + frame_with("after");
    FrameReader reader;
    const auto bodies = feed(reader, stream, 100000);
    ASSERT_EQ(bodies.size(), 3u);
    EXPECT_EQ(bodies[0], "small");
    EXPECT_EQ(bodies[1], big);
    EXPECT_EQ(bodies[2], "after");
}

TEST(FrameReader, TellsTheAnnouncedLengthBeforeHoldingTheFrame) {
    FrameReader reader;
    const std::string header = frame_with(std::string(100, 'y')).substr(0, kFrameHeaderBytes);
    auto space = reader.prepare();
    std::memcpy(space.data(), header.data(), 2);
    reader.commit(2);
    uint32_t length = 0;
    EXPECT_FALSE(reader.next_length(&length)) << "half a header";
    space = reader.prepare();
    std::memcpy(space.data(), header.data() + 2, 2);
    reader.commit(2);
    ASSERT_TRUE(reader.next_length(&length));
    EXPECT_EQ(length, 100u);
    std::string_view body;
    EXPECT_FALSE(reader.next(&body)) << "the body has not arrived";
}

TEST(FrameReader, GrowsWhileReadsFillItAndShrinksWhenQuiet) {
    FrameReader reader;
    reader.prepare();
    EXPECT_LE(reader.capacity(), 4096u) << "an idle connection holds little";
    std::string busy;
    for (int i = 0; i < 2000; ++i) busy += frame_with(std::string(100, 'x'));
    EXPECT_EQ(feed(reader, busy, size_t{1} << 20).size(), 2000u);  // every read fills the space
    EXPECT_GE(reader.capacity(), 64u << 10);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(feed(reader, frame_with("hi"), 1 << 20).size(), 1u);
    reader.prepare();
    EXPECT_LE(reader.capacity(), 8u << 10) << "quiet again: the buffer shrinks";
}

TEST(FrameWriter, QueuedFramesLeaveTogetherUpToALimit) {
    FrameWriter writer;
    for (int i = 0; i < 300; ++i) writer.push(frame_with(std::string(10, 'z')));
    EXPECT_EQ(writer.queued_bytes(), 300u * 14);
    const auto& first = writer.start_write();
    EXPECT_EQ(first.size(), 256u) << "at most 256 frames per write";
    EXPECT_TRUE(writer.writing());
    writer.push(frame_with("late"));  // queued during the write: waits for the next one
    const auto [frames, bytes] = writer.finish_write();
    EXPECT_EQ(frames, 256u);
    EXPECT_EQ(bytes, 256u * 14);
    const auto& second = writer.start_write();
    ASSERT_EQ(second.size(), 45u);
    const auto* last = static_cast<const char*>(second.back().data());
    EXPECT_EQ(std::string(last, second.back().size()), frame_with("late"));
    writer.finish_write();
    EXPECT_TRUE(writer.empty());
    EXPECT_EQ(writer.queued_bytes(), 0u);
}

}  // namespace
}  // namespace chorus::net
