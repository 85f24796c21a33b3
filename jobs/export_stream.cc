#include "jobs/export_stream.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <optional>

#include "common/buffer_pool.hpp"
#include "common/offload.hpp"
#include "jobs/job_request.hpp"
#include "webhook/encoder.hpp"
#include "webhook/gzip.hpp"

namespace audit::jobs {
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

// The descriptor the client sent with one byte (SCM_RIGHTS), or -1.
int receiveFd(int socket_fd) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(socket_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1) return -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int))) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      return fd;
    }
  }
  return -1;
}

// Writes all of `bytes` (and a '\n' after them when `newline`). @return 0 or an errno.
int writeFully(int fd, std::string_view bytes, bool newline) {
  std::string_view tail = newline ? std::string_view("\n", 1) : std::string_view();
  while (!bytes.empty() || !tail.empty()) {
    iovec iov[2] = {{const_cast<char*>(bytes.data()), bytes.size()},
                    {const_cast<char*>(tail.data()), tail.size()}};
    ssize_t n = ::writev(fd, bytes.empty() ? iov + 1 : iov, bytes.empty() ? 1 : 2);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    std::size_t done = static_cast<std::size_t>(n);
    const std::size_t from_bytes = std::min(done, bytes.size());
    bytes.remove_prefix(from_bytes);
    tail.remove_prefix(std::min(done - from_bytes, tail.size()));
  }
  return 0;
}

struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

asio::awaitable<int> writeOnWorker(asio::thread_pool& pool, int fd, const std::string& data,
                                   bool newline) {
  auto work = [fd, bytes = std::string_view(data), newline] {
    return writeFully(fd, bytes, newline);
  };
  co_return co_await offload(pool, work);
}

// The request's format, gzip and to_fd; a refusal's reason when one is bad. The client
// may hand over a regular file (to_fd, SCM_RIGHTS) instead of reading the bytes from the
// socket: the daemon then writes them itself, saving two copies.
std::optional<std::string> readOptions(const json::object& request, webhook::EncodeOptions& encode,
                                       bool& gzip, bool& to_fd) {
  if (const json::value* f = request.if_contains("format"); f != nullptr && !f->is_null()) {
    const std::string_view name = f->is_string() ? std::string_view(f->as_string()) : "";
    if (name == "json") {
      encode.format = config::EventFormat::Json;
    } else if (name == "cef") {
      encode.format = config::EventFormat::Cef;
    } else if (name == "cps") {
      encode.format = config::EventFormat::Cps;
    } else {
      return "format must be json, cef or cps";
    }
  }
  for (auto [key, flag] : {std::pair<const char*, bool*>{"gzip", &gzip}, {"to_fd", &to_fd}}) {
    if (const json::value* v = request.if_contains(key); v != nullptr && !v->is_null()) {
      if (!v->is_bool()) return std::string(key) + " must be true or false";
      *flag = v->as_bool();
    }
  }
  return std::nullopt;
}

// Waits (bounded) for the client's file and checks it is a regular file; -1 otherwise.
asio::awaitable<int> awaitTargetFd(ExportStreamer::Socket& socket) {
  asio::steady_timer no_fd(socket.get_executor());
  no_fd.expires_after(kStalledWrite);
  no_fd.async_wait([&socket](const boost::system::error_code& e) {
    if (e) return;
    boost::system::error_code ignored;  // the client never sent its file: give up on it
    socket.close(ignored);
  });
  auto [ec] =
      co_await socket.async_wait(ExportStreamer::Socket::wait_read, as_tuple(use_awaitable));
  no_fd.cancel();
  if (ec) co_return -1;
  int fd = receiveFd(socket.native_handle());
  struct stat st {};
  if (fd >= 0 && (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
    ::close(fd);
    fd = -1;
  }
  co_return fd;
}

std::string line(const json::object& o) {
  return json::serialize(o) + "\n";
}

struct PumpArgs {
  std::shared_ptr<source::EventReader> reader;
  BatchLimits limits;
  webhook::EncodeOptions encode;
  bool gzip = false;
  std::string region_name;
  bool to_fd = false;
};

// Streams the range: with to_fd, into the file the client sends (progress lines on the
// socket); else as length-prefixed chunks on the socket. Ends with the summary line.

asio::awaitable<bool> pump(ExportStreamer::Socket& socket, Runtime& runtime, PumpArgs& args) {
  const std::shared_ptr<source::EventReader> reader = args.reader;
  const BatchLimits limits = args.limits;
  webhook::EncodeOptions encode = args.encode;
  const bool gzip = args.gzip;
  const std::string region_name = args.region_name;
  std::string out;
  int target_fd = -1;
  if (args.to_fd) {
    target_fd = co_await awaitTargetFd(socket);
    if (target_fd < 0) {
      // Only regular files: a write to a pipe could block a worker thread for ever.
      out = line(refusal(400, "to_fd needs a regular file sent with SCM_RIGHTS"));
      co_return co_await writeAll(socket, out);
    }
  }
  FdCloser closer{target_fd};  // the client's file is closed when the export ends
  // Reads one batch ahead: the next is read and encoded while this one is written.
  // Buffers written come back for the next reads: fresh multi-MiB buffers cost a page
  // fault every 4 KiB.
  auto buffers = std::make_shared<BufferPool>(3);
  auto start_read = [&, signer = runtime.signer] {
    auto pending = std::make_shared<Pending>(runtime.loop);
    asio::post(runtime.workers, [pending, reader, limits, encode, signer, gzip, buffers,
                                 loop = runtime.loop]() mutable {
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
    if (target_fd >= 0) {
      // Written on a worker (a disk write), while the next batch is read on another.
      const int err =
          co_await writeOnWorker(runtime.workers, target_fd, chunk.bytes, chunk.newline);
      if (err != 0) {
        failure = std::string("cannot write the output file: ") + std::strerror(err);
        break;
      }
      events += chunk.events;
      bytes += size;
      buffers->give(std::move(chunk.bytes));
      // Progress for the client, which also notices a client gone.
      json::object progress{{"progress", json::object{{"events", events}, {"bytes", bytes}}}};
      out = line(progress);
      if (!co_await writeAll(socket, out)) co_return false;
      continue;
    }
    const std::string length = std::to_string(size) + "\n";
    const std::array<asio::const_buffer, 3> pieces{asio::buffer(length), asio::buffer(chunk.bytes),
                                                   asio::buffer("\n", chunk.newline ? 1 : 0)};
    // A client that stops reading must not hold the range's snapshot for ever.
    asio::steady_timer stalled(runtime.loop);
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
    summary = refusal(500, failure->starts_with("cannot write")
                               ? *failure
                               : "store failed reading the range: " + *failure);
    spdlog::error("export region={} failed after {} events: {}", region_name, events, *failure);
  } else {
    summary = answer(true, 200);
    summary["events"] = events;
    summary["bytes"] = bytes;
    spdlog::info("export done region={} events={} bytes={}", region_name, events, bytes);
  }
  out = (target_fd >= 0 ? "" : "0\n") + line(summary);
  co_return co_await writeAll(socket, out);
}

}  // namespace

ExportStreamer::ExportStreamer(Runtime& runtime, SourceFor source_for)
    : runtime_(runtime), source_for_(std::move(source_for)) {}

asio::awaitable<bool> ExportStreamer::stream(json::object request, Socket& socket) {
  std::string out;  // a named lvalue for each co_await: GCC 12 mishandles temporaries there
  const config::Config& config = *runtime_.config;
  std::string region_name;
  Refusal refused;
  // The request's JSON types first (as the protocol codec checks a replay request's).
  auto text = [&](const char* key, std::string reason) -> std::optional<std::string> {
    const json::value* v = request.if_contains(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!v->is_string()) {
      addBadField(refused, key, std::move(reason));
      return std::nullopt;
    }
    return std::string(v->as_string());
  };
  const std::optional<std::string> named = text("region", "region must be a string");
  const std::optional<std::string> start_at =
      text("start_at", "start_at must be an RFC 3339 string");
  const std::optional<std::string> end_at = text("end_at", "end_at must be an RFC 3339 string");
  if (!refused.fields.empty() || !resolveRegion(named, config, region_name, refused)) {
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
  if (!validateRange(start_at, end_at, unchecked_webhook, config.retention,
                     runtime_.clock.nowMillis(), range, refused)) {
    {
      out = line(refusal(refused.code, refused.reason));
      co_return co_await writeAll(socket, out);
    }
  }
  webhook::EncodeOptions encode;
  encode.format = region.webhook.log_format;
  encode.compression = config::Compression::None;
  bool gzip = false;
  bool to_fd = false;
  const std::optional<std::string> problem = readOptions(request, encode, gzip, to_fd);
  if (problem) {
    out = line(refusal(400, *problem));
    co_return co_await writeAll(socket, out);
  }

  // Sized and opened off the loop, over one view: the export holds what was counted.
  std::string why;
  source::EventSourcePtr source = source_for_(region_name, &why);
  if (!source) {
    out = line(refusal(503, why));
    co_return co_await writeAll(socket, out);
  }
  source::TimeRange span{range.first_ms, range.last_ms};
  auto open = [source, span] {
    std::string detail;
    auto planned = source->plan(span, &detail);
    if (!planned) {
      return std::make_tuple(std::uint64_t{0}, source::EventReaderPtr{},
                             detail.empty() ? planned.error().message() : detail);
    }
    auto reader = source->openReaderAt(span, planned->checkpoint, planned->view);
    if (!reader)
      return std::make_tuple(std::uint64_t{0}, source::EventReaderPtr{}, reader.error().message());
    return std::make_tuple(planned->count, std::move(*reader), std::string());
  };
  auto [total, opened, open_error] = co_await offload(runtime_.workers, open);
  if (!opened) {
    out = line(refusal(500, "store failed: " + open_error));
    co_return co_await writeAll(socket, out);
  }
  std::shared_ptr<source::EventReader> reader(std::move(opened));

  auto header = answer(true, 200);
  header["export"] =
      json::object{{"region", region_name},  {"format", config::toString(encode.format)},
                   {"gzip", gzip},           {"start_at", range.start_at},
                   {"end_at", range.end_at}, {"events_total", total}};
  // A larger socket buffer means fewer wake-ups per batch (the kernel caps it at wmem_max).
  boost::system::error_code ignored;  // a smaller buffer only costs speed
  socket.set_option(asio::socket_base::send_buffer_size(kSendBuffer), ignored);
  header["export"].as_object()["to_fd"] = to_fd;
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
  PumpArgs args{std::move(reader), limits, encode, gzip, region_name, to_fd};
  const bool usable = co_await pump(socket, runtime_, args);
  co_return usable;
}

}  // namespace audit::jobs
