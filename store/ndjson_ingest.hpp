#pragma once
// Streams an NDJSON file descriptor into an EventSource in chunks, with bounded memory
// (used by tools and benchmarks; the socket's ingest op goes through EventSource directly).

#include <cstddef>

#include "source/event_source.hpp"

namespace audit::store {

struct NdjsonOptions {
  bool skip_invalid = false;
  /** A chunk is one ingest call (one atomic write): this many lines or bytes, whichever first. */
  std::size_t chunk_lines = 10'000;
  std::size_t chunk_bytes = 16u << 20;
  /** Longer lines are rejected ("line longer than N bytes"), never buffered whole. */
  std::size_t max_line = 16u << 20;
};

/**
 * Reads `fd` (not closed) to its end and ingests its lines; blank lines are skipped.
 * Rejections carry 1-based line numbers.
 *
 * Without skip_invalid nothing of a bad file should be stored. For a regular file this holds:
 * the whole file is checked first and, if any line is bad, nothing is stored and every bad
 * line is reported; otherwise the descriptor is rewound and the file ingested. A pipe cannot
 * be read twice: its chunks are stored as they come until one holds a bad line; from then on
 * nothing more is stored, the rest is still checked, and every bad line is reported. Ingest is
 * idempotent, so sending the corrected stream again is safe.
 *
 * Errors: a read error (the errno as a system error code) or the source's own error.
 */
source::Result<source::IngestReport> ingestNdjson(source::EventSource& source, int fd,
                                                  const NdjsonOptions& options = {});

}  // namespace audit::store
