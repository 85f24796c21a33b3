// Signing through the signature cache's slots: signatures made are handed out, known ones
// are written instead of signing, and the body is byte for byte what signing gives.

#include <gtest/gtest.h>

#include "signing/signer.hpp"
#include "webhook/encoder.hpp"

namespace audit::webhook {
namespace {

signing::SignerPtr signerOf(char seed_byte) {
  auto signer = signing::Signer::fromRawPrivateKey(std::string(32, seed_byte));
  EXPECT_TRUE(signer) << (signer ? std::string() : signer.message());
  return signer ? *signer : nullptr;
}

EventBatch batchOf() {
  EventBatch batch;
  batch.add(R"({"rt":1700000000000,"src":"10.0.0.1","name":"A"})", 1700000000000);
  batch.add(R"({"rt":1700000000001,"name":"B","sig":"kept"})", 1700000000001);
  batch.add(R"({})", 1700000000002);
  batch.add(R"({"rt":1700000000003,"src":"10.0.0.3","name":"C"})", 1700000000003);
  return batch;
}

class SignatureReuse : public ::testing::TestWithParam<Format> {};

TEST_P(SignatureReuse, KnownSignaturesAreWrittenWithoutSigning) {
  auto signer = signerOf(7);
  EncodeOptions options{
      .format = GetParam(), .compression = Compression::None, .signer = signer.get()};
  const std::string plain = encodeBatch(batchOf(), options).bytes;
  const std::uint64_t first_made = signer->signaturesMade();
  ASSERT_GT(first_made, 0u);

  std::vector<std::string> made;
  options.made_signatures = &made;
  const std::uint64_t before = signer->signaturesMade();
  EXPECT_EQ(encodeBatch(batchOf(), options).bytes, plain);
  ASSERT_EQ(made.size(), 4u);
  std::uint64_t handed_out = 0;
  for (std::size_t i = 0; i < made.size(); ++i) {
    EXPECT_TRUE(made[i].empty() || made[i].size() == 64u) << i;
    handed_out += made[i].empty() ? 0 : 1;
  }
  // Every signature made is handed out; a JSON event signed already keeps its own sig.
  const std::uint64_t made_count = signer->signaturesMade() - before;
  EXPECT_EQ(handed_out, made_count);
  EXPECT_EQ(made_count, first_made);
  if (GetParam() != Format::Cef) {
    EXPECT_TRUE(made[1].empty());
    EXPECT_EQ(made_count, 3u);
  }

  // The repeat: every signature known, none made, the same bytes.
  std::vector<std::string> again;
  options.known_signatures = &made;
  options.made_signatures = &again;
  const std::uint64_t repeat_from = signer->signaturesMade();
  EXPECT_EQ(encodeBatch(batchOf(), options).bytes, plain);
  EXPECT_EQ(signer->signaturesMade(), repeat_from);
  EXPECT_EQ(again, std::vector<std::string>(4));
  EXPECT_GT(made_count, 0u);

  // One signature missing: only that one is made.
  std::vector<std::string> partial = made;
  partial[0].clear();
  options.known_signatures = &partial;
  EXPECT_EQ(encodeBatch(batchOf(), options).bytes, plain);
  EXPECT_EQ(signer->signaturesMade(), repeat_from + 1);
  EXPECT_EQ(again[0], made[0]);
}

TEST_P(SignatureReuse, AnotherKeyMakesOtherSignatures) {
  auto first = signerOf(1);
  auto second = signerOf(2);
  EXPECT_NE(first->kid(), second->kid());
  std::vector<std::string> made_first;
  std::vector<std::string> made_second;
  EncodeOptions options{.format = GetParam(),
                        .compression = Compression::None,
                        .signer = first.get(),
                        .made_signatures = &made_first};
  encodeBatch(batchOf(), options);
  options.signer = second.get();
  options.made_signatures = &made_second;
  encodeBatch(batchOf(), options);
  ASSERT_EQ(made_first.size(), made_second.size());
  EXPECT_NE(made_first[0], made_second[0]);
}

INSTANTIATE_TEST_SUITE_P(Formats, SignatureReuse,
                         ::testing::Values(Format::Json, Format::Cps, Format::Cef));

}  // namespace
}  // namespace audit::webhook
