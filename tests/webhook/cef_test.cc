#include "webhook/cef.hpp"

#include <gtest/gtest.h>

#include "common/event_batch.hpp"
#include "signing/signer.hpp"
#include "webhook/encoder.hpp"

namespace audit::webhook {
namespace {

TEST(CefEscape, HeaderEscapesBackslashAndPipe) {
  EXPECT_EQ(cefEscapeHeader("plain"), "plain");
  EXPECT_EQ(cefEscapeHeader("a|b"), "a\\|b");
  EXPECT_EQ(cefEscapeHeader("a\\b"), "a\\\\b");
  EXPECT_EQ(cefEscapeHeader("a=b"), "a=b");  // '=' is literal in the header
  EXPECT_EQ(cefEscapeHeader("two\nlines\r"), "two lines ");
  EXPECT_EQ(cefEscapeHeader(""), "");
}

TEST(CefEscape, ExtensionEscapesBackslashEqualsAndNewlines) {
  EXPECT_EQ(cefEscapeExtension("plain value"), "plain value");
  EXPECT_EQ(cefEscapeExtension("a=b"), "a\\=b");
  EXPECT_EQ(cefEscapeExtension("C:\\dir"), "C:\\\\dir");
  EXPECT_EQ(cefEscapeExtension("l1\nl2\rl3"), "l1\\nl2\\rl3");
  EXPECT_EQ(cefEscapeExtension("a|b"), "a|b");  // '|' is literal in extensions
  EXPECT_EQ(cefEscapeExtension("\\="), "\\\\\\=");
}

constexpr const char* kKonnectEvent =
    R"({"cef_version":0,"event_class_id":"AUTHENTICATION_TYPE_PAT","event_product":"Konnect",)"
    R"("event_ts":"2025-05-19T00:03:39Z","event_vendor":"KongInc","event_version":"1.0",)"
    R"("name":"AUTHENTICATION_OUTCOME_SUCCESS","org_id":"b065b594","principal_id":"87655c36",)"
    R"("request":"/api/v1/personal-access-tokens/introspect","rt":"1747613019000","severity":1,)"
    R"("sig":"N_4q2pCg","src":"127.0.0.1","success":true,"trace_id":"3895213347334635099",)"
    R"("user_agent":"grpc-go/1.51.0"})";

TEST(RenderCef, RendersRtThenTheStoredOrderThenSig) {
  EXPECT_EQ(renderCef(kKonnectEvent),
            "2025-05-19T00:03:39Z konghq.com CEF:0|KongInc|Konnect|1.0|AUTHENTICATION_TYPE_PAT|"
            "AUTHENTICATION_OUTCOME_SUCCESS|1|rt=1747613019000 org_id=b065b594 "
            "principal_id=87655c36 request=/api/v1/personal-access-tokens/introspect "
            "src=127.0.0.1 success=true trace_id=3895213347334635099 user_agent=grpc-go/1.51.0 "
            "sig=N_4q2pCg");
}

// Konnect's documented line, values elided there filled in; the JSON event holds the same
// fields, in the order Konnect writes them (header fields between, wherever they sit).
constexpr const char* kKonnectLine =
    "2025-06-18T21:02:36Z konghq.com CEF:0|KongInc|Konnect|1.0|konnect|Authz.control-planes|1|"
    "rt=1750280466889 src=127.0.0.6 action=list granted=true "
    "org_id=d43a5b2e-5a13-4a10-9a7b-6b1c4a0e2f11 principal_id=8a9b7c6d-1e2f-4a3b-9c8d-7e6f5a4b3c2d "
    "trace_id=7612083411264523221 user_agent=grpc-node-js/1.12.4 sig=";
constexpr const char* kKonnectJson =
    R"({"cef_version":0,"event_class_id":"konnect","event_product":"Konnect",)"
    R"("event_ts":"2025-06-18T21:02:36Z","event_vendor":"KongInc","event_version":"1.0",)"
    R"("name":"Authz.control-planes","rt":1750280466889,"severity":1,"src":"127.0.0.6",)"
    R"("action":"list","granted":true,"org_id":"d43a5b2e-5a13-4a10-9a7b-6b1c4a0e2f11",)"
    R"("principal_id":"8a9b7c6d-1e2f-4a3b-9c8d-7e6f5a4b3c2d","trace_id":"7612083411264523221",)"
    R"("user_agent":"grpc-node-js/1.12.4"})";

TEST(RenderCefGolden, KonnectsDocumentedLineIsByteIdenticalButTheSignature) {
  const auto signer = signing::Signer::fromRawPrivateKey(std::string(32, '\x07')).value();
  EventBatch batch;
  batch.add(kKonnectJson, 1750280466889);
  EncodeOptions options{Format::Cef, Compression::None, 1, signer.get()};
  const std::string line = encodeBatch(batch, options).bytes;
  const std::string prefix = kKonnectLine;
  ASSERT_TRUE(line.starts_with(prefix)) << line;
  const std::string sig = line.substr(prefix.size());
  EXPECT_EQ(sig.size(), 86u);
  EXPECT_EQ(sig.find(' '), std::string::npos);
  std::string reason;
  EXPECT_TRUE(signing::verifyCefLine(line, signer->publicKey(), &reason)) << reason;
  // Unsigned: the same line without the sig extension.
  EXPECT_EQ(renderCef(kKonnectJson), prefix.substr(0, prefix.size() - 5));
}

TEST(RenderCefGolden, KonnectsLineWithTheHeaderFieldsFirstOrLast) {
  // Where the header fields sit in the JSON does not move an extension.
  const std::string header_last =
      R"({"rt":"1750280466889","src":"127.0.0.6","action":"list","granted":true,)"
      R"("org_id":"d43a5b2e-5a13-4a10-9a7b-6b1c4a0e2f11",)"
      R"("principal_id":"8a9b7c6d-1e2f-4a3b-9c8d-7e6f5a4b3c2d","trace_id":"7612083411264523221",)"
      R"("user_agent":"grpc-node-js/1.12.4","cef_version":0,"event_class_id":"konnect",)"
      R"("event_product":"Konnect","event_ts":"2025-06-18T23:02:36.412+02:00",)"
      R"("event_vendor":"KongInc","event_version":"1.0","name":"Authz.control-planes",)"
      R"("severity":1})";
  const std::string expected = kKonnectLine;
  EXPECT_EQ(renderCef(header_last), expected.substr(0, expected.size() - 5));
}

TEST(RenderCef, TimeIsUtcToTheWholeSecond) {
  EXPECT_TRUE(renderCef(R"({"event_ts":"2025-06-18T21:02:36.999Z"})")
                  .starts_with("2025-06-18T21:02:36Z konghq.com"));
  EXPECT_TRUE(renderCef(R"({"event_ts":"2025-06-19T01:32:36+04:30"})")
                  .starts_with("2025-06-18T21:02:36Z konghq.com"));
  EXPECT_TRUE(renderCef(R"({"rt":-1})").starts_with("1969-12-31T23:59:59Z konghq.com"));
}

TEST(RenderCef, AnEventsOwnSigBecomesOriginSigOrIsLeftOut) {
  std::string line = renderCef(kKonnectEvent, /*include_sig=*/false);
  EXPECT_EQ(line.find("sig="), std::string::npos);
  EXPECT_TRUE(line.ends_with("user_agent=grpc-go/1.51.0"));
  line = renderCef(kKonnectEvent, SigRendering::AsOriginSig);
  EXPECT_TRUE(line.ends_with("user_agent=grpc-go/1.51.0 origin_sig=N_4q2pCg")) << line;
}

TEST(RenderCef, KeepsTheProducersKeyOrder) {
  EXPECT_EQ(renderCef(R"({"zeta":"z","rt":1,"alpha":"a","name":"n","src":"s"})"),
            "1970-01-01T00:00:00Z konghq.com CEF:0|KongInc|Konnect|1.0|unknown|n|1|"
            "rt=1 zeta=z alpha=a src=s");
}

TEST(RenderCef, FallsBackToDefaultsAndRtForTheTime) {
  // 1700000000123 ms = 2023-11-14T22:13:20.123Z
  EXPECT_EQ(renderCef(R"({"rt":1700000000123,"action":"login"})"),
            "2023-11-14T22:13:20Z konghq.com CEF:0|KongInc|Konnect|1.0|unknown|unknown|1|"
            "rt=1700000000123 action=login");
  EXPECT_EQ(renderCef(R"({"rt":"1700000000000"})"),
            "2023-11-14T22:13:20Z konghq.com CEF:0|KongInc|Konnect|1.0|unknown|unknown|1|"
            "rt=1700000000000");
  EXPECT_TRUE(renderCef(R"({"a":1})").starts_with("- konghq.com CEF:0|"));
}

TEST(RenderCef, EscapesHeaderFieldsAndExtensionValues) {
  std::string line =
      renderCef(R"({"event_ts":"2025-01-01T00:00:00Z","event_class_id":"A|B","name":"x\\y",)"
                R"("severity":"7","request":"/p?a=1&b=2","note":"line1\nline2"})");
  EXPECT_EQ(line,
            "2025-01-01T00:00:00Z konghq.com CEF:0|KongInc|Konnect|1.0|A\\|B|x\\\\y|7|"
            "request=/p?a\\=1&b\\=2 note=line1\\nline2");
}

TEST(RenderCef, SerialisesObjectsArraysAndNumbersCompactly) {
  std::string line =
      renderCef(R"({"rt":5,"details":{"k":"v=1","n":[1,2]},"ratio":1.5,"big":18446744073709551615,)"
                R"("none":null,"flag":false})");
  EXPECT_EQ(line,
            "1970-01-01T00:00:00Z konghq.com CEF:0|KongInc|Konnect|1.0|unknown|unknown|1|"
            "rt=5 details={\"k\":\"v\\=1\",\"n\":[1,2]} ratio=1.5 big=18446744073709551615 "
            "flag=false");
}

TEST(RenderCef, SanitisesKeysThatCouldForgeASeparator) {
  std::string line = renderCef(R"({"rt":1,"bad key=x":"v","":"e"})");
  EXPECT_NE(line.find(" _=e"), std::string::npos) << line;
  EXPECT_NE(line.find(" bad_key_x=v"), std::string::npos) << line;
}

TEST(RenderCef, KeepsNonObjectsAsAMessage) {
  EXPECT_EQ(renderCef("not json = at all\n"),
            "- konghq.com CEF:0|KongInc|Konnect|1.0|unknown|unparsed event|1|"
            "msg=not json \\= at all\\n");
  EXPECT_TRUE(renderCef("[1,2]").ends_with("|msg=[1,2]"));
}

TEST(RenderCef, IgnoresAnInvalidEventTs) {
  std::string line = renderCef(R"({"event_ts":"yesterday","rt":0})");
  EXPECT_TRUE(line.starts_with("1970-01-01T00:00:00Z konghq.com")) << line;
}

}  // namespace
}  // namespace audit::webhook
