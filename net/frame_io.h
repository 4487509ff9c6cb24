// Reading and writing many length-prefixed frames per system call.
//
// FrameReader: bytes read in chunks of up to 64 KiB (one recv often brings
// dozens of frames under load) are cut into whole frames. FrameWriter: the frames
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

#include "net/frame.h"

namespace chorus::net {

class FrameReader {
 public:
    // Space for the next read: a chunk that grows (4 KiB to 64 KiB) while
    // reads fill it and shrinks when they do not — an idle connection holds
    // little — or the rest of a frame that is larger than that.
    boost::asio::mutable_buffer prepare() {
        if (start_ == end_) {
            start_ = end_ = 0;
            // A buffer grown for busier times or one big frame is let go.
            if (buffer_.size() > 2 * chunk_) std::vector<char>().swap(buffer_);
        }
        size_t want = chunk_;
        if (end_ - start_ >= kFrameHeaderBytes) {
            want = std::max(want, kFrameHeaderBytes + header_length() - (end_ - start_));
        }
        if (buffer_.size() - end_ < want) {
            // Move what is left to the front, then grow if still short.
            // (Only when there is a front to move to: an empty buffer's
            // data() may be null, and memmove must not be given one.)
            if (start_ > 0) {
                std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
                end_ -= start_;
                start_ = 0;
            }
            if (buffer_.size() - end_ < want) buffer_.resize(end_ + want);
        }
        offered_ = buffer_.size() - end_;
        return boost::asio::buffer(buffer_.data() + end_, offered_);
    }

    // `n` bytes arrived in the space prepare() gave.
    void commit(size_t n) {
        end_ += n;
        if (n == offered_) {
            chunk_ = std::min(chunk_ * 2, kMaxChunkBytes);
        } else if (n < chunk_ / 4) {
            chunk_ = std::max(chunk_ / 2, kMinChunkBytes);
        }
    }

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

    size_t capacity() const { return buffer_.size(); }  // for tests

 private:
    static constexpr size_t kMinChunkBytes = 4 << 10;
    static constexpr size_t kMaxChunkBytes = 64 << 10;

    uint32_t header_length() const {
        unsigned char header[kFrameHeaderBytes];
        std::memcpy(header, buffer_.data() + start_, kFrameHeaderBytes);
        return frame_length(header);
    }

    std::vector<char> buffer_;
    size_t chunk_ = kMinChunkBytes;
    size_t offered_ = 0;
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

}  // namespace chorus::net
