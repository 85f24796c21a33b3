#include "webhook/cef.hpp"

#include <algorithm>
#include <array>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>

#include "common/rfc3339.hpp"

namespace audit::webhook {
namespace {

namespace json = boost::json;

// Fields that fill the header (and the time prefix), so they are not repeated as extensions.
constexpr std::array<std::string_view, 8> kHeaderFields = {
    "cef_version",    "event_vendor", "event_product", "event_version",
    "event_class_id", "name",         "severity",      "event_ts"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view key) {
  return std::find(list.begin(), list.end(), key) != list.end();
}

// A JSON value as CEF text: strings raw, numbers in their shortest form (boost::json would
// write 1.5 as "1.5E0"), objects and arrays as compact JSON.
std::string valueText(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::int64:
      return std::to_string(v.get_int64());
    case json::kind::uint64:
      return std::to_string(v.get_uint64());
    case json::kind::double_: {
      std::array<char, 32> buf{};
      auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v.get_double());
      return std::string(buf.data(), res.ptr);
    }
    case json::kind::bool_:
      return v.get_bool() ? "true" : "false";
    case json::kind::null:
      return {};
    default:
      return json::serialize(v);
  }
}

// CEF keys are alphanumeric by the standard (Konnect's use '_' as well); anything else in a
// JSON key becomes '_' so that a key can never forge a separator.
std::string extensionKey(std::string_view key) {
  if (key.empty()) return std::string(1, '_');
  std::string out(key);
  for (char& c : out) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

std::string headerField(const json::object& event, std::string_view key,
                        std::string_view fallback) {
  auto it = event.find(key);
  if (it == event.end() || it->value().is_null()) return cefEscapeHeader(fallback);
  return cefEscapeHeader(valueText(it->value()));
}

// The time prefix: the instant in UTC to the whole second, as Konnect writes it
// ("2025-06-18T21:02:36Z"); "-" outside years 0000 to 9999 (an rt in microseconds, say).
std::string wholeSecond(EpochMillis ms) {
  if (!inRfc3339Range(ms)) return "-";
  EpochMillis second = ms / 1000 * 1000;
  if (second > ms) second -= 1000;  // floor for times before 1970
  return formatRfc3339(second);
}

// event_ts when it is a valid RFC 3339 time, else rt (milliseconds, number or numeric
// string), else "-" (the syslog nil value); in UTC, to the second.
std::string eventTime(const json::object& event) {
  if (auto it = event.find("event_ts"); it != event.end() && it->value().is_string()) {
    if (auto ts = parseRfc3339(it->value().get_string())) return wholeSecond(ts->ms);
  }
  if (auto it = event.find("rt"); it != event.end()) {
    const json::value& rt = it->value();
    if (rt.is_int64()) return wholeSecond(rt.get_int64());
    if (rt.is_uint64()) return "-";  // above INT64_MAX: far past the year 9999
    if (rt.is_string()) {
      std::string_view s = rt.get_string();
      EpochMillis ms = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), ms);
      if (ec == std::errc{} && p == s.data() + s.size()) return wholeSecond(ms);
    }
  }
  return "-";
}

// Appends ` key=value`. `first` is true for the first extension, which follows the header's
// closing '|' with no space; it is tracked rather than read from the line, whose last byte
// can be a '|' of the previous value (extension values leave '|' unescaped).
void appendExtension(std::string& out, bool& first, std::string_view key, const json::value& v) {
  if (v.is_null()) return;  // absent and null read the same to a SIEM; keep lines short
  if (!first) out.push_back(' ');
  first = false;
  out += extensionKey(key);
  out.push_back('=');
  out += cefEscapeExtension(valueText(v));
}

std::string renderUnparsed(std::string_view raw) {
  std::string out = "- konghq.com CEF:0|KongInc|Konnect|1.0|unknown|unparsed event|1|msg=";
  out += cefEscapeExtension(raw);
  return out;
}

}  // namespace

std::string cefEscapeHeader(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '|') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n' || c == '\r') {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string cefEscapeExtension(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '=':
        out += "\\=";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string renderCef(std::string_view json_event) {
  return renderCef(json_event, true);
}

std::string renderCef(std::string_view json_event, bool include_sig) {
  return renderCef(json_event, include_sig ? SigRendering::AsSig : SigRendering::Omit);
}

std::string renderCef(std::string_view json_event, SigRendering sig_rendering) {
  // Most events fit the stack buffer, so parsing allocates nothing.
  unsigned char scratch[8192];
  json::monotonic_resource mr(scratch, sizeof scratch);
  boost::system::error_code ec;
  json::value parsed = json::parse(json_event, ec, &mr);
  if (ec || !parsed.is_object()) return renderUnparsed(json_event);
  const json::object& event = parsed.get_object();

  std::string out;
  out.reserve(json_event.size() + 64);
  out += eventTime(event);
  out += " konghq.com CEF:";
  out += headerField(event, "cef_version", "0");
  out.push_back('|');
  out += headerField(event, "event_vendor", "KongInc");
  out.push_back('|');
  out += headerField(event, "event_product", "Konnect");
  out.push_back('|');
  out += headerField(event, "event_version", "1.0");
  out.push_back('|');
  out += headerField(event, "event_class_id", "unknown");
  out.push_back('|');
  out += headerField(event, "name", "unknown");
  out.push_back('|');
  out += headerField(event, "severity", "1");
  out.push_back('|');

  // rt first, then every other field in the order the stored event has it, sig last: the
  // positions Konnect's lines have, which position-based SIEM parsers rely on.
  bool first = true;
  if (auto it = event.find("rt"); it != event.end()) appendExtension(out, first, "rt", it->value());
  for (const auto& kv : event) {
    std::string_view key = kv.key();
    if (key == "rt" || key == "sig" || contains(kHeaderFields, key)) continue;
    appendExtension(out, first, key, kv.value());
  }
  if (auto it = event.find("sig"); it != event.end()) {
    switch (sig_rendering) {
      case SigRendering::AsSig:
        appendExtension(out, first, "sig", it->value());
        break;
      case SigRendering::AsOriginSig:
        appendExtension(out, first, "origin_sig", it->value());
        break;
      case SigRendering::Omit:
        break;
    }
  }
  return out;
}

}  // namespace audit::webhook
