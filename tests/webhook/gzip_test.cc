#include "webhook/gzip.hpp"

#include <gtest/gtest.h>

#include <random>
#include <thread>

namespace audit::webhook {
namespace {

std::string sampleText(std::size_t n) {
  std::string s;
  std::mt19937 rng(7);
  while (s.size() < n) s += R"({"rt":)" + std::to_string(rng()) + R"(,"src":"10.0.0.1"})" + "\n";
  s.resize(n);
  return s;
}

TEST(Gzip, RoundTripsAtEveryLevel) {
  std::string plain = sampleText(100'000);
  for (int level : {0, 1, 6, 12}) {
    std::string z = gzipCompress(plain, level);
    ASSERT_GE(z.size(), 18u);
    EXPECT_EQ(static_cast<unsigned char>(z[0]), 0x1f);  // gzip magic
    EXPECT_EQ(static_cast<unsigned char>(z[1]), 0x8b);
    auto back = gzipDecompress(z);
    ASSERT_TRUE(back.has_value()) << "level " << level;
    EXPECT_EQ(*back, plain);
  }
}

TEST(Gzip, CompressesRepetitiveText) {
  std::string plain(1 << 20, 'a');
  EXPECT_LT(gzipCompress(plain).size(), plain.size() / 100);
}

TEST(Gzip, EmptyInputRoundTrips) {
  auto back = gzipDecompress(gzipCompress(""));
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->empty());
}

TEST(Gzip, RejectsCorruptStreams) {
  std::string z = gzipCompress(sampleText(10'000));
  EXPECT_FALSE(gzipDecompress("").has_value());
  EXPECT_FALSE(gzipDecompress("not gzip at all, not even close").has_value());
  std::string truncated = z.substr(0, z.size() / 2);
  EXPECT_FALSE(gzipDecompress(truncated).has_value());
  std::string flipped = z;
  flipped[z.size() / 2] ^= 0x55;
  EXPECT_FALSE(gzipDecompress(flipped).has_value());
}

TEST(Gzip, RefusesToInflatePastTheLimit) {
  std::string plain(1 << 20, 'x');  // a 1 MiB "bomb" of a few KB
  std::string z = gzipCompress(plain);
  EXPECT_FALSE(gzipDecompress(z, plain.size() - 1).has_value());
  auto exact = gzipDecompress(z, plain.size());
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(exact->size(), plain.size());
}

TEST(Gzip, RejectsAWrongSizeTrailer) {
  std::string plain = sampleText(50'000);
  for (unsigned char fill : {0x00, 0xff}) {
    std::string z = gzipCompress(plain);
    // ISIZE sizes the first buffer; a lie (tiny or 4 GiB) must neither crash nor allocate
    // wildly, and libdeflate checks it against the output, so the stream is corrupt.
    z[z.size() - 4] = z[z.size() - 3] = z[z.size() - 2] = z[z.size() - 1] = static_cast<char>(fill);
    EXPECT_FALSE(gzipDecompress(z).has_value());
  }
}

TEST(Gzip, DecompressesConcatenatedMembers) {
  std::string a = sampleText(3000), b = sampleText(5000);
  auto back = gzipDecompress(gzipCompress(a) + gzipCompress(b, 6));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, a + b);
}

TEST(Gzip, IsSafeFromManyThreads) {
  std::string plain = sampleText(200'000);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto back = gzipDecompress(gzipCompress(plain, 1 + (t + i) % 3));
        if (back && *back == plain) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 40);
}

}  // namespace
}  // namespace audit::webhook
