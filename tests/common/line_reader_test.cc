#include "common/line_reader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace audit {
namespace {

// Writes `text` to a temporary file and returns a read descriptor for it.
int fileWith(const std::string& text) {
  FILE* f = std::tmpfile();
  std::fwrite(text.data(), 1, text.size(), f);
  std::fflush(f);
  int fd = ::dup(fileno(f));
  std::fclose(f);
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

std::vector<std::string> readAll(int fd, std::size_t max_line, std::vector<std::size_t>* too_long) {
  LineReader reader(fd, max_line);
  std::vector<std::string> lines;
  std::string_view line;
  for (;;) {
    auto st = reader.next(line);
    if (st == LineReader::Status::End) break;
    EXPECT_NE(st, LineReader::Status::Error);
    if (st == LineReader::Status::TooLong) {
      if (too_long) too_long->push_back(reader.lineNumber());
      continue;
    }
    lines.emplace_back(line);
  }
  ::close(fd);
  return lines;
}

TEST(LineReader, SplitsLinesAndStripsCr) {
  auto lines = readAll(fileWith("a\r\nbb\n\nccc"), 100, nullptr);
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "bb", "", "ccc"}));
}

TEST(LineReader, ReportsOverlongLinesAndContinues) {
  std::string big(3u << 20, 'x');
  std::vector<std::size_t> too_long;
  auto lines = readAll(fileWith("first\n" + big + "\nlast\n"), 1u << 20, &too_long);
  EXPECT_EQ(lines, (std::vector<std::string>{"first", "last"}));
  EXPECT_EQ(too_long, (std::vector<std::size_t>{2}));
}

TEST(LineReader, HandlesLinesAcrossChunkBoundaries) {
  std::string text;
  for (int i = 0; i < 300000; ++i) text += std::to_string(i) + "\n";
  auto lines = readAll(fileWith(text), 1024, nullptr);
  ASSERT_EQ(lines.size(), 300000u);
  EXPECT_EQ(lines[123456], "123456");
}

}  // namespace
}  // namespace audit
