#pragma once
// ArcSight CEF as Konnect renders audit events (field mapping in docs/formats.md):
//   {time} konghq.com CEF:0|KongInc|Konnect|1.0|{event_class_id}|{name}|{severity}|k=v …

#include <string>
#include <string_view>

namespace audit::webhook {

/** Escapes a CEF header field: '\' and '|'; a line break becomes a space (one line per event). */
std::string cefEscapeHeader(std::string_view value);

/** Escapes a CEF extension value: '\', '=', and newlines as \n / \r. */
std::string cefEscapeExtension(std::string_view value);

/**
 * Renders one stored JSON event. An event that is not a JSON object renders with the
 * raw text in `msg=` rather than failing the batch. The event's own `sig`, if any, is the
 * last extension.
 */
std::string renderCef(std::string_view json_event);

/**
 * As above; with `include_sig` false the event's own `sig` is left out. The encoder does
 * that when it signs CEF lines itself: a `sig` taken from a JSON event signs the JSON
 * bytes, which no CEF receiver can check, and a line must carry only one `sig`.
 */
std::string renderCef(std::string_view json_event, bool include_sig);

}  // namespace audit::webhook
