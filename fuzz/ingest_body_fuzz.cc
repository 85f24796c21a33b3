// Fuzzes the decoding of a received body (webhook/ingest_body.hpp): bounded gunzip and the
// split into events. The first byte picks gzip or plain. Invariants:
//  - gunzip never yields more than the size limit, and "ok" only within both caps;
//  - every event is one line that starts with '{' (after blanks) or came from a CEF line;
//    line numbers rise strictly; events and numbers pair up.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "webhook/ingest_body.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "ingest body invariant broken: %s\n", what);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool gzip = (data[0] & 1) != 0;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  audit::webhook::IngestBodyLimits limits;
  limits.max_bytes = 1u << 20;
  limits.max_ratio = 50;
  limits.ratio_floor = 64u << 10;
  std::string inflated;
  if (gzip) {
    const auto status = audit::webhook::gunzipBounded(body, limits, inflated);
    if (inflated.size() > limits.max_bytes) fail("output over the size limit");
    if (status != audit::webhook::GunzipStatus::ok) return 0;
    if (inflated.size() > std::max(limits.ratio_floor, body.size() * limits.max_ratio)) {
      fail("output over the ratio cap");
    }
    body = inflated;
  }
  audit::webhook::DecodedEvents decoded;
  audit::webhook::decodeLines(body, decoded);
  if (decoded.events.size() != decoded.lines.size()) fail("events and line numbers differ");
  if (decoded.converted.size() > decoded.events.size()) fail("more conversions than events");
  for (std::size_t i = 0; i < decoded.events.size(); ++i) {
    const std::string_view e = decoded.events[i];
    if (e.find('\n') != std::string_view::npos) fail("an event holds a line break");
    const auto first = e.find_first_not_of(" \t");
    if (first == std::string_view::npos || e[first] != '{') fail("an event is not JSON text");
    if (i > 0 && decoded.lines[i] <= decoded.lines[i - 1]) fail("line numbers do not rise");
  }
  for (const auto& r : decoded.rejected) {
    if (r.line == 0 || r.reason.empty()) fail("a rejection without line or reason");
  }
  return 0;
}
