// export: a range as the webhook would receive it, streamed by the daemon to a file or
// stdout. The CLI never opens the store; the daemon reads, encodes and signs.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

#include "common/expected.hpp"
#include "ctl/context.hpp"
#include "ctl/progress.hpp"
#include "ctl/time_range.hpp"
#include "protocol/vocabulary.hpp"

namespace audit::ctl {

namespace json = boost::json;

namespace {

constexpr auto kRedrawEvery = std::chrono::milliseconds(200);

// Where the bytes go: stdout, or a temporary file beside FILE renamed over it at the end.
class Output {
 public:
  explicit Output(const Context& ctx) : ctx_(ctx) {}
  ~Output() {
    if (fd_ >= 0) ::close(fd_);
    if (!temp_.empty()) ::unlink(temp_.c_str());  // not committed: leave nothing behind
  }

  Expected<> open(const std::string& file) {
    file_ = file;
    std::filesystem::path target(file);
    std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
    std::string pattern = (dir / ("." + target.filename().string() + ".partial-XXXXXX")).string();
    fd_ = ::mkstemp(pattern.data());
    if (fd_ < 0) {
      return Failure{"cannot create a file in " + dir.string() + ": " + std::strerror(errno)};
    }
    (void)::fchmod(fd_, 0640);  // audit data: the owner and its group only
    temp_ = pattern;
    return {};
  }

  Expected<> write(std::string_view bytes) {
    if (fd_ < 0 && &ctx_.out != &std::cout) {
      ctx_.out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (!ctx_.out) return Failure{"cannot write to stdout"};
      return {};
    }
    // The process's stdout is written directly: a stream would copy every byte once more.
    const int fd = fd_ >= 0 ? fd_ : stdoutFd();
    while (!bytes.empty()) {
      ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        if (fd_ < 0) return Failure{std::string("cannot write to stdout: ") + std::strerror(errno)};
        return Failure{"cannot write " + file_ + ": " + std::strerror(errno)};
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }

  /** The process's stdout, flushed, when the bytes go there rather than to a file or to a
   *  stream of a test; -1 otherwise. */
  int stdoutFd() {
    if (fd_ >= 0 || &ctx_.out != &std::cout) return -1;
    if (!stdout_flushed_) {
      ctx_.out.flush();
      stdout_flushed_ = true;
    }
    return ctx_.out_fd;
  }

  /** The file's descriptor, or -1 when the bytes go to stdout. */
  int fd() const { return fd_; }

  /** Flushes; a file is synced and renamed to its name. */
  Expected<> commit() {
    if (fd_ < 0) {
      ctx_.out.flush();
      if (!ctx_.out) return Failure{"cannot write to stdout"};
      return {};
    }
    if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
      Failure failure{"cannot write " + file_ + ": " + std::strerror(errno)};
      fd_ = -1;
      return failure;
    }
    fd_ = -1;
    if (::rename(temp_.c_str(), file_.c_str()) != 0) {
      return Failure{"cannot rename to " + file_ + ": " + std::strerror(errno)};
    }
    temp_.clear();
    return {};
  }

 private:
  const Context& ctx_;
  std::string file_;
  std::string temp_;
  int fd_ = -1;
  bool stdout_flushed_ = false;
};

std::optional<json::object> parseObject(const std::string& line) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::uint64_t numberOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() > 0) return static_cast<std::uint64_t>(v->as_int64());
  return 0;
}

}  // namespace

int runExport(const Context& ctx, const ParsedArgs& args) {
  auto range = resolveTimeRange(args, ctx.clock->nowMillis());
  if (!range) return usageError(ctx, "export", range.message());
  json::object req{{"op", protocol::toString(protocol::Op::Export)},
                   {"region", *args.value("--region")},
                   {"start_at", range->start_at},
                   {"end_at", range->end_at}};
  if (auto format = args.value("--format")) {
    if (*format != "json" && *format != "cef" && *format != "cps") {
      return usageError(ctx, "export", "bad --format '" + *format + "': expected json, cef or cps");
    }
    req["format"] = *format;
  }
  if (args.has("--gzip")) req["gzip"] = true;
  const std::optional<std::string> file = args.value("-o");
  // A regular file (-o, or stdout redirected to one) is handed to the daemon, which writes
  // it itself; a pipe or a terminal is streamed over the socket.
  struct stat out_stat {};
  const bool stdout_is_file =
      &ctx.out == &std::cout && ::fstat(ctx.out_fd, &out_stat) == 0 && S_ISREG(out_stat.st_mode);
  if (file || stdout_is_file) req["to_fd"] = true;
  // The summary of --json goes to stdout, unless the events do.
  std::ostream& summary_out = file ? ctx.out : ctx.err;

  auto client = connectOrReport(ctx);
  if (!client) return kExitUnreachable;
  if (auto sent = client->sendLine(json::serialize(req)); !sent) {
    printError(ctx, "lost the connection to audit-replayd: " + sent.message());
    return kExitUnreachable;
  }
  auto first = client->receiveLine();
  if (!first) {
    printError(ctx, "lost the connection to audit-replayd: " + first.message());
    return kExitUnreachable;
  }
  auto header = parseObject(*first);
  if (!header) {
    printError(ctx, "the daemon's answer is not a JSON object");
    return kExitUnreachable;
  }
  if (!isOk(*header)) {
    reportRefusal(ctx, *header);
    return kExitFailed;
  }
  const json::object* about =
      header->if_contains("export") ? header->at("export").if_object() : nullptr;
  const std::uint64_t total = about ? numberOf(*about, "events_total") : 0;

  std::string error;
  Output output(ctx);
  if (file) {
    if (auto opened = output.open(*file); !opened) {
      printError(ctx, opened.message());
      return kExitFailed;
    }
  }

  const bool live = ::isatty(ctx.err_fd) == 1;
  const bool to_fd = about && about->contains("to_fd") && about->at("to_fd") == true;
  ProgressDisplay display(ctx.err, ctx.err_fd);
  RateMeter meter;
  std::optional<MonoTime> last_draw;
  std::uint64_t lines = 0;  // events written, counted from the plain bytes' line ends
  const bool gzip = args.has("--gzip");
  auto sink = [&](std::string_view piece) {
    // Counted for the progress line only: a terminal shows it, a script does not.
    if (!gzip && live) {
      lines += static_cast<std::uint64_t>(std::count(piece.begin(), piece.end(), '\n'));
    }
    auto written = output.write(piece);
    if (!written) error = written.message();
    return written.has_value();
  };
  auto draw = [&](std::uint64_t done) {
    auto now = ctx.clock->monotonicNow();
    if (last_draw && now - *last_draw < kRedrawEvery) return;
    last_draw = now;
    meter.add(now, done);
    ProgressView view;
    view.done = done;
    view.total = total;
    view.rate = meter.perSecond();
    if (total > done) view.eta = meter.eta(total - done);
    view.label = gzip ? "exporting (gzip)" : "exporting";
    display.draw(view);
  };
  std::optional<json::object> summary;
  if (to_fd) {
    ctx.out.flush();
    const int target = output.fd() >= 0 ? output.fd() : ctx.out_fd;
    if (auto sent = client->sendFd(target); !sent) {
      printError(ctx, "lost the connection to audit-replayd: " + sent.message());
      return kExitUnreachable;
    }
    // The daemon writes the file; the socket carries progress lines, then the summary.
    for (;;) {
      auto line = client->receiveLine();
      if (!line) {
        error = line.message();
        break;
      }
      auto message = parseObject(*line);
      if (!message) {
        error = "the daemon's export stream is malformed";
        break;
      }
      if (const json::value* p = message->if_contains("progress"); p && p->is_object()) {
        if (live) draw(numberOf(p->as_object(), "events"));
        continue;
      }
      summary = std::move(message);
      break;
    }
  }
  // Without a progress bar to feed, the stream goes from the socket to stdout inside the
  // kernel: its bytes are never copied through this process.
  std::optional<KernelCopy> kernel_copy;
  if (const int out = output.stdoutFd(); !to_fd && !live && out >= 0) kernel_copy.emplace(out);
  for (; !to_fd;) {
    auto got = client->receiveLine();
    if (!got) {
      error = got.message();
      break;
    }
    const std::string& line = *got;
    std::size_t length = 0;
    auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), length);
    if (ec != std::errc() || end != line.data() + line.size()) {
      error = "the daemon's export stream is malformed";
      break;
    }
    if (length == 0) {
      if (auto last = client->receiveLine()) {
        summary = parseObject(*last);
      } else {
        error = last.message();
      }
      break;
    }
    auto received = kernel_copy ? client->receiveInto(length, *kernel_copy, sink)
                                : client->receiveBytes(length, sink);
    if (!received) {
      if (error.empty()) error = received.message();  // a failed write has said why already
      break;
    }
    if (live) draw(lines);
  }
  display.finish();
  if (!summary) {
    printError(ctx, "export incomplete: " + (error.empty() ? "no summary" : error));
    return kExitUnreachable;
  }
  if (!isOk(*summary)) {
    reportRefusal(ctx, *summary);
    return kExitFailed;
  }
  if (auto committed = output.commit(); !committed) {
    printError(ctx, committed.message());
    return kExitFailed;
  }
  json::object result{
      {"ok", true},
      {"region", *args.value("--region")},
      {"start_at", range->start_at},
      {"end_at", range->end_at},
      {"format", about && about->contains("format") ? about->at("format") : json::value("json")},
      {"gzip", gzip},
      {"events", numberOf(*summary, "events")},
      {"bytes", numberOf(*summary, "bytes")}};
  if (file) result["file"] = *file;
  if (ctx.json) {
    summary_out << json::serialize(result) << '\n' << std::flush;
  } else if (file) {
    ctx.err << "exported " << numberOf(*summary, "events") << " events ("
            << numberOf(*summary, "bytes") << " bytes) to " << *file << '\n';
  }
  return kExitOk;
}

}  // namespace audit::ctl
