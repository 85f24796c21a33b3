#pragma once
// The engine's side of an export (the control socket's `export` op, framed and streamed by
// api/export_streamer.hpp): a range encoded exactly as the webhook would receive it — the
// same encoder, batch limits and signing — without a job.
//
// Two typed calls of the Engine (jobs/engine.hpp): planExport checks a request (region,
// range by a replay's rules, format) without touching the store; openExport then sizes and
// opens the range over one view of the region's source, off the loop. What it returns,
// ExportBatches, reads and encodes the range one batch at a time. That work stays here, not
// in api/: it is the store's reader, the source and the webhook's encoder and signer, none of
// which the front ends may know; the streamer only decides where the bytes go (socket
// chunks or the client's file) and when the next batch is read.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/event_batch.hpp"
#include "config/config.hpp"
#include "jobs/job_request.hpp"

namespace audit::jobs {

/** An export as requested; the JSON types were checked by the front end. */
struct ExportRequest {
  std::optional<std::string> region;    // none: the only configured region
  std::optional<std::string> start_at;  // RFC 3339 text as sent
  std::optional<std::string> end_at;
  /** The format's name as sent ("json", "cef" or "cps"; anything else is refused); none:
   *  the region's webhook log_format. */
  std::optional<std::string> format;
  /** One gzip member per batch, as the webhook's batches; else lines in larger batches. */
  bool gzip = false;
};

/** A checked export: what to read and how to encode it. */
struct ExportPlan {
  std::string region;
  ValidRange range;
  config::EventFormat format = config::EventFormat::Json;
  bool gzip = false;
  BatchLimits limits;
};

/** Batches an export reads ahead of the one being written (bounds its memory). */
inline constexpr std::size_t kExportReadAhead = 3;

/** One batch read and encoded (ExportBatches::next). */
struct ExportChunk {
  bool end = false;                  // the range is done; nothing else is set
  std::optional<std::string> error;  // the store's or source's reason; the export fails
  std::size_t events = 0;
  std::string bytes;     // the batch's lines, or a gzip member of them
  bool newline = false;  // a final '\n' follows `bytes` in the output
};

/** The range of an opened export, read and encoded one batch at a time. */
class ExportBatches {
 public:
  struct State;
  explicit ExportBatches(std::unique_ptr<State> state);
  ~ExportBatches();
  ExportBatches(const ExportBatches&) = delete;
  ExportBatches& operator=(const ExportBatches&) = delete;

  /** Reads and encodes the next batch. Blocking: call it on a worker, one call at a time. */
  ExportChunk next();
  /** Hands back a written chunk's bytes: its storage serves a later read. Any thread. */
  void recycle(std::string bytes);

 private:
  std::unique_ptr<State> state_;
};

/** An export opened over one view of the source: the events counted are those read. */
struct OpenedExport {
  std::uint64_t events_total = 0;
  std::shared_ptr<ExportBatches> batches;
};

}  // namespace audit::jobs
