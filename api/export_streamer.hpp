#pragma once
// `{"op":"export",…}` on the control socket: streams a range encoded exactly as the
// webhook would receive it (the same encoder, batch limits and signing), without a job.
// The request is decoded here into a typed jobs::ExportRequest, which the engine checks
// and opens (Engine::planExport, Engine::openExport; jobs/export.hpp); this streamer frames
// what the engine's ExportBatches read and encode on the worker pool.
//
// Wire form, after the request line:
//   - a refusal is an ordinary answer line: {"ok":false,"code":400|404|…,"error":"…"};
//   - otherwise a header line {"ok":true,"code":200,"export":{region, format, gzip,
//     start_at, end_at, events_total}}, then chunks, each a line holding its length in
//     decimal and that many bytes (one batch: its lines, each ending in '\n'; a gzip member
//     of them with "gzip":true), then a line "0" and a summary line:
//     {"ok":true,"code":200,"events":N,"bytes":B} or {"ok":false,"code":500,"error":"…"}.
// With "to_fd":true the header says so ("to_fd":true); the client then sends one byte
// carrying a regular file's descriptor (SCM_RIGHTS) and the daemon writes the same bytes
// into that file on its workers (starting its writeback every 16 MiB), sending
// {"progress":{"events","bytes"}} lines and then the summary line (no chunks, no "0" line).
// Anything but a regular file is refused (400): a pipe could block a worker thread. The
// connection stays usable after the summary. Reads and encodes run on the worker pool, up to
// jobs::kExportReadAhead batches ahead of the write; memory stays at a few batches whatever
// the range.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>

#include "jobs/engine.hpp"

namespace audit::api {

class ExportStreamer {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;

  /** Both must outlive the streamer; reads, encodes and file writes run on `workers`. */
  ExportStreamer(jobs::Engine& engine, boost::asio::thread_pool& workers);

  /** Serves one export request on `socket` (on the event loop). @return false when the
   *  connection broke. */
  boost::asio::awaitable<bool> stream(boost::json::object request, Socket& socket);

 private:
  jobs::Engine& engine_;
  boost::asio::thread_pool& workers_;
};

}  // namespace audit::api
