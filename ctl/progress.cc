#include "ctl/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "ctl/format.hpp"

namespace audit::ctl {

namespace {

constexpr int kMinBar = 10;
constexpr int kMaxBar = 50;

std::string amount(std::uint64_t n, bool bytes) {
  return bytes ? formatBytes(n) : groupThousands(n);
}

}  // namespace

std::string renderProgressText(const ProgressView& v) {
  std::string text = amount(v.done, v.bytes) + "/" + (v.total > 0 ? amount(v.total, v.bytes) : "?");
  if (v.total > 0) {
    auto percent = std::min<std::uint64_t>(100, v.done * 100 / v.total);
    text += "  " + std::to_string(percent) + "%";
  } else if (v.complete) {
    text += "  100%";
  }
  if (v.rate > 0) {
    auto per_second = static_cast<std::uint64_t>(std::llround(v.rate));
    text +=
        "  " + (v.bytes ? formatBytes(per_second) + "/s" : groupThousands(per_second) + " ev/s");
  }
  bool finished = v.complete || (v.total > 0 && v.done >= v.total);
  if (!finished) text += "  ETA " + (v.eta ? formatClock(*v.eta) : std::string("--:--"));
  if (!v.label.empty()) text += "  " + v.label;
  return text;
}

std::string renderProgressLine(const ProgressView& v, int width, std::size_t text_reserve) {
  std::string text = renderProgressText(v);
  int usable = std::max(width - 1, 0);
  int counted = static_cast<int>(std::max(text.size(), text_reserve));
  int bar = usable - counted - 4;  // "[" "]" and two spaces
  if (bar < kMinBar) {
    if (static_cast<int>(text.size()) > usable) text.resize(static_cast<std::size_t>(usable));
    return text;
  }
  bar = std::min(bar, kMaxBar);
  int filled = 0;
  if (v.complete || (v.total > 0 && v.done >= v.total)) {
    filled = bar;
  } else if (v.total > 0) {
    filled = static_cast<int>(static_cast<double>(v.done) / static_cast<double>(v.total) * bar);
  }
  std::string line = "[";
  line.append(static_cast<std::size_t>(filled), '#');
  line.append(static_cast<std::size_t>(bar - filled), '.');
  line += "]  ";
  line += text;
  return line;
}

int progressBarWidth(int width) {
  const int bar = std::max(width - 1, 0) - kProgressTextRoom - 4;  // "[" "]" and two spaces
  if (bar < kMinBar) return 0;
  return std::min(bar, kMaxBar);
}

std::string renderFixedProgressLine(const ProgressView& v, int width, int bar) {
  const auto usable = static_cast<std::size_t>(std::max(width - 1, 0));
  std::string line;
  if (bar > 0) {
    int filled = 0;
    if (v.complete || (v.total > 0 && v.done >= v.total)) {
      filled = bar;
    } else if (v.total > 0) {
      filled = static_cast<int>(static_cast<double>(v.done) / static_cast<double>(v.total) * bar);
    }
    line = "[";
    line.append(static_cast<std::size_t>(filled), '#');
    line.append(static_cast<std::size_t>(bar - filled), '.');
    line += "]  ";
  }
  line += renderProgressText(v);
  if (line.size() > usable) line.resize(usable);
  return line;
}

void RateMeter::add(MonoTime at, std::uint64_t value) {
  // A counter that went back (a replaced job) starts a new series.
  if (!samples_.empty() && value < samples_.back().second) samples_.clear();
  samples_.emplace_back(at, value);
  // Keep one sample older than the window so the rate spans the whole window.
  while (samples_.size() > 2 && at - samples_[1].first >= window_) samples_.pop_front();
}

double RateMeter::perSecond() const {
  if (samples_.size() < 2) return 0;
  auto span = std::chrono::duration<double>(samples_.back().first - samples_.front().first).count();
  if (span <= 0) return 0;
  return static_cast<double>(samples_.back().second - samples_.front().second) / span;
}

std::optional<std::chrono::seconds> RateMeter::eta(std::uint64_t remaining) const {
  double rate = perSecond();
  if (rate <= 0) return std::nullopt;
  return std::chrono::seconds(
      static_cast<long long>(std::ceil(static_cast<double>(remaining) / rate)));
}

int terminalWidth(int fd, int fallback) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return fallback;
}

void ProgressDisplay::draw(const ProgressView& view) {
  // The bar's width depends on the terminal's only, so it never jumps as the text changes.
  const int width = terminalWidth(fd_);
  out_ << '\r' << renderFixedProgressLine(view, width, progressBarWidth(width)) << "\x1b[K"
       << std::flush;
  drawn_ = true;
}

void ProgressDisplay::finish() {
  if (!drawn_) return;
  out_ << '\n' << std::flush;
  drawn_ = false;
}

}  // namespace audit::ctl
