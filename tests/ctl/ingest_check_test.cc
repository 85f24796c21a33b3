#include "ctl/ingest_check.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace audit::ctl {
namespace {

// A temporary file holding `text`, removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    FILE* f = std::tmpfile();
    std::fwrite(text.data(), 1, text.size(), f);
    std::fflush(f);
    fd_ = ::dup(fileno(f));
    std::fclose(f);
  }
  ~TempFile() { ::close(fd_); }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

std::string event(int i) {
  return R"({"rt":)" + std::to_string(1'700'000'000'000 + i) + R"(,"request_id":"r)" +
         std::to_string(i) + R"(","path":"/v2/things","pad":")" + std::string(150, 'p') + "\"}";
}

InputCheck check(const std::string& text, unsigned threads, InputCheckOptions options = {}) {
  TempFile file(text);
  options.threads = threads;
  std::uint64_t last_progress = 0;
  InputCheck result = checkInput(file.fd(), 0, text.size(), options,
                                 [&](std::uint64_t done) { last_progress = done; });
  EXPECT_EQ(last_progress, text.size());
  return result;
}

// The 1-based line number that starts at `offset` of `text`.
std::size_t lineAt(const std::string& text, std::uint64_t offset) {
  std::size_t line = 1;
  for (std::uint64_t i = 0; i < offset; ++i) line += text[i] == '\n' ? 1 : 0;
  return line;
}

TEST(IngestCheck, LineProblemUsesTheStoresEventRule) {
  source::EventParser parser;
  EXPECT_EQ(lineProblem(R"({"rt":1700000000123})", 100, parser), "");
  EXPECT_EQ(lineProblem(R"(  {"event_ts":"2023-11-14T22:13:20Z"} )", 100, parser), "");
  EXPECT_EQ(lineProblem(R"({"x":1})", 100, parser), "no rt or event_ts field");
  EXPECT_EQ(lineProblem(R"({"rt":"soon"})", 100, parser), "rt is not a number of milliseconds");
  EXPECT_TRUE(lineProblem(R"({"rt":1)", 100, parser).starts_with("invalid JSON")) << "truncated";
  EXPECT_EQ(lineProblem("[1,2]", 100, parser), "not a JSON object");
}

TEST(IngestCheck, AnEventThatCannotFitOneRequestLineIsBad) {
  source::EventParser parser;
  // Each escaped backslash (two bytes) takes four in a JSON string: 9 MB of them pass the
  // 16 MiB request line, 4 MB do not.
  auto backslashes = [](std::size_t pairs) {
    std::string text = R"({"rt":1,"s":")";
    for (std::size_t i = 0; i < pairs; ++i) text += "\\\\";
    return text + "\"}";
  };
  EXPECT_EQ(lineProblem(backslashes(2'000'000), 100, parser), "");
  EXPECT_NE(lineProblem(backslashes(4'500'000), 100, parser).find("too large for one ingest"),
            std::string::npos);
}

TEST(IngestCheck, PartsCheckedAtOnceFindWhatOnePartFinds) {
  // ~12 MB: three parts of at least 4 MiB. Bad lines near the start, in the middle and at
  // the end; blank lines and CRLF endings throughout; no newline after the last line.
  std::string text;
  std::vector<std::size_t> bad_lines;
  std::size_t line = 0;
  for (int i = 0; i < 55'000; ++i) {
    ++line;
    if (i == 3 || i == 27'500 || i == 54'999) {
      text += R"({"no_time":true})";
      bad_lines.push_back(line);
    } else {
      text += event(i);
    }
    text += i % 997 == 0 ? "\r\n" : "\n";
    if (i % 1000 == 500) {
      text += "  \n";
      ++line;
    }
  }
  text.pop_back();  // the last line ends the file without '\n'

  const InputCheck one = check(text, 1);
  const InputCheck three = check(text, 3);
  EXPECT_EQ(one.events, 55'000u);
  EXPECT_EQ(one.bad, 3u);
  ASSERT_EQ(one.listed.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(one.listed[i].first, bad_lines[i]);
    EXPECT_EQ(one.listed[i].second, "no rt or event_ts field");
  }
  EXPECT_EQ(three.events, one.events);
  EXPECT_EQ(three.bad, one.bad);
  EXPECT_EQ(three.listed, one.listed);
  EXPECT_EQ(three.read_errno, 0);
}

TEST(IngestCheck, SpansCoverTheInputInWholeLinesWithinTheLimits) {
  std::string text;
  for (int i = 0; i < 60'000; ++i) {
    text += event(i) + "\n";
    if (i % 777 == 0) text += "\n";
  }
  InputCheckOptions options;
  options.span_events = 5000;
  options.span_bytes = 512 * 1024;  // smaller than 5000 events: both limits cut
  for (unsigned threads : {1u, 2u, 3u}) {
    const InputCheck found = check(text, threads, options);
    ASSERT_FALSE(found.spans.empty());
    std::uint64_t at = 0;
    std::size_t events = 0;
    for (const InputSpan& span : found.spans) {
      EXPECT_EQ(span.offset, at) << "contiguous";
      EXPECT_GT(span.length, 0u);
      EXPECT_LE(span.events, options.span_events);
      EXPECT_LE(span.length, options.span_bytes);
      EXPECT_EQ(text[span.offset + span.length - 1], '\n') << "ends at a line end";
      EXPECT_EQ(span.first_line, lineAt(text, span.offset)) << "threads " << threads;
      std::size_t in_span = 0;
      for (std::uint64_t i = span.offset; i < span.offset + span.length; ++i) {
        if (text[i] == '{') ++in_span;
      }
      EXPECT_EQ(span.events, in_span);
      events += span.events;
      at += span.length;
    }
    EXPECT_EQ(at, text.size()) << "threads " << threads;
    EXPECT_EQ(events, 60'000u);
  }
}

TEST(IngestCheck, ALineOverTheByteLimitGoesAlone) {
  const std::string big = R"({"rt":1,"pad":")" + std::string(100'000, 'x') + "\"}";
  const std::string text = event(1) + "\n" + big + "\n" + event(2) + "\n";
  InputCheckOptions options;
  options.span_bytes = 50'000;
  const InputCheck found = check(text, 1, options);
  ASSERT_EQ(found.spans.size(), 3u);
  EXPECT_EQ(found.spans[1].length, big.size() + 1);
  EXPECT_EQ(found.spans[1].first_line, 2u);
  EXPECT_EQ(found.spans[2].first_line, 3u);
}

TEST(IngestCheck, ListsAtMostMaxListedInFileOrder) {
  std::string text;
  for (int i = 0; i < 40'000; ++i) text += (i % 100 == 7 ? std::string("{}") : event(i)) + "\n";
  InputCheckOptions options;
  options.max_listed = 10;
  const InputCheck found = check(text, 2, options);
  EXPECT_EQ(found.bad, 400u);
  ASSERT_EQ(found.listed.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(found.listed[i].first, 8 + 100 * i);
}

TEST(IngestCheck, OverlongLinesAreBadAndNotBuffered) {
  const std::string text = event(1) + "\n" + std::string(5000, 'z') + "\n" + event(2) + "\n";
  InputCheckOptions options;
  options.max_line = 1000;
  const InputCheck found = check(text, 1, options);
  EXPECT_EQ(found.events, 3u);
  ASSERT_EQ(found.listed.size(), 1u);
  EXPECT_EQ(found.listed[0].first, 2u);
  EXPECT_EQ(found.listed[0].second, "line longer than 16 MiB");
}

}  // namespace
}  // namespace audit::ctl
