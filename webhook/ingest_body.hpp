#pragma once
// Decoding a received body of events: gunzip within bounds, split into lines, and turn each
// line into a JSON event (JSON as is, CEF in Konnect's layout through parseCef). Used by the
// HTTP ingest route and the control socket's raw ingest; pure CPU, no I/O.

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace audit::webhook {

struct IngestBodyLimits {
  /** The largest body after decompression. */
  std::size_t max_bytes = 64u << 20;
  /**
   * The largest decompressed/compressed ratio once the output passes `ratio_floor` bytes;
   * beyond it the body is a decompression bomb. Real event text compresses 5-20:1.
   */
  std::size_t max_ratio = 200;
  std::size_t ratio_floor = 1u << 20;
};

enum class GunzipStatus { ok, corrupt, too_large, bomb };

/**
 * Inflates one or more gzip members back to back into `out` (replaced), stopping as soon as
 * the output would pass limits.max_bytes (too_large) or the ratio cap (bomb).
 */
GunzipStatus gunzipBounded(std::string_view compressed, const IngestBodyLimits& limits,
                           std::string& out);

/** True when `body` starts with the gzip magic bytes. */
bool looksGzipped(std::string_view body);

struct BodyLine {
  std::size_t line = 0;  // 1-based line number in the (decompressed) body
  std::string reason;
};

/** A body split into events. Views point into the body given and into `converted`. */
struct DecodedEvents {
  std::vector<std::string_view> events;  // JSON text, one per non-blank good line
  std::vector<std::size_t> lines;        // the 1-based line number of each event
  std::vector<BodyLine> rejected;        // lines that are neither JSON nor valid CEF
  std::deque<std::string> converted;     // the JSON of CEF lines (stable addresses)
};

/**
 * Splits `body` at '\n' (a '\r' before it is dropped), skips blank lines, passes lines
 * starting with '{' as JSON (checked later by the store) and converts CEF lines. A line that
 * is neither is rejected. `body` must outlive the result.
 */
void decodeLines(std::string_view body, DecodedEvents& out);

}  // namespace audit::webhook
