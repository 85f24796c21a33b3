// webhook.standard_webhooks and webhook.alternate_endpoints.

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "tests/config/temp_dir.hpp"

namespace audit::config {
namespace {

using test::TempDir;

std::string describeErrors(const LoadResult& r) {
  std::string out;
  for (const ConfigError& e : r.errors) out += e.toString() + "\n";
  return out;
}

TEST(ConfigBeyond, StandardWebhooksSecretAndAlternateEndpointsAreRead) {
  TempDir dir;
  dir.write("sw.secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
  LoadResult r = parseConfig(
      "regions:\n  us:\n    webhook:\n      endpoint: https://siem.example.com/a\n"
      "      standard_webhooks: {secret_file: sw.secret}\n"
      "      alternate_endpoints: [\"https://forensics.example.com/\", "
      "\"http://10.0.0.5:8080/\"]\n",
      "config.yaml", dir.path());
  ASSERT_TRUE(r.ok()) << describeErrors(r);
  const WebhookSettings& w = r.config->regions.at("us").webhook;
  ASSERT_TRUE(w.standard_webhooks);
  EXPECT_EQ(w.standard_webhooks->secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(w.standard_webhooks->secret_file, dir.path() / "sw.secret");
  EXPECT_FALSE(w.standard_webhooks->asymmetric);
  ASSERT_EQ(w.alternate_endpoints.size(), 2u);
  EXPECT_EQ(w.alternate_endpoints[1], "http://10.0.0.5:8080/");
}

TEST(ConfigBeyond, DefaultsAreNoSignatureAndNoAlternateEndpoint) {
  TempDir dir;
  LoadResult r = parseConfig("regions:\n  us:\n    webhook: {endpoint: https://h.example/a}\n",
                             "config.yaml", dir.path());
  ASSERT_TRUE(r.ok()) << describeErrors(r);
  EXPECT_FALSE(r.config->regions.at("us").webhook.standard_webhooks);
  EXPECT_TRUE(r.config->regions.at("us").webhook.alternate_endpoints.empty());
}

TEST(ConfigBeyond, BadValuesNameTheKeyAndNeverQuoteTheSecret) {
  TempDir dir;
  dir.write("bad.secret", "sk_live_not-a-whsec\n");
  LoadResult r = parseConfig(
      "regions:\n  us:\n    webhook:\n      endpoint: https://h.example/a\n"
      "      standard_webhooks: {secret_file: bad.secret, asymmetric: true}\n"
      "      alternate_endpoints: [\"ftp://x/\"]\n",
      "config.yaml", dir.path());
  ASSERT_FALSE(r.ok());
  const std::string text = describeErrors(r);
  EXPECT_NE(text.find("regions.us.webhook.standard_webhooks.secret_file"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("sk_live"), std::string::npos) << text;
  EXPECT_NE(text.find("asymmetric: true signs with signing.key_file"), std::string::npos) << text;
  EXPECT_NE(text.find("regions.us.webhook.alternate_endpoints"), std::string::npos) << text;
  EXPECT_NE(text.find("ftp://x/"), std::string::npos) << text;
}

}  // namespace
}  // namespace audit::config
