#include "webhook/ingest_body.hpp"

#include <gtest/gtest.h>

#include "webhook/gzip.hpp"

namespace audit::webhook {
namespace {

TEST(GunzipBounded, InflatesOneOrSeveralMembers) {
  const std::string a = "first\n";
  const std::string b(5000, 'x');
  std::string out;
  ASSERT_EQ(gunzipBounded(gzipCompress(a), {}, out), GunzipStatus::ok);
  EXPECT_EQ(out, a);
  ASSERT_EQ(gunzipBounded(gzipCompress(a) + gzipCompress(b), {}, out), GunzipStatus::ok);
  EXPECT_EQ(out, a + b);
  EXPECT_TRUE(looksGzipped(gzipCompress(a)));
  EXPECT_FALSE(looksGzipped("{\"rt\":1}"));
}

TEST(GunzipBounded, RefusesCorruptStreams) {
  std::string out;
  EXPECT_EQ(gunzipBounded("", {}, out), GunzipStatus::corrupt);
  EXPECT_EQ(gunzipBounded("not gzip at all", {}, out), GunzipStatus::corrupt);
  std::string truncated = gzipCompress(std::string(1000, 'a'));
  truncated.resize(truncated.size() / 2);
  EXPECT_EQ(gunzipBounded(truncated, {}, out), GunzipStatus::corrupt);
}

TEST(GunzipBounded, StopsAtTheSizeLimit) {
  IngestBodyLimits limits;
  limits.max_bytes = 1000;
  std::string out;
  std::string random_ish;
  for (int i = 0; i < 600; ++i) random_ish += std::to_string(i * 7919 % 1009);
  ASSERT_GT(random_ish.size(), 1000u);
  EXPECT_EQ(gunzipBounded(gzipCompress(random_ish), limits, out), GunzipStatus::too_large);
  EXPECT_LE(out.size(), 1000u);
  limits.max_bytes = random_ish.size();
  EXPECT_EQ(gunzipBounded(gzipCompress(random_ish), limits, out), GunzipStatus::ok);
}

TEST(GunzipBounded, StopsABombAtTheRatioCap) {
  const std::string zeros(8u << 20, '\n');  // 8 MiB that compress ~1000:1
  const std::string bomb = gzipCompress(zeros, 9);
  IngestBodyLimits limits;  // 64 MiB, 200:1 past 1 MiB
  std::string out;
  EXPECT_EQ(gunzipBounded(bomb, limits, out), GunzipStatus::bomb);
  // A small body of repeated text stays under the floor: not a bomb.
  EXPECT_EQ(gunzipBounded(gzipCompress(std::string(500'000, 'a')), limits, out), GunzipStatus::ok);
  limits.max_ratio = 2000;
  EXPECT_EQ(gunzipBounded(bomb, limits, out), GunzipStatus::ok);
  EXPECT_EQ(out.size(), zeros.size());
}

TEST(DecodeLines, SplitsJsonAndCefAndNumbersTheLines) {
  const std::string body =
      "{\"rt\":1}\r\n"
      "\n"
      "   \n"
      "2023-11-14T22:13:20Z konghq.com CEF:0|KongInc|Konnect|1.0|c|n|1|rt=1700000000000 a=b\n"
      "garbage\n"
      "t h CEF:0|broken\n"
      "  {\"rt\":2}";
  DecodedEvents decoded;
  decodeLines(body, decoded);
  ASSERT_EQ(decoded.events.size(), 3u);
  EXPECT_EQ(decoded.events[0], "{\"rt\":1}");
  EXPECT_EQ(decoded.lines[0], 1u);
  EXPECT_EQ(decoded.events[1].substr(0, 1), "{");
  EXPECT_NE(decoded.events[1].find("\"a\":\"b\""), std::string_view::npos);
  EXPECT_EQ(decoded.lines[1], 4u);
  EXPECT_EQ(decoded.events[2], "  {\"rt\":2}");
  EXPECT_EQ(decoded.lines[2], 7u);
  ASSERT_EQ(decoded.rejected.size(), 2u);
  EXPECT_EQ(decoded.rejected[0].line, 5u);
  EXPECT_EQ(decoded.rejected[0].reason, "neither a JSON event nor a CEF line");
  EXPECT_EQ(decoded.rejected[1].line, 6u);
}

TEST(DecodeLines, AnEmptyBodyHasNoEvents) {
  DecodedEvents decoded;
  decodeLines("\n\n", decoded);
  EXPECT_TRUE(decoded.events.empty());
  EXPECT_TRUE(decoded.rejected.empty());
}

}  // namespace
}  // namespace audit::webhook
