#include "daemon/export_stream.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>
#include <optional>

#include "common/buffer_pool.hpp"
#include "daemon/job_request.hpp"
#include "daemon/offload.hpp"
#include "webhook/encoder.hpp"
#include "webhook/gzip.hpp"

namespace audit::daemon {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

constexpr std::size_t kPlainBatchEvents = 4000;
constexpr std::size_t kPlainBatchBytes = 4u << 20;
constexpr int kSendBuffer = 4 << 20;
constexpr auto kStalledWrite = std::chrono::seconds(120);

json::object answer(bool ok, int code) {
  json::object o;
  o["ok"] = ok;
  o["code"] = code;
  return o;
}

json::object refusal(int code, std::string error) {
  auto o = answer(false, code);
  o["error"] = std::move(error);
  return o;
}

// One batch read and encoded on a worker, handed back to the loop.
struct Chunk {
  bool end = false;
  std::optional<std::string> error;
  std::size_t events = 0;
  std::string bytes;
  bool newline = false;  // a final '\n' follows `bytes` on the wire
};

struct Pending {
  explicit Pending(const asio::any_io_executor& ex)
      : ready(ex, asio::steady_timer::time_point::max()) {}
  std::optional<Chunk> value;
  asio::steady_timer ready;  // canceled once value is set
};

asio::awaitable<bool> writeAll(ExportStreamer::Socket& socket, const std::string& text) {
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(text), as_tuple(use_awaitable));
  co_return !ec;
}

std::string line(const json::object& o) {
  return json::serialize(o) + "\n";
}

}  // namespace

ExportStreamer::ExportStreamer(Runtime& runtime, SourceFor source_for)
    : runtime_(runtime), source_for_(std::move(source_for)) {}

asio::awaitable<bool> ExportStreamer::stream(json::object request, Socket& socket) {
  std::string out;  // a named lvalue for each co_await: GCC 12 mishandles temporaries there
  const config::Config& config = *runtime_.config;
  std::string region_name;
  Refusal refused;
  if (!resolveRegion(request, config, region_name, refused)) {
    {
      out = line(refusal(refused.code, refused.reason));
      co_return co_await writeAll(socket, out);
    }
  }
  // An export needs no webhook: the range rules are those of a replay otherwise.
  config::RegionSettings region = config.regions.at(region_name);
  config::RegionSettings unchecked_webhook = region;
  unchecked_webhook.webhook.endpoint = "export";
  unchecked_webhook.webhook.enabled = true;
  ValidRange range;
  if (!validateRange(request, unchecked_webhook, config.retention, runtime_.clock.nowMillis(),
                     range, refused)) {
    {
      out = line(refusal(refused.code, refused.reason));
      co_return co_await writeAll(socket, out);
    }
  }
  webhook::EncodeOptions encode;
  encode.format = region.webhook.log_format;
  encode.compression = config::Compression::None;
  if (const json::value* f = request.if_contains("format"); f != nullptr && !f->is_null()) {
    const std::string_view name = f->is_string() ? std::string_view(f->as_string()) : "";
    if (name == "json") {
      encode.format = config::EventFormat::Json;
    } else if (name == "cef") {
      encode.format = config::EventFormat::Cef;
    } else if (name == "cps") {
      encode.format = config::EventFormat::Cps;
    } else {
      {
        out = line(refusal(400, "format must be json, cef or cps"));
        co_return co_await writeAll(socket, out);
      }
    }
  }
  bool gzip = false;
  if (const json::value* g = request.if_contains("gzip"); g != nullptr && !g->is_null()) {
    if (!g->is_bool()) {
      out = line(refusal(400, "gzip must be true or false"));
      co_return co_await writeAll(socket, out);
    }
    gzip = g->as_bool();
  }

  // Sized and opened off the loop, over one view: the export holds what was counted.
  store::EventSourcePtr source = source_for_(region_name);
  store::TimeRange span{range.first_ms, range.last_ms};
  auto open = [source, span] {
    std::string detail;
    auto planned = source->plan(span, &detail);
    if (!planned) {
      return std::make_tuple(std::uint64_t{0}, store::EventReaderPtr{},
                             detail.empty() ? planned.error().message() : detail);
    }
    auto reader = source->openReaderAt(span, planned->checkpoint, planned->view);
    if (!reader)
      return std::make_tuple(std::uint64_t{0}, store::EventReaderPtr{}, reader.error().message());
    return std::make_tuple(planned->count, std::move(*reader), std::string());
  };
  auto [total, opened, open_error] = co_await offload(runtime_.workers, open);
  if (!opened) {
    out = line(refusal(500, "store failed: " + open_error));
    co_return co_await writeAll(socket, out);
  }
  std::shared_ptr<store::EventReader> reader(std::move(opened));

  auto header = answer(true, 200);
  header["export"] =
      json::object{{"region", region_name},  {"format", config::toString(encode.format)},
                   {"gzip", gzip},           {"start_at", range.start_at},
                   {"end_at", range.end_at}, {"events_total", total}};
  // A larger socket buffer means fewer wake-ups per batch (the kernel caps it at wmem_max).
  boost::system::error_code ignored;  // a smaller buffer only costs speed
  socket.set_option(asio::socket_base::send_buffer_size(kSendBuffer), ignored);
  out = line(header);
  if (!co_await writeAll(socket, out)) co_return false;
  spdlog::info("export started region={} range={}..{} format={} events_total={}", region_name,
               range.start_at, range.end_at, config::toString(encode.format), total);

  // Lines do not depend on how events are grouped, so a plain export reads in larger
  // batches (fewer, larger writes); a gzip export keeps the webhook's batches, one gzip
  // member each, as the receiver would get them.
  const BatchLimits limits =
      gzip ? BatchLimits{region.batch.max_events, region.batch.max_bytes}
           : BatchLimits{std::max<std::size_t>(region.batch.max_events, kPlainBatchEvents),
                         std::max<std::size_t>(region.batch.max_bytes, kPlainBatchBytes)};
  // Reads one batch ahead: the next is read and encoded while this one is written.
  // Buffers written come back for the next reads: fresh multi-MiB buffers cost a page
  // fault every 4 KiB.
  auto buffers = std::make_shared<BufferPool>(3);
  auto start_read = [&, signer = runtime_.signer] {
    auto pending = std::make_shared<Pending>(runtime_.loop);
    asio::post(runtime_.workers, [pending, reader, limits, encode, signer, gzip, buffers,
                                  loop = runtime_.loop]() mutable {
      Chunk chunk;
      EventBatch batch;
      batch.adoptBuffer(buffers->take());
      auto read = reader->next(batch, limits);
      if (!read) {
        std::string detail = reader->lastErrorDetail();
        chunk.error = detail.empty() ? read.error().message() : std::move(detail);
      } else if (batch.empty()) {
        chunk.end = true;
      } else {
        encode.signer = signer.get();
        chunk.events = batch.size();
        webhook::EncodedBody body = webhook::encodeBatch(std::move(batch), encode);
        // A signed or rendered body leaves the batch's buffer for the next read.
        buffers->give(batch.releaseJoined());
        if (gzip) {
          body.bytes.push_back('\n');
          chunk.bytes = webhook::gzipCompress(body.bytes);
          buffers->give(std::move(body.bytes));
        } else {
          chunk.bytes = std::move(body.bytes);  // its '\n' goes out as a buffer of its own
          chunk.newline = true;
        }
      }
      asio::post(loop, [pending, chunk = std::move(chunk)]() mutable {
        pending->value = std::move(chunk);
        pending->ready.cancel();
      });
    });
    return pending;
  };

  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
  std::optional<std::string> failure;
  auto next = start_read();
  for (;;) {
    if (!next->value) co_await next->ready.async_wait(as_tuple(use_awaitable));
    Chunk chunk = std::move(*next->value);
    if (chunk.error) {
      failure = std::move(chunk.error);
      break;
    }
    if (chunk.end) break;
    next = start_read();
    const std::size_t size = chunk.bytes.size() + (chunk.newline ? 1 : 0);
    const std::string length = std::to_string(size) + "\n";
    const std::array<asio::const_buffer, 3> pieces{asio::buffer(length), asio::buffer(chunk.bytes),
                                                   asio::buffer("\n", chunk.newline ? 1 : 0)};
    // A client that stops reading must not hold the range's snapshot for ever.
    asio::steady_timer stalled(runtime_.loop);
    stalled.expires_after(kStalledWrite);
    stalled.async_wait([&socket, region_name](const boost::system::error_code& e) {
      if (e) return;  // the write completed first
      spdlog::warn("export region={}: the client took no data for {} s; closing", region_name,
                   std::chrono::duration_cast<std::chrono::seconds>(kStalledWrite).count());
      boost::system::error_code ignored;  // closing ends the write with an error
      socket.close(ignored);
    });
    auto [ec, n] = co_await asio::async_write(socket, pieces, as_tuple(use_awaitable));
    stalled.cancel();
    if (ec) {
      // The read still queued finishes on its own; nothing more is read.
      spdlog::warn("export region={} ended early: the client went away after {} events",
                   region_name, events);
      co_return false;
    }
    events += chunk.events;
    buffers->give(std::move(chunk.bytes));
    bytes += size;
  }
  json::object summary;
  if (failure) {
    summary = refusal(500, "store failed reading the range: " + *failure);
    spdlog::error("export region={} failed after {} events: {}", region_name, events, *failure);
  } else {
    summary = answer(true, 200);
    summary["events"] = events;
    summary["bytes"] = bytes;
    spdlog::info("export done region={} events={} bytes={}", region_name, events, bytes);
  }
  out = "0\n" + line(summary);
  co_return co_await writeAll(socket, out);
}

}  // namespace audit::daemon
