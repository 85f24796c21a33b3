#include "jobs/webhook_options.hpp"

namespace audit::jobs {

webhook::Format webhookFormat(config::EventFormat format) {
  switch (format) {
    case config::EventFormat::Json:
      return webhook::Format::Json;
    case config::EventFormat::Cef:
      return webhook::Format::Cef;
    case config::EventFormat::Cps:
      return webhook::Format::Cps;
  }
  return webhook::Format::Json;
}

webhook::Compression webhookCompression(config::Compression compression) {
  switch (compression) {
    case config::Compression::Gzip:
      return webhook::Compression::Gzip;
    case config::Compression::None:
      return webhook::Compression::None;
  }
  return webhook::Compression::Gzip;
}

webhook::ClientOptions clientOptions(const config::WebhookSettings& webhook) {
  webhook::ClientOptions out;
  out.endpoint = webhook.endpoint;
  out.authorization = webhook.authorization;
  out.headers = webhook.headers;
  out.tls.skip_verification = webhook.skip_ssl_verification;
  out.tls.ca_file = webhook.ca_file;
  out.timeout = webhook.timeout;
  if (webhook.standard_webhooks) {
    out.standard_webhooks = webhook::StandardWebhooksOptions{webhook.standard_webhooks->secret,
                                                             webhook.standard_webhooks->asymmetric};
  }
  return out;
}

webhook::RetryOptions retryOptions(const config::RetrySettings& retry) {
  return webhook::RetryOptions{retry.initial_backoff, retry.max_backoff, retry.max_attempts,
                               retry.max_elapsed};
}

webhook::EncodeOptions encodeOptions(const config::WebhookSettings& webhook) {
  webhook::EncodeOptions out;
  out.format = webhookFormat(webhook.log_format);
  out.compression = webhookCompression(webhook.compression);
  return out;
}

}  // namespace audit::jobs
