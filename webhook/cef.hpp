#pragma once
// ArcSight CEF as Konnect renders audit events (field mapping in docs/formats.md):
//   {time} konghq.com CEF:0|KongInc|Konnect|1.0|{event_class_id}|{name}|{severity}|k=v …

#include <string>
#include <string_view>

namespace audit::webhook {

/** Escapes a CEF header field: '\' and '|'. */
std::string cefEscapeHeader(std::string_view value);

/** Escapes a CEF extension value: '\', '=', and newlines as \n / \r. */
std::string cefEscapeExtension(std::string_view value);

/**
 * Renders one stored JSON event. An event that is not a JSON object renders with the
 * raw text in `msg=` rather than failing the batch.
 */
std::string renderCef(std::string_view json_event);

}  // namespace audit::webhook
