// verify: checks the Ed25519 signatures of delivered events (docs/formats.md) the way a receiver
// does, against the keys of a JWKS file. Needs no daemon; reads the events in one
// streaming pass, so stdin works as well as a file of any size. Lines are verified in
// batches on every core (a verification costs far more than reading its line) and reported
// in their order.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "common/expected.hpp"
#include "common/line_reader.hpp"
#include "ctl/context.hpp"
#include "ctl/job_view.hpp"
#include "signing/signer.hpp"

namespace audit::ctl {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxJwksFile = 1u << 20;
constexpr std::size_t kMaxLine = 16u << 20;
// Lines (or bytes) read before the batch is verified: large enough that the threads'
// start and join cost nothing next to the verifications, small enough to stay in memory.
constexpr std::size_t kBatchLines = 8192;
constexpr std::size_t kBatchBytes = 32u << 20;
constexpr std::size_t kClaimLines = 64;  // lines a thread takes from the batch at a time

enum class Format { Auto, Json, Cef };

// The raw 32-byte Ed25519 public keys of a JWKS file; other key types are skipped.
Expected<std::vector<std::string>> loadKeys(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Failure{"cannot open " + path + ": " + std::strerror(errno)};
  }
  std::string text(kMaxJwksFile + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  if (text.size() > kMaxJwksFile) {
    return Failure{path + ": larger than 1 MiB, not a JWKS file"};
  }
  std::vector<std::string> keys;
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  const json::value* list = !ec && doc.is_object() ? doc.get_object().if_contains("keys") : nullptr;
  if (list == nullptr || !list->is_array()) {
    return Failure{path + ": not a JWKS file (expected {\"keys\":[…]})"};
  }
  for (const auto& key : list->get_array()) {
    if (!key.is_object()) continue;
    const json::object& jwk = key.get_object();
    if (stringField(jwk, "kty") != "OKP" || stringField(jwk, "crv") != "Ed25519") continue;
    auto raw = signing::base64UrlDecode(stringField(jwk, "x"));
    if (!raw || raw->size() != 32) {
      return Failure{path + ": key " + stringField(jwk, "kid") + " has an invalid \"x\""};
    }
    keys.push_back(std::move(*raw));
  }
  if (keys.empty()) {
    return Failure{path + ": no Ed25519 key (kty OKP, crv Ed25519)"};
  }
  return keys;
}

// Valid when any key verifies the line; the reason is the first key's.
bool verifyLine(std::string_view line, Format format, const std::vector<std::string>& keys,
                std::string* reason) {
  if (format == Format::Auto) {
    auto first = line.find_first_not_of(" \t");
    format = first != std::string_view::npos && line[first] == '{' ? Format::Json : Format::Cef;
  }
  std::string first_reason;
  for (const auto& key : keys) {
    std::string why;
    bool ok = format == Format::Json ? signing::verifyJsonLine(line, key, &why)
                                     : signing::verifyCefLine(line, key, &why);
    if (ok) return true;
    if (first_reason.empty()) first_reason = why.empty() ? "signature does not verify" : why;
  }
  *reason = first_reason;
  return false;
}

// Lines read but not yet verified. `reasons[i]` is empty once line i verified.
struct Batch {
  std::string text;                  // the lines, back to back
  std::vector<std::size_t> offsets;  // line i is text[offsets[i], offsets[i + 1])
  std::vector<std::uint64_t> numbers;
  std::vector<std::string> reasons;
  std::vector<char> too_long;

  std::size_t size() const { return numbers.size(); }
  std::string_view line(std::size_t i) const {
    return std::string_view(text).substr(offsets[i], offsets[i + 1] - offsets[i]);
  }
  void clear() {
    text.clear();
    offsets.assign(1, 0);
    numbers.clear();
    reasons.clear();
    too_long.clear();
  }
  void add(std::string_view line, std::uint64_t number, bool long_line) {
    text.append(line);
    offsets.push_back(text.size());
    numbers.push_back(number);
    too_long.push_back(long_line ? 1 : 0);
  }
};

void verifyBatch(Batch& batch, Format format, const std::vector<std::string>& keys,
                 unsigned threads) {
  batch.reasons.assign(batch.size(), {});
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (;;) {
      const std::size_t from = next.fetch_add(kClaimLines);
      if (from >= batch.size()) return;
      const std::size_t to = std::min(batch.size(), from + kClaimLines);
      for (std::size_t i = from; i < to; ++i) {
        if (batch.too_long[i]) {
          batch.reasons[i] = "line longer than 16 MiB";
        } else if (std::string reason; !verifyLine(batch.line(i), format, keys, &reason)) {
          batch.reasons[i] = std::move(reason);
        }
      }
    }
  };
  const unsigned helpers = batch.size() > kClaimLines ? threads - 1 : 0;
  std::vector<std::jthread> pool;
  pool.reserve(helpers);
  for (unsigned t = 0; t < helpers; ++t) pool.emplace_back(work);
  work();
}

}  // namespace

int runVerify(const Context& ctx, const ParsedArgs& args) {
  Format format = Format::Auto;
  if (auto f = args.value("--format")) {
    if (*f == "json") {
      format = Format::Json;
    } else if (*f == "cef") {
      format = Format::Cef;
    } else {
      return usageError(ctx, "verify", "bad --format '" + *f + "': expected json or cef");
    }
  }
  auto loaded = loadKeys(*args.value("--jwks"));
  if (!loaded) {
    printError(ctx, loaded.message());
    return kExitUsage;
  }
  const std::vector<std::string> keys = std::move(*loaded);

  const std::string path = args.positional.front();
  const std::string name = path == "-" ? "stdin" : path;
  int fd = ctx.in_fd;
  if (path != "-") {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      printError(ctx, "cannot open " + path + ": " + std::strerror(errno));
      return kExitUsage;
    }
  }
  struct Closer {
    int fd;
    bool owned;
    ~Closer() {
      if (owned) ::close(fd);
    }
  } closer{fd, path != "-"};

  LineReader reader(fd, kMaxLine);
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::uint64_t lines = 0;
  std::uint64_t invalid = 0;
  Batch batch;
  batch.clear();
  auto flush = [&] {
    verifyBatch(batch, format, keys, threads);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      ++lines;
      const std::string& reason = batch.reasons[i];
      if (reason.empty()) continue;
      ++invalid;
      if (ctx.json) {
        printJson(ctx, {{"line", batch.numbers[i]}, {"reason", reason}});
      } else {
        ctx.out << name << ':' << batch.numbers[i] << ": " << reason << '\n';
      }
    }
    batch.clear();
  };
  std::string_view line;
  for (;;) {
    auto status = reader.next(line);
    if (status == LineReader::Status::End) break;
    if (status == LineReader::Status::Error) {
      flush();
      printError(ctx, "cannot read " + name + ": " + std::strerror(reader.error()));
      return kExitUsage;
    }
    if (status == LineReader::Status::TooLong) {
      batch.add({}, reader.lineNumber(), true);
    } else if (line.find_first_not_of(" \t") == std::string_view::npos) {
      continue;
    } else {
      batch.add(line, reader.lineNumber(), false);
    }
    if (batch.size() >= kBatchLines || batch.text.size() >= kBatchBytes) flush();
  }
  flush();
  if (ctx.json) {
    printJson(ctx, {{"lines", lines}, {"valid", lines - invalid}, {"invalid", invalid}});
  } else {
    ctx.out << lines << " lines: " << lines - invalid << " valid, " << invalid << " invalid\n"
            << std::flush;
  }
  return invalid == 0 ? kExitOk : kExitFailed;
}

}  // namespace audit::ctl
