#pragma once
// Runs a piece of work in a forked child with a deadline, so that a test can prove an input
// is handled in bounded time and memory without the test itself hanging or being killed
// when it is not (an endless loop, a stack overflow, memory growing without end).

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>

#if defined(__SANITIZE_ADDRESS__)
#define AUDIT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AUDIT_TEST_ASAN 1
#endif
#endif

namespace audit::testing {

struct ChildOutcome {
  enum Kind { Finished, Threw, Crashed, TimedOut } kind = Crashed;
  std::string output;  // what the work returned, or the exception's message
  int signal = 0;      // for Crashed

  std::string describe() const {
    switch (kind) {
      case Finished:
        return "finished: " + output;
      case Threw:
        return "threw: " + output;
      case Crashed:
        return "crashed with signal " + std::to_string(signal);
      case TimedOut:
        return "still running at the deadline (killed)";
    }
    return "?";
  }
};

/**
 * Runs `work` in a child process. Without AddressSanitizer (which reserves terabytes of
 * address space) the child's address space is capped at `memory_bytes`, so memory growing
 * without end shows up as std::bad_alloc rather than as the machine swapping.
 */
inline ChildOutcome runBounded(const std::function<std::string()>& work,
                               std::chrono::milliseconds limit,
                               std::size_t memory_bytes = std::size_t{2} << 30) {
  int fds[2];
  if (::pipe(fds) != 0) return {ChildOutcome::Crashed, "pipe failed", 0};
  pid_t pid = ::fork();
  if (pid < 0) return {ChildOutcome::Crashed, "fork failed", 0};
  if (pid == 0) {
    ::close(fds[0]);
#ifndef AUDIT_TEST_ASAN
    rlimit cap{memory_bytes, memory_bytes};
    ::setrlimit(RLIMIT_AS, &cap);
#else
    (void)memory_bytes;
#endif
    std::string out;
    try {
      out = "F" + work();
    } catch (const std::exception& e) {
      out = std::string("T") + e.what();
    } catch (...) {
      out = "Ta non-standard exception";
    }
    std::size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);

  // Read the child's answer until EOF or the deadline, whichever comes first.
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string got;
  bool eof = false;
  while (!eof) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0) continue;  // EINTR: the deadline is checked again
    if (ready == 0) break;
    char buf[4096];
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) {
      eof = true;
    } else {
      got.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fds[0]);
  if (!eof) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);

  ChildOutcome outcome;
  if (!eof) {
    outcome.kind = ChildOutcome::TimedOut;
  } else if (WIFSIGNALED(status)) {
    outcome.kind = ChildOutcome::Crashed;
    outcome.signal = WTERMSIG(status);
  } else if (got.empty()) {
    outcome.kind = ChildOutcome::Crashed;  // exited without an answer
  } else {
    outcome.kind = got[0] == 'F' ? ChildOutcome::Finished : ChildOutcome::Threw;
    outcome.output = got.substr(1);
  }
  return outcome;
}

}  // namespace audit::testing
