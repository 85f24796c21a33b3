#include "webhook/cef_parse.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "webhook/cef.hpp"

namespace audit::webhook {
namespace {

namespace json = boost::json;

constexpr const char* kKonnectLine =
    "2025-05-19T00:03:39Z konghq.com CEF:0|KongInc|Konnect|1.0|AUTHENTICATION_TYPE_PAT|"
    "AUTHENTICATION_OUTCOME_SUCCESS|1|rt=1747613019000 src=127.0.0.1 "
    "request=/api/v1/personal-access-tokens/introspect success=true org_id=b065b594 "
    "principal_id=87655c36 trace_id=3895213347334635099 user_agent=grpc-go/1.51.0 "
    "sig=N_4q2pCg";

json::object parsedObject(std::string_view line) {
  const CefParsed parsed = parseCef(line);
  EXPECT_TRUE(parsed.ok()) << parsed.error;
  return json::parse(parsed.json).as_object();
}

TEST(CefUnescape, InvertsTheEscapes) {
  for (std::string_view s : {"plain", "a|b", "a\\b", "a=b", "\\|\\", ""}) {
    EXPECT_EQ(cefUnescapeHeader(cefEscapeHeader(s)), s);
  }
  for (std::string_view s : {"plain value", "a=b", "C:\\dir", "l1\nl2\rl3", "\\=", "a|b", ""}) {
    EXPECT_EQ(cefUnescapeExtension(cefEscapeExtension(s)), s);
  }
  EXPECT_EQ(cefUnescapeExtension("a\\tb\\"), "a\\tb\\");  // unknown escapes stay
}

TEST(ParseCef, ReadsKonnectsLineBackToItsFields) {
  const json::object event = parsedObject(kKonnectLine);
  EXPECT_EQ(event.at("cef_version"), json::value(0));
  EXPECT_EQ(event.at("event_vendor"), json::value("KongInc"));
  EXPECT_EQ(event.at("event_product"), json::value("Konnect"));
  EXPECT_EQ(event.at("event_version"), json::value("1.0"));  // "1.0" does not render 1.0 back
  EXPECT_EQ(event.at("event_class_id"), json::value("AUTHENTICATION_TYPE_PAT"));
  EXPECT_EQ(event.at("name"), json::value("AUTHENTICATION_OUTCOME_SUCCESS"));
  EXPECT_EQ(event.at("severity"), json::value(1));
  EXPECT_EQ(event.at("rt"), json::value(1747613019000));
  EXPECT_EQ(event.at("success"), json::value(true));
  EXPECT_EQ(event.at("request"), json::value("/api/v1/personal-access-tokens/introspect"));
  EXPECT_EQ(event.at("trace_id"), json::value(3895213347334635099));
  EXPECT_EQ(event.at("sig"), json::value("N_4q2pCg"));
  // rt renders to 2025-05-19T00:03:39Z itself: no event_ts needed.
  EXPECT_FALSE(event.contains("event_ts"));
}

TEST(ParseCef, RendersBackToTheSameLine) {
  const CefParsed parsed = parseCef(kKonnectLine);
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  EXPECT_EQ(renderCef(parsed.json), kKonnectLine);
}

TEST(ParseCef, RoundTripsEscapesSpacesAndTypes) {
  const std::string event =
      R"({"rt":1700000000123,"name":"a|b\\c","msg":"x = y\nz\r","path":"C:\\dir","empty":"",)"
      R"("spaced":"two  words ","num":-12,"ratio":1.5,"flag":false,"nested":{"a":[1,2]},)"
      R"("digits":"007","big":18446744073709551615,"event_class_id":"k"})";
  const std::string line = renderCef(event);
  const CefParsed parsed = parseCef(line);
  ASSERT_TRUE(parsed.ok()) << parsed.error << " in " << line;
  EXPECT_EQ(renderCef(parsed.json), line);
  const json::object back = json::parse(parsed.json).as_object();
  EXPECT_EQ(back.at("name"), json::value("a|b\\c"));
  EXPECT_EQ(back.at("msg"), json::value("x = y\nz\r"));
  EXPECT_EQ(back.at("spaced"), json::value("two  words "));
  EXPECT_EQ(back.at("empty"), json::value(""));
  EXPECT_EQ(back.at("num"), json::value(-12));
  EXPECT_EQ(back.at("ratio"), json::value(1.5));
  EXPECT_EQ(back.at("flag"), json::value(false));
  EXPECT_EQ(back.at("nested"), json::parse(R"({"a":[1,2]})"));
  EXPECT_EQ(back.at("digits"), json::value("007"));
  EXPECT_EQ(back.at("big"), json::value(18446744073709551615ull));
}

TEST(ParseCef, KeepsATimePrefixThatRtDoesNotGiveAsEventTs) {
  const std::string event = R"({"event_ts":"2025-06-18T21:02:36Z","rt":1750280466889})";
  const std::string line = renderCef(event);
  const json::object back = parsedObject(line);
  EXPECT_EQ(back.at("event_ts"), json::value("2025-06-18T21:02:36Z"));
  EXPECT_EQ(renderCef(json::serialize(back)), line);

  const json::object no_rt = parsedObject("2025-06-18T21:02:36Z konghq.com CEF:0|a|b|c|d|e|1|k=v");
  EXPECT_EQ(no_rt.at("event_ts"), json::value("2025-06-18T21:02:36Z"));
}

TEST(ParseCef, AcceptsALineWithoutPrefixAndAnEmptyExtension) {
  const json::object event = parsedObject("CEF:0|V|P|1|c|n|5|");
  EXPECT_EQ(event.at("severity"), json::value(5));
  EXPECT_EQ(event.size(), 7u);
}

TEST(ParseCef, RefusesMalformedLinesWithAReason) {
  EXPECT_FALSE(looksLikeCef(R"({"rt":1})"));
  EXPECT_FALSE(looksLikeCef("a b c CEF:0|"));  // three tokens before the marker
  EXPECT_TRUE(looksLikeCef("t h CEF:0|"));

  const auto error = [](std::string_view line) { return parseCef(line).error; };
  EXPECT_NE(error("t h CEF:0|V|P|1|c|n").find("5 of its 7 fields"), std::string::npos);
  EXPECT_NE(error("t h CEF:0|V|P|1|c|n|1|rt=1 bad value=x=y").find("unescaped '='"),
            std::string::npos);
  EXPECT_NE(error("t h CEF:0|V|P|1|c|n|1|novalue").find("without key=value"), std::string::npos);
  EXPECT_NE(error("t h CEF:0|V|P|1|c|n|1|lead rt=1").find("does not start"), std::string::npos);
  EXPECT_NE(error("t h CEF:0|V|P|1|c|n|1|rt=1 rt=2").find("given twice"), std::string::npos);
  EXPECT_NE(error("t h CEF:0|V|P|1|c|n|1|rt=1 name=x").find("given twice"), std::string::npos);
  EXPECT_NE(error("t h CEF:0|V|P|1|c|n|1|rt=1 a/b=2").find("[A-Za-z0-9_.-]"), std::string::npos);
  EXPECT_NE(error("plain text").find("not a CEF line"), std::string::npos);
  EXPECT_EQ(error("t h CEF:0|V|P|1|c|n|1|src=1\xff"
                  "2"),
            "CEF line is not valid UTF-8");
  EXPECT_EQ(error("t h CEF:0|V|P|1|c|n|1|k=\xed\xa0\x80"), "CEF line is not valid UTF-8");
  EXPECT_TRUE(parseCef("t h CEF:0|V|P|1|c|n|1|k=\xc3\xa9\xf0\x9f\x98\x80").ok());
}

}  // namespace
}  // namespace audit::webhook
