#pragma once
// The progress line of watch and ingest:
//   [#######.....]  64,000/120,000  53%  41,200 ev/s  ETA 0:02  running
// and the rate behind its ev/s and ETA. Rendering is pure (width in, text out) so tests
// pin it at any terminal width; drawing in place is ProgressDisplay's job.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

#include "common/clock.hpp"

namespace audit::ctl {

struct ProgressView {
  std::uint64_t done = 0;
  std::uint64_t total = 0;  // 0: not known yet (a job before `pending` sized its range)
  bool complete = false;    // draw a full bar even when total is 0 (an empty range)
  bool bytes = false;       // counts are bytes ("12.0 MiB/40.0 MiB", "MiB/s")
  double rate = 0;          // per second; 0 = not known
  std::optional<std::chrono::seconds> eta;
  std::string label;  // the status word at the end: "running", "sending"
};

/** "64,000/120,000  53%  41,200 ev/s  ETA 0:02  running": the line without a bar. */
std::string renderProgressText(const ProgressView& view);

/**
 * The line with a bar, fitting in `width` columns minus one (writing the last column makes
 * some terminals wrap). The bar takes what the text leaves, 10 to 50 cells; below that
 * the bar is dropped and the text cut. The text is counted as at least `text_reserve`
 * wide, so a redrawn bar keeps its length while numbers grow and shrink.
 */
std::string renderProgressLine(const ProgressView& view, int width, std::size_t text_reserve = 0);

/** Room kept for the text after the bar on a live display ("64,000/120,000  53%  41,200 ev/s
 *  ETA 0:02  running" and some growth). */
inline constexpr int kProgressTextRoom = 56;

/** The bar's width on a terminal `width` columns wide: fixed for that width, whatever the text
 *  says (0: no bar, the terminal is too narrow). */
int progressBarWidth(int width);

/** "[####....]  text" with a bar of exactly `bar` cells (none if 0); the text is cut at the
 *  terminal's width rather than the bar shortened. */
std::string renderFixedProgressLine(const ProgressView& view, int width, int bar);

/**
 * Rate over a sliding window of samples, so a burst or a pause fades out within
 * `window`. Not thread-safe.
 */
class RateMeter {
 public:
  explicit RateMeter(std::chrono::milliseconds window = std::chrono::seconds(5))
      : window_(window) {}

  void add(MonoTime at, std::uint64_t value);
  /** Units per second across the window; 0 until two samples span some time. */
  double perSecond() const;
  /** Time to cover `remaining` at the current rate; nullopt when the rate is 0. */
  std::optional<std::chrono::seconds> eta(std::uint64_t remaining) const;

 private:
  std::chrono::milliseconds window_;
  std::deque<std::pair<MonoTime, std::uint64_t>> samples_;
};

/** The terminal width of `fd`, or `fallback` when it is not a terminal. */
int terminalWidth(int fd, int fallback = 80);

/**
 * Draws a progress line in place on a terminal: "\r", the line, then erase-to-end-of-line,
 * so a shorter line leaves no remains. finish() moves below it.
 */
class ProgressDisplay {
 public:
  ProgressDisplay(std::ostream& out, int fd) : out_(out), fd_(fd) {}
  ~ProgressDisplay() { finish(); }

  void draw(const ProgressView& view);
  /** Ends the line being redrawn (idempotent). */
  void finish();

 private:
  std::ostream& out_;
  int fd_;
  bool drawn_ = false;
};

}  // namespace audit::ctl
