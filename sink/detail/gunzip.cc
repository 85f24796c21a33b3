#include "sink/detail/gunzip.hpp"

#include <libdeflate.h>

#include <algorithm>
#include <cstdint>
#include <new>

namespace audit::sink::detail {
namespace {

// DEFLATE cannot expand data by more than about 1032:1; bounds the size hint below.
constexpr std::size_t kMaxRatio = 1032;
constexpr std::size_t kGzipOverhead = 18;  // 10-byte header + 8-byte trailer

/** The gzip trailer's ISIZE (plain size mod 2^32) of the last member: exact for the usual
 *  single-member body, so one decode pass and almost no zero-filling on resize. */
std::size_t sizeHint(std::string_view in) {
  if (in.size() < kGzipOverhead) return 0;
  const auto* tail = reinterpret_cast<const unsigned char*>(in.data() + in.size() - 4);
  return static_cast<std::size_t>(tail[0]) | static_cast<std::size_t>(tail[1]) << 8 |
         static_cast<std::size_t>(tail[2]) << 16 | static_cast<std::size_t>(tail[3]) << 24;
}

}  // namespace

Gunzipper::Gunzipper() : decompressor_(libdeflate_alloc_decompressor()) {
  if (decompressor_ == nullptr) throw std::bad_alloc();
}

Gunzipper::~Gunzipper() {
  libdeflate_free_decompressor(decompressor_);
}

Gunzipper::Result Gunzipper::decompress(std::string_view in, std::string& out, std::size_t cap) {
  const std::size_t bound = std::min(cap, in.size() * kMaxRatio);
  out.resize(std::min(std::max<std::size_t>(sizeHint(in), 1), bound));
  std::size_t produced = 0;
  while (!in.empty()) {
    std::size_t in_used = 0;
    std::size_t out_used = 0;
    const auto result =
        libdeflate_gzip_decompress_ex(decompressor_, in.data(), in.size(), out.data() + produced,
                                      out.size() - produced, &in_used, &out_used);
    if (result == LIBDEFLATE_INSUFFICIENT_SPACE) {
      // The member is decoded again from its start into a larger buffer: with the size hint
      // this only happens for multi-member bodies or a hint past 4 GiB.
      if (out.size() >= cap) return Result::TooLarge;
      out.resize(std::min(cap, std::max(out.size() * 2, produced + in.size() * 4)));
      continue;
    }
    if (result != LIBDEFLATE_SUCCESS) return Result::BadData;
    produced += out_used;
    in.remove_prefix(in_used);
    if (produced == out.size() && !in.empty()) out.resize(std::min(cap, out.size() * 2));
  }
  out.resize(produced);
  return Result::Ok;
}

}  // namespace audit::sink::detail
