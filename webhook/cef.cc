#include "webhook/cef.hpp"

#include <algorithm>
#include <array>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <vector>

#include "common/rfc3339.hpp"

namespace audit::webhook {
namespace {

namespace json = boost::json;

// Fields that fill the header (and the time prefix), so they are not repeated as extensions.
constexpr std::array<std::string_view, 8> kHeaderFields = {
    "cef_version",    "event_vendor", "event_product", "event_version",
    "event_class_id", "name",         "severity",      "event_ts"};

// Extensions Konnect documents for every audit entry, in the order its CEF examples show
// them. Every other field follows in byte order of its key, then `sig` last, so a line
// does not depend on the producer's key order.
constexpr std::array<std::string_view, 9> kLeadingExtensions = {
    "rt",       "src",       "request", "success", "org_id", "principal_id", "kong_initiated",
    "trace_id", "user_agent"};

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

// The time prefix for an rt in milliseconds: RFC 3339 inside years 0000 to 9999, else "-"
// (an rt in microseconds, or INT64_MIN, has no RFC 3339 form).
std::string rtTime(EpochMillis ms) {
  return inRfc3339Range(ms) ? formatRfc3339(ms) : std::string("-");
}

// event_ts as given when it is a valid RFC 3339 time, else rt (milliseconds, number or
// numeric string) formatted, else "-" (the syslog nil value).
std::string eventTime(const json::object& event) {
  if (auto it = event.find("event_ts"); it != event.end() && it->value().is_string()) {
    std::string_view ts = it->value().get_string();
    if (parseRfc3339(ts)) return std::string(ts);
  }
  if (auto it = event.find("rt"); it != event.end()) {
    const json::value& rt = it->value();
    if (rt.is_int64()) return rtTime(rt.get_int64());
    if (rt.is_uint64()) return "-";  // above INT64_MAX: far past the year 9999
    if (rt.is_string()) {
      std::string_view s = rt.get_string();
      EpochMillis ms = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), ms);
      if (ec == std::errc{} && p == s.data() + s.size()) return rtTime(ms);
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

  bool first = true;
  for (std::string_view key : kLeadingExtensions) {
    if (auto it = event.find(key); it != event.end()) {
      appendExtension(out, first, key, it->value());
    }
  }
  std::vector<const json::key_value_pair*> rest;
  for (const auto& kv : event) {
    std::string_view key = kv.key();
    if (key == "sig" || contains(kHeaderFields, key) || contains(kLeadingExtensions, key)) continue;
    rest.push_back(&kv);
  }
  std::sort(rest.begin(), rest.end(),
            [](const auto* a, const auto* b) { return a->key() < b->key(); });
  for (const auto* kv : rest) appendExtension(out, first, kv->key(), kv->value());
  if (include_sig) {
    if (auto it = event.find("sig"); it != event.end()) {
      appendExtension(out, first, "sig", it->value());
    }
  }
  return out;
}

}  // namespace audit::webhook
