#include "api/export_streamer.hpp"

#include <fcntl.h>
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
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <utility>

#include "common/offload.hpp"
#include "config/config.hpp"

namespace audit::api {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

constexpr int kSendBuffer = 4 << 20;
constexpr auto kStalledWrite = std::chrono::seconds(120);
// How often a file export has the disk start on what it wrote so far.
constexpr std::uint64_t kWritebackEvery = 16u << 20;

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
struct Pending {
  explicit Pending(const asio::any_io_executor& ex)
      : ready(ex, asio::steady_timer::time_point::max()) {}
  std::optional<jobs::ExportChunk> value;
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

// With `start_writeback`, the file's dirty pages are handed to the disk now, without waiting
// for them: the client's fsync at the end then finds little left to write.
asio::awaitable<int> writeOnWorker(asio::thread_pool& pool, int fd, const std::string& data,
                                   bool newline, bool start_writeback) {
  auto work = [fd, bytes = std::string_view(data), newline, start_writeback] {
    const int err = writeFully(fd, bytes, newline);
    if (err == 0 && start_writeback) {
      (void)::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);  // a head start only
    }
    return err;
  };
  co_return co_await offload(pool, work);
}

// The request's JSON types, decoded into the engine's request. A bad region, start_at or
// end_at is refused at once (as the protocol codec refuses a replay request's); a bad gzip
// or to_fd only after the engine checked region and range, and the format (text here) is
// the engine's to check — the order of the refusals of every export so far. The client may
// hand over a regular file (to_fd, SCM_RIGHTS) instead of reading the bytes from the
// socket: the daemon then writes them itself, saving two copies.
struct Decoded {
  jobs::ExportRequest request;
  bool to_fd = false;
  jobs::Refusal types;                    // bad region/start_at/end_at: refused first
  std::optional<std::string> bad_option;  // bad gzip/to_fd: refused after the engine's checks
};

Decoded decode(const json::object& request) {
  Decoded d;
  auto text = [&](const char* key, std::string reason) -> std::optional<std::string> {
    const json::value* v = request.if_contains(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!v->is_string()) {
      jobs::addBadField(d.types, key, std::move(reason));
      return std::nullopt;
    }
    return std::string(v->as_string());
  };
  d.request.region = text("region", "region must be a string");
  d.request.start_at = text("start_at", "start_at must be an RFC 3339 string");
  d.request.end_at = text("end_at", "end_at must be an RFC 3339 string");
  if (const json::value* f = request.if_contains("format"); f != nullptr && !f->is_null()) {
    // Not a string: no format's name, refused as an unknown one.
    d.request.format = f->is_string() ? std::string(f->as_string()) : std::string();
  }
  for (auto [key, flag] :
       {std::pair<const char*, bool*>{"gzip", &d.request.gzip}, {"to_fd", &d.to_fd}}) {
    if (const json::value* v = request.if_contains(key); v != nullptr && !v->is_null()) {
      if (!v->is_bool()) {
        d.bad_option = std::string(key) + " must be true or false";
        break;
      }
      *flag = v->as_bool();
    }
  }
  return d;
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

// Streams the range: with to_fd, into the file the client sends (progress lines on the
// socket); else as length-prefixed chunks on the socket. Ends with the summary line.
asio::awaitable<bool> pump(ExportStreamer::Socket& socket, asio::thread_pool& workers,
                           std::shared_ptr<jobs::ExportBatches> batches, std::string region_name,
                           bool to_fd) {
  std::string out;
  int target_fd = -1;
  if (to_fd) {
    target_fd = co_await awaitTargetFd(socket);
    if (target_fd < 0) {
      // Only regular files: a write to a pipe could block a worker thread for ever.
      out = line(refusal(400, "to_fd needs a regular file sent with SCM_RIGHTS"));
      co_return co_await writeAll(socket, out);
    }
  }
  FdCloser closer{target_fd};  // the client's file is closed when the export ends
  const asio::any_io_executor loop = socket.get_executor();
  // Reads run ahead of the writes, up to kReadAhead batches, in order on a strand of the
  // workers (the reader takes one call at a time): a write that stalls for a moment does not
  // stall the reads, and the reads keep a core busy while the other writes.
  auto reads = asio::make_strand(workers);
  auto start_read = [&reads, &loop, &batches] {
    auto pending = std::make_shared<Pending>(loop);
    asio::post(reads, [pending, batches, loop] {
      jobs::ExportChunk chunk = batches->next();
      asio::post(loop, [pending, chunk = std::move(chunk)]() mutable {
        pending->value = std::move(chunk);
        pending->ready.cancel();
      });
    });
    return pending;
  };

  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
  std::uint64_t unsynced = 0;  // bytes written to the file since writeback last started
  std::optional<std::string> failure;
  std::deque<std::shared_ptr<Pending>> ahead;
  for (std::size_t i = 0; i < jobs::kExportReadAhead; ++i) ahead.push_back(start_read());
  for (;;) {
    std::shared_ptr<Pending> next = std::move(ahead.front());
    ahead.pop_front();
    if (!next->value) co_await next->ready.async_wait(as_tuple(use_awaitable));
    jobs::ExportChunk chunk = std::move(*next->value);
    if (chunk.error) {
      failure = std::move(chunk.error);
      break;
    }
    if (chunk.end) break;
    ahead.push_back(start_read());  // past the end a read only answers "end" again
    const std::size_t size = chunk.bytes.size() + (chunk.newline ? 1 : 0);
    if (target_fd >= 0) {
      // Written on a worker (a disk write), while the next batch is read on another.
      unsynced += size;
      const bool start_writeback = unsynced >= kWritebackEvery;
      if (start_writeback) unsynced = 0;
      const int err =
          co_await writeOnWorker(workers, target_fd, chunk.bytes, chunk.newline, start_writeback);
      if (err != 0) {
        failure = std::string("cannot write the output file: ") + std::strerror(err);
        break;
      }
      events += chunk.events;
      bytes += size;
      batches->recycle(std::move(chunk.bytes));
      // Progress for the client, which also notices a client gone.
      json::object progress{{"progress", json::object{{"events", events}, {"bytes", bytes}}}};
      out = line(progress);
      const bool written = co_await writeAll(socket, out);
      if (!written) co_return false;
      continue;
    }
    const std::string length = std::to_string(size) + "\n";
    const std::array<asio::const_buffer, 3> pieces{asio::buffer(length), asio::buffer(chunk.bytes),
                                                   asio::buffer("\n", chunk.newline ? 1 : 0)};
    // A client that stops reading must not hold the range's snapshot for ever.
    asio::steady_timer stalled(loop);
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
    batches->recycle(std::move(chunk.bytes));
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

ExportStreamer::ExportStreamer(jobs::Engine& engine, asio::thread_pool& workers)
    : engine_(engine), workers_(workers) {}

asio::awaitable<bool> ExportStreamer::stream(json::object request, Socket& socket) {
  std::string out;  // a named lvalue for each co_await: GCC 12 mishandles temporaries there
  Decoded decoded = decode(request);
  if (!decoded.types.fields.empty()) {
    out = line(refusal(decoded.types.code, decoded.types.reason));
    co_return co_await writeAll(socket, out);
  }
  jobs::Outcome<jobs::ExportPlan> plan = engine_.planExport(decoded.request);
  if (!plan) {
    out = line(refusal(plan.error().code, plan.error().reason));
    co_return co_await writeAll(socket, out);
  }
  if (decoded.bad_option) {
    out = line(refusal(400, *decoded.bad_option));
    co_return co_await writeAll(socket, out);
  }
  const std::string region_name = plan->region;
  const jobs::ValidRange range = plan->range;
  const config::EventFormat format = plan->format;
  const bool gzip = plan->gzip;
  jobs::Outcome<jobs::OpenedExport> opened = co_await engine_.openExport(std::move(*plan));
  if (!opened) {
    out = line(refusal(opened.error().code, opened.error().reason));
    co_return co_await writeAll(socket, out);
  }

  auto header = answer(true, 200);
  header["export"] = json::object{{"region", region_name},  {"format", config::toString(format)},
                                  {"gzip", gzip},           {"start_at", range.start_at},
                                  {"end_at", range.end_at}, {"events_total", opened->events_total}};
  // A larger socket buffer means fewer wake-ups per batch (the kernel caps it at wmem_max).
  boost::system::error_code ignored;  // a smaller buffer only costs speed
  socket.set_option(asio::socket_base::send_buffer_size(kSendBuffer), ignored);
  header["export"].as_object()["to_fd"] = decoded.to_fd;
  out = line(header);
  const bool written = co_await writeAll(socket, out);
  if (!written) co_return false;
  spdlog::info("export started region={} range={}..{} format={} events_total={}", region_name,
               range.start_at, range.end_at, config::toString(format), opened->events_total);
  const bool usable =
      co_await pump(socket, workers_, std::move(opened->batches), region_name, decoded.to_fd);
  co_return usable;
}

}  // namespace audit::api
