#pragma once
// Reads NDJSON from a file descriptor line by line with bounded memory: a 1 GB file is
// never held whole. Lines longer than `max_line` are reported, not buffered without end.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace audit {

class LineReader {
 public:
  /** Does not take ownership of `fd`; reads from its current offset to its end. */
  explicit LineReader(int fd, std::size_t max_line = 16u << 20);
  /**
   * Reads only the `length` bytes at `offset` (with pread: the descriptor's offset is left
   * alone), so several readers can take parts of one file at once.
   */
  LineReader(int fd, std::uint64_t offset, std::uint64_t length, std::size_t max_line);

  enum class Status { Line, TooLong, End, Error };

  /**
   * Next line without its '\n' (and without a trailing '\r'). The view stays valid until the
   * next call. Blank lines are returned too; callers skip them. line_number() is 1-based.
   */
  Status next(std::string_view& line);
  std::size_t lineNumber() const { return line_number_; }
  /** Bytes consumed from the start of the reader's input: the offset just past the last line
   *  returned, its '\n' (and any '\r') included. */
  std::uint64_t offset() const { return buffer_start_ + begin_; }
  int error() const { return errno_; }

 private:
  bool fill();

  int fd_;
  std::size_t max_line_;
  bool ranged_ = false;       // pread of [offset_, offset_ + remaining_) only
  std::uint64_t offset_ = 0;  // next byte to read, when ranged
  std::uint64_t remaining_ = 0;
  std::string buffer_;
  std::uint64_t buffer_start_ = 0;  // input offset of buffer_[0]
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  std::size_t line_number_ = 0;
  int errno_ = 0;
};

}  // namespace audit
