// Fuzzes the strict RFC 3339 parser (common/rfc3339.hpp) and checks the round trip:
// whatever parses must format (with and without forced milliseconds) to text that parses
// back to the same instant. A mismatch traps so libFuzzer keeps the input.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/rfc3339.hpp"

namespace {

void checkRoundTrip(std::string_view input, audit::EpochMillis ms, const std::string& text) {
  auto back = audit::parseRfc3339(text);
  if (back && back->ms == ms) return;
  std::fprintf(stderr, "round trip failed: \"%.*s\" -> %lld ms -> \"%s\" -> %s\n",
               static_cast<int>(input.size()), input.data(), static_cast<long long>(ms),
               text.c_str(), back ? std::to_string(back->ms).c_str() : "does not parse");
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = audit::parseRfc3339(input);
  if (!parsed) return 0;
  checkRoundTrip(input, parsed->ms, audit::formatRfc3339Millis(parsed->ms));
  checkRoundTrip(input, parsed->ms, audit::formatRfc3339(parsed->ms));
  return 0;
}
