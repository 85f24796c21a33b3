#include "webhook/gzip.hpp"

#include <libdeflate.h>

#include <algorithm>
#include <memory>

namespace audit::webhook {
namespace {

struct CompressorDeleter {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};
struct DecompressorDeleter {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

// Allocating a compressor costs more than compressing a small batch (it zeroes ~1 MB of
// tables), so each thread keeps one per level it last used. thread_local keeps the
// functions thread-safe without a lock.
libdeflate_compressor* compressorFor(int level) {
  thread_local std::unique_ptr<libdeflate_compressor, CompressorDeleter> compressor;
  thread_local int compressor_level = -1;
  if (!compressor || compressor_level != level) {
    compressor.reset(libdeflate_alloc_compressor(level));
    compressor_level = compressor ? level : -1;
  }
  return compressor.get();
}

libdeflate_decompressor* decompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, DecompressorDeleter> d(
      libdeflate_alloc_decompressor());
  return d.get();
}

// The first output buffer: the gzip trailer's ISIZE (plain size modulo 2^32) when it is
// plausible. A hostile stream can lie, so the hint is capped at deflate's best ratio
// (~1032:1) and the buffer still grows on demand.
std::size_t sizeHint(std::string_view compressed) {
  std::size_t fallback = 4 * compressed.size();
  if (compressed.size() < 18) return fallback;
  const auto* p = reinterpret_cast<const unsigned char*>(compressed.data() + compressed.size() - 4);
  std::size_t isize = static_cast<std::size_t>(p[0]) | static_cast<std::size_t>(p[1]) << 8 |
                      static_cast<std::size_t>(p[2]) << 16 | static_cast<std::size_t>(p[3]) << 24;
  return std::max(fallback, std::min(isize, compressed.size() * 1032));
}

}  // namespace

std::string gzipCompress(std::string_view plain, int level) {
  level = std::clamp(level, 0, 12);  // libdeflate's range; outside it alloc fails
  libdeflate_compressor* c = compressorFor(level);
  if (c == nullptr) throw std::bad_alloc();  // only on out-of-memory
  // Compress into a per-thread buffer of the worst-case size, then copy out what was
  // produced: the buffer is zero-filled once per thread, not for every batch, and the body
  // kept in flight is ~3.7x smaller than a compress-bound-sized string would be.
  thread_local std::string scratch;
  std::size_t bound = libdeflate_gzip_compress_bound(c, plain.size());
  if (scratch.size() < bound) scratch.resize(bound);
  std::size_t n = libdeflate_gzip_compress(c, plain.data(), plain.size(), scratch.data(), bound);
  // n == 0 cannot happen with a buffer of compress_bound bytes.
  return std::string(scratch.data(), n);
}

InflateResult gzipDecompressInto(std::string_view compressed, std::size_t max_size,
                                 std::string& out) {
  out.clear();
  libdeflate_decompressor* d = decompressor();
  if (d == nullptr) throw std::bad_alloc();  // only on out-of-memory
  if (compressed.empty()) return InflateResult::corrupt;
  // A body may be several gzip members back to back (RFC 1952 §2.2); inflate each in turn.
  while (!compressed.empty()) {
    std::size_t capacity = std::min(max_size - out.size(), sizeHint(compressed));
    for (;;) {
      std::size_t base = out.size();
      out.resize(base + capacity);
      std::size_t in_used = 0;
      std::size_t produced = 0;
      libdeflate_result r =
          libdeflate_gzip_decompress_ex(d, compressed.data(), compressed.size(), out.data() + base,
                                        capacity, &in_used, &produced);
      if (r == LIBDEFLATE_SUCCESS) {
        out.resize(base + produced);
        compressed.remove_prefix(in_used);
        break;
      }
      out.resize(base);
      if (r != LIBDEFLATE_INSUFFICIENT_SPACE) return InflateResult::corrupt;
      std::size_t room = max_size - base;
      if (capacity >= room) return InflateResult::over_limit;  // inflates past max_size
      capacity = capacity > room / 2 ? room : std::max<std::size_t>(capacity * 2, 1024);
    }
  }
  return InflateResult::ok;
}

std::optional<std::string> gzipDecompress(std::string_view compressed, std::size_t max_size) {
  std::string out;
  if (gzipDecompressInto(compressed, max_size, out) != InflateResult::ok) return std::nullopt;
  return out;
}

}  // namespace audit::webhook
