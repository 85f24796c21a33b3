#include "ctl/ingest_check.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "common/line_reader.hpp"
#include "ctl/format.hpp"

namespace audit::ctl {
namespace {

// Parts smaller than this are not worth a thread.
constexpr std::uint64_t kMinPart = 4u << 20;
// How far past a cut a line end is looked for; a longer line leaves the input in one part.
constexpr std::size_t kCutWindow = 1u << 20;
// Progress is published every this many bytes of a part.
constexpr std::uint64_t kPublishEvery = 1u << 20;

struct Part {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  InputCheck found;  // line numbers count from this part's start
  std::size_t lines = 0;
};

// Cuts a part into spans as its lines go by.
class SpanCutter {
 public:
  SpanCutter(const InputCheckOptions& options, std::uint64_t part_offset,
             std::vector<InputSpan>& out)
      : options_(options), out_(out), current_{part_offset, 0, 1, 0} {}

  /** A line of `bytes` bytes (its end included) numbered `line`; `event`: not blank. */
  void add(std::uint64_t bytes, std::size_t line, bool event) {
    if (current_.events > 0 && ((event && current_.events + 1 > options_.span_events) ||
                                current_.length + bytes > options_.span_bytes)) {
      close();
      current_ = InputSpan{current_.offset + current_.length, 0, line, 0};
    }
    current_.length += bytes;
    if (event) ++current_.events;
  }
  void close() {
    if (current_.length > 0) out_.push_back(current_);
  }

 private:
  const InputCheckOptions& options_;
  std::vector<InputSpan>& out_;
  InputSpan current_;
};

// The first byte after the line end at or after `at`, or `end` when none is within reach.
std::uint64_t nextLineStart(int fd, std::uint64_t at, std::uint64_t end) {
  std::string window(kCutWindow, '\0');
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kCutWindow, end - at));
  const ssize_t n = ::pread(fd, window.data(), want, static_cast<off_t>(at));
  if (n <= 0) return end;
  const void* nl = std::memchr(window.data(), '\n', static_cast<std::size_t>(n));
  if (nl == nullptr) return end;
  return at + static_cast<std::uint64_t>(static_cast<const char*>(nl) - window.data()) + 1;
}

std::vector<Part> cut(int fd, std::uint64_t start, std::uint64_t size, unsigned threads) {
  const std::uint64_t end = start + size;
  const auto parts =
      static_cast<unsigned>(std::clamp<std::uint64_t>(size / kMinPart, 1, std::max(threads, 1u)));
  std::vector<Part> out;
  std::uint64_t from = start;
  for (unsigned i = 1; i < parts && from < end; ++i) {
    const std::uint64_t nominal = start + size / parts * i;
    if (nominal <= from) continue;
    const std::uint64_t to = nextLineStart(fd, nominal, end);
    if (to >= end) break;
    out.push_back(Part{from, to - from, {}, 0});
    from = to;
  }
  out.push_back(Part{from, end - from, {}, 0});
  return out;
}

// `progress`, when set, is told the bytes all parts have checked (the calling thread's part).
void checkPart(int fd, Part& part, const InputCheckOptions& options,
               std::atomic<std::uint64_t>& checked,
               const std::function<void(std::uint64_t)>* progress) {
  LineReader reader(fd, part.offset, part.length, options.max_line);
  source::EventParser parser;
  SpanCutter spans(options, part.offset, part.found.spans);
  std::uint64_t unpublished = 0;
  std::uint64_t line_start = 0;
  std::string_view line;
  for (;;) {
    const auto status = reader.next(line);
    if (status == LineReader::Status::End) break;
    if (status == LineReader::Status::Error) {
      part.found.read_errno = reader.error();
      break;
    }
    const std::uint64_t line_bytes = reader.offset() - line_start;
    line_start = reader.offset();
    unpublished += line_bytes;
    const bool blank = status == LineReader::Status::Line && isBlankLine(line);
    spans.add(line_bytes, reader.lineNumber(), !blank);
    if (unpublished >= kPublishEvery) {
      checked += unpublished;
      unpublished = 0;
      if (progress != nullptr) (*progress)(checked.load());
    }
    std::string problem;
    if (status == LineReader::Status::TooLong) {
      problem = "line longer than 16 MiB";
    } else if (blank) {
      continue;
    } else {
      problem = lineProblem(line, options.envelope, parser);
    }
    ++part.found.events;
    if (problem.empty()) continue;
    ++part.found.bad;
    if (part.found.listed.size() < options.max_listed) {
      part.found.listed.emplace_back(reader.lineNumber(), std::move(problem));
    }
  }
  checked += unpublished;
  spans.close();
  part.lines = reader.lineNumber();
}

}  // namespace

std::string lineProblem(std::string_view line, std::size_t envelope, source::EventParser& parser) {
  std::string compact;
  source::EventTime time = parser.parse(source::trimJsonSpace(line), compact);
  if (!time.ok) return std::move(time.reason);
  // Escaping grows a line at most 6 times: only a line that could pass the limit is measured.
  if (line.size() * 6 + 2 + envelope > kMaxRequestLine &&
      jsonStringSize(line) + envelope > kMaxRequestLine) {
    return "event of " + formatBytes(line.size()) +
           " is too large for one ingest request (the control socket takes 16 MiB a line)";
  }
  return {};
}

InputCheck checkInput(int fd, std::uint64_t start, std::uint64_t size,
                      const InputCheckOptions& options,
                      const std::function<void(std::uint64_t)>& progress) {
  std::vector<Part> parts = cut(fd, start, size, options.threads);
  std::atomic<std::uint64_t> checked{0};
  std::vector<std::thread> helpers;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    helpers.emplace_back([&, i] { checkPart(fd, parts[i], options, checked, nullptr); });
  }
  // The first part on this thread, which reports progress for all of them.
  checkPart(fd, parts[0], options, checked, &progress);
  for (auto& t : helpers) t.join();
  progress(checked.load());

  InputCheck all;
  std::size_t lines_before = 0;
  for (Part& part : parts) {
    all.events += part.found.events;
    all.bad += part.found.bad;
    if (part.found.read_errno != 0 && all.read_errno == 0) all.read_errno = part.found.read_errno;
    for (auto& [line, reason] : part.found.listed) {
      if (all.listed.size() < options.max_listed) {
        all.listed.emplace_back(lines_before + line, std::move(reason));
      }
    }
    for (InputSpan span : part.found.spans) {
      span.first_line += lines_before;
      all.spans.push_back(span);
    }
    lines_before += part.lines;
  }
  return all;
}

}  // namespace audit::ctl
