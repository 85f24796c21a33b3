#include "jobs/webhook_options.hpp"

#include <gtest/gtest.h>

namespace audit::jobs {
namespace {

TEST(WebhookOptions, TheClientGetsTheWebhooksEndpointSecretsTlsAndTimeout) {
  config::WebhookSettings hook;
  hook.endpoint = "https://siem.example.com/audit";
  hook.authorization = "Bearer abc";
  hook.headers = {{"X-Tenant", "acme"}};
  hook.skip_ssl_verification = true;
  hook.ca_file = "/etc/ssl/siem-ca.pem";
  hook.timeout = Millis(2'500);
  hook.standard_webhooks = config::StandardWebhooksSettings{"/etc/whsec", "whsec_abc", true};

  const webhook::ClientOptions client = clientOptions(hook);
  EXPECT_EQ(client.endpoint, hook.endpoint);
  EXPECT_EQ(client.authorization, "Bearer abc");
  EXPECT_EQ(client.headers, hook.headers);
  EXPECT_TRUE(client.tls.skip_verification);
  EXPECT_EQ(client.tls.ca_file, hook.ca_file);
  EXPECT_EQ(client.timeout, Millis(2'500));
  ASSERT_TRUE(client.standard_webhooks);
  EXPECT_EQ(client.standard_webhooks->secret, "whsec_abc");
  EXPECT_TRUE(client.standard_webhooks->asymmetric);

  EXPECT_FALSE(clientOptions(config::WebhookSettings{}).standard_webhooks);
}

TEST(WebhookOptions, RetryAndEncodingFollowTheRegion) {
  const config::RetrySettings retry{Millis(1), Millis(2), 3, Millis(4)};
  const webhook::RetryOptions r = retryOptions(retry);
  EXPECT_EQ(r.initial_backoff, Millis(1));
  EXPECT_EQ(r.max_backoff, Millis(2));
  EXPECT_EQ(r.max_attempts, 3u);
  EXPECT_EQ(r.max_elapsed, Millis(4));

  config::WebhookSettings hook;
  hook.log_format = config::EventFormat::Cef;
  hook.compression = config::Compression::None;
  const webhook::EncodeOptions e = encodeOptions(hook);
  EXPECT_EQ(e.format, webhook::Format::Cef);
  EXPECT_EQ(e.compression, webhook::Compression::None);
  EXPECT_EQ(e.signer, nullptr);

  EXPECT_EQ(webhookFormat(config::EventFormat::Json), webhook::Format::Json);
  EXPECT_EQ(webhookFormat(config::EventFormat::Cps), webhook::Format::Cps);
  EXPECT_EQ(webhookCompression(config::Compression::Gzip), webhook::Compression::Gzip);
  // The names the export stream and the API show are the configuration's.
  for (auto f : {config::EventFormat::Json, config::EventFormat::Cef, config::EventFormat::Cps}) {
    EXPECT_EQ(webhook::toString(webhookFormat(f)), config::toString(f));
  }
}

}  // namespace
}  // namespace audit::jobs
