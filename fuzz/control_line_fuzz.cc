// Fuzzes the control socket's request-line parser (api/control_server.hpp) on the input
// as the server sees one line: up to the first '\n', a trailing '\r' removed, blank lines
// skipped. Invariants: a bad line yields a one-line 400 answer; a good one is an object
// that serialises and parses back unchanged.

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "api/control_server.hpp"

namespace json = boost::json;

namespace {

// Boost.JSON 1.81 reads 1e400 as infinity and writes it back as `Infinity`, which is not
// JSON. Requests holding one are left out of the round-trip check; what that means for
// ingest is pinned down by tests/fuzz_regressions (stored compact events).
bool hasNonFinite(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_:
      return !std::isfinite(v.get_double());
    case json::kind::array:
      for (const auto& item : v.get_array()) {
        if (hasNonFinite(item)) return true;
      }
      return false;
    case json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (hasNonFinite(kv.value())) return true;
      }
      return false;
    default:
      return false;
  }
}

// Equal, but for doubles within a few units in the last place: Boost.JSON 1.81 parses
// doubles fast rather than correctly rounded (precise parsing came in 1.83), so
// "-9.223373206854777E36", which it wrote itself, reads back one ULP away. Structure, keys,
// strings, integers and kinds must survive exactly.
bool sameValue(const json::value& a, const json::value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case json::kind::double_: {
      double x = a.get_double(), y = b.get_double();
      return x == y || std::fabs(x - y) <= 1e-15 * std::max(std::fabs(x), std::fabs(y));
    }
    case json::kind::array: {
      const auto& xa = a.get_array();
      const auto& ya = b.get_array();
      if (xa.size() != ya.size()) return false;
      for (std::size_t i = 0; i < xa.size(); ++i) {
        if (!sameValue(xa[i], ya[i])) return false;
      }
      return true;
    }
    case json::kind::object: {
      const auto& xo = a.get_object();
      const auto& yo = b.get_object();
      if (xo.size() != yo.size()) return false;
      for (const auto& kv : xo) {
        const json::value* other = yo.if_contains(kv.key());
        if (other == nullptr || !sameValue(kv.value(), *other)) return false;
      }
      return true;
    }
    default:
      return a == b;
  }
}

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "control line invariant broken: %s: %s\n", what, detail.c_str());
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  if (auto nl = line.find('\n'); nl != std::string_view::npos) line = line.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return 0;

  json::object request;
  json::object answer;
  if (audit::api::parseRequestLine(line, request, answer)) {
    // What the API receives must survive a serialise/parse round trip (logs, spool files,
    // ingest of `events` objects, which are stored serialised).
    if (hasNonFinite(request)) return 0;
    std::string text = json::serialize(request);
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = 64;  // as parseRequestLine() reads it
    json::value again = json::parse(text, ec, {}, options);
    if (ec) fail("request does not re-parse", ec.message());
    if (!sameValue(again, json::value(request))) fail("request changed", text);
    return 0;
  }
  std::string out = json::serialize(answer);
  if (out.find('\n') != std::string::npos || out.find('\r') != std::string::npos) {
    fail("answer spans lines", out);
  }
  const json::value* ok = answer.if_contains("ok");
  const json::value* code = answer.if_contains("code");
  const json::value* error = answer.if_contains("error");
  if (ok == nullptr || !ok->is_bool() || ok->get_bool()) fail("answer ok", out);
  if (code == nullptr || !code->is_int64() || code->get_int64() != 400) fail("answer code", out);
  if (error == nullptr || !error->is_string() || error->get_string().empty()) {
    fail("answer error", out);
  }
  // The client parses the answer: it must be valid JSON (and so valid UTF-8).
  boost::system::error_code ec;
  json::parse(out, ec);
  if (ec) fail("answer is not valid JSON", ec.message());
  return 0;
}
