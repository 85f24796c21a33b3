// Fuzzes bounded NDJSON reading (common/line_reader.hpp) as ingest uses it, then docs/store.md
// time extraction on every line.
//
// Input layout: byte 0 picks max_line (1..256), byte 1 picks how the stream is cut into
// reads, the rest is the stream. The stream goes through a SOCK_SEQPACKET socket pair, where
// every read() returns exactly one message, so partial lines and lines straddling reads are
// exercised deterministically (a pipe would depend on timing). Each line is checked against
// a straightforward split of the stream on '\n'.

#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/line_reader.hpp"
#include "source/event_time.hpp"

namespace {

constexpr std::size_t kMaxStream = 64 * 1024;  // one SOCK_SEQPACKET message must fit
constexpr int kMaxCutReads = 31;               // then the rest in one message

[[noreturn]] void fail(const char* what, std::size_t index, std::string_view got) {
  std::fprintf(stderr, "line reader invariant broken at line %zu: %s (got %zu bytes)\n", index + 1,
               what, got.size());
  __builtin_trap();
}

struct Expected {
  std::string_view raw;       // without the '\n'
  std::string_view stripped;  // and without one trailing '\r'
};

std::vector<Expected> splitLines(std::string_view stream) {
  std::vector<Expected> out;
  std::size_t begin = 0;
  while (begin < stream.size()) {
    std::size_t nl = stream.find('\n', begin);
    std::size_t end = nl == std::string_view::npos ? stream.size() : nl;
    Expected e{stream.substr(begin, end - begin), {}};
    e.stripped = e.raw;
    if (!e.stripped.empty() && e.stripped.back() == '\r') e.stripped.remove_suffix(1);
    out.push_back(e);
    if (nl == std::string_view::npos) break;
    begin = nl + 1;
  }
  return out;
}

// Writes the stream as messages; @return false if the socket refused (input skipped).
bool writeCut(int fd, std::string_view stream, unsigned seed) {
  std::size_t pos = 0;
  for (int k = 0; k < kMaxCutReads && pos < stream.size() && seed != 0; ++k) {
    std::size_t n = 1 + (seed * 37u * static_cast<unsigned>(k + 1)) % 97u;
    if (n > stream.size() - pos) n = stream.size() - pos;
    if (::send(fd, stream.data() + pos, n, MSG_DONTWAIT | MSG_NOSIGNAL) != ssize_t(n)) {
      return false;
    }
    pos += n;
  }
  if (pos < stream.size()) {
    std::size_t n = stream.size() - pos;
    if (::send(fd, stream.data() + pos, n, MSG_DONTWAIT | MSG_NOSIGNAL) != ssize_t(n)) {
      return false;
    }
  }
  return ::shutdown(fd, SHUT_WR) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2 || size - 2 > kMaxStream) return 0;
  std::size_t max_line = 1u + data[0];
  unsigned seed = data[1];
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) return 0;
  int sndbuf = 1 << 20;  // best effort; the kernel caps it at wmem_max
  ::setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (!writeCut(fds[1], stream, seed)) {
    ::close(fds[0]);
    ::close(fds[1]);
    return 0;
  }

  std::vector<Expected> expected = splitLines(stream);
  audit::LineReader reader(fds[0], max_line);
  std::size_t index = 0;
  for (;;) {
    std::string_view line;
    auto status = reader.next(line);
    if (status == audit::LineReader::Status::End) break;
    if (status == audit::LineReader::Status::Error) fail("read error", index, line);
    if (index >= expected.size()) fail("more lines than the stream holds", index, line);
    if (reader.lineNumber() != index + 1) fail("wrong line number", index, line);
    const Expected& e = expected[index];
    // A line of exactly max_line + 1 bytes ending in '\r' may go either way.
    bool ambiguous = e.raw.size() > max_line && e.stripped.size() <= max_line;
    if (status == audit::LineReader::Status::Line) {
      if (e.raw.size() > max_line && !ambiguous) fail("over-long line returned", index, line);
      if (line != e.stripped) fail("line content differs", index, line);
      // What ingest does with a line: time extraction must never crash on it.
      (void)audit::source::extractEventTime(line);
    } else if (e.raw.size() <= max_line) {
      fail("line within the limit reported too long", index, line);
    }
    ++index;
  }
  if (index != expected.size()) fail("lines missing at the end", index, {});
  ::close(fds[0]);
  ::close(fds[1]);
  return 0;
}
