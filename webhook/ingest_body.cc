#include "webhook/ingest_body.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "webhook/cef_parse.hpp"
#include "webhook/gzip.hpp"

namespace audit::webhook {
namespace {

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
  const std::size_t total_in = compressed.size();
  // The most output the whole body may inflate to: the size limit, and the ratio cap
  // (applied only past ratio_floor, so a small body of repeated text is never a "bomb").
  const std::size_t ratio_cap = std::max(limits.ratio_floor, total_in * limits.max_ratio);
  const std::size_t cap = std::min(limits.max_bytes, ratio_cap);
  switch (gzipDecompressInto(compressed, cap, out)) {
    case InflateResult::ok:
      return GunzipStatus::ok;
    case InflateResult::corrupt:
      return GunzipStatus::corrupt;
    case InflateResult::over_limit:
      return cap == limits.max_bytes && limits.max_bytes < ratio_cap ? GunzipStatus::too_large
                                                                     : GunzipStatus::bomb;
  }
  return GunzipStatus::corrupt;
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
