#pragma once
// Secrets out of what a receiver says back. A webhook may echo the request's Authorization
// (or another configured header) in an error body; that body becomes the job's error, the
// webhook status, API answers and log lines. Redacted once, where the answer is read.

#include <string>
#include <string_view>
#include <vector>

namespace audit::webhook::detail {

inline constexpr std::string_view kRedacted = "[redacted]";

/**
 * The values to hide for a webhook: its Authorization value, that value's credentials
 * without the scheme ("Bearer abc" → also "abc"), and the configured header values.
 * Values shorter than 4 bytes are left out (they would mangle ordinary text).
 */
std::vector<std::string> secretsOf(std::string_view authorization,
                                   const std::vector<std::string>& header_values);

/**
 * `text` with every occurrence of each secret, and the credentials after any
 * "Bearer "/"Basic " (case-insensitive), replaced with "[redacted]".
 */
std::string redact(std::string_view text, const std::vector<std::string>& secrets);

}  // namespace audit::webhook::detail
