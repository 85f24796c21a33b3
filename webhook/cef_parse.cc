#include "webhook/cef_parse.hpp"

#include <array>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <vector>

#include "common/rfc3339.hpp"

namespace audit::webhook {
namespace {

namespace json = boost::json;

constexpr std::string_view kMarker = "CEF:";

// The header's seven fields, in order, as the renderer takes them from the event.
constexpr std::array<std::string_view, 7> kHeaderKeys = {
    "cef_version",    "event_vendor", "event_product", "event_version",
    "event_class_id", "name",         "severity"};

bool keyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF): the event
// becomes JSON text, which must be UTF-8.
bool validUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t n = 0;
    unsigned lo = 0x80;
    unsigned hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (std::size_t k = 2; k <= n; ++k) {
      if (p[k] < 0x80 || p[k] > 0xBF) return false;
    }
    p += n + 1;
  }
  return true;
}

// Where "CEF:" starts: at 0, or after one or two tokens each followed by one space.
std::size_t markerAt(std::string_view line) {
  std::size_t at = 0;
  for (int tokens = 0; tokens <= 2; ++tokens) {
    if (line.substr(at).starts_with(kMarker)) return at;
    const std::size_t space = line.find(' ', at);
    if (space == std::string_view::npos || space == at) return std::string_view::npos;
    at = space + 1;
  }
  return std::string_view::npos;
}

// The JSON value whose CEF rendering (webhook/cef.cc valueText) is exactly `text`, or a
// string. Numbers, booleans, objects and arrays are recognised only when they render back
// byte for byte.
json::value typedValue(std::string_view text) {
  if (text.empty()) return json::string(text);
  if (text == "true") return true;
  if (text == "false") return false;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  const char c0 = text.front();
  if ((c0 >= '0' && c0 <= '9') || c0 == '-') {
    if (text.find_first_of(".eE") == std::string_view::npos) {
      std::int64_t i = 0;
      if (auto [p, ec] = std::from_chars(first, last, i); ec == std::errc{} && p == last) {
        if (std::to_string(i) == text) return i;
      }
      std::uint64_t u = 0;
      if (auto [p, ec] = std::from_chars(first, last, u); ec == std::errc{} && p == last) {
        if (std::to_string(u) == text) return u;
      }
    } else {
      double d = 0;
      if (auto [p, ec] = std::from_chars(first, last, d);
          ec == std::errc{} && p == last && std::isfinite(d)) {
        std::array<char, 32> buf{};
        auto res = std::to_chars(buf.data(), buf.data() + buf.size(), d);
        if (std::string_view(buf.data(), static_cast<std::size_t>(res.ptr - buf.data())) == text) {
          return d;
        }
      }
    }
    return json::string(text);
  }
  if (c0 == '{' || c0 == '[') {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (!ec && (v.is_object() || v.is_array()) && json::serialize(v) == text) return v;
  }
  return json::string(text);
}

// What the renderer writes as the time prefix for an event without event_ts.
std::string timeFromRt(const json::value* rt) {
  if (rt == nullptr) return "-";
  EpochMillis ms = 0;
  if (rt->is_int64()) {
    ms = rt->get_int64();
  } else if (rt->is_string()) {
    std::string_view s = rt->get_string();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), ms);
    if (ec != std::errc{} || p != s.data() + s.size()) return "-";
  } else {
    return "-";
  }
  return inRfc3339Range(ms) ? formatRfc3339(ms) : std::string("-");
}

struct Extension {
  std::string_view key;
  std::string_view raw_value;
};

// Splits `ext` into key=value pairs. A key is [A-Za-z0-9_.-]+ right before an unescaped
// '='; its value runs to the single space before the next key.
bool splitExtension(std::string_view ext, std::vector<Extension>& out, std::string& error) {
  std::vector<std::size_t> equals;  // unescaped '=' positions
  for (std::size_t i = 0; i < ext.size(); ++i) {
    if (ext[i] == '\\') {
      ++i;
      continue;
    }
    if (ext[i] == '=') equals.push_back(i);
  }
  if (equals.empty()) {
    if (ext.find_first_not_of(' ') == std::string_view::npos) return true;
    error = "CEF extension without key=value";
    return false;
  }
  // The key of each '=' starts after the last space before it (or at the extension's start).
  std::vector<std::size_t> key_start(equals.size());
  for (std::size_t n = 0; n < equals.size(); ++n) {
    const std::size_t lower = n == 0 ? 0 : equals[n - 1] + 1;
    std::size_t k = equals[n];
    while (k > lower && ext[k - 1] != ' ') --k;
    if (n == 0 ? k != 0 : k == lower) {
      error = n == 0 ? "CEF extension does not start with key=value"
                     : "CEF extension value holds an unescaped '='";
      return false;
    }
    if (k == equals[n]) {
      error = "CEF extension with an empty key";
      return false;
    }
    for (std::size_t j = k; j < equals[n]; ++j) {
      if (!keyChar(ext[j])) {
        error = "CEF extension key with a character other than [A-Za-z0-9_.-]: \"" +
                std::string(ext.substr(k, equals[n] - k)) + "\"";
        return false;
      }
    }
    key_start[n] = k;
  }
  for (std::size_t n = 0; n < equals.size(); ++n) {
    const std::size_t value_start = equals[n] + 1;
    // The next key's separating space is not part of this value.
    const std::size_t value_end = n + 1 < equals.size() ? key_start[n + 1] - 1 : ext.size();
    out.push_back({ext.substr(key_start[n], equals[n] - key_start[n]),
                   ext.substr(value_start, value_end - value_start)});
  }
  return true;
}

CefParsed failed(std::string error) {
  return CefParsed{{}, std::move(error)};
}

}  // namespace

std::string cefUnescapeHeader(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size() && (value[i + 1] == '\\' || value[i + 1] == '|')) {
      out.push_back(value[++i]);
    } else {
      out.push_back(value[i]);
    }
  }
  return out;
}

std::string cefUnescapeExtension(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\\' || i + 1 == value.size()) {
      out.push_back(value[i]);
      continue;
    }
    switch (value[i + 1]) {
      case '\\':
      case '=':
        out.push_back(value[i + 1]);
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      default:
        out.push_back('\\');
        out.push_back(value[i + 1]);
    }
    ++i;
  }
  return out;
}

bool looksLikeCef(std::string_view line) {
  return markerAt(line) != std::string_view::npos;
}

CefParsed parseCef(std::string_view line) {
  const std::size_t marker = markerAt(line);
  if (marker == std::string_view::npos) {
    return failed("not a CEF line: expected \"{time} {host} CEF:…\"");
  }
  if (!validUtf8(line)) return failed("CEF line is not valid UTF-8");
  // "{time} {host} " before the marker: the time is the first of two tokens.
  std::string_view time;
  if (marker > 0) {
    std::string_view prefix = line.substr(0, marker - 1);
    const std::size_t space = prefix.find(' ');
    if (space != std::string_view::npos) time = prefix.substr(0, space);
  }

  // Header: seven fields, each ended by an unescaped '|'.
  std::size_t i = marker + kMarker.size();
  std::array<std::string_view, 7> header;
  for (std::size_t field = 0; field < header.size(); ++field) {
    const std::size_t start = i;
    while (i < line.size() && line[i] != '|') {
      if (line[i] == '\\') ++i;
      ++i;
    }
    if (i >= line.size()) {
      return failed("CEF header has " + std::to_string(field) +
                    " of its 7 fields (version|vendor|product|version|class|name|severity|)");
    }
    header[field] = line.substr(start, i - start);
    ++i;  // the '|'
  }

  std::vector<Extension> extensions;
  std::string error;
  if (!splitExtension(line.substr(std::min(i, line.size())), extensions, error)) {
    return failed(std::move(error));
  }

  json::object event;
  for (std::size_t field = 0; field < header.size(); ++field) {
    event[kHeaderKeys[field]] = typedValue(cefUnescapeHeader(header[field]));
  }
  for (const Extension& e : extensions) {
    if (event.contains(e.key)) {
      return failed("CEF field \"" + std::string(e.key) + "\" given twice");
    }
    event[e.key] = typedValue(cefUnescapeExtension(e.raw_value));
  }
  // The prefix is the event's own event_ts only when `rt` would not render to it.
  if (!time.empty() && time != "-" && !event.contains("event_ts") &&
      timeFromRt(event.if_contains("rt")) != time) {
    event["event_ts"] = time;
  }
  return CefParsed{json::serialize(event), {}};
}

}  // namespace audit::webhook
