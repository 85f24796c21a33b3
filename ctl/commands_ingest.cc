// ingest: sends an NDJSON file (or stdin) to a region in two passes. The first checks every
// line, on every core, and sends nothing if one is bad (docs/store.md: a file with a bad line
// stores nothing); it also cuts the file into requests. The second sends them as they are in
// the file (sendfile), over one connection per core, so the daemon stores several at once.
// Memory stays at a few MiB however large the file.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <thread>

#include "common/expected.hpp"
#include "common/line_reader.hpp"
#include "ctl/context.hpp"
#include "ctl/format.hpp"
#include "ctl/ingest_check.hpp"
#include "ctl/ingest_chunk.hpp"
#include "ctl/job_view.hpp"
#include "ctl/progress.hpp"

namespace audit::ctl {

namespace json = boost::json;

namespace {

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
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    input->fd = fd;
    input->owned = true;
    input->size = static_cast<std::uint64_t>(st.st_size);
    return {};
  }
  // A named pipe or a device cannot be read twice: spooled as stdin is.
  Expected<> spooled = spoolStdin(fd, input);
  ::close(fd);
  return spooled;
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

// Pass 1, on every core. @return false on a read error (reported).
bool checkPass(const Context& ctx, const Input& input, const std::string& name,
               std::size_t envelope, InputCheck* result) {
  PassProgress progress(ctx, input.size, "checking");
  InputCheckOptions options;
  options.envelope = envelope;
  options.threads = std::max(1u, std::thread::hardware_concurrency());
  *result = checkInput(input.fd, static_cast<std::uint64_t>(input.start), input.size, options,
                       [&progress](std::uint64_t done) { progress.update(done); });
  progress.update(input.size, true);
  progress.finish();
  if (result->read_errno != 0) {
    printError(ctx, "cannot read " + name + ": " + std::strerror(result->read_errno));
    return false;
  }
  return true;
}

struct Totals {
  std::uint64_t sent = 0;
  std::uint64_t ingested = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t rejected = 0;
};

// The send pass. Requests go out over `lanes` connections, each with one request in flight,
// so the daemon stores that many at once (on its worker threads) while the next is read and
// sent; answers are taken in the order the requests went out. A request is either a chunk of
// lines built here (IngestChunk) or a span of the checked file, which the kernel copies from
// the file to the socket (sendfile) without passing through this process.
class ChunkSender {
 public:
  ChunkSender(const Context& ctx, std::unique_ptr<ControlClient> first, std::size_t lanes,
              const std::string& name, PassProgress& progress, const std::string& region,
              bool skip_invalid)
      : ctx_(ctx),
        name_(name),
        progress_(progress),
        filling_(region, skip_invalid, IngestChunk::kMaxLines, IngestChunk::kMaxBytes,
                 IngestChunk::Wire::Raw) {
    lanes_.push_back(Lane{std::move(first), filling_, std::nullopt});
    for (std::size_t i = 1; i < lanes; ++i) {
      auto extra = std::make_unique<ControlClient>(ctx.socket_path, lanes_[0].client->timeout());
      if (!extra->connect()) break;  // one connection is enough; more only go faster
      lanes_.push_back(Lane{std::move(extra), filling_, std::nullopt});
    }
  }

  /** The chunk being filled. */
  IngestChunk& filling() { return filling_; }

  /** Sends the chunk being filled. @return an exit code, or -1 to go on. */
  int send() {
    Lane* lane = nullptr;
    if (int rc = freeLane(&lane); rc >= 0) return rc;
    std::swap(lane->chunk, filling_);  // kept for its line numbers until answered
    filling_.clear();
    if (auto sent = lane->client->sendLine(lane->chunk.requestLine()); !sent) {
      return lostConnection(sent.message());
    }
    return track(*lane, Request{lane->chunk.size(), 0, &lane->chunk.lineNumbers()});
  }

  /** Sends the span of `fd` as one request. @return an exit code, or -1 to go on. */
  int send(int fd, const InputSpan& span) {
    Lane* lane = nullptr;
    if (int rc = freeLane(&lane); rc >= 0) return rc;
    // The request line names the bytes that follow; the last line's '\n' may be missing at
    // the end of a file, and is sent after the span then.
    bool add_newline = false;
    if (span.length > 0) {
      char last = '\n';
      if (::pread(fd, &last, 1, static_cast<off_t>(span.offset + span.length - 1)) == 1 &&
          last != '\n') {
        add_newline = true;
      }
    }
    ControlClient& client = *lane->client;
    Expected<> sent = client.sendBytes(filling_.requestHead(span.length + (add_newline ? 1 : 0)));
    if (sent) sent = client.sendFile(fd, span.offset, span.length);
    if (sent && add_newline) sent = client.sendBytes("\n");
    if (!sent) return lostConnection(sent.message());
    return track(*lane, Request{span.events, span.first_line, nullptr});
  }

  /** Takes the answers still awaited. @return an exit code, or -1 when all were stored. */
  int finish() {
    while (!order_.empty()) {
      if (int rc = collectOldest(); rc >= 0) return rc;
    }
    return -1;
  }

  const Totals& totals() const { return totals_; }

 private:
  // What a request held, to read its answer: its events and the file line numbers of its
  // lines (`numbers`, one per event, for a chunk; from `first_line` on for a span).
  struct Request {
    std::size_t events = 0;
    std::size_t first_line = 0;
    const std::vector<std::size_t>* numbers = nullptr;
  };
  struct Lane {
    std::unique_ptr<ControlClient> client;
    IngestChunk chunk;  // the chunk in flight on this lane (line path)
    std::optional<Request> in_flight;
  };

  // The next lane in turn, its earlier request answered first.
  int freeLane(Lane** lane) {
    Lane& next = lanes_[next_lane_];
    next_lane_ = (next_lane_ + 1) % lanes_.size();
    while (next.in_flight) {
      if (int rc = collectOldest(); rc >= 0) return rc;
    }
    *lane = &next;
    return -1;
  }

  int track(Lane& lane, Request request) {
    lane.in_flight = request;
    order_.push_back(&lane);
    return -1;
  }

  // Reads the answer of the oldest request in flight. On a failure the requests sent after it
  // are answered too (they may have been stored), then the outcome is reported.
  int collectOldest() {
    Lane& lane = *order_.front();
    order_.pop_front();
    const Request request = *lane.in_flight;
    lane.in_flight.reset();
    auto answer = lane.client->receiveObject();
    if (!answer) return lostConnection(answer.message());
    const json::object& response = *answer;
    if (ctx_.json) printJson(ctx_, response);
    reportRejected(request, response);
    if (isOk(response)) {
      count(request, response);
      return -1;
    }
    progress_.finish();
    // With --json the answer is already on stdout; the reason still goes to stderr.
    Context plain = ctx_;
    plain.json = false;
    reportRefusal(plain, response);
    drain();
    reportStored("the fixed file");
    return kExitFailed;
  }

  // How far a failed run got: ingest is idempotent, so sending `what` again is safe.
  void reportStored(std::string_view what) const {
    if (totals_.sent == 0) return;
    printError(ctx_, groupThousands(totals_.sent) + " events were stored; ingest is idempotent, " +
                         "so sending " + std::string(what) + " again is safe");
  }

  // After a failure: the answers of the requests still in flight, counted when stored.
  void drain() {
    while (!order_.empty()) {
      Lane& lane = *order_.front();
      order_.pop_front();
      const Request request = *lane.in_flight;
      lane.in_flight.reset();
      if (auto after = lane.client->receiveObject(); after && isOk(*after)) count(request, *after);
    }
  }

  void count(const Request& request, const json::object& response) {
    totals_.sent += request.events;
    totals_.ingested += countField(response, "ingested");
    totals_.duplicates += countField(response, "duplicates");
  }

  void reportRejected(const Request& request, const json::object& response) {
    const json::value* rejected = response.if_contains("rejected");
    if (rejected == nullptr || !rejected->is_array() || rejected->get_array().empty()) return;
    progress_.finish();
    for (const auto& r : rejected->get_array()) {
      if (!r.is_object()) continue;
      // ingest_raw names the 1-based line of the request, ingest the 0-based index.
      const json::object& item = r.get_object();
      std::size_t index =
          item.contains("line") ? countField(item, "line") - 1 : countField(item, "index");
      std::string line;
      if (request.numbers == nullptr) {
        line = std::to_string(request.first_line + index);
      } else {
        line = index < request.numbers->size() ? std::to_string((*request.numbers)[index]) : "?";
      }
      ctx_.err << name_ << ':' << line
               << ": rejected by the daemon: " << stringField(item, "reason") << '\n';
      ++totals_.rejected;
    }
    ctx_.err << std::flush;
  }

  int lostConnection(const std::string& why) {
    progress_.finish();
    printError(ctx_, "lost connection to audit-replayd at " + ctx_.socket_path + ": " + why);
    reportStored("the file");
    return kExitUnreachable;
  }

  const Context& ctx_;
  const std::string& name_;
  PassProgress& progress_;
  IngestChunk filling_;
  std::vector<Lane> lanes_;
  std::size_t next_lane_ = 0;
  std::deque<Lane*> order_;  // lanes with a request in flight, oldest first
  Totals totals_;
};

void printSummary(const Context& ctx, const std::string& name, const std::string& region,
                  const Totals& totals, std::size_t bad_lines) {
  if (ctx.json) return;
  ctx.out << name << ": sent " << groupThousands(totals.sent) << " events to region " << region
          << ": " << groupThousands(totals.ingested) << " ingested, "
          << groupThousands(totals.duplicates) << " duplicates, "
          << groupThousands(totals.rejected + bad_lines) << " rejected\n"
          << std::flush;
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
  const std::size_t envelope = IngestChunk(region, skip_invalid, IngestChunk::kMaxLines,
                                           IngestChunk::kMaxBytes, IngestChunk::Wire::Raw)
                                   .requestLine()
                                   .size() +
                               1;

  InputCheck check;
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

  // Requests of several MiB take the daemon longer than a question does.
  client->setTimeout(std::chrono::minutes(5));
  PassProgress progress(ctx, input.size, "sending");
  // One connection per core: the daemon stores that many requests at once.
  const std::size_t lanes = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
  ChunkSender sender(ctx, std::move(client), lanes, name, progress, region, skip_invalid);
  if (check.bad == 0) {
    // Every line is good: the spans the check cut go as they are in the file. The daemon
    // checks each again and stores it atomically, so a line changed since the check is
    // refused there, with its file line number.
    for (const InputSpan& span : check.spans) {
      if (int rc = sender.send(input.fd, span); rc >= 0) return rc;
      progress.update(span.offset + span.length - static_cast<std::uint64_t>(input.start));
    }
    if (int rc = sender.finish(); rc >= 0) return rc;
    progress.update(input.size, true);
    progress.finish();
    printSummary(ctx, name, region, sender.totals(), check.bad);
    return kExitOk;
  }

  // Some lines are bad (and --skip-invalid is given): the good ones go line by line. What was
  // checked is what is sent: bytes appended to the file since are not.
  LineReader reader(input.fd, static_cast<std::uint64_t>(input.start), input.size, kMaxRequestLine);
  source::EventParser parser;
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
    consumed = reader.offset();
    if (status == LineReader::Status::Line && isBlankLine(line)) continue;
    // Lines the check pass reported are skipped.
    if (status != LineReader::Status::Line || !lineProblem(line, envelope, parser).empty()) {
      continue;
    }
    if (!sender.filling().fits(line)) {
      if (int rc = sender.send(); rc >= 0) return rc;
      progress.update(consumed);
    }
    sender.filling().add(line, reader.lineNumber());
  }
  if (!sender.filling().empty()) {
    if (int rc = sender.send(); rc >= 0) return rc;
  }
  if (int rc = sender.finish(); rc >= 0) return rc;
  progress.update(input.size, true);
  progress.finish();

  printSummary(ctx, name, region, sender.totals(), check.bad);
  return kExitOk;
}

}  // namespace audit::ctl
