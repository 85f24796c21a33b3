// Fuzzes reading CEF lines back into JSON events (webhook/cef_parse.hpp), as received on
// POST /v2/audit-logs. Invariants:
//  - a line that parses gives a JSON object holding the seven header keys;
//  - that event renders (webhook/cef.hpp) to a line that parses again, to an event that
//    renders to the very same line (rendering and reading agree on every escape and type).

#include <boost/json/parse.hpp>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "webhook/cef.hpp"
#include "webhook/cef_parse.hpp"

namespace {

[[noreturn]] void fail(const char* what, std::string_view in, const std::string& out) {
  std::fprintf(stderr, "CEF parse invariant broken: %s\n  in:  \"%.*s\"\n  out: \"%s\"\n", what,
               static_cast<int>(in.size()), in.data(), out.c_str());
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  if (line.find('\n') != std::string_view::npos) return 0;  // one line per call, as received
  (void)audit::webhook::looksLikeCef(line);
  const audit::webhook::CefParsed parsed = audit::webhook::parseCef(line);
  if (!parsed.ok()) {
    if (!parsed.json.empty()) fail("an error with an event", line, parsed.json);
    return 0;
  }
  boost::system::error_code ec;
  const boost::json::value event = boost::json::parse(parsed.json, ec);
  if (ec || !event.is_object()) fail("not a JSON object", line, parsed.json);
  for (const char* key : {"cef_version", "event_vendor", "event_product", "event_version",
                          "event_class_id", "name", "severity"}) {
    if (!event.as_object().contains(key)) fail("a header key is missing", line, parsed.json);
  }
  const std::string rendered = audit::webhook::renderCef(parsed.json);
  const audit::webhook::CefParsed again = audit::webhook::parseCef(rendered);
  if (!again.ok()) fail("a rendered line does not parse", line, rendered + " / " + again.error);
  if (audit::webhook::renderCef(again.json) != rendered) {
    fail("render(parse(render)) differs", line, rendered);
  }
  return 0;
}
