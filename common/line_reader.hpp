#pragma once
// Reads NDJSON from a file descriptor line by line with bounded memory: a 1 GB file is
// never held whole. Lines longer than `max_line` are reported, not buffered without end.

#include <cstddef>
#include <string>
#include <string_view>

namespace audit {

class LineReader {
 public:
  /** Does not take ownership of `fd`. */
  explicit LineReader(int fd, std::size_t max_line = 16u << 20);

  enum class Status { Line, TooLong, End, Error };

  /**
   * Next line without its '\n' (and without a trailing '\r'). The view stays valid until the
   * next call. Blank lines are returned too; callers skip them. line_number() is 1-based.
   */
  Status next(std::string_view& line);
  std::size_t lineNumber() const { return line_number_; }
  int error() const { return errno_; }

 private:
  bool fill();

  int fd_;
  std::size_t max_line_;
  std::string buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  std::size_t line_number_ = 0;
  int errno_ = 0;
};

}  // namespace audit
