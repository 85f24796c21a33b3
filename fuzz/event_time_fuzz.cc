// Fuzzes docs/store.md time extraction (source/event_time.hpp). The fast streaming path of
// extractEventTime() must agree with the DOM reference (source/event_parser.hpp) on
// every input: same verdict, same time, same reason. A rejection reason goes back to
// clients inside JSON answers, so it must be valid UTF-8. When an accepted event holds a
// raw line break, the compact form the store keeps instead must be one line of valid JSON
// with the same time.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "fuzz/utf8.hpp"
#include "source/event_parser.hpp"
#include "source/event_time.hpp"

namespace {

[[noreturn]] void fail(const char* what, const audit::source::EventTime& fast,
                       const audit::source::EventTime& dom) {
  std::fprintf(stderr,
               "event time invariant broken: %s: fast ok=%d ms=%lld reason=\"%s\"; "
               "dom ok=%d ms=%lld reason=\"%s\"\n",
               what, fast.ok, static_cast<long long>(fast.ms), fast.reason.c_str(), dom.ok,
               static_cast<long long>(dom.ms), dom.reason.c_str());
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  audit::source::EventTime fast = audit::source::extractEventTime(text);
  std::string compact;
  audit::source::EventTime dom =
      audit::source::parseEventDom(audit::source::trimJsonSpace(text), compact);
  if (fast.ok != dom.ok) fail("verdicts differ", fast, dom);
  if (fast.ok && fast.ms != dom.ms) fail("times differ", fast, dom);
  if (!fast.ok && fast.reason != dom.reason) fail("reasons differ", fast, dom);
  if (!fast.ok && fast.reason.empty()) fail("rejected without a reason", fast, dom);
  if (!audit::fuzz::isValidUtf8(fast.reason)) fail("reason is not valid UTF-8", fast, dom);
  if (dom.ok && !compact.empty()) {
    if (compact.find_first_of("\r\n") != std::string::npos) {
      fail("compact form spans lines", fast, dom);
    }
    std::string recompact;
    audit::source::EventTime again = audit::source::parseEventDom(compact, recompact);
    if (!again.ok || again.ms != dom.ms) fail("compact form is not the same event", again, dom);
  }
  return 0;
}
