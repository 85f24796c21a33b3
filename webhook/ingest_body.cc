#include "webhook/ingest_body.hpp"

#include <libdeflate.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "webhook/cef_parse.hpp"

namespace audit::webhook {
namespace {

struct DecompressorDeleter {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

libdeflate_decompressor* decompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, DecompressorDeleter> d(
      libdeflate_alloc_decompressor());
  return d.get();
}

// The gzip trailer's ISIZE: the member's plain size modulo 2^32 (a hint; it can lie).
std::size_t trailerSize(std::string_view member) {
  if (member.size() < 18) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(member.data() + member.size() - 4);
  return static_cast<std::size_t>(p[0]) | static_cast<std::size_t>(p[1]) << 8 |
         static_cast<std::size_t>(p[2]) << 16 | static_cast<std::size_t>(p[3]) << 24;
}

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

bool looksGzipped(std::string_view body) {
  return body.size() >= 2 && static_cast<unsigned char>(body[0]) == 0x1f &&
         static_cast<unsigned char>(body[1]) == 0x8b;
}

GunzipStatus gunzipBounded(std::string_view compressed, const IngestBodyLimits& limits,
                           std::string& out) {
  out.clear();
  libdeflate_decompressor* d = decompressor();
  if (d == nullptr) throw std::bad_alloc();
  if (compressed.empty()) return GunzipStatus::corrupt;
  const std::size_t total_in = compressed.size();
  // The most output the whole body may inflate to: the size limit, and the ratio cap
  // (applied only past ratio_floor, so a small body of repeated text is never a "bomb").
  const std::size_t ratio_cap = std::max(limits.ratio_floor, total_in * limits.max_ratio);
  const std::size_t cap = std::min(limits.max_bytes, ratio_cap);
  auto overflow = [&] {
    return cap == limits.max_bytes && limits.max_bytes < ratio_cap ? GunzipStatus::too_large
                                                                   : GunzipStatus::bomb;
  };
  while (!compressed.empty()) {
    // Start from the trailer's hint (only for a single remaining member it is exact), grow
    // by doubling; never beyond `cap`.
    const std::size_t room = cap - out.size();
    std::size_t capacity = std::min(room, std::max<std::size_t>(trailerSize(compressed), 4096));
    for (;;) {
      const std::size_t base = out.size();
      out.resize(base + capacity);
      std::size_t in_used = 0;
      std::size_t produced = 0;
      const libdeflate_result r =
          libdeflate_gzip_decompress_ex(d, compressed.data(), compressed.size(), out.data() + base,
                                        capacity, &in_used, &produced);
      if (r == LIBDEFLATE_SUCCESS) {
        out.resize(base + produced);
        compressed.remove_prefix(in_used);
        break;
      }
      out.resize(base);
      if (r != LIBDEFLATE_INSUFFICIENT_SPACE) return GunzipStatus::corrupt;
      if (capacity >= room) return overflow();
      capacity = capacity > room / 2 ? room : capacity * 2;
    }
  }
  return GunzipStatus::ok;
}

void decodeLines(std::string_view body, DecodedEvents& out) {
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < body.size()) {
    ++line_no;
    const char* nl =
        static_cast<const char*>(std::memchr(body.data() + pos, '\n', body.size() - pos));
    const std::size_t end =
        nl == nullptr ? body.size() : static_cast<std::size_t>(nl - body.data());
    std::string_view line = body.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || blank(line)) continue;
    const std::size_t first = line.find_first_not_of(" \t");
    if (line[first] == '{') {
      out.events.push_back(line);
      out.lines.push_back(line_no);
      continue;
    }
    if (!looksLikeCef(line)) {
      out.rejected.push_back({line_no, "neither a JSON event nor a CEF line"});
      continue;
    }
    CefParsed parsed = parseCef(line);
    if (!parsed.ok()) {
      out.rejected.push_back({line_no, std::move(parsed.error)});
      continue;
    }
    out.events.push_back(out.converted.emplace_back(std::move(parsed.json)));
    out.lines.push_back(line_no);
  }
}

}  // namespace audit::webhook
