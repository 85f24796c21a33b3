#pragma once
// Reading a CEF line in Konnect's layout back into the JSON event it was rendered from
// (the inverse of webhook/cef.hpp, used when events are received as CEF):
//   {time} {host} CEF:version|vendor|product|version|class|name|severity|k=v k=v …
// The seven header fields go back to cef_version, event_vendor, event_product,
// event_version, event_class_id, name and severity; every extension key to its own key.
// A value reads back as a JSON number, boolean, object or array only when rendering that
// JSON value gives the very same text; anything else stays a string. The time prefix is kept
// as event_ts only when it differs from what `rt` renders to, so a line read and rendered
// again is the same line.

#include <string>
#include <string_view>

namespace audit::webhook {

struct CefParsed {
  /** The event as compact JSON; empty when the line is not valid CEF. */
  std::string json;
  /** Why the line was refused, in words for the sender; empty on success. */
  std::string error;
  bool ok() const { return error.empty(); }
};

/**
 * True when `line` has the shape of a CEF line: "CEF:" at its start or after one or two
 * space-separated tokens (the time and host of the syslog-style prefix).
 */
bool looksLikeCef(std::string_view line);

/** Parses one CEF line (no line break). Thread-safe; never throws (except bad_alloc). */
CefParsed parseCef(std::string_view line);

/** Undoes cefEscapeHeader's escapes (`\\`, `\|`); another `\x` is kept as is. */
std::string cefUnescapeHeader(std::string_view value);

/** Undoes cefEscapeExtension's escapes (`\\`, `\=`, `\n`, `\r`); another `\x` is kept. */
std::string cefUnescapeExtension(std::string_view value);

}  // namespace audit::webhook
