#pragma once
// Ingest of a received body of events (newline-separated JSON or CEF lines, plain or gzip):
// the rules shared by the HTTP route POST /v2/audit-logs and the control socket's raw
// ingest. The report's code is 200, or 400: a bad line without skip_invalid (nothing
// stored; every bad line named) or a corrupt gzip stream; 413: over the size limit after
// decompression or over the ratio cap; 503: the store cannot write (worth retrying).

#include <cstddef>
#include <string>
#include <vector>

#include "webhook/ingest_body.hpp"

namespace audit::jobs {

struct BodyIngestOptions {
  /** The body is gzip (one or more members). */
  bool gzip = false;
  /** Store the good lines and report the bad ones instead of refusing the request. */
  bool skip_invalid = false;
};

/** What a received body came to. */
struct BodyIngestReport {
  int code = 200;
  std::string error;  // code != 200
  std::size_t ingested = 0;
  std::size_t duplicates = 0;
  std::vector<webhook::BodyLine> rejected;  // sorted by line
};

/** The decompressed-size limit when the configuration has no http section. */
inline constexpr std::size_t kDefaultMaxIngestBytes = 64u << 20;

}  // namespace audit::jobs
