#include "ctl/watch.hpp"

#include <poll.h>
#include <unistd.h>

#include <csignal>

#include "common/units.hpp"
#include "protocol/vocabulary.hpp"

namespace audit::ctl {

namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void onInterrupt(int) {
  g_interrupted = 1;
}

// Catches Ctrl-C for the watch's lifetime so it can end the progress line and say that
// the job goes on; without SA_RESTART the wait in poll() returns at once.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted = 0;
    struct sigaction action {};
    action.sa_handler = onInterrupt;
    sigemptyset(&action.sa_mask);
    installed_ = ::sigaction(SIGINT, &action, &previous_) == 0;
  }
  ~InterruptGuard() {
    if (installed_) ::sigaction(SIGINT, &previous_, nullptr);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  bool interrupted() const { return g_interrupted != 0; }

 private:
  struct sigaction previous_ {};
  bool installed_ = false;
};

// Waits `interval` (the polling period) unless Ctrl-C comes first.
void waitInterval(milliseconds interval, const InterruptGuard& guard, const Clock& clock) {
  auto deadline = clock.monotonicNow() + interval;
  while (!guard.interrupted()) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - clock.monotonicNow());
    if (left.count() <= 0) return;
    ::poll(nullptr, 0, static_cast<int>(left.count()));
  }
}

}  // namespace

ProgressView jobProgressView(const JobView& job, const RateMeter& meter) {
  ProgressView view;
  view.done = job.events_sent;
  view.total = job.events_total;
  view.complete = job.is(protocol::JobStatus::Completed);
  view.label = job.status;
  if (job.is(protocol::JobStatus::Running)) {
    view.rate = meter.perSecond();
    if (job.events_total > job.events_sent)
      view.eta = meter.eta(job.events_total - job.events_sent);
  }
  return view;
}

Expected<milliseconds> parseInterval(const ParsedArgs& args) {
  auto text = args.value("--interval");
  if (!text) return milliseconds(500);
  auto d = parseDuration(*text);
  if (!d || d->count() <= 0) {
    return Failure{"bad --interval '" + *text + "': expected a duration like 500ms or 2s"};
  }
  return *d;
}

int watchJob(const Context& ctx, ControlClient& client, const WatchOptions& options) {
  const bool live = !ctx.json && ::isatty(ctx.out_fd) == 1;
  const Clock& clock = *ctx.clock;
  ProgressDisplay display(ctx.out, ctx.out_fd);
  InterruptGuard guard;
  RateMeter meter;
  std::string job_id = options.job_id;
  std::optional<MonoTime> last_line;
  std::optional<MonoTime> unreachable_since;
  json::object get_job{{"op", protocol::toString(protocol::Op::GetJob)},
                       {"region", options.region}};

  for (;;) {
    auto answer = client.call(get_job);
    if (!answer) {
      // The daemon may be restarting; the job resumes there (docs/http-api.md), so keep asking.
      auto now = clock.monotonicNow();
      if (!unreachable_since) unreachable_since = now;
      if (now - *unreachable_since >= options.reconnect_for) {
        display.finish();
        printError(ctx, "lost connection to audit-replayd at " + ctx.socket_path + ": " +
                            answer.message());
        return kExitUnreachable;
      }
    } else if (!isOk(*answer)) {
      display.finish();
      reportRefusal(ctx, *answer);
      return kExitFailed;
    } else {
      const json::object& response = *answer;
      unreachable_since.reset();
      const json::value* job_value = response.if_contains("job");
      JobView job =
          parseJob(job_value != nullptr && job_value->is_object() ? job_value->get_object()
                                                                  : json::object{});
      if (job.unconfigured()) {
        display.finish();
        printError(ctx, "region " + options.region + ": no job yet");
        return kExitFailed;
      }
      readRetry(response, job);
      if (job_id.empty()) job_id = job.id;
      if (job.id != job_id) {
        display.finish();
        printError(ctx, "the job of region " + options.region + " was replaced by job " + job.id);
        return kExitFailed;
      }
      auto now = clock.monotonicNow();
      meter.add(now, job.events_sent);
      bool line_due = !last_line || now - *last_line >= options.plain_every || job.ended();
      ProgressView view = jobProgressView(job, meter);
      // A batch being retried: the attempt, the webhook's last answer and the next try.
      if (job.retry && !job.ended()) view.label = formatRetry(*job.retry, clock.nowMillis());
      if (live) {
        display.draw(view);
      } else if (line_due) {
        if (ctx.json) {
          printJson(ctx, response);
        } else {
          ctx.out << renderProgressText(view) << '\n' << std::flush;
        }
        last_line = now;
      }
      if (job.ended()) {
        display.finish();
        if (!ctx.json) ctx.out << formatJobOutcome(job) << '\n' << std::flush;
        return job.is(protocol::JobStatus::Completed) ? kExitOk : kExitFailed;
      }
    }
    waitInterval(options.interval, guard, clock);
    if (guard.interrupted()) {
      display.finish();
      printError(ctx, "interrupted; the job goes on (audit-replayctl cancel --region " +
                          options.region + " stops it)");
      return kExitInterrupted;
    }
  }
}

int runWatch(const Context& ctx, const ParsedArgs& args) {
  auto interval = parseInterval(args);
  if (!interval) return usageError(ctx, "watch", interval.message());
  auto client = connectOrReport(ctx);
  if (!client) return kExitUnreachable;
  WatchOptions options;
  options.region = *args.value("--region");
  options.interval = *interval;
  return watchJob(ctx, *client, options);
}

}  // namespace audit::ctl
