#include "signing/signer.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json/parse.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

namespace audit::signing {
namespace {

std::string fromHex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// RFC 8032 §7.1, TEST 1 (empty message).
const std::string kSecret1 =
    fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
const std::string kPublic1 =
    fromHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
const std::string kSignature1 = fromHex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b4"
    "6bd25bf5f0595bbe24655141438e7a100b");

SignerPtr testSigner() {
  auto signer = Signer::fromRawPrivateKey(kSecret1);
  EXPECT_TRUE(signer) << signer.message();
  return signer ? *signer : nullptr;
}

// A private scratch folder removed at the end of the test.
class SignerFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("audit-webhook-signer-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path writeKey(const char* name, EVP_PKEY* key) {
    auto path = dir_ / name;
    std::FILE* f = std::fopen(path.c_str(), "w");
    EXPECT_NE(f, nullptr);
    EXPECT_EQ(PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
    std::fclose(f);
    return path;
  }

  std::filesystem::path dir_;
};

TEST(Signer, MatchesRfc8032TestVector1) {
  auto signer = testSigner();
  ASSERT_TRUE(signer);
  EXPECT_EQ(signer->publicKey(), kPublic1);
  EXPECT_EQ(signer->sign(""), base64UrlEncode(kSignature1));
}

TEST(Signer, KidIsTheRfc7638Thumbprint) {
  // RFC 8037 Appendix A uses the same key as RFC 8032 TEST 1 and gives its thumbprint.
  auto signer = testSigner();
  EXPECT_EQ(base64UrlEncode(signer->publicKey()), "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  EXPECT_EQ(signer->kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

TEST(Signer, JwkCarriesTheRequiredMembers) {
  auto signer = testSigner();
  auto jwk = boost::json::parse(signer->jwkJson()).as_object();
  EXPECT_EQ(jwk.at("kty"), "OKP");
  EXPECT_EQ(jwk.at("crv"), "Ed25519");
  EXPECT_EQ(jwk.at("alg"), "EdDSA");
  EXPECT_EQ(jwk.at("kid").as_string(), signer->kid());
  EXPECT_EQ(jwk.at("x"), "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  EXPECT_FALSE(jwk.contains("d"));  // never the private part
}

TEST(Signer, RefusesASeedOfTheWrongSize) {
  auto signer = Signer::fromRawPrivateKey("short");
  ASSERT_FALSE(signer);
  EXPECT_EQ(signer.message(), "an Ed25519 private key is 32 bytes");
}

TEST(Signer, SignsAJsonEventBeforeItsClosingBrace) {
  auto signer = testSigner();
  std::string event = R"({"rt":1,"src":"10.0.0.1"})";
  std::string signed_event = signer->signJsonEvent(event);
  std::string expected_prefix = R"({"rt":1,"src":"10.0.0.1","sig":")";
  ASSERT_TRUE(signed_event.starts_with(expected_prefix)) << signed_event;
  EXPECT_TRUE(signed_event.ends_with("\"}"));
  std::string sig =
      signed_event.substr(expected_prefix.size(), signed_event.size() - expected_prefix.size() - 2);
  EXPECT_EQ(sig.size(), 86u);           // 64 bytes, base64url without padding
  EXPECT_EQ(sig, signer->sign(event));  // over the event's exact bytes

  std::string reason;
  EXPECT_TRUE(verifyJsonLine(signed_event, signer->publicKey(), &reason)) << reason;
}

TEST(Signer, SignsAnEmptyObjectWithoutAComma) {
  auto signer = testSigner();
  std::string signed_event = signer->signJsonEvent("{}");
  EXPECT_EQ(signed_event, R"({"sig":")" + signer->sign("{}") + "\"}");
  std::string reason;
  EXPECT_TRUE(verifyJsonLine(signed_event, signer->publicKey(), &reason)) << reason;
}

TEST(Signer, LeavesSignedAndInvalidEventsUnchanged) {
  auto signer = testSigner();
  std::string has_sig = R"({"rt":1,"sig":"abc"})";
  EXPECT_EQ(signer->signJsonEvent(has_sig), has_sig);
  EXPECT_EQ(signer->signJsonEvent("not json"), "not json");
  EXPECT_EQ(signer->signJsonEvent(R"({"rt":1)"), R"({"rt":1)");
  EXPECT_EQ(signer->signJsonEvent("[1,2]"), "[1,2]");
  // A nested "sig" is not the event's signature.
  std::string nested = R"({"rt":1,"details":{"sig":"x"}})";
  EXPECT_NE(signer->signJsonEvent(nested), nested);
}

TEST(Signer, JsonHasSigLooksAtTheTopLevelOnly) {
  EXPECT_TRUE(jsonHasSig(R"({"a":1,"sig":"x"})"));
  EXPECT_TRUE(jsonHasSig(R"({"sig":null})"));
  EXPECT_FALSE(jsonHasSig(R"({"a":{"sig":"x"}})"));
  EXPECT_FALSE(jsonHasSig(R"({"a":"\"sig\":"})"));
  EXPECT_FALSE(jsonHasSig("garbage"));
}

TEST(Verify, OneFlippedByteFails) {
  auto signer = testSigner();
  std::string line = signer->signJsonEvent(R"({"rt":1,"src":"10.0.0.1","ok":true})");
  for (std::size_t i = 0; i < line.size(); ++i) {
    std::string bad = line;
    bad[i] ^= 0x01;
    EXPECT_FALSE(verifyJsonLine(bad, signer->publicKey(), nullptr)) << "byte " << i << ": " << bad;
  }
}

TEST(Verify, ReportsWhyALineFails) {
  auto signer = testSigner();
  std::string reason;
  EXPECT_FALSE(verifyJsonLine(R"({"rt":1})", signer->publicKey(), &reason));
  EXPECT_EQ(reason, "no sig member");
  EXPECT_FALSE(verifyJsonLine("nope", signer->publicKey(), &reason));
  EXPECT_EQ(reason, "not a JSON object");
  EXPECT_FALSE(verifyJsonLine(R"({"rt":1,"sig":"!!"})", signer->publicKey(), &reason));
  EXPECT_EQ(reason, "sig is not base64url of 64 bytes");

  std::string line = signer->signJsonEvent(R"({"rt":1})");
  std::string other_key(32, '\x07');
  EXPECT_FALSE(verifyJsonLine(line, other_key, &reason));
  EXPECT_EQ(reason, "signature does not match");
}

TEST(Verify, UnwrapsCpsLines) {
  auto signer = testSigner();
  std::string line = R"({"event":)" + signer->signJsonEvent(R"({"rt":1})") + "}";
  std::string reason;
  EXPECT_TRUE(verifyJsonLine(line, signer->publicKey(), &reason)) << reason;
}

TEST(Verify, CefRoundTripAndTamper) {
  auto signer = testSigner();
  std::string cef = "2025-01-01T00:00:00Z konghq.com CEF:0|KongInc|Konnect|1.0|A|B|1|rt=1 src=x";
  std::string line = signer->signCefLine(cef);
  ASSERT_TRUE(line.starts_with(cef + " sig="));
  std::string reason;
  EXPECT_TRUE(verifyCefLine(line, signer->publicKey(), &reason)) << reason;

  std::string bad = line;
  bad[cef.size() - 1] = 'y';
  EXPECT_FALSE(verifyCefLine(bad, signer->publicKey(), &reason));
  EXPECT_FALSE(verifyCefLine(cef, signer->publicKey(), &reason));
  EXPECT_EQ(reason, "no sig extension");
}

TEST(Base64Url, EncodesWithoutPaddingAndDecodesStrictly) {
  EXPECT_EQ(base64UrlEncode(""), "");
  EXPECT_EQ(base64UrlEncode("f"), "Zg");
  EXPECT_EQ(base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64UrlDecode("Zm9v"), "foo");
  EXPECT_EQ(base64UrlDecode("Zg"), "f");
  EXPECT_EQ(base64UrlDecode("Zg=="), "f");
  EXPECT_EQ(base64UrlDecode("-_8"), "\xfb\xff");
  EXPECT_FALSE(base64UrlDecode("Zh"));    // non-zero trailing bits
  EXPECT_FALSE(base64UrlDecode("Z"));     // impossible length
  EXPECT_FALSE(base64UrlDecode("+/8="));  // base64, not base64url
  for (int n = 0; n < 70; ++n) {
    std::string bytes;
    for (int i = 0; i < n; ++i) bytes.push_back(static_cast<char>(i * 37 + n));
    EXPECT_EQ(base64UrlDecode(base64UrlEncode(bytes)), bytes);
  }
}

TEST_F(SignerFiles, LoadsAnEd25519PemKey) {
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(kSecret1.data()), 32);
  auto path = writeKey("signing.pem", key);
  EVP_PKEY_free(key);

  auto loaded = Signer::loadPem(path);
  ASSERT_TRUE(loaded) << loaded.message();
  const SignerPtr& signer = *loaded;
  EXPECT_EQ(signer->publicKey(), kPublic1);
  EXPECT_EQ(signer->sign(""), base64UrlEncode(kSignature1));
}

TEST_F(SignerFiles, RefusesOtherKeyTypesNamingTheFile) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(key, nullptr);
  auto path = writeKey("ec.pem", key);
  EVP_PKEY_free(key);

  auto loaded = Signer::loadPem(path);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.message(), path.string() + ": not an Ed25519 private key");
}

TEST_F(SignerFiles, ReportsMissingAndGarbageFiles) {
  auto missing = Signer::loadPem(dir_ / "missing.pem");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.message().find("missing.pem"), std::string::npos) << missing.message();

  auto garbage = dir_ / "garbage.pem";
  std::ofstream(garbage) << "hello\n";
  auto loaded = Signer::loadPem(garbage);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.message().find("garbage.pem: not a PEM private key"), std::string::npos)
      << loaded.message();
}

}  // namespace
}  // namespace audit::signing
