#pragma once
// Turns a batch of stored events into the request body Konnect's receivers expect
// (docs/formats.md): JSON lines, CEF or CPS, optionally signed (docs/formats.md), optionally
// gzip-compressed. Pure and thread-safe: the job engine runs it on a worker thread, never on the
// loop.

#include <cstddef>
#include <string>
#include <vector>

#include "common/event_batch.hpp"
#include "webhook/options.hpp"

namespace audit::signing {
class Signer;
}  // namespace audit::signing

namespace audit::webhook {

struct EncodeOptions {
  Format format = Format::Json;
  Compression compression = Compression::Gzip;
  /** libdeflate level; 1 is ~2x faster than 6 for ~8 % more bytes. */
  int gzip_level = 1;
  /** Signs events that carry no `sig` when set. */
  const signing::Signer* signer = nullptr;
  /** With a signer: signatures made before, by event index (64 raw bytes; empty: sign that
   *  event), e.g. from the store's signature cache. Null: sign every event. */
  const std::vector<std::string>* known_signatures = nullptr;
  /** With a signer: receives the signatures made now, by event index (64 raw bytes; empty
   *  where none was made). Null: not wanted. */
  std::vector<std::string>* made_signatures = nullptr;
};

struct EncodedBody {
  std::string bytes;            // what goes on the wire
  bool gzip = false;            // sets Content-Encoding: gzip
  std::size_t plain_bytes = 0;  // size before compression
  std::size_t events = 0;
};

EncodedBody encodeBatch(const EventBatch& batch, const EncodeOptions& options);

/** The same; an unsigned, uncompressed JSON body then takes the batch's buffer, no copy. */
EncodedBody encodeBatch(EventBatch&& batch, const EncodeOptions& options);

}  // namespace audit::webhook
