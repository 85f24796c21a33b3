#pragma once
// One `ingest` request under construction: lines are JSON-escaped into the request text as
// they are added, so a chunk costs its own size once and no more.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace audit::ctl {

/** Bytes `text` takes as a JSON string literal, quotes included. */
std::size_t jsonStringSize(std::string_view text);

/** Appends `text` as a JSON string literal (valid UTF-8 passes through unescaped). */
void appendJsonString(std::string& out, std::string_view text);

/**
 * {"op":"ingest","region":R,"skip_invalid":B,"lines":[…]} with at most `max_lines` lines
 * and `max_bytes` of escaped line text (one larger line goes alone). The limits keep every
 * request well under the control socket's 16 MiB line limit and bound our memory.
 */
class IngestChunk {
 public:
  static constexpr std::size_t kMaxLines = 5000;
  static constexpr std::size_t kMaxBytes = 8u << 20;

  /**
   * Lines: the `ingest` op above. Raw: the `ingest_raw` op, a request line
   * {"op":"ingest_raw","region":R,"skip_invalid":B,"bytes":N} followed by the N bytes of the
   * lines as they are (each ended by '\n'), so the daemon parses every event once; an
   * answer's rejections then carry the 1-based "line" within the chunk.
   */
  enum class Wire { Lines, Raw };

  IngestChunk(std::string_view region, bool skip_invalid, std::size_t max_lines = kMaxLines,
              std::size_t max_bytes = kMaxBytes, Wire wire = Wire::Lines);

  /** False when adding `line` would pass a limit; the caller sends this chunk first. */
  bool fits(std::string_view line) const;
  /** Adds one event line, remembering its line number in the file. */
  void add(std::string_view line, std::size_t line_number);

  /**
   * The request as one line of JSON (no newline). Raw: the request line and the events, all
   * but the final '\n', which the caller sends after it as after any request.
   */
  std::string requestLine() const;
  /** Raw: the request line announcing `bytes` bytes of lines that follow it, with its '\n'. */
  std::string requestHead(std::size_t bytes) const;
  /** File line number of the chunk's i-th line (what an answer's "index" refers to). */
  const std::vector<std::size_t>& lineNumbers() const { return line_numbers_; }
  std::size_t size() const { return line_numbers_.size(); }
  bool empty() const { return line_numbers_.empty(); }
  void clear();

 private:
  Wire wire_;
  std::string prefix_;
  std::size_t max_lines_;
  std::size_t max_bytes_;
  std::string body_;  // Lines: escaped lines joined by ','; Raw: the lines, each ended by '\n'
  std::vector<std::size_t> line_numbers_;
};

}  // namespace audit::ctl
