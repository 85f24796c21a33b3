#include "bench/bench_signing.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "signing/signer.hpp"
#include "store/event_store.hpp"

namespace audit::bench {
namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "replay_bench: %s\n", what.c_str());
  std::exit(1);
}

}  // namespace

std::uint64_t writeSignedLines(const std::filesystem::path& data_dir, const std::string& region,
                               source::TimeRange range, const std::filesystem::path& key_file,
                               const std::filesystem::path& lines_file,
                               const std::filesystem::path& jwks_file) {
  auto loaded = signing::Signer::loadPem(key_file);
  if (!loaded) die(loaded.message());
  const signing::SignerPtr signer = *loaded;
  std::ofstream(jwks_file) << R"({"keys":[)" << signer->jwkJson() << "]}\n";
  std::string error;

  auto opened = store::Store::open({.data_dir = data_dir}, &error);
  if (!opened) die("cannot open the store: " + error);
  auto reader = (*opened)->region(region)->openReader(range, {});
  if (!reader) die("openReader: " + reader.error().message());

  std::ofstream out(lines_file, std::ios::binary);
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::uint64_t lines = 0;
  EventBatch batch;
  std::vector<std::string> signed_lines;
  for (;;) {
    auto r = (*reader)->next(batch, BatchLimits{.max_events = 4096, .max_bytes = 16u << 20});
    if (!r) die("read: " + r.error().message());
    if (batch.empty()) break;
    signed_lines.assign(batch.size(), {});
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i; (i = next.fetch_add(1)) < batch.size();) {
        signed_lines[i] = signer->signJsonEvent(batch.event(i));
      }
    };
    {
      std::vector<std::jthread> pool;
      for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
      work();
    }
    for (const auto& line : signed_lines) out << line << '\n';
    lines += batch.size();
  }
  if (!out.flush()) die("cannot write " + lines_file.string());
  return lines;
}

VerifyRun runVerify(Launcher& launcher, const std::filesystem::path& ctl,
                    const std::filesystem::path& jwks_file, const std::filesystem::path& lines_file,
                    const std::filesystem::path& log_file) {
  VerifyRun run;
  std::filesystem::remove(log_file);
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = launcher.spawn(
      {ctl.string(), "verify", "--jwks", jwks_file.string(), lines_file.string()}, log_file);
  run.usage = launcher.reap(pid, std::chrono::hours(1));
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::ifstream in(log_file);
  std::stringstream text;
  text << in.rdbuf();
  run.output = text.str();
  while (!run.output.empty() && run.output.back() == '\n') run.output.pop_back();
  run.ok = run.usage.exited && run.usage.exit_code == 0;
  return run;
}

}  // namespace audit::bench
