#include "source/event_time.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

#include "common/rfc3339.hpp"
#include "source/event_parser.hpp"

namespace audit::source {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxQuoted = 64;  // keeps a reason one short line

// A double is a time only if it is a whole number of milliseconds that fits in int64.
std::optional<EpochMillis> integralMillis(double d) {
  constexpr double kLimit = 9223372036854775808.0;  // 2^63
  if (!std::isfinite(d) || d != std::trunc(d) || d < -kLimit || d >= kLimit) return std::nullopt;
  return static_cast<EpochMillis>(d);
}

std::optional<EpochMillis> millisFromString(std::string_view s) {
  const char* end = s.data() + s.size();
  EpochMillis ms = 0;
  auto [p, ec] = std::from_chars(s.data(), end, ms);
  if (ec == std::errc() && p == end && !s.empty()) return ms;
  // "1700000000000.0" is a numeric string too, as long as it is a whole millisecond.
  double d = 0;
  auto [pd, ecd] = std::from_chars(s.data(), end, d);
  if (ecd == std::errc() && pd == end && !s.empty()) return integralMillis(d);
  return std::nullopt;
}

std::optional<EpochMillis> rtMillis(const json::value& v) {
  switch (v.kind()) {
    case json::kind::int64:
      return v.get_int64();
    case json::kind::uint64:
      return std::nullopt;  // above int64: not a representable time
    case json::kind::double_:
      return integralMillis(v.get_double());
    case json::kind::string:
      return millisFromString(v.get_string());
    default:
      return std::nullopt;
  }
}

// At most kMaxQuoted bytes of the value, cut back to a UTF-8 character boundary: the reason
// goes into JSON answers (ingest's rejected[].reason), which must stay valid UTF-8. Boost.JSON
// has validated the string, so only the cut can split a character.
std::string quoted(const json::value& v) {
  std::string text = v.is_string() ? std::string(v.get_string()) : json::serialize(v);
  if (text.size() > kMaxQuoted) {
    std::size_t cut = kMaxQuoted;
    // text[cut] is the first byte left out; while it continues a character, so does the cut.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    text += "...";
  }
  return "\"" + text + "\"";
}

EventTime failure(std::string reason) {
  EventTime t;
  t.reason = std::move(reason);
  return t;
}

// docs/store.md on a parsed value. A null field counts as absent.
EventTime timeOf(const json::value& doc) {
  const json::object* obj = doc.if_object();
  if (obj == nullptr) return failure("not a JSON object");
  if (const json::value* rt = obj->if_contains("rt"); rt != nullptr && !rt->is_null()) {
    auto ms = rtMillis(*rt);
    if (!ms) return failure("rt is not a number of milliseconds");
    return EventTime{true, *ms, {}};
  }
  if (const json::value* ts = obj->if_contains("event_ts"); ts != nullptr && !ts->is_null()) {
    if (!ts->is_string()) {
      return failure("event_ts is not an RFC 3339 time with zone: " + quoted(*ts));
    }
    auto parsed = parseRfc3339(ts->get_string());
    if (!parsed) {
      const std::string why = parsed.message();
      if (why.starts_with("outside")) return failure("event_ts is " + why + ": " + quoted(*ts));
      return failure("event_ts is not an RFC 3339 time with zone: " + quoted(*ts));
    }
    return EventTime{true, parsed->ms, {}};
  }
  return failure("no rt or event_ts field");
}

}  // namespace

std::string_view trimJsonSpace(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  auto begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  auto end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

namespace {

// `text` (valid JSON) without the white space outside its strings.
std::string stripJsonSpace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        out.push_back(text[++i]);  // the escaped character, '"' included
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

EventTime parseEventDom(std::string_view text, std::string& compact) {
  compact.clear();
  // Most events fit in this buffer, so the DOM costs no heap allocation.
  alignas(16) unsigned char buffer[8 * 1024];
  json::monotonic_resource memory(buffer, sizeof buffer);
  boost::system::error_code ec;
  json::value doc = json::parse(json::string_view(text.data(), text.size()), ec, &memory);
  if (ec) return failure("invalid JSON: " + ec.message());
  EventTime t = timeOf(doc);
  if (t.ok && hasLineBreak(text)) {
    // The stored form is the original text less its insignificant white space, not a
    // re-serialisation of the DOM: Boost.JSON 1.81 reads 1e400 as infinity and would write
    // it as `Infinity`, which is not JSON (it also rewrites 1.50 as 1.5E0 and loses the
    // digits of 1e-400). The text has just parsed, so a raw CR or LF can only be white space
    // between tokens (JSON strings cannot hold one), and dropping the white space outside
    // strings keeps exactly the same JSON value, on one line, with every number as sent.
    // The one-line path stores the text as given, so an out-of-range number is accepted on
    // both paths alike.
    compact = stripJsonSpace(text);
  }
  return t;
}

EventTime extractEventTime(std::string_view json) {
  thread_local EventParser parser;  // keeps its buffers between calls
  std::string compact;
  return parser.parse(trimJsonSpace(json), compact);
}

}  // namespace audit::source
