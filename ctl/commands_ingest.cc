// ingest: sends an NDJSON file (or stdin) to a region in two passes. The first checks every
// line and sends nothing if one is bad (docs/store.md: a file with a bad line stores nothing);
// the second streams chunks. Memory stays bounded by one chunk however large the file.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/expected.hpp"
#include "common/line_reader.hpp"
#include "ctl/context.hpp"
#include "ctl/event_check.hpp"
#include "ctl/format.hpp"
#include "ctl/ingest_chunk.hpp"
#include "ctl/job_view.hpp"
#include "ctl/progress.hpp"

namespace audit::ctl {

namespace json = boost::json;

namespace {

// The daemon answers 413 and hangs up past this request line length (docs/cli.md).
constexpr std::size_t kMaxRequestLine = 16u << 20;
// Bad lines listed before "… and N more": enough to fix a file, bounded for a broken one.
constexpr std::size_t kMaxListed = 100;
// Progress redraws at most this often; a check pass reads hundreds of MB a second.
constexpr std::chrono::milliseconds kRedrawEvery{100};

// The input, readable twice from `start`.
struct Input {
  int fd = -1;
  bool owned = false;
  off_t start = 0;
  std::uint64_t size = 0;  // bytes from start, for the progress bar

  ~Input() {
    if (owned && fd >= 0) ::close(fd);
  }
};

// stdin cannot be read twice, so it is copied to an unlinked temporary file in $TMPDIR
// (default /tmp) first; the file vanishes when we exit, however we exit. A regular file
// redirected to stdin is read in place.
Expected<> spoolStdin(int in_fd, Input* input) {
  struct stat st {};
  if (::fstat(in_fd, &st) == 0 && S_ISREG(st.st_mode)) {
    off_t at = ::lseek(in_fd, 0, SEEK_CUR);
    if (at >= 0) {
      input->fd = in_fd;
      input->start = at;
      input->size = static_cast<std::uint64_t>(st.st_size > at ? st.st_size - at : 0);
      return {};
    }
  }
  const char* dir = std::getenv("TMPDIR");
  std::string path =
      std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/audit-replayctl-stdin-XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd < 0) {
    return Failure{"cannot create a temporary file to hold stdin in " + path + ": " +
                   std::strerror(errno)};
  }
  ::unlink(path.c_str());
  input->fd = fd;
  input->owned = true;
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(in_fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return Failure{std::string("cannot read stdin: ") + std::strerror(errno)};
    }
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(fd, buffer + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        return Failure{
            std::string("cannot spool stdin to a temporary file (set TMPDIR or pass a file): ") +
            std::strerror(errno)};
      }
      done += w;
    }
    input->size += static_cast<std::uint64_t>(n);
  }
  return {};  // input->start is 0: both passes rewind to it
}

Expected<> openInput(const Context& ctx, const std::string& path, Input* input) {
  if (path == "-") return spoolStdin(ctx.in_fd, input);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Failure{"cannot open " + path + ": " + std::strerror(errno)};
  }
  input->fd = fd;
  input->owned = true;
  struct stat st {};
  if (::fstat(fd, &st) == 0) input->size = static_cast<std::uint64_t>(st.st_size);
  return {};
}

bool isBlank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

// The progress line on stderr while a pass runs, when stderr is a terminal.
class PassProgress {
 public:
  PassProgress(const Context& ctx, std::uint64_t total, std::string label)
      : ctx_(ctx),
        live_(!ctx.json && ::isatty(ctx.err_fd) == 1),
        display_(ctx.err, ctx.err_fd),
        total_(total),
        label_(std::move(label)) {}

  void update(std::uint64_t done, bool force = false) {
    if (!live_) return;
    auto now = ctx_.clock->monotonicNow();
    if (!force && last_ && now - *last_ < kRedrawEvery) return;
    last_ = now;
    meter_.add(now, done);
    ProgressView view;
    view.bytes = true;
    view.done = done;
    view.total = total_;
    view.rate = meter_.perSecond();
    if (total_ > done) view.eta = meter_.eta(total_ - done);
    view.label = label_;
    display_.draw(view);
  }
  void finish() { display_.finish(); }

 private:
  const Context& ctx_;
  bool live_;
  ProgressDisplay display_;
  RateMeter meter_;
  std::optional<MonoTime> last_;
  std::uint64_t total_;
  std::string label_;
};

// Why `line` cannot be sent, or "" when it can.
std::string problemOf(std::string_view line, std::size_t envelope) {
  EventCheck check = checkEvent(line);
  if (!check.ok()) return check.reason;
  if (jsonStringSize(line) + envelope > kMaxRequestLine) {
    return "event of " + formatBytes(line.size()) +
           " is too large for one ingest request (the control socket takes 16 MiB a line)";
  }
  return {};
}

struct CheckResult {
  std::size_t events = 0;
  std::size_t bad = 0;
  std::vector<std::pair<std::size_t, std::string>> listed;  // line number, reason
};

// Pass 1. @return false on a read error (reported).
bool checkPass(const Context& ctx, const Input& input, const std::string& name,
               std::size_t envelope, CheckResult* result) {
  LineReader reader(input.fd, kMaxRequestLine);
  PassProgress progress(ctx, input.size, "checking");
  std::uint64_t consumed = 0;
  std::string_view line;
  for (;;) {
    auto status = reader.next(line);
    if (status == LineReader::Status::End) break;
    if (status == LineReader::Status::Error) {
      progress.finish();
      printError(ctx, "cannot read " + name + ": " + std::strerror(reader.error()));
      return false;
    }
    consumed += line.size() + 1;
    progress.update(consumed);
    std::string problem;
    if (status == LineReader::Status::TooLong) {
      problem = "line longer than 16 MiB";
    } else if (isBlank(line)) {
      continue;
    } else {
      problem = problemOf(line, envelope);
    }
    ++result->events;
    if (problem.empty()) continue;
    ++result->bad;
    if (result->listed.size() < kMaxListed)
      result->listed.emplace_back(reader.lineNumber(), problem);
  }
  progress.update(input.size, true);
  progress.finish();
  return true;
}

struct Totals {
  std::uint64_t sent = 0;
  std::uint64_t ingested = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t rejected = 0;
};

// Sends one chunk. @return an exit code, or -1 to go on.
int sendChunk(const Context& ctx, ControlClient& client, const IngestChunk& chunk,
              const std::string& name, PassProgress& progress, Totals* totals) {
  auto answer = client.call(chunk.requestLine());
  if (!answer) {
    progress.finish();
    printError(ctx,
               "lost connection to audit-replayd at " + ctx.socket_path + ": " + answer.message());
    if (totals->sent > 0) {
      printError(ctx,
                 "the first " + groupThousands(totals->sent) +
                     " events were sent; ingest is idempotent, so sending the file again is safe");
    }
    return kExitUnreachable;
  }
  const json::object& response = *answer;
  if (ctx.json) printJson(ctx, response);
  if (const json::value* rejected = response.if_contains("rejected");
      rejected != nullptr && rejected->is_array() && !rejected->get_array().empty()) {
    progress.finish();
    for (const auto& r : rejected->get_array()) {
      if (!r.is_object()) continue;
      // ingest_raw names the 1-based line of the chunk, ingest the 0-based index.
      const json::object& item = r.get_object();
      std::size_t index =
          item.contains("line") ? countField(item, "line") - 1 : countField(item, "index");
      std::string line = index < chunk.size() ? std::to_string(chunk.lineNumbers()[index]) : "?";
      ctx.err << name << ':' << line << ": rejected by the daemon: " << stringField(item, "reason")
              << '\n';
      ++totals->rejected;
    }
    ctx.err << std::flush;
  }
  if (!isOk(response)) {
    progress.finish();
    // With --json the answer is already on stdout; the reason still goes to stderr.
    Context plain = ctx;
    plain.json = false;
    reportRefusal(plain, response);
    if (totals->sent > 0) {
      printError(
          ctx,
          "the first " + groupThousands(totals->sent) +
              " events were stored; ingest is idempotent, so sending the fixed file again is safe");
    }
    return kExitFailed;
  }
  totals->sent += chunk.size();
  totals->ingested += countField(response, "ingested");
  totals->duplicates += countField(response, "duplicates");
  return -1;
}

}  // namespace

int runIngest(const Context& ctx, const ParsedArgs& args) {
  const std::string region = *args.value("--region");
  const bool skip_invalid = args.has("--skip-invalid");
  const std::string path = args.positional.front();
  const std::string name = path == "-" ? "stdin" : path;

  // Unreachable is reported before a long check pass, not after it.
  auto client = connectOrReport(ctx);
  if (!client) return kExitUnreachable;

  Input input;
  if (auto opened = openInput(ctx, path, &input); !opened) {
    printError(ctx, opened.message());
    return kExitUsage;
  }
  // Raw: the events go as they are, parsed once by the daemon (not escaped into JSON strings).
  IngestChunk chunk(region, skip_invalid, IngestChunk::kMaxLines, IngestChunk::kMaxBytes,
                    IngestChunk::Wire::Raw);
  const std::size_t envelope = chunk.requestLine().size() + 1;

  CheckResult check;
  if (::lseek(input.fd, input.start, SEEK_SET) < 0) {
    printError(ctx, "cannot rewind " + name + ": " + std::strerror(errno));
    return kExitUsage;
  }
  if (!checkPass(ctx, input, name, envelope, &check)) return kExitUsage;
  for (const auto& [line, reason] : check.listed)
    ctx.err << name << ':' << line << ": " << reason << '\n';
  if (check.bad > check.listed.size()) {
    ctx.err << name << ": … and " << groupThousands(check.bad - check.listed.size())
            << " more bad lines\n";
  }
  ctx.err << std::flush;
  if (check.bad > 0 && !skip_invalid) {
    printError(ctx,
               name + ": " + groupThousands(check.bad) + " of " + groupThousands(check.events) +
                   " events are invalid; nothing was sent (--skip-invalid sends the valid ones)");
    return kExitFailed;
  }

  if (::lseek(input.fd, input.start, SEEK_SET) < 0) {
    printError(ctx, "cannot rewind " + name + ": " + std::strerror(errno));
    return kExitUsage;
  }
  // Requests of several MiB take the daemon longer than a question does.
  client->setTimeout(std::chrono::minutes(5));
  LineReader reader(input.fd, kMaxRequestLine);
  PassProgress progress(ctx, input.size, "sending");
  Totals totals;
  std::uint64_t consumed = 0;
  std::string_view line;
  for (;;) {
    auto status = reader.next(line);
    if (status == LineReader::Status::End) break;
    if (status == LineReader::Status::Error) {
      progress.finish();
      printError(ctx, "cannot read " + name + ": " + std::strerror(reader.error()));
      return kExitUsage;
    }
    consumed += line.size() + 1;
    if (status == LineReader::Status::Line && isBlank(line)) continue;
    // A file whose check found nothing bad is not checked again line by line: the daemon
    // checks every event of a chunk and stores the chunk atomically, so a line changed since
    // the check is refused there, with its file line number.
    if (status != LineReader::Status::Line ||
        (check.bad > 0 && !problemOf(line, envelope).empty())) {
      // Lines the check pass reported are skipped with --skip-invalid. Without it, a bad
      // line here means the file changed since it was checked.
      if (skip_invalid) continue;
      progress.finish();
      printError(ctx, name + ":" + std::to_string(reader.lineNumber()) +
                          ": the file changed while it was read; stopped after " +
                          groupThousands(totals.sent) +
                          " events (ingest is idempotent: send it again)");
      return kExitFailed;
    }
    if (!chunk.fits(line)) {
      if (int rc = sendChunk(ctx, *client, chunk, name, progress, &totals); rc >= 0) return rc;
      chunk.clear();
      progress.update(consumed);
    }
    chunk.add(line, reader.lineNumber());
  }
  if (!chunk.empty()) {
    if (int rc = sendChunk(ctx, *client, chunk, name, progress, &totals); rc >= 0) return rc;
  }
  progress.update(input.size, true);
  progress.finish();

  if (!ctx.json) {
    ctx.out << name << ": sent " << groupThousands(totals.sent) << " events to region " << region
            << ": " << groupThousands(totals.ingested) << " ingested, "
            << groupThousands(totals.duplicates) << " duplicates, "
            << groupThousands(totals.rejected + check.bad) << " rejected\n"
            << std::flush;
  }
  return kExitOk;
}

}  // namespace audit::ctl
