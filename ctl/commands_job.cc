// replay, status and cancel: the job requests of docs/http-api.md over the control socket.

#include "ctl/context.hpp"
#include "ctl/job_view.hpp"
#include "ctl/time_range.hpp"
#include "ctl/watch.hpp"
#include "protocol/vocabulary.hpp"

namespace audit::ctl {

namespace json = boost::json;

namespace {

// The "job" member of an answer, or an empty object from a daemon that sent none.
const json::object& jobOf(const json::object& response) {
  static const json::object kEmpty;
  const json::value* job = response.if_contains("job");
  return job != nullptr && job->is_object() ? job->get_object() : kEmpty;
}

}  // namespace

int runReplay(const Context& ctx, const ParsedArgs& args) {
  auto range = resolveTimeRange(args, ctx.clock->nowMillis());
  if (!range) return usageError(ctx, "replay", range.message());
  auto interval = parseInterval(args);
  if (!interval) return usageError(ctx, "replay", interval.message());
  if (args.has("--interval") && !args.has("--wait")) {
    return usageError(ctx, "replay", "--interval needs --wait");
  }

  auto client = connectOrReport(ctx);
  if (!client) return kExitUnreachable;
  std::string region = *args.value("--region");
  json::object response;
  auto status = request(ctx, *client,
                        {{"op", protocol::toString(protocol::Op::PutJob)},
                         {"region", region},
                         {"start_at", range->start_at},
                         {"end_at", range->end_at}},
                        &response);
  if (status != CallStatus::Ok) return exitCodeOf(status);

  JobView job = parseJob(jobOf(response));
  if (ctx.json) {
    printJson(ctx, response);
  } else {
    ctx.out << formatJobLine(job) << '\n' << std::flush;
  }
  if (!args.has("--wait")) return kExitOk;
  WatchOptions options;
  options.region = region;
  options.job_id = job.id;
  options.interval = *interval;
  return watchJob(ctx, *client, options);
}

int runStatus(const Context& ctx, const ParsedArgs& args) {
  auto client = connectOrReport(ctx);
  if (!client) return kExitUnreachable;
  json::object response;
  EpochMillis now = ctx.clock->nowMillis();

  if (auto region = args.value("--region")) {
    auto status =
        request(ctx, *client,
                {{"op", protocol::toString(protocol::Op::GetJob)}, {"region", *region}}, &response);
    if (status != CallStatus::Ok) return exitCodeOf(status);
    if (ctx.json) {
      printJson(ctx, response);
    } else {
      JobView job = parseJob(jobOf(response));
      readRetry(response, job);
      ctx.out << formatJobDetails(job, now) << std::flush;
    }
    return kExitOk;
  }

  auto status =
      request(ctx, *client, {{"op", protocol::toString(protocol::Op::ListJobs)}}, &response);
  if (status != CallStatus::Ok) return exitCodeOf(status);
  if (ctx.json) {
    printJson(ctx, response);
    return kExitOk;
  }
  std::vector<JobView> jobs;
  if (const json::value* list = response.if_contains("jobs"); list != nullptr && list->is_array()) {
    for (const auto& job : list->get_array()) {
      if (job.is_object()) jobs.push_back(parseJob(job.get_object()));
    }
  }
  if (jobs.empty()) {
    ctx.out << "no replay jobs\n" << std::flush;
  } else {
    ctx.out << formatJobTable(jobs, now) << std::flush;
  }
  return kExitOk;
}

int runCancel(const Context& ctx, const ParsedArgs& args) {
  auto client = connectOrReport(ctx);
  if (!client) return kExitUnreachable;
  json::object response;
  auto status = request(
      ctx, *client,
      {{"op", protocol::toString(protocol::Op::CancelJob)}, {"region", *args.value("--region")}},
      &response);
  if (status != CallStatus::Ok) return exitCodeOf(status);
  if (ctx.json) {
    printJson(ctx, response);
  } else {
    ctx.out << formatJobLine(parseJob(jobOf(response))) << '\n' << std::flush;
  }
  return kExitOk;
}

}  // namespace audit::ctl
