#include "source/event_parser.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <cmath>
#include <optional>

#include "common/rfc3339.hpp"

namespace audit::source {
namespace json = boost::json;
namespace {

// What the last top-level occurrence of a field held (the DOM keeps the last duplicate too).
enum class Seen { Absent, Null, Int, Double, String, Other };

struct Field {
  Seen seen = Seen::Absent;
  std::int64_t i = 0;
  double d = 0;
  std::string s;
};

// basic_parser handler: tracks depth and captures top-level `rt` and `event_ts`.
struct TimeHandler {
  static constexpr std::size_t max_array_size = -1;
  static constexpr std::size_t max_object_size = -1;
  static constexpr std::size_t max_string_size = -1;
  static constexpr std::size_t max_key_size = -1;

  int depth = 0;
  bool top_is_object = false;
  std::string key;
  Field* target = nullptr;  // the field the next top-level value belongs to, if any
  Field rt;
  Field event_ts;

  void clear() {
    depth = 0;
    top_is_object = false;
    key.clear();
    target = nullptr;
    rt.seen = Seen::Absent;
    event_ts.seen = Seen::Absent;
  }

  // A value at depth 1 (a member of the top object) after a key we care about.
  Field* capture() {
    if (depth != 1) return nullptr;
    Field* f = target;
    target = nullptr;
    return f;
  }
  bool scalar(Seen kind) {
    if (Field* f = capture()) f->seen = kind;
    return true;
  }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) {
    scalar(Seen::Other);
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) {
    --depth;
    return true;
  }
  bool on_object_begin(json::error_code&) {
    if (depth == 0) top_is_object = true;
    scalar(Seen::Other);
    ++depth;
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    --depth;
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t n, json::error_code&) {
    // Parts only come for long or escaped strings; keep them only for our fields.
    if (depth == 1 && target != nullptr) {
      if (n == s.size()) target->s.clear();
      target->s.append(s.data(), s.size());
    }
    return true;
  }
  bool on_string(json::string_view s, std::size_t n, json::error_code&) {
    if (depth == 1 && target != nullptr) {
      if (n == s.size()) target->s.clear();
      target->s.append(s.data(), s.size());
    }
    return scalar(Seen::String);
  }
  bool on_key_part(json::string_view s, std::size_t n, json::error_code&) {
    if (depth != 1) return true;
    if (n == s.size()) key.clear();
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t n, json::error_code&) {
    if (depth != 1) return true;
    if (n == s.size()) key.clear();
    key.append(s.data(), s.size());
    target = key == "rt" ? &rt : key == "event_ts" ? &event_ts : nullptr;
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    if (Field* f = capture()) {
      f->seen = Seen::Int;
      f->i = i;
    }
    return true;
  }
  // Above int64: never a representable time; the reference path words the rejection.
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) {
    return scalar(Seen::Other);
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    if (Field* f = capture()) {
      f->seen = Seen::Double;
      f->d = d;
    }
    return true;
  }
  bool on_bool(bool, json::error_code&) { return scalar(Seen::Other); }
  bool on_null(json::error_code&) { return scalar(Seen::Null); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

std::optional<EpochMillis> integralMillis(double d) {
  constexpr double kLimit = 9223372036854775808.0;  // 2^63
  if (!std::isfinite(d) || d != std::trunc(d) || d < -kLimit || d >= kLimit) return std::nullopt;
  return static_cast<EpochMillis>(d);
}

// The common shapes only; anything unusual returns nullopt and takes the reference path.
std::optional<EpochMillis> quickTime(const TimeHandler& h) {
  switch (h.rt.seen) {
    case Seen::Int:
      return h.rt.i;
    case Seen::Double:
      return integralMillis(h.rt.d);
    case Seen::String: {
      EpochMillis ms = 0;
      const char* end = h.rt.s.data() + h.rt.s.size();
      auto [p, ec] = std::from_chars(h.rt.s.data(), end, ms);
      if (ec == std::errc() && p == end && !h.rt.s.empty()) return ms;
      return std::nullopt;
    }
    case Seen::Absent:
    case Seen::Null:
      break;
    default:
      return std::nullopt;
  }
  if (h.event_ts.seen != Seen::String) return std::nullopt;
  auto t = parseRfc3339(h.event_ts.s);
  if (!t) return std::nullopt;
  return t->ms;
}

}  // namespace

class TimeScanner {
 public:
  TimeScanner() : parser_(json::parse_options()) {}

  /** @return the time if `text` is a valid event of the usual shape. */
  std::optional<EpochMillis> scan(std::string_view text) {
    parser_.reset();
    parser_.handler().clear();
    json::error_code ec;
    std::size_t n = parser_.write_some(false, text.data(), text.size(), ec);
    if (ec || n != text.size() || !parser_.handler().top_is_object) return std::nullopt;
    return quickTime(parser_.handler());
  }

 private:
  json::basic_parser<TimeHandler> parser_;
};

EventParser::EventParser() : scanner_(std::make_unique<TimeScanner>()) {}
EventParser::~EventParser() = default;

EventTime EventParser::parse(std::string_view text, std::string& compact) {
  compact.clear();
  bool multi_line = hasLineBreak(text);
  if (!multi_line) {
    if (auto ms = scanner_->scan(text)) return EventTime{true, *ms, {}};
  }
  return parseEventDom(text, compact);
}

}  // namespace audit::source
