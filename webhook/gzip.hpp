#pragma once
// gzip (RFC 1952) with libdeflate. Thread-safe; each call uses its own compressor.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace audit::webhook {

std::string gzipCompress(std::string_view plain, int level = 1);

enum class InflateResult { ok, corrupt, over_limit };

/**
 * Inflates every gzip member of `compressed` (back to back, RFC 1952 §2.2) into `out`,
 * which is cleared first (its capacity is kept for reuse): at most `max_size` bytes.
 */
InflateResult gzipDecompressInto(std::string_view compressed, std::size_t max_size,
                                 std::string& out);

/** nullopt for a corrupt stream or one that inflates past `max_size` (a gzip bomb). */
std::optional<std::string> gzipDecompress(std::string_view compressed,
                                          std::size_t max_size = 1u << 30);

}  // namespace audit::webhook
