// forward status|pause|resume: a region's forwarding (docs/forwarding.md).

#include <cstdio>

#include "ctl/context.hpp"
#include "ctl/exit_code.hpp"
#include "ctl/format.hpp"
#include "ctl/job_view.hpp"
#include "protocol/vocabulary.hpp"

namespace audit::ctl {

namespace json = boost::json;

namespace {

std::string orDash(std::string text) {
  return text.empty() ? "-" : text;
}

std::string formatSeconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", seconds);
  return text;
}

}  // namespace

std::string formatForward(const json::object& f, EpochMillis now) {
  Table t;
  t.addRow({"region:", stringField(f, "region")});
  t.addRow({"state:", stringField(f, "state")});
  t.addRow({"reason:", orDash(stringField(f, "reason"))});
  const std::string last = stringField(f, "last_forwarded_at");
  t.addRow(
      {"last forwarded event:", last.empty() ? "-" : last + " (" + formatAgo(now, last) + ")"});
  double lag = 0;
  if (const json::value* v = f.if_contains("lag_seconds"); v != nullptr && v->is_number()) {
    lag = v->to_number<double>();
  }
  t.addRow({"lag:", formatSeconds(lag)});
  t.addRow({"backlog:", groupThousands(countField(f, "backlog_events")) + " events"});
  t.addRow({"forwarded:", groupThousands(countField(f, "events_forwarded")) + " events in " +
                              groupThousands(countField(f, "batches_forwarded")) + " batches"});
  std::string gaps = "none";
  if (const json::value* g = f.if_contains("gaps"); g != nullptr && g->is_object()) {
    const json::object& o = g->get_object();
    if (const std::uint64_t events = countField(o, "events"); events > 0) {
      gaps = groupThousands(events) + " events removed by retention before they were forwarded";
      const std::string first = stringField(o, "first_event_at");
      if (!first.empty())
        gaps += " (event times " + first + " .. " + stringField(o, "last_event_at") + ")";
    }
  }
  t.addRow({"gaps:", gaps});
  if (const json::value* r = f.if_contains("retry"); r != nullptr && r->is_object()) {
    const json::object& retry = r->get_object();
    t.addRow({"next attempt:", stringField(retry, "next_attempt_at") + " (attempt " +
                                   stringField(retry, "attempt") + " so far)"});
  }
  return t.render();
}

int runForward(const Context& ctx, const ParsedArgs& args) {
  const std::string action = args.positional.empty() ? std::string() : args.positional.front();
  protocol::Op op = protocol::Op::ForwardStatus;
  if (action == "pause") {
    op = protocol::Op::ForwardPause;
  } else if (action == "resume") {
    op = protocol::Op::ForwardResume;
  } else if (action != "status") {
    return usageError(ctx, "forward", "expected status, pause or resume, got '" + action + "'");
  }
  json::object req{{"op", protocol::toString(op)}};
  if (auto region = args.value("--region")) req["region"] = *region;
  auto client = connectOrReport(ctx);
  if (!client) return kExitUnreachable;
  json::object response;
  auto status = request(ctx, *client, req, &response);
  if (status != CallStatus::Ok) return exitCodeOf(status);
  if (ctx.json) {
    printJson(ctx, response);
  } else if (const auto* f = response.if_contains("forward"); f != nullptr && f->is_object()) {
    ctx.out << formatForward(f->get_object(), ctx.clock->nowMillis()) << std::flush;
  }
  return kExitOk;
}

}  // namespace audit::ctl
