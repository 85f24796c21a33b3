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

/** What becomes of an event's own `sig` in its CEF line. */
enum class SigRendering {
  AsSig,        // the last extension, `sig=…`
  AsOriginSig,  // the last extension, `origin_sig=…` (its provenance kept; our sig may follow)
  Omit,
};

/**
 * Renders one stored JSON event: `{time}` is event_ts (else rt) in UTC to the whole second;
 * the extension is `rt`, then the event's other fields in their stored order, then its own
 * `sig`. An event that is not a JSON object renders with the raw text in `msg=` rather than
 * failing the batch.
 */
std::string renderCef(std::string_view json_event);

/** As above, with the event's own `sig` rendered as `sig_rendering` says. */
std::string renderCef(std::string_view json_event, SigRendering sig_rendering);

/** As above; `include_sig` false leaves the event's own `sig` out. */
std::string renderCef(std::string_view json_event, bool include_sig);

}  // namespace audit::webhook
