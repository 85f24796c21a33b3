// Hostile inputs that must stay harmless: each parser answers an error (or a bounded
// result) in bounded time and memory, and never crashes. They pass today; they are here so
// that they keep passing (docs/reliability.md).

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "api/control_server.hpp"
#include "common/line_reader.hpp"
#include "config/config.hpp"
#include "fuzz/utf8.hpp"
#include "source/event_time.hpp"
#include "tests/fuzz_regressions/bounded_child.hpp"
#include "webhook/cef.hpp"

namespace audit {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr std::size_t kMiB = 1u << 20;

// parseRequestLine() and the 400 answer the server would send instead.
struct LineAnswer {
  bool parsed = false;
  json::object answer;
};

LineAnswer parseLine(const std::string& line) {
  LineAnswer out;
  json::object request;
  out.parsed = api::parseRequestLine(line, request, out.answer);
  return out;
}

void expect400(const std::string& line, const std::string& what) {
  LineAnswer a = parseLine(line);
  ASSERT_FALSE(a.parsed) << what;
  EXPECT_EQ(a.answer.at("code").as_int64(), 400) << what;
  EXPECT_FALSE(a.answer.at("ok").as_bool()) << what;
  std::string text = json::serialize(a.answer);
  EXPECT_EQ(text.find('\n'), std::string::npos) << what;
  EXPECT_TRUE(fuzz::isValidUtf8(text)) << what;
}

// ---- control socket lines (docs/cli.md) ------------------------------------------------------

TEST(HostileInput, DeeplyNestedControlLineAnswers400) {
  expect400("{\"op\":\"ping\",\"x\":" + std::string(100'000, '[') + std::string(100'000, ']') + "}",
            "100k nested arrays");
  std::string objects;
  for (int i = 0; i < 100'000; ++i) objects += "{\"a\":";
  expect400(objects + "1" + std::string(100'000, '}'), "100k nested objects");
  // Nesting within the limit is an ordinary request.
  EXPECT_TRUE(
      parseLine("{\"op\":\"ping\",\"x\":" + std::string(60, '[') + std::string(60, ']') + "}")
          .parsed);
}

TEST(HostileInput, InvalidUtf8InAControlLineAnswers400) {
  for (const std::string& bytes : {std::string("\xff"), std::string("\xc0\xaf"),  // overlong '/'
                                   std::string("\xed\xa0\x80"),                   // a surrogate
                                   std::string("\xe2\x82"),                       // truncated €
                                   std::string("\xf4\x90\x80\x80")}) {            // > U+10FFFF
    expect400("{\"op\":\"get_job\",\"region\":\"" + bytes + "\"}", "raw bytes");
  }
  expect400(R"({"op":"get_job","region":"\ud800"})", "lone surrogate escape");
}

TEST(HostileInput, HugeAndOddControlLinesParseInBoundedTime) {
  auto began = std::chrono::steady_clock::now();
  EXPECT_TRUE(parseLine("{\"op\":\"ping\",\"pad\":\"" + std::string(kMiB, 'a') + "\"}").parsed);
  EXPECT_TRUE(parseLine("{\"op\":\"ping\",\"nul\":\"a\\u0000b\"}").parsed);
  expect400("{\"op\":\"ping\",\"n\":" + std::string(kMiB, '1') + "x}", "1 MiB number then junk");
  expect400(std::string(kMiB, '{'), "1 MiB of '{'");
  EXPECT_LT(std::chrono::steady_clock::now() - began, 30s);
}

// ---- event times (docs/store.md)
// -----------------------------------------------------------------

TEST(HostileInput, MegabyteRtDigitStringIsRejectedWithAShortReason) {
  for (const std::string& event :
       {"{\"rt\":\"" + std::string(kMiB, '1') + "\"}", "{\"rt\":" + std::string(kMiB, '1') + "}",
        "{\"rt\":\"0." + std::string(kMiB, '0') + "1\"}",
        "{\"event_ts\":\"" + std::string(kMiB, '2') + "\"}"}) {
    source::EventTime t = source::extractEventTime(event);
    EXPECT_FALSE(t.ok) << event.substr(0, 20);
    EXPECT_LT(t.reason.size(), 200u) << t.reason.substr(0, 200);
  }
}

TEST(HostileInput, DeeplyNestedEventIsRejected) {
  for (const std::string& event :
       {std::string(100'000, '['), "{\"rt\":1,\"x\":" + std::string(100'000, '[') + "}",
        "{\"rt\":1,\n\"x\":" + std::string(100'000, '[') + std::string(100'000, ']') + "}"}) {
    source::EventTime t = source::extractEventTime(event);
    EXPECT_FALSE(t.ok);
    EXPECT_NE(t.reason.find("invalid JSON"), std::string::npos) << t.reason;
  }
}

// ---- configuration (docs/configuration.md)
// ---------------------------------------------------------------

config::LoadResult parseYaml(const std::string& yaml) {
  return config::parseConfig(yaml, "hostile.yaml", "/tmp");
}

// A "billion laughs" of anchors and aliases: 10^9 leaves if anything expanded it. yaml-cpp
// shares aliased nodes, and the reader only descends into known keys, so it stays small.
TEST(HostileInput, AliasBombInTheConfigIsBounded) {
  std::string yaml = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  std::string maps =
      "m0: &m0 {k0: x, k1: x, k2: x, k3: x, k4: x, k5: x, k6: x, k7: x, k8: x, k9: x}\n";
  for (int level = 1; level <= 9; ++level) {
    std::string prev = std::to_string(level - 1);
    std::string cur = std::to_string(level);
    yaml += "l" + cur + ": &l" + cur + " [";
    maps += "m" + cur + ": &m" + cur + " {";
    for (int i = 0; i < 10; ++i) {
      yaml += std::string(i ? ", " : "") + "*l" + prev;
      maps += std::string(i ? ", " : "") + "k" + std::to_string(i) + ": *m" + prev;
    }
    yaml += "]\n";
    maps += "}\n";
  }
  const std::string bomb = yaml + maps +
                           "jobs: *l9\n"
                           "regions: *m9\n"
                           "log: *m9\n"
                           "http: *l9\n";
  const std::string in_headers = maps + "regions: {us: {webhook: {headers: *m9}, batch: *m9}}\n";
  for (const std::string& text : {bomb, in_headers}) {
    auto outcome = testing::runBounded(
        [&] {
          auto result = parseYaml(text);
          return std::to_string(result.errors.size());
        },
        30s, std::size_t{1} << 30);
    ASSERT_EQ(outcome.kind, testing::ChildOutcome::Finished) << outcome.describe();
    std::size_t errors = std::stoul(outcome.output);
    EXPECT_GT(errors, 0u);
    EXPECT_LT(errors, 10'000u);
  }
}

TEST(HostileInput, DeeplyNestedConfigEndsWithAnError) {
  std::string mappings;
  for (int i = 0; i < 100'000; ++i) mappings += "{a: ";
  for (const std::string& text : {std::string(100'000, '['), mappings}) {
    auto outcome =
        testing::runBounded([&] { return std::to_string(parseYaml(text).errors.size()); }, 30s);
    ASSERT_EQ(outcome.kind, testing::ChildOutcome::Finished) << outcome.describe();
    EXPECT_NE(outcome.output, "0");
  }
}

TEST(HostileInput, InvalidUtf8InTheConfigIsReportedReadably) {
  auto result =
      parseYaml("data_dir: /tmp/\xff\xfe\nretention: \xc0\xaf\nregions:\n  \xed\xa0\x80: {}\n");
  ASSERT_FALSE(result.ok());
  for (const auto& e : result.errors) EXPECT_FALSE(e.toString().empty());
}

// ---- NDJSON lines and CEF ------------------------------------------------------------------

TEST(HostileInput, MegabyteLineIsReportedTooLongAndTheNextLineStillReads) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([fd = fds[1]] {
    std::string data = "{\"rt\":1}\n" + std::string(kMiB, 'x') + "\n{\"rt\":2}";
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  });
  LineReader reader(fds[0], 1024);
  std::string_view line;
  ASSERT_EQ(reader.next(line), LineReader::Status::Line);
  EXPECT_EQ(line, "{\"rt\":1}");
  EXPECT_EQ(reader.next(line), LineReader::Status::TooLong);
  ASSERT_EQ(reader.next(line), LineReader::Status::Line);
  EXPECT_EQ(line, "{\"rt\":2}");
  EXPECT_EQ(reader.lineNumber(), 3u);
  EXPECT_EQ(reader.next(line), LineReader::Status::End);
  writer.join();
  ::close(fds[0]);
}

TEST(HostileInput, CefOfLineBreaksAndSeparatorsEverywhereIsOneLine) {
  std::string nasty;
  for (int i = 0; i < 100'000; ++i) nasty += "\\n\\r|=\\\\";
  const std::string event = "{\"name\":\"" + nasty + "\",\"" + nasty + "\":\"" + nasty +
                            "\",\"obj\":{\"k\":\"" + nasty + "\"}}";
  for (const std::string& input : {event, "\n\r" + nasty + "\n"}) {
    std::string line = webhook::renderCef(input);
    EXPECT_EQ(line.find_first_of("\r\n"), std::string::npos);
  }
}

}  // namespace
}  // namespace audit
