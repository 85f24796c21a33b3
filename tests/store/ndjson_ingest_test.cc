#include "store/ndjson_ingest.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "tests/store/store_fixture.hpp"

namespace audit::store::testing {
namespace {

// A regular file holding `text`, positioned at its start.
int fileWith(const std::string& text) {
  FILE* f = std::tmpfile();
  std::fwrite(text.data(), 1, text.size(), f);
  std::fflush(f);
  int fd = ::dup(fileno(f));
  std::fclose(f);
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

// A pipe that delivers `text` and then EOF (written by a thread: it may exceed the pipe buffer).
struct PipeWith {
  explicit PipeWith(std::string text) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    fd = fds[0];
    writer = std::thread([w = fds[1], text = std::move(text)] {
      std::size_t off = 0;
      while (off < text.size()) {
        ssize_t n = ::write(w, text.data() + off, text.size() - off);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      ::close(w);
    });
  }
  ~PipeWith() {
    writer.join();
    ::close(fd);
  }
  int fd;
  std::thread writer;
};

using NdjsonTest = StoreTest;

TEST_F(NdjsonTest, IngestsLinesSkippingBlankOnes) {
  auto us = store_->region("us");
  std::string text = event(1, "a") + "\n\n   \n" + event(2, "b") + "\r\n" + event(3, "c");
  int fd = fileWith(text);
  auto report = ingestNdjson(*us, fd, {.chunk_lines = 2});
  ::close(fd);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->ingested, 3u);
  EXPECT_TRUE(report->rejected.empty());
  EXPECT_EQ(*us->count(kAllTime), 3u);
}

TEST_F(NdjsonTest, BadLineInAFileStoresNothingAndReportsLineNumbers) {
  auto us = store_->region("us");
  std::string text = event(1, "a") + "\n\n{oops\n" + event(2, "b") + "\n" + R"({"x":1})" + "\n";
  int fd = fileWith(text);
  auto report = ingestNdjson(*us, fd, {.chunk_lines = 1});
  ::close(fd);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->ingested, 0u);
  ASSERT_EQ(report->rejected.size(), 2u);
  EXPECT_EQ(report->rejected[0].index, 3u);
  EXPECT_EQ(report->rejected[1].index, 5u);
  EXPECT_EQ(report->rejected[1].reason, "no rt or event_ts field");
  EXPECT_EQ(*us->count(kAllTime), 0u);
}

TEST_F(NdjsonTest, SkipInvalidStoresGoodLinesAcrossChunks) {
  auto us = store_->region("us");
  std::string text;
  for (int i = 1; i <= 25; ++i) text += (i % 10 == 0 ? "bad" : event(i, "e")) + "\n";
  int fd = fileWith(text);
  auto report = ingestNdjson(*us, fd, {.skip_invalid = true, .chunk_lines = 4});
  ::close(fd);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->ingested, 23u);
  ASSERT_EQ(report->rejected.size(), 2u);
  EXPECT_EQ(report->rejected[0].index, 10u);
  EXPECT_EQ(report->rejected[1].index, 20u);
}

TEST_F(NdjsonTest, PipeStopsStoringAtTheFirstBadChunkButReportsAll) {
  auto us = store_->region("us");
  std::string text;
  for (int i = 1; i <= 10; ++i) text += (i == 5 || i == 9 ? "bad" : event(i, "e")) + "\n";
  PipeWith pipe(text);
  auto report = ingestNdjson(*us, pipe.fd, {.chunk_lines = 2});
  ASSERT_TRUE(report);
  // Lines 1-4 went in two clean chunks; the chunk of lines 5-6 holds a bad line.
  EXPECT_EQ(report->ingested, 4u);
  ASSERT_EQ(report->rejected.size(), 2u);
  EXPECT_EQ(report->rejected[0].index, 5u);
  EXPECT_EQ(report->rejected[1].index, 9u);
  EXPECT_EQ(*us->count(kAllTime), 4u);
}

TEST_F(NdjsonTest, OverlongLineIsReported) {
  auto us = store_->region("us");
  std::string big = R"({"rt":1,"pad":")" + std::string(300, 'x') + R"("})";
  std::string text = event(1, "a") + "\n" + big + "\n" + event(2, "b") + "\n";
  int fd = fileWith(text);
  auto strict = ingestNdjson(*us, fd, {.max_line = 100});
  ASSERT_TRUE(strict);
  EXPECT_EQ(strict->ingested, 0u);
  ASSERT_EQ(strict->rejected.size(), 1u);
  EXPECT_EQ(strict->rejected[0].index, 2u);
  EXPECT_EQ(strict->rejected[0].reason, "line longer than 100 bytes");

  ::lseek(fd, 0, SEEK_SET);
  auto lenient = ingestNdjson(*us, fd, {.skip_invalid = true, .max_line = 100});
  ::close(fd);
  ASSERT_TRUE(lenient);
  EXPECT_EQ(lenient->ingested, 2u);
  EXPECT_EQ(lenient->rejected.size(), 1u);
}

TEST_F(NdjsonTest, SecondRunCountsDuplicates) {
  auto us = store_->region("us");
  std::string text = event(1, "a") + "\n" + event(2, "b") + "\n";
  for (int run = 0; run < 2; ++run) {
    PipeWith pipe(text);
    auto report = ingestNdjson(*us, pipe.fd);
    ASSERT_TRUE(report);
    EXPECT_EQ(report->ingested, run == 0 ? 2u : 0u);
    EXPECT_EQ(report->duplicates, run == 0 ? 0u : 2u);
  }
}

}  // namespace
}  // namespace audit::store::testing
