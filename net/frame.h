// Length-prefixed frames: a 4-byte big-endian length, then a serialized
// protobuf message. Used by the peer links and the client protocol alike.
#pragma once

#include <google/protobuf/message_lite.h>

#include <cstdint>
#include <string>

namespace chorus::net {

inline constexpr size_t kFrameHeaderBytes = 4;

// `body` with its 4-byte big-endian length in front (ZooKeeper's frames
// are the same shape, with a jute record inside).
inline std::string frame_of_bytes(const std::string& body) {
    const auto size = static_cast<uint32_t>(body.size());
    std::string frame(kFrameHeaderBytes, '\0');
    frame[0] = static_cast<char>((size >> 24) & 0xFF);
    frame[1] = static_cast<char>((size >> 16) & 0xFF);
    frame[2] = static_cast<char>((size >> 8) & 0xFF);
    frame[3] = static_cast<char>(size & 0xFF);
    return frame + body;
}

inline std::string frame_of(const google::protobuf::MessageLite& message) {
    const size_t size = message.ByteSizeLong();
    std::string frame(kFrameHeaderBytes + size, '\0');
    frame[0] = static_cast<char>((size >> 24) & 0xFF);
    frame[1] = static_cast<char>((size >> 16) & 0xFF);
    frame[2] = static_cast<char>((size >> 8) & 0xFF);
    frame[3] = static_cast<char>(size & 0xFF);
    message.SerializeToArray(frame.data() + kFrameHeaderBytes, static_cast<int>(size));
    return frame;
}

// The body length a frame header announces.
inline uint32_t frame_length(const unsigned char (&header)[kFrameHeaderBytes]) {
    return (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) | (uint32_t{header[2]} << 8) |
           uint32_t{header[3]};
}

}  // namespace chorus::net
