#include "common/line_reader.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace audit {

namespace {
constexpr std::size_t kReadChunk = 1u << 20;
}

LineReader::LineReader(int fd, std::size_t max_line) : fd_(fd), max_line_(max_line) {}

LineReader::LineReader(int fd, std::uint64_t offset, std::uint64_t length, std::size_t max_line)
    : fd_(fd), max_line_(max_line), ranged_(true), offset_(offset), remaining_(length) {}

// Moves the unread tail to the front and reads more. @return false at EOF or error.
bool LineReader::fill() {
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    buffer_start_ += begin_;
    begin_ = 0;
  }
  if (buffer_.size() < end_ + kReadChunk) buffer_.resize(end_ + kReadChunk);
  for (;;) {
    ssize_t n = 0;
    if (!ranged_) {
      n = ::read(fd_, buffer_.data() + end_, kReadChunk);
    } else if (remaining_ > 0) {
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(kReadChunk, remaining_));
      n = ::pread(fd_, buffer_.data() + end_, want, static_cast<off_t>(offset_));
      if (n > 0) {
        offset_ += static_cast<std::uint64_t>(n);
        remaining_ -= static_cast<std::uint64_t>(n);
      }
    }
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) continue;
    errno_ = errno;
    return false;
  }
}

LineReader::Status LineReader::next(std::string_view& line) {
  std::size_t scanned = begin_;
  for (;;) {
    const char* nl =
        static_cast<const char*>(std::memchr(buffer_.data() + scanned, '\n', end_ - scanned));
    if (nl != nullptr) {
      std::size_t pos = static_cast<std::size_t>(nl - buffer_.data());
      std::size_t len = pos - begin_;
      line = std::string_view(buffer_.data() + begin_, len);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      begin_ = pos + 1;
      ++line_number_;
      if (len > max_line_) return Status::TooLong;
      return Status::Line;
    }
    // A line past the cap: skip to its end without keeping it.
    if (end_ - begin_ > max_line_) {
      ++line_number_;
      for (;;) {
        buffer_start_ += end_;
        begin_ = end_ = 0;
        if (!fill()) return errno_ != 0 ? Status::Error : Status::TooLong;
        const void* found = std::memchr(buffer_.data(), '\n', end_);
        if (found != nullptr) {
          begin_ = static_cast<std::size_t>(static_cast<const char*>(found) - buffer_.data()) + 1;
          line = {};
          return Status::TooLong;
        }
      }
    }
    scanned = end_;
    std::size_t before = end_ - begin_;
    if (eof_ || !fill()) {
      if (errno_ != 0) return Status::Error;
      if (end_ - begin_ == 0) return Status::End;
      line = std::string_view(buffer_.data() + begin_, end_ - begin_);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      begin_ = end_;
      ++line_number_;
      return line.size() > max_line_ ? Status::TooLong : Status::Line;
    }
    scanned = begin_ + before;
  }
}

}  // namespace audit
