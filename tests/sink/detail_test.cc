// The receiver's building blocks: line counting and gzip decoding.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sink/detail/gunzip.hpp"
#include "sink/detail/lines.hpp"
#include "tests/sink/test_client.hpp"

namespace audit::sink::detail {
namespace {

using audit::testing::gzipCompress;

std::vector<std::string> linesOf(std::string_view body) {
  std::vector<std::string> lines;
  forEachLine(body, [&lines](std::string_view line) { lines.emplace_back(line); });
  return lines;
}

TEST(Lines, CountsNonEmptyNewlineSeparatedLines) {
  EXPECT_EQ(countLines(""), 0u);
  EXPECT_EQ(countLines("a"), 1u);
  EXPECT_EQ(countLines("a\nb"), 2u);
  EXPECT_EQ(countLines("a\nb\n"), 2u);
  EXPECT_EQ(countLines("\n\na\n\n\nb\n"), 2u);
  EXPECT_EQ(countLines("\n"), 0u);
  EXPECT_EQ(linesOf("{\"a\":1}\n\n{\"b\":2}"),
            (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"}));
}

TEST(Gunzipper, DecodesOneMemberExactly) {
  Gunzipper gunzip;
  std::string out = "stale contents";
  const std::string plain(100000, 'q');

  EXPECT_EQ(gunzip.decompress(gzipCompress(plain), out, 1 << 20), Gunzipper::Result::Ok);
  EXPECT_EQ(out, plain);
  EXPECT_EQ(gunzip.decompress(gzipCompress("short"), out, 1 << 20), Gunzipper::Result::Ok);
  EXPECT_EQ(out, "short");  // a smaller body after a larger one: no leftovers
}

TEST(Gunzipper, DecodesConcatenatedAndEmptyMembers) {
  Gunzipper gunzip;
  std::string out;
  const std::string body =
      gzipCompress("abc") + gzipCompress("") + gzipCompress(std::string(5000, 'z'));

  EXPECT_EQ(gunzip.decompress(body, out, 1 << 20), Gunzipper::Result::Ok);
  EXPECT_EQ(out, "abc" + std::string(5000, 'z'));
}

TEST(Gunzipper, RejectsGarbageAndTruncation) {
  Gunzipper gunzip;
  std::string out;
  const std::string good = gzipCompress("hello world");

  EXPECT_EQ(gunzip.decompress("not gzip", out, 1024), Gunzipper::Result::BadData);
  EXPECT_EQ(gunzip.decompress(good.substr(0, good.size() - 3), out, 1024),
            Gunzipper::Result::BadData);
  EXPECT_EQ(gunzip.decompress(good + "junk", out, 1024), Gunzipper::Result::BadData);
}

TEST(Gunzipper, StopsAtTheOutputCap) {
  Gunzipper gunzip;
  std::string out;
  const std::string plain(4096, 'x');

  EXPECT_EQ(gunzip.decompress(gzipCompress(plain), out, 4095), Gunzipper::Result::TooLarge);
  EXPECT_EQ(gunzip.decompress(gzipCompress(plain), out, 4096), Gunzipper::Result::Ok);
  // Two members each under the cap, together over it.
  EXPECT_EQ(gunzip.decompress(gzipCompress(plain) + gzipCompress(plain), out, 6000),
            Gunzipper::Result::TooLarge);
}

}  // namespace
}  // namespace audit::sink::detail
