// Reading and writing many length-prefixed frames per system call.
//
// FrameReader: bytes read in large chunks (one recv often brings dozens of
// frames under load) are cut into whole frames. FrameWriter: the frames
// queued while a write was under way leave together in the next one (one
// send for all of them). Both are plain buffers: the connection classes
// own the sockets, the handlers and their own limits.
#pragma once

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "zab/runtime/frame.h"

namespace chorus::runtime {

class FrameReader {
 public:
    // Space for the next read: at least a chunk, or the rest of a frame
    // that is larger than that.
    boost::asio::mutable_buffer prepare() {
        if (start_ == end_) {
            start_ = end_ = 0;
            // A buffer grown for one big frame is not kept for small ones.
            if (buffer_.size() > kChunkBytes * 4) {
                std::vector<char>(kChunkBytes).swap(buffer_);
            }
        }
        size_t want = kChunkBytes;
        if (end_ - start_ >= kFrameHeaderBytes) {
            want = std::max(want, kFrameHeaderBytes + header_length() - (end_ - start_));
        }
        if (buffer_.size() - end_ < want) {
            // Move what is left to the front, then grow if still short.
            std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
            end_ -= start_;
            start_ = 0;
            if (buffer_.size() - end_ < want) buffer_.resize(end_ + want);
        }
        return boost::asio::buffer(buffer_.data() + end_, buffer_.size() - end_);
    }

    // `n` bytes arrived in the space prepare() gave.
    void commit(size_t n) { end_ += n; }

    // The length the next frame announces, if its header has arrived.
    bool next_length(uint32_t* length) const {
        if (end_ - start_ < kFrameHeaderBytes) return false;
        *length = header_length();
        return true;
    }

    // The next whole frame's body, if it has arrived. The view lasts until
    // the next call of prepare(). Check next_length() against the
    // connection's limit first: a frame is held whole before it is handed
    // out.
    bool next(std::string_view* body) {
        uint32_t length = 0;
        if (!next_length(&length) || end_ - start_ < kFrameHeaderBytes + length) return false;
        *body = std::string_view(buffer_.data() + start_ + kFrameHeaderBytes, length);
        start_ += kFrameHeaderBytes + length;
        return true;
    }

 private:
    static constexpr size_t kChunkBytes = 64 << 10;

    uint32_t header_length() const {
        unsigned char header[kFrameHeaderBytes];
        std::memcpy(header, buffer_.data() + start_, kFrameHeaderBytes);
        return frame_length(header);
    }

    std::vector<char> buffer_ = std::vector<char>(kChunkBytes);
    size_t start_ = 0;  // first byte not yet handed out
    size_t end_ = 0;    // one past the last byte read
};

// Frames waiting to be written, and the ones in the write under way.
class FrameWriter {
 public:
    void push(std::string frame) {
        queued_bytes_ += frame.size();
        queue_.push_back(std::move(frame));
    }
    bool empty() const { return queue_.empty(); }
    size_t queued_bytes() const { return queued_bytes_; }  // the write under way included
    bool writing() const { return in_write_ > 0; }

    // The buffers of the next write: every queued frame, up to a limit.
    // Call only when !writing() && !empty().
    const std::vector<boost::asio::const_buffer>& start_write() {
        buffers_.clear();
        size_t bytes = 0;
        for (const std::string& frame : queue_) {
            if (buffers_.size() == kMaxFramesPerWrite || (bytes > 0 && bytes >= kMaxBytesPerWrite))
                break;
            buffers_.emplace_back(frame.data(), frame.size());
            bytes += frame.size();
        }
        in_write_ = buffers_.size();
        return buffers_;
    }

    // The write under way finished: how many frames and bytes it took.
    std::pair<size_t, size_t> finish_write() {
        size_t bytes = 0;
        const size_t frames = in_write_;
        for (size_t i = 0; i < frames; ++i) {
            bytes += queue_.front().size();
            queue_.pop_front();
        }
        queued_bytes_ -= bytes;
        in_write_ = 0;
        return {frames, bytes};
    }

 private:
    static constexpr size_t kMaxFramesPerWrite = 256;  // below IOV_MAX (1024)
    static constexpr size_t kMaxBytesPerWrite = 1 << 20;

    std::deque<std::string> queue_;
    std::vector<boost::asio::const_buffer> buffers_;
    size_t queued_bytes_ = 0;
    size_t in_write_ = 0;
};

}  // namespace chorus::runtime
