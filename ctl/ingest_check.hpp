#pragma once
// The check pass of `audit-replayctl ingest`: every line of the input is checked by the
// store's own event rule before anything is sent (a file with a bad line stores nothing).
// The input is cut at line ends into one part per core, the parts are checked at once, and
// their findings are joined in file order, so the check costs a fraction of the send.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctl/ingest_chunk.hpp"
#include "source/event_parser.hpp"

namespace audit::ctl {

/** The control socket's request line limit (docs/cli.md): the `ingest` op escapes every line
 *  into it, and no line longer than this is read whole. */
inline constexpr std::size_t kMaxRequestLine = 16u << 20;

/** Blank lines (spaces and tabs only) are skipped, never sent or counted. */
inline bool isBlankLine(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

/** Why `line` (not blank) cannot be sent, or "" when it can. `envelope`: the bytes a request
 *  adds around one escaped line (the `ingest` op's 16 MiB request-line limit). */
std::string lineProblem(std::string_view line, std::size_t envelope, source::EventParser& parser);

/** Whole lines of the input that make one ingest request. */
struct InputSpan {
  std::uint64_t offset = 0;  // in the descriptor
  std::uint64_t length = 0;  // ends at a line end, or at the input's end
  std::size_t first_line = 1;
  std::size_t events = 0;  // lines that are not blank
};

struct InputCheck {
  std::size_t events = 0;  // lines that are not blank
  std::size_t bad = 0;
  std::vector<std::pair<std::size_t, std::string>> listed;  // line number, reason; file order
  int read_errno = 0;                                       // a failed read; the rest is void
  /** The input cut into requests (InputCheckOptions' span limits), in order, covering it. */
  std::vector<InputSpan> spans;
};

struct InputCheckOptions {
  std::size_t envelope = 0;
  std::size_t max_line = kMaxRequestLine;  // longer lines are bad, never buffered whole
  /** Bad lines listed before "… and N more": enough to fix a file, bounded for a broken one. */
  std::size_t max_listed = 100;
  unsigned threads = 1;  // parts checked at once (at most; small inputs take one)
  /** A span ends before a line that would take it past either limit (one line may go alone). */
  std::size_t span_events = IngestChunk::kMaxLines;
  std::uint64_t span_bytes = IngestChunk::kMaxBytes;
};

/**
 * Checks the `size` bytes of `fd` from `start` (read with pread: the descriptor's offset is
 * unchanged). `progress(bytes checked)` is called now and then on the calling thread.
 */
InputCheck checkInput(int fd, std::uint64_t start, std::uint64_t size,
                      const InputCheckOptions& options,
                      const std::function<void(std::uint64_t)>& progress);

}  // namespace audit::ctl
