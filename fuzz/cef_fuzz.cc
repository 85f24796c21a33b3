// Fuzzes CEF rendering (webhook/cef.hpp) of arbitrary event text. Invariants, checked with
// and without the event's `sig`:
//  - one line: a raw '\n' or '\r' would split the event in a newline-separated body;
//  - the shape `{time} konghq.com CEF:f|f|f|f|f|f|f|ext` with exactly seven unescaped '|'
//    in the header, and a time that is "-" or RFC 3339;
//  - no forged extension: every unescaped '=' in the extension follows a key made of
//    [A-Za-z0-9_.-] that starts after a space (so a value can never add a key of its own).

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/rfc3339.hpp"
#include "webhook/cef.hpp"

namespace {

constexpr std::string_view kMarker = " konghq.com CEF:";

[[noreturn]] void fail(const char* what, const std::string& out) {
  std::fprintf(stderr, "CEF invariant broken: %s: \"%s\"\n", what, out.c_str());
  __builtin_trap();
}

bool keyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

void checkLine(const std::string& out) {
  if (out.find_first_of("\r\n") != std::string::npos) fail("line break", out);
  std::size_t marker = out.find(kMarker);
  if (marker == std::string::npos) fail("no CEF marker", out);
  std::string_view time(out.data(), marker);
  if (time != "-" && !audit::parseRfc3339(time)) fail("time prefix", out);

  // Header: seven fields, '\' escapes the next character.
  std::size_t i = marker + kMarker.size();
  int bars = 0;
  for (; i < out.size() && bars < 7; ++i) {
    if (out[i] == '\\') {
      ++i;
      continue;
    }
    if (out[i] == '|') ++bars;
  }
  if (bars != 7) fail("header does not have seven fields", out);

  // Extension: key=value pairs separated by spaces; '=' inside values is escaped.
  const std::size_t ext = i;
  for (; i < out.size(); ++i) {
    if (out[i] == '\\') {
      ++i;
      continue;
    }
    if (out[i] != '=') continue;
    std::size_t k = i;
    while (k > ext && out[k - 1] != ' ') --k;
    if (k == i) fail("empty extension key", out);
    for (std::size_t j = k; j < i; ++j) {
      if (!keyChar(out[j])) fail("extension key with a foreign character", out);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view event(reinterpret_cast<const char*>(data), size);
  checkLine(audit::webhook::renderCef(event));
  checkLine(audit::webhook::renderCef(event, false));
  std::string header = audit::webhook::cefEscapeHeader(event);
  std::string ext = audit::webhook::cefEscapeExtension(event);
  if (header.find_first_of("\r\n") != std::string::npos ||
      ext.find_first_of("\r\n") != std::string::npos) {
    fail("escaping left a line break", header + " / " + ext);
  }
  return 0;
}
