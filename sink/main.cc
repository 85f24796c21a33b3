// audit-replay-sink: a webhook endpoint to point audit-replayd at, for demos and benchmarks.
// Reads and counts every batch, optionally prints or stores the events, can fail the first
// batches to show retries, and serves GET /stats. Stops on SIGINT/SIGTERM with a summary.

#include <pthread.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sink/detail/lines.hpp"
#include "sink/receiver.hpp"

namespace {

using audit::sink::ReceivedRequest;
using audit::sink::Reply;

constexpr const char* kUsage =
    "usage: audit-replay-sink [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE]\n"
    "                         [--print] [--out FILE] [--fail-first N] [--status CODE] [--quiet]\n"
    "  --listen HOST:PORT  address to serve (default 127.0.0.1:8480; port 0: any free port)\n"
    "  --tls-cert FILE     PEM certificate chain: serve HTTPS (needs --tls-key)\n"
    "  --tls-key FILE      PEM private key\n"
    "  --print             print every accepted event\n"
    "  --out FILE          append every accepted event to FILE (NDJSON)\n"
    "  --fail-first N      answer 503 to the first N batches (to watch the sender retry)\n"
    "  --status CODE       status of every other answer (default 200)\n"
    "  --quiet             no line per batch\n"
    "GET /stats answers {\"requests\",\"events\",\"wire_bytes\",\"plain_bytes\",...}.\n";

struct Args {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8480;
  std::string tls_cert;
  std::string tls_key;
  bool print = false;
  std::string out;
  std::size_t fail_first = 0;
  int status = 200;
  bool quiet = false;
};

unsigned long parseNumber(std::string_view flag, const std::string& text, unsigned long max) {
  std::size_t used = 0;
  unsigned long value = 0;
  try {
    value = std::stoul(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value > max)
    throw std::invalid_argument(std::string(flag) + ": not a number up to " + std::to_string(max));
  return value;
}

Args parseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(std::string(flag) + " needs a value");
      return argv[++i];
    };
    if (flag == "--listen") {
      const std::string listen = value();
      const auto colon = listen.rfind(':');
      if (colon == std::string::npos) throw std::invalid_argument("--listen wants HOST:PORT");
      args.host = listen.substr(0, colon);
      if (args.host.size() >= 2 && args.host.front() == '[' && args.host.back() == ']')
        args.host = args.host.substr(1, args.host.size() - 2);
      args.port = static_cast<std::uint16_t>(parseNumber(flag, listen.substr(colon + 1), 65535));
    } else if (flag == "--tls-cert") {
      args.tls_cert = value();
    } else if (flag == "--tls-key") {
      args.tls_key = value();
    } else if (flag == "--print") {
      args.print = true;
    } else if (flag == "--out") {
      args.out = value();
    } else if (flag == "--fail-first") {
      args.fail_first = parseNumber(flag, value(), 1'000'000'000);
    } else if (flag == "--status") {
      args.status = static_cast<int>(parseNumber(flag, value(), 599));
      if (args.status < 200) throw std::invalid_argument("--status: a code from 200 to 599");
    } else if (flag == "--quiet") {
      args.quiet = true;
    } else if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown argument " + std::string(flag));
    }
  }
  if (args.tls_cert.empty() != args.tls_key.empty())
    throw std::invalid_argument("--tls-cert and --tls-key go together");
  return args;
}

/** Reports each batch; the script runs on the receiver's I/O thread, hence the mutex. */
class BatchReporter {
 public:
  BatchReporter(const Args& args, std::FILE* out) : args_(args), out_(out) {}

  Reply operator()(const ReceivedRequest& request, std::size_t n) {
    Reply reply;
    reply.status = n < args_.fail_first ? 503 : args_.status;
    const bool accepted = reply.status >= 200 && reply.status < 300;
    std::lock_guard lock(mutex_);
    if (!args_.quiet) {
      std::printf("batch %zu: %zu events, %zu bytes", n + 1, request.line_count,
                  request.body.size());
      if (request.headers.count("content-encoding") != 0)
        std::printf(" (gzip %zu)", request.wire_bytes);
      if (!accepted) std::printf(", answered %d", reply.status);
      std::printf("\n");
    }
    if (accepted && (args_.print || out_ != nullptr)) {
      audit::sink::detail::forEachLine(request.body, [this](std::string_view line) {
        if (args_.print) std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
        if (out_ != nullptr) {
          std::fwrite(line.data(), 1, line.size(), out_);
          std::fputc('\n', out_);
        }
      });
      if (out_ != nullptr) std::fflush(out_);
    }
    // A reader of a pipe (tests, `| tee`) sees each batch as it lands.
    std::fflush(stdout);
    return reply;
  }

 private:
  const Args& args_;
  std::FILE* out_;
  std::mutex mutex_;
};

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = parseArgs(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "audit-replay-sink: %s\n%s", e.what(), kUsage);
    return 2;
  }

  // Block the stop signals before any thread starts, so that every thread inherits the mask
  // and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::FILE* out = nullptr;
  if (!args.out.empty()) {
    out = std::fopen(args.out.c_str(), "a");
    if (out == nullptr) {
      std::fprintf(stderr, "audit-replay-sink: cannot open %s: %s\n", args.out.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }

  audit::sink::ReceiverOptions options;
  options.host = args.host;
  options.port = args.port;
  if (!args.tls_cert.empty()) options.tls = audit::sink::TlsFiles{args.tls_cert, args.tls_key};
  options.keep_requests = false;  // a long run must not keep every body in memory
  options.stats_target = "/stats";
  options.log = [](const std::string& what) { std::fprintf(stderr, "sink: %s\n", what.c_str()); };
  BatchReporter reporter(args, out);
  audit::sink::Receiver receiver(
      options, [&reporter](const ReceivedRequest& r, std::size_t n) { return reporter(r, n); });
  try {
    receiver.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "audit-replay-sink: cannot listen on %s:%u: %s\n", args.host.c_str(),
                 static_cast<unsigned>(args.port), e.what());
    return 1;
  }
  std::printf("listening on %s\n", receiver.url("").c_str());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  receiver.stop();

  const auto stats = receiver.stats();
  std::printf(
      "stopped by %s: %llu requests, %llu events accepted, %llu bytes received (%llu plain)\n",
      signal_number == SIGINT ? "SIGINT" : "SIGTERM",
      static_cast<unsigned long long>(stats.requests),
      static_cast<unsigned long long>(stats.events),
      static_cast<unsigned long long>(stats.wire_bytes),
      static_cast<unsigned long long>(stats.plain_bytes));
  std::fflush(stdout);
  if (out != nullptr) std::fclose(out);
  return 0;
}
