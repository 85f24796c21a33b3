// What the fuzz targets of fuzz/ found, one test per finding, with the minimised input
// (docs/reliability.md lists them). Each test states the contract the input broke.
// A finding's test is DISABLED_ while the finding is open (a failing test would stop CI);
// F1-F7 are fixed, so every test here runs.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "api/control_server.hpp"
#include "common/rfc3339.hpp"
#include "config/config.hpp"
#include "fuzz/utf8.hpp"
#include "source/event_time.hpp"
#include "store/event_store.hpp"
#include "tests/fakes/temp_dir.hpp"
#include "tests/fuzz_regressions/bounded_child.hpp"
#include "webhook/cef.hpp"

namespace audit {
namespace {

using namespace std::chrono_literals;

// The text before the first space of a CEF line: "-" or an RFC 3339 time.
std::string cefTime(const std::string& line) {
  return line.substr(0, line.find(' '));
}

// rfc3339_fuzz: "9999-12-31T23:30:00-04:30" parses to an instant in the year 10000, which
// formats as "10000-01-01T04:00:00.000Z" and does not parse back; the same at the other
// end, where year 0000 with a positive offset is in year -1 ("-001-12-31T…").
TEST(FuzzFindings, EveryParsedTimeFormatsBackToTheSameInstant) {
  for (const char* text : {"9999-12-31T23:30:00-04:30", "9999-12-31T23:59:59.999-00:01",
                           "0000-01-01T00:00:00+00:01", "0000-01-01T00:00:00.000+23:59"}) {
    auto parsed = parseRfc3339(text);
    if (!parsed) continue;  // refusing a time outside 0000..9999 UTC is a fix too
    for (const std::string& formatted :
         {formatRfc3339Millis(parsed->ms), formatRfc3339(parsed->ms)}) {
      auto back = parseRfc3339(formatted);
      ASSERT_TRUE(back) << text << " -> " << formatted;
      EXPECT_EQ(back->ms, parsed->ms) << text << " -> " << formatted;
    }
  }
  // The fix refuses them, saying why; the edges themselves are kept.
  const auto refused = parseRfc3339("9999-12-31T23:30:00-04:30");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.message(),
            "outside 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z once its offset is applied");
  EXPECT_FALSE(parseRfc3339("0000-01-01T00:00:00+00:01"));
  EXPECT_EQ(parseRfc3339("9999-12-31T23:59:59.999Z")->ms, kRfc3339MaxMillis);
  EXPECT_EQ(parseRfc3339("0000-01-01T00:00:00Z")->ms, kRfc3339MinMillis);
  EXPECT_EQ(parseRfc3339("0000-01-01T00:00:00-00:01")->ms, kRfc3339MinMillis + 60'000);
  EXPECT_EQ(source::extractEventTime(R"({"event_ts":"9999-12-31T23:30:00-04:30"})").reason,
            "event_ts is outside 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z once its "
            "offset is applied: \"9999-12-31T23:30:00-04:30\"");
}

// cef_fuzz: a value ending in '|' (literal in extensions) made appendExtension() take it for
// the end of the header and leave out the separating space: `a=|b=c`, one field to a SIEM.
TEST(FuzzFindings, CefExtensionAfterAValueEndingInAPipeIsSeparatedByASpace) {
  std::string line = webhook::renderCef(R"({"a":"|","b":"c"})");
  EXPECT_NE(line.find("|a=| b=c"), std::string::npos) << line;
  std::string header_pipe = webhook::renderCef(R"({"name":"x|","a":"|","b":"|","c":"d"})");
  EXPECT_NE(header_pipe.find("|a=| b=| c=d"), std::string::npos) << header_pipe;
}

// cef_fuzz seed rt_min: formatting rt = INT64_MIN negates it (signed overflow, UBSan:
// common/rfc3339.cc format()), and any |rt| beyond year 9999 renders a time that is not
// RFC 3339 ("-292275055-05-16T…"). The time prefix must be "-" or a valid time.
TEST(FuzzFindings, CefTimeOfAnExtremeRtIsValidOrTheNilValue) {
  for (const char* event : {R"({"rt":-9223372036854775808})", R"({"rt":9223372036854775807})",
                            R"({"rt":9223372036854775808})", R"({"rt":"-9223372036854775808"})",
                            R"({"rt":253402300800000})", R"({"rt":-62167219200001})"}) {
    std::string time = cefTime(webhook::renderCef(event));
    EXPECT_TRUE(time == "-" || parseRfc3339(time)) << event << " -> " << time;
  }
  // CEF's time is to the whole second, as Konnect writes it.
  EXPECT_EQ(cefTime(webhook::renderCef(R"({"rt":253402300799999})")), "9999-12-31T23:59:59Z");
  EXPECT_EQ(cefTime(webhook::renderCef(R"({"rt":-62167219199999})")), "0000-01-01T00:00:00Z");
  EXPECT_EQ(cefTime(webhook::renderCef(R"({"rt":-62167219200000})")), "0000-01-01T00:00:00Z");
  // format() itself is defined for every int64_t (UBSan checks the negation in the fuzz
  // build): outside 0000..9999 its year has a sign or a fifth digit.
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(formatRfc3339Millis(kMin), "-292275055-05-16T16:47:04.192Z");
  EXPECT_EQ(formatRfc3339Millis(kMax), "292278994-08-17T07:12:55.807Z");
  EXPECT_EQ(formatRfc3339(kRfc3339MinMillis - 1), "-0001-12-31T23:59:59.999Z");
  EXPECT_EQ(formatRfc3339(kRfc3339MaxMillis + 1), "10000-01-01T00:00:00Z");
}

// event_time_fuzz seed bad_ts_unicode: the reason quotes at most 64 bytes of event_ts and
// cut a two-byte character in half; the reason then made the JSON answer of `ingest`
// invalid UTF-8, which strict clients refuse to parse.
TEST(FuzzFindings, RejectionReasonStaysValidUtf8WhenTheValueIsCutShort) {
  std::string ts = "a";
  for (int i = 0; i < 40; ++i) ts += "\xc3\xa9";  // é
  for (const std::string& event :
       {R"({"event_ts":")" + ts + R"("})", R"({"event_ts":[")" + ts + R"("]})"}) {
    source::EventTime t = source::extractEventTime(event);
    ASSERT_FALSE(t.ok);
    EXPECT_TRUE(fuzz::isValidUtf8(t.reason)) << t.reason;
  }
}

// event_time_fuzz (compact invariant): a pretty-printed event is stored in its compact
// re-serialisation, and Boost.JSON writes 1e400 (read as infinity) back as `Infinity`:
// the store then holds, and a replay sends, an event that is not JSON.
TEST(FuzzFindings, PrettyPrintedEventWithAnOutOfRangeNumberIsStoredAsValidJson) {
  testing::TempDir dir("audit-fuzz-regression");
  std::string detail;
  auto opened = store::Store::open(store::StoreOptions{.data_dir = dir / "data"}, &detail);
  ASSERT_TRUE(opened) << detail;
  auto region = (*opened)->region("us");
  const std::vector<std::string> events{"{\"rt\":1000,\n\"x\":1e400}",
                                        "{\"rt\":1001,\n\"y\":-1e999}"};
  std::vector<std::string_view> views(events.begin(), events.end());
  auto report = region->ingest(views, /*skip_invalid=*/true);
  ASSERT_TRUE(report);

  auto reader = region->openReader({0, 10'000}, {});
  ASSERT_TRUE(reader);
  EventBatch batch;
  ASSERT_TRUE((*reader)->next(batch, BatchLimits{}));
  EXPECT_EQ(batch.size() + report->rejected.size(), events.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::string stored(batch.event(i));
    boost::system::error_code ec;
    boost::json::parse(stored, ec);
    EXPECT_FALSE(ec) << "stored: " << stored;
    EXPECT_EQ(stored.find_first_of("\r\n"), std::string::npos) << stored;
  }
  // The fix keeps the text as sent, less the white space outside strings.
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch.event(0), R"({"rt":1000,"x":1e400})");
  EXPECT_EQ(batch.event(1), R"({"rt":1001,"y":-1e999})");
}

// config_fuzz: yaml-cpp 0.7's LoadAll() never ends on a stray ',' at the top level (it
// keeps adding empty documents: jbeder/yaml-cpp#1040, fixed upstream by PR #1319), so
// --check-config, start and SIGHUP hang while memory grows.
TEST(FuzzFindings, StrayCommaInTheConfigEndsWithAnError) {
  for (const char* yaml : {",k", ",\n", "[::1J]:8470e,iB}}\n, sf"}) {
    auto outcome = testing::runBounded(
        [&] {
          auto result = config::parseConfig(yaml, "fuzz.yaml", "/tmp");
          return result.errors.empty() ? std::string("accepted") : result.errors.front().toString();
        },
        5s);  // a fixed loader answers in milliseconds; a looping one grows ~0.4 GB a second
    ASSERT_EQ(outcome.kind, testing::ChildOutcome::Finished) << yaml << ": " << outcome.describe();
    EXPECT_NE(outcome.output, "accepted") << yaml;
  }
  // The error names the place and the text yaml-cpp could not read.
  auto result = config::parseConfig(",k", "fuzz.yaml", "/tmp");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors.front().toString(), R"(fuzz.yaml:1:1: not valid YAML here: ",k")");
  EXPECT_FALSE(result.config);
  result = config::parseConfig("retention: 7d\n}", "fuzz.yaml", "/tmp");
  ASSERT_FALSE(result.errors.empty());
  EXPECT_EQ(result.errors.front().line, 2);
  // A real second document is still named as one, with or without '---'.
  result = config::parseConfig("retention: 7d\n...\n# next\nretention: 8d\n", "fuzz.yaml", "/tmp");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors.front().toString(),
            "fuzz.yaml:4:1: only one YAML document is allowed; remove what follows '...'");
}

// Found reading the file checks while writing config_fuzz: checkReadableFile() opens
// without O_NONBLOCK, so a FIFO named as tokens_file (or key_file, authorization_file,
// ca_file) blocks --check-config and start until someone writes to it.
TEST(FuzzFindings, FifoAsAConfiguredFileIsRefusedWithoutBlocking) {
  testing::TempDir dir("audit-fuzz-regression");
  const std::string fifo = (dir / "tokens").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string yaml =
      "http: {listen: \"127.0.0.1:0\", tokens_file: \"" + fifo + "\"}\nregions: {us: {}}\n";
  auto outcome = testing::runBounded(
      [&] {
        auto result = config::parseConfig(yaml, "fuzz.yaml", dir.path());
        return result.errors.empty() ? std::string("accepted") : result.errors.front().message;
      },
      10s);
  ASSERT_EQ(outcome.kind, testing::ChildOutcome::Finished) << outcome.describe();
  EXPECT_NE(outcome.output.find("not a regular file"), std::string::npos) << outcome.output;
}

// control_line_fuzz (an earlier harness stopped on it): `{"op":"ping","n":1e400}` parsed,
// with n read as infinity, which Boost.JSON 1.81 writes back as `Infinity`. Nothing
// crashed, but every place that re-serialises the request produced text that is not JSON:
// an `ingest` of `events` objects stored them re-serialised, so the event was refused as
// "invalid JSON" for text the client never sent. Such a request is now a 400.
TEST(FuzzFindings, ControlLineWithAnOutOfRangeNumberIs400WithAValidAnswer) {
  for (const char* line : {R"({"op":"ping","n":1e400})", R"({"op":"ping","n":-1e400})",
                           R"({"op":"ingest","events":[{"rt":1,"x":[{"y":1e999}]}]})"}) {
    boost::json::object request;
    boost::json::object answer;
    ASSERT_FALSE(api::parseRequestLine(line, request, answer)) << line;
    std::string text = boost::json::serialize(answer);
    EXPECT_EQ(text.find('\n'), std::string::npos) << text;
    boost::system::error_code ec;
    boost::json::value back = boost::json::parse(text, ec);
    ASSERT_FALSE(ec) << text;
    EXPECT_EQ(back.at("code").as_int64(), 400) << text;
    EXPECT_NE(std::string(back.at("error").as_string()).find("out of range"), std::string::npos)
        << text;
  }
  // Large but finite numbers are ordinary.
  boost::json::object request;
  boost::json::object answer;
  EXPECT_TRUE(api::parseRequestLine(R"({"op":"ping","n":1e308,"m":-1e-400})", request, answer));
}

}  // namespace
}  // namespace audit
