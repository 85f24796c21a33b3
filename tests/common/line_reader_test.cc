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

TEST(LineReader, ReadsOnlyItsRangeAndTellsItsOffset) {
  const std::string text = "zero\none\r\ntwo\n\nthree\nfour";
  int fd = fileWith(text);
  const std::uint64_t from = text.find("one");
  const std::uint64_t to = text.find("four");
  LineReader reader(fd, from, to - from, 100);
  std::vector<std::string> lines;
  std::vector<std::uint64_t> offsets;
  std::string_view line;
  while (reader.next(line) == LineReader::Status::Line) {
    lines.emplace_back(line);
    offsets.push_back(reader.offset());
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "", "three"}));
  // Each offset is just past the line's '\n' ('\r' included), from the range's start.
  EXPECT_EQ(offsets, (std::vector<std::uint64_t>{5, 9, 10, 16}));
  EXPECT_EQ(reader.lineNumber(), 4u);
  EXPECT_EQ(::lseek(fd, 0, SEEK_CUR), 0) << "pread leaves the descriptor's offset alone";
  ::close(fd);
}

TEST(LineReader, OffsetCountsSkippedOverlongLines) {
  const std::string text = "a\n" + std::string(5000, 'x') + "\nb";
  int fd = fileWith(text);
  LineReader reader(fd, 100);
  std::string_view line;
  EXPECT_EQ(reader.next(line), LineReader::Status::Line);
  EXPECT_EQ(reader.offset(), 2u);
  EXPECT_EQ(reader.next(line), LineReader::Status::TooLong);
  EXPECT_EQ(reader.offset(), 5003u);
  EXPECT_EQ(reader.next(line), LineReader::Status::Line);
  EXPECT_EQ(line, "b");
  EXPECT_EQ(reader.offset(), text.size());
  ::close(fd);
}

}  // namespace
}  // namespace audit
