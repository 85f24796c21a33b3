#pragma once
// Events in a body: its non-empty '\n'-separated lines ("a\nb" and "a\nb\n" hold 2, "" 0).
// Empty lines are not events, so a trailing newline or a blank separator adds none.

#include <cstddef>
#include <cstring>
#include <string_view>

namespace audit::sink::detail {

/** Calls `f(std::string_view line)` for each non-empty line of `body`, in order. */
template <class F>
void forEachLine(std::string_view body, F&& f) {
  const char* p = body.data();
  const char* const end = p + body.size();
  while (p < end) {
    // memchr is vectorised by glibc: the line scan stays far below the cost of reading.
    const auto* nl =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* stop = nl != nullptr ? nl : end;
    if (stop != p) f(std::string_view(p, static_cast<std::size_t>(stop - p)));
    p = stop + 1;
  }
}

inline std::size_t countLines(std::string_view body) {
  std::size_t n = 0;
  forEachLine(body, [&n](std::string_view) { ++n; });
  return n;
}

}  // namespace audit::sink::detail
