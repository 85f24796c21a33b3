#pragma once
// A region's configured webhook, retry and format in webhook/'s own terms: the one place
// where the configuration's types become the options webhook/ reads.

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "webhook/encoder.hpp"
#include "webhook/options.hpp"

namespace audit::jobs {

webhook::Format webhookFormat(config::EventFormat format);
webhook::Compression webhookCompression(config::Compression compression);

/** The endpoint, authorization, headers, TLS checks, timeout and Standard Webhooks key. */
webhook::ClientOptions clientOptions(const config::WebhookSettings& webhook);

webhook::RetryOptions retryOptions(const config::RetrySettings& retry);

/** The endpoint as logged: no user information, query or fragment (they may carry
 *  credentials; the configuration refuses user information, but a log line must not depend
 *  on that). */
std::string loggableEndpoint(std::string_view url);

/** The webhook's log_format and compression; no signer. */
webhook::EncodeOptions encodeOptions(const config::WebhookSettings& webhook);

}  // namespace audit::jobs
