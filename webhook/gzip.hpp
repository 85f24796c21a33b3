#pragma once
// gzip (RFC 1952) with libdeflate. Thread-safe; each call uses its own compressor.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace audit::webhook {

std::string gzipCompress(std::string_view plain, int level = 1);

/** nullopt for a corrupt stream or one that inflates past `max_size` (a gzip bomb). */
std::optional<std::string> gzipDecompress(std::string_view compressed,
                                          std::size_t max_size = 1u << 30);

}  // namespace audit::webhook
