// A region's webhook settings changed over the API: validation of a change, the stored form,
// and how it is laid over the configuration file's settings.

#include "jobs/webhook_override.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace audit::jobs {
namespace {

namespace json = boost::json;

config::Config fileConfig() {
  config::Config c;
  config::RegionSettings us;
  us.name = "us";
  us.webhook.endpoint = "https://siem.example/a";
  us.webhook.authorization_file = "/etc/audit-replay/us.auth";
  us.webhook.authorization = "Bearer from-file";
  c.regions["us"] = us;
  c.regions["eu"] = us;
  c.regions["eu"].name = "eu";
  return c;
}

TEST(WebhookOverride, AGoodPatchIsMergedAndLaidOverTheFile) {
  WebhookOverride o;
  Refusal refusal;
  ASSERT_TRUE(
      mergePatch(json::parse(R"({"enabled":false,"log_format":"cef"})").as_object(), o, refusal));
  ASSERT_TRUE(mergePatch(
      json::parse(R"({"endpoint":"http://h:8080/x","authorization":"Bearer api"})").as_object(), o,
      refusal));
  const config::Config merged = withOverrides(fileConfig(), {{"us", o}, {"gone", o}});
  const auto& us = merged.regions.at("us").webhook;
  EXPECT_EQ(us.endpoint, "http://h:8080/x");
  EXPECT_EQ(us.authorization, "Bearer api");
  EXPECT_FALSE(us.authorization_file.has_value());
  EXPECT_FALSE(us.enabled);
  EXPECT_EQ(us.log_format, config::EventFormat::Cef);
  EXPECT_FALSE(us.skip_ssl_verification);  // not changed: the file's
  EXPECT_EQ(merged.regions.at("eu").webhook.endpoint, "https://siem.example/a");
  EXPECT_EQ(merged.regions.size(), 2u);  // an override of an unknown region adds none
}

TEST(WebhookOverride, ABadPatchNamesEveryFieldAndChangesNothing) {
  WebhookOverride o;
  o.enabled = true;
  Refusal refusal;
  EXPECT_FALSE(mergePatch(json::parse(R"({"enabled":"no","log_format":"xml","colour":"red",)"
                                      R"("endpoint":"ftp://h/","authorization":"a\nb",)"
                                      R"("skip_ssl_verification":1})")
                              .as_object(),
                          o, refusal));
  EXPECT_EQ(refusal.code, 400);
  std::vector<std::string> fields;
  for (const auto& [field, reason] : refusal.fields) fields.push_back(field);
  EXPECT_EQ(fields, (std::vector<std::string>{"enabled", "log_format", "colour", "endpoint",
                                              "authorization", "skip_ssl_verification"}));
  EXPECT_EQ(refusal.reason.find("a\nb"), std::string::npos);  // a secret is never quoted
  EXPECT_EQ(o.enabled, true);
  EXPECT_FALSE(o.log_format.has_value());
}

TEST(WebhookOverride, RoundTripsThroughItsStoredForm) {
  WebhookOverride o;
  o.endpoint = "https://x/y";
  o.authorization = "Bearer s";
  o.enabled = false;
  o.log_format = config::EventFormat::Cps;
  o.skip_ssl_verification = true;
  o.updated_ms = 1'750'280'466'889;
  const auto back = WebhookOverride::parse(o.serialize());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->endpoint, o.endpoint);
  EXPECT_EQ(back->authorization, o.authorization);
  EXPECT_EQ(back->enabled, o.enabled);
  EXPECT_EQ(back->log_format, o.log_format);
  EXPECT_EQ(back->skip_ssl_verification, o.skip_ssl_verification);
  EXPECT_EQ(back->updated_ms, o.updated_ms);
  EXPECT_TRUE(WebhookOverride::parse(WebhookOverride{}.serialize())->empty());
  EXPECT_FALSE(WebhookOverride::parse("not json"));
}

TEST(WebhookOverride, TheViewNeverHoldsTheAuthorization) {
  const auto view =
      webhookConfigView("us", fileConfig().regions.at("us").webhook, false, 1'750'280'466'889);
  EXPECT_EQ(view, json::parse(R"({"region":"us","endpoint":"https://siem.example/a",)"
                              R"("enabled":true,"log_format":"json","skip_ssl_verification":false,)"
                              R"("updated_at":"2025-06-18T21:01:06Z","overridden":false})"));
}

}  // namespace
}  // namespace audit::jobs
