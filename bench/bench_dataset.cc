#include "bench/bench_dataset.hpp"

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "bench/event_generator.hpp"
#include "store/event_store.hpp"

namespace audit::bench {

double processCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto s = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
  };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

source::TimeRange recentRange(std::chrono::milliseconds span, std::chrono::milliseconds lag) {
  EpochMillis now = RealClock().nowMillis();
  EpochMillis last = (now - lag.count()) / 1000 * 1000 - 1;  // end of a whole second
  return {last + 1 - span.count(), last};
}

DatasetFigures ingestDataset(const DatasetSpec& spec) {
  std::string detail;
  auto opened = store::Store::open({.data_dir = spec.data_dir}, &detail);
  if (!opened) {
    std::fprintf(stderr, "replay_bench: cannot open the store in %s: %s\n", spec.data_dir.c_str(),
                 detail.c_str());
    std::exit(1);
  }
  store::StorePtr store = std::move(*opened);
  source::EventSourcePtr region = store->region(spec.region);

  DatasetFigures f;
  EventSequence sequence(spec.count, spec.range.first, spec.range.last,
                         {.seed = spec.seed, .with_sig = spec.with_sig});
  std::vector<std::string> chunk(spec.chunk);
  std::vector<std::string_view> views;
  views.reserve(spec.chunk);
  for (bool more = true; more;) {
    views.clear();
    auto t0 = SteadyClock::now();
    for (std::size_t i = 0; i < spec.chunk && (more = sequence.next(chunk[i])); ++i) {
      views.push_back(chunk[i]);
      f.bytes += chunk[i].size();
    }
    f.generate_s += secondsSince(t0);
    if (views.empty()) break;
    t0 = SteadyClock::now();
    auto report = region->ingest(views, /*skip_invalid=*/false);
    f.ingest_s += secondsSince(t0);
    if (!report || !report->rejected.empty()) {
      std::fprintf(
          stderr, "replay_bench: ingest failed: %s\n",
          report ? report->rejected.front().reason.c_str() : report.error().message().c_str());
      std::exit(1);
    }
    f.events += report->ingested;
  }
  auto t0 = SteadyClock::now();
  region.reset();
  store.reset();
  f.close_s = secondsSince(t0);
  return f;
}

}  // namespace audit::bench
