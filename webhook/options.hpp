#pragma once
// What webhook/ is told, in its own terms: the receiver a client posts to, how a batch is
// encoded, how long a batch is retried. Only the fields webhook/ reads; the job engine fills
// them from the configuration (jobs/webhook_options.hpp), tests and tools directly.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"

namespace audit::webhook {

/** The body's lines (docs/formats.md). */
enum class Format { Json, Cef, Cps };

enum class Compression { Gzip, None };

/** "json", "cef", "cps" */
constexpr std::string_view toString(Format format) {
  switch (format) {
    case Format::Json:
      return "json";
    case Format::Cef:
      return "cef";
    case Format::Cps:
      return "cps";
  }
  return "json";
}

/** How the receiver's certificate is checked on an https endpoint. */
struct TlsOptions {
  /** No verification at all (the operator asked for it). */
  bool skip_verification = false;
  /** Trusted CAs; unset: the system store. */
  std::optional<std::filesystem::path> ca_file;
};

/** Standard Webhooks signature headers (webhook-id, webhook-timestamp, webhook-signature). */
struct StandardWebhooksOptions {
  /** The `whsec_…` secret, for `v1,` HMAC-SHA256. Secret. */
  std::string secret;
  /** true: `v1a,` Ed25519 with the client's signer instead. */
  bool asymmetric = false;
};

/** The receiver a WebhookClient posts to. */
struct ClientOptions {
  /** http:// or https:// URL. */
  std::string endpoint;
  /** The Authorization header value; empty: none. Secret. */
  std::string authorization;
  /** Extra request headers, sent as given. */
  std::vector<std::pair<std::string, std::string>> headers;
  TlsOptions tls;
  /** One attempt, from resolve to the last byte of the answer; 0 or less: 10 s. */
  Millis timeout{10'000};
  std::optional<StandardWebhooksOptions> standard_webhooks;
};

/** How long one batch is retried (RetryPolicy). */
struct RetryOptions {
  Millis initial_backoff{500};
  Millis max_backoff{30'000};
  unsigned max_attempts = 12;
  Millis max_elapsed{15 * 60'000};
};

}  // namespace audit::webhook
