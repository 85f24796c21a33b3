#include "ctl/event_check.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "ctl/ingest_chunk.hpp"

namespace audit::ctl {
namespace {

TEST(EventCheck, AcceptsRtAsNumberOrNumericString) {
  EXPECT_EQ(checkEvent(R"({"rt":1700000000123})").time, 1700000000123);
  EXPECT_EQ(checkEvent(R"({"rt":"1700000000123","x":1})").time, 1700000000123);
  EXPECT_EQ(checkEvent(R"({"rt":"1700000000123.0"})").time, 1700000000123);
  EXPECT_EQ(checkEvent(R"({"rt":1.7e12})").time, 1700000000000);
  EXPECT_EQ(checkEvent(R"({"rt":0})").time, 0);
  EXPECT_EQ(checkEvent(R"({"rt":-5})").time, -5);  // before 1970 is still a time
}

TEST(EventCheck, AcceptsEventTsInRfc3339) {
  EXPECT_EQ(checkEvent(R"({"event_ts":"2023-11-14T22:13:20Z"})").time, 1700000000000);
  EXPECT_EQ(checkEvent(R"({"event_ts":"2023-11-14T23:13:20.5+01:00"})").time, 1700000000500);
}

TEST(EventCheck, RtWinsOverEventTsAndNullIsAbsent) {
  EXPECT_EQ(checkEvent(R"({"event_ts":"2023-11-14T22:13:20Z","rt":5})").time, 5);
  EXPECT_EQ(checkEvent(R"({"rt":null,"event_ts":"2023-11-14T22:13:20Z"})").time, 1700000000000);
  // A broken rt is an error even with a good event_ts: the store does not fall back.
  EXPECT_FALSE(checkEvent(R"({"rt":"soon","event_ts":"2023-11-14T22:13:20Z"})").ok());
}

TEST(EventCheck, RejectsWithTheStoresReasons) {
  struct Case {
    const char* line;
    const char* reason;
  };
  const Case cases[] = {
      {R"({"a":1})", "no rt or event_ts field"},
      {R"({"rt":null,"event_ts":null})", "no rt or event_ts field"},
      {R"([1,2])", "not a JSON object"},
      {R"("text")", "not a JSON object"},
      {R"({"rt":1.5})", "rt is not a number of milliseconds"},
      {R"({"rt":"12x"})", "rt is not a number of milliseconds"},
      {R"({"rt":18446744073709551615})", "rt is not a number of milliseconds"},
      {R"({"rt":true})", "rt is not a number of milliseconds"},
      {R"({"event_ts":"2023-11-14 22:13:20"})",
       R"(event_ts is not an RFC 3339 time with zone: "2023-11-14 22:13:20")"},
      {R"({"event_ts":"2023-11-14T22:13:20"})",
       R"(event_ts is not an RFC 3339 time with zone: "2023-11-14T22:13:20")"},
      {R"({"event_ts":12})", R"(event_ts is not an RFC 3339 time with zone: "12")"},
  };
  for (const auto& c : cases) {
    auto check = checkEvent(c.line);
    EXPECT_FALSE(check.ok()) << c.line;
    EXPECT_EQ(check.reason, c.reason) << c.line;
  }
  auto broken = checkEvent(R"({"rt":1)");
  EXPECT_FALSE(broken.ok());
  EXPECT_TRUE(broken.reason.starts_with("invalid JSON: ")) << broken.reason;
  EXPECT_TRUE(checkEvent("{\"rt\":1,\"s\":\"\xff\"}").reason.starts_with("invalid JSON"));
}

TEST(IngestChunk, EscapesLinesAsJsonStrings) {
  std::string out;
  std::string tricky = "{\"q\":\"a\\\"b\",\"tab\":\"\t\",\"u\":\"\xc3\xa9\"}\x01";
  appendJsonString(out, tricky);
  EXPECT_EQ(out.size(), jsonStringSize(tricky));
  EXPECT_EQ(boost::json::parse(out).as_string(), tricky);
}

TEST(IngestChunk, BuildsTheRequest) {
  IngestChunk chunk("us", false);
  EXPECT_TRUE(chunk.empty());
  chunk.add(R"({"rt":1})", 3);
  chunk.add(R"({"rt":2})", 5);
  EXPECT_EQ(
      chunk.requestLine(),
      R"({"op":"ingest","region":"us","skip_invalid":false,"lines":["{\"rt\":1}","{\"rt\":2}"]})");
  EXPECT_EQ(chunk.lineNumbers(), (std::vector<std::size_t>{3, 5}));
  chunk.clear();
  EXPECT_TRUE(chunk.empty());
  EXPECT_EQ(chunk.requestLine(),
            R"({"op":"ingest","region":"us","skip_invalid":false,"lines":[]})");
  IngestChunk skipping("eu", true);
  EXPECT_NE(skipping.requestLine().find(R"("skip_invalid":true)"), std::string::npos);
}

TEST(IngestChunk, BuildsARawRequest) {
  IngestChunk chunk("us", true, 100, 1000, IngestChunk::Wire::Raw);
  chunk.add(R"({"rt":1,"q":"a\"b"})", 3);
  chunk.add(R"({"rt":2})", 5);
  EXPECT_EQ(chunk.requestLine(),
            "{\"op\":\"ingest_raw\",\"region\":\"us\",\"skip_invalid\":true,\"bytes\":29}\n"
            "{\"rt\":1,\"q\":\"a\\\"b\"}\n{\"rt\":2}");  // the caller sends the last \n
  EXPECT_EQ(chunk.lineNumbers(), (std::vector<std::size_t>{3, 5}));
  IngestChunk small("us", false, 100, 20, IngestChunk::Wire::Raw);
  small.add(std::string(9, 'x'), 1);             // 10 bytes with its newline
  EXPECT_TRUE(small.fits(std::string(9, 'y')));  // 20
  EXPECT_FALSE(small.fits(std::string(10, 'y')));
}

TEST(IngestChunk, StopsAtTheLineAndByteLimits) {
  IngestChunk by_lines("us", false, 2, 1000);
  by_lines.add("{}", 1);
  EXPECT_TRUE(by_lines.fits("{}"));
  by_lines.add("{}", 2);
  EXPECT_FALSE(by_lines.fits("{}"));

  IngestChunk by_bytes("us", false, 100, 20);
  std::string ten(8, 'x');  // 10 bytes as a JSON string
  EXPECT_TRUE(by_bytes.fits(ten));
  by_bytes.add(ten, 1);
  EXPECT_FALSE(by_bytes.fits(ten));  // 10 + ',' + 10 > 20
  EXPECT_TRUE(by_bytes.fits("x"));   // 10 + ',' + 3
  IngestChunk empty("us", false, 100, 20);
  EXPECT_TRUE(empty.fits(std::string(100, 'y')));  // one large line goes alone
}

}  // namespace
}  // namespace audit::ctl
