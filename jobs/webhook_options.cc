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

std::string loggableEndpoint(std::string_view url) {
  if (const auto cut = url.find_first_of("?#"); cut != std::string_view::npos) {
    url = url.substr(0, cut);
  }
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const auto host_start = scheme + 3;
  const auto host_end = url.find('/', host_start);
  const auto at = url.substr(0, host_end).rfind('@');
  if (at == std::string_view::npos || at < host_start) return std::string(url);
  return std::string(url.substr(0, host_start)) + std::string(url.substr(at + 1));
}

webhook::EncodeOptions encodeOptions(const config::WebhookSettings& webhook) {
  webhook::EncodeOptions out;
  out.format = webhookFormat(webhook.log_format);
  out.compression = webhookCompression(webhook.compression);
  return out;
}

}  // namespace audit::jobs
