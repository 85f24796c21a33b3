#include "ctl/event_check.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>

#include "common/rfc3339.hpp"

namespace audit::ctl {

namespace {

namespace json = boost::json;

// Same wording and limits as the store's extractEventTime, so a file checked here and an
// event refused by the daemon read alike.
constexpr std::size_t kMaxQuoted = 64;

EventCheck bad(std::string reason) {
  return EventCheck{std::nullopt, std::move(reason)};
}

std::string quoted(const json::value& v) {
  std::string text = v.is_string() ? std::string(v.get_string()) : json::serialize(v);
  if (text.size() > kMaxQuoted) {
    // Never cut inside a UTF-8 character: the reason is printed and sent as JSON.
    std::size_t cut = kMaxQuoted;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    text += "...";
  }
  return "\"" + text + "\"";
}

// A double is a time only if it is a whole number of milliseconds that fits in int64.
std::optional<EpochMillis> integralMillis(double d) {
  constexpr double kLimit = 9223372036854775808.0;  // 2^63
  if (!std::isfinite(d) || d != std::trunc(d) || d < -kLimit || d >= kLimit) return std::nullopt;
  return static_cast<EpochMillis>(d);
}

std::optional<EpochMillis> millisFromString(std::string_view s) {
  if (s.empty()) return std::nullopt;
  const char* end = s.data() + s.size();
  EpochMillis ms = 0;
  auto [p, ec] = std::from_chars(s.data(), end, ms);
  if (ec == std::errc() && p == end) return ms;
  double d = 0;  // "1700000000000.0" is a whole millisecond too
  auto [pd, ecd] = std::from_chars(s.data(), end, d);
  if (ecd == std::errc() && pd == end) return integralMillis(d);
  return std::nullopt;
}

std::optional<EpochMillis> rtMillis(const json::value& v) {
  switch (v.kind()) {
    case json::kind::int64:
      return v.get_int64();
    case json::kind::double_:
      return integralMillis(v.get_double());
    case json::kind::string:
      return millisFromString(v.get_string());
    default:
      return std::nullopt;  // uint64 lies past int64: no representable time
  }
}

}  // namespace

EventCheck checkEvent(std::string_view line) {
  boost::system::error_code ec;
  json::value value = json::parse(line, ec);
  if (ec) return bad("invalid JSON: " + ec.message());
  const json::object* event = value.if_object();
  if (event == nullptr) return bad("not a JSON object");
  // A null field counts as absent.
  if (const json::value* rt = event->if_contains("rt"); rt != nullptr && !rt->is_null()) {
    auto ms = rtMillis(*rt);
    if (!ms) return bad("rt is not a number of milliseconds");
    return EventCheck{*ms, {}};
  }
  if (const json::value* ts = event->if_contains("event_ts"); ts != nullptr && !ts->is_null()) {
    std::optional<Rfc3339Time> parsed;
    std::string why;
    if (ts->is_string()) parsed = parseRfc3339(ts->get_string(), &why);
    // The store's wording (store/event_time.cc), so a check and an ingest say the same.
    if (!parsed && why.starts_with("outside"))
      return bad("event_ts is " + why + ": " + quoted(*ts));
    if (!parsed) return bad("event_ts is not an RFC 3339 time with zone: " + quoted(*ts));
    return EventCheck{parsed->ms, {}};
  }
  return bad("no rt or event_ts field");
}

}  // namespace audit::ctl
