#include "webhook/cef.hpp"

#include <gtest/gtest.h>

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

TEST(RenderCef, RendersAKonnectEventInTheDocumentedOrder) {
  EXPECT_EQ(renderCef(kKonnectEvent),
            "2025-05-19T00:03:39Z konghq.com CEF:0|KongInc|Konnect|1.0|AUTHENTICATION_TYPE_PAT|"
            "AUTHENTICATION_OUTCOME_SUCCESS|1|rt=1747613019000 src=127.0.0.1 "
            "request=/api/v1/personal-access-tokens/introspect success=true org_id=b065b594 "
            "principal_id=87655c36 trace_id=3895213347334635099 user_agent=grpc-go/1.51.0 "
            "sig=N_4q2pCg");
}

TEST(RenderCef, LeavesOutTheEventsSigWhenAsked) {
  std::string line = renderCef(kKonnectEvent, /*include_sig=*/false);
  EXPECT_EQ(line.find("sig="), std::string::npos);
  EXPECT_TRUE(line.ends_with("user_agent=grpc-go/1.51.0"));
}

TEST(RenderCef, DoesNotDependOnTheProducersKeyOrder) {
  EXPECT_EQ(renderCef(R"({"rt":1,"zeta":"z","alpha":"a","name":"n","src":"s"})"),
            renderCef(R"({"src":"s","alpha":"a","name":"n","zeta":"z","rt":1})"));
}

TEST(RenderCef, FallsBackToDefaultsAndRtForTheTime) {
  // 1700000000123 ms = 2023-11-14T22:13:20.123Z
  EXPECT_EQ(renderCef(R"({"rt":1700000000123,"action":"login"})"),
            "2023-11-14T22:13:20.123Z konghq.com CEF:0|KongInc|Konnect|1.0|unknown|unknown|1|"
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
            "1970-01-01T00:00:00.005Z konghq.com CEF:0|KongInc|Konnect|1.0|unknown|unknown|1|"
            "rt=5 big=18446744073709551615 details={\"k\":\"v\\=1\",\"n\":[1,2]} flag=false "
            "ratio=1.5");
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
