#pragma once
// Runs the real audit-replayctl as a child process, with pipes or a pseudo-terminal, and
// collects what it printed and how it exited. A deadline kills a hung child.

#include <chrono>
#include <string>
#include <vector>

namespace audit::ctl::test {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or the deadline
  std::string out;     // stdout (with a terminal: everything the terminal showed)
  std::string err;     // stderr (empty with a terminal)
};

/** ${AUDIT_BINARY_DIR}/ctl/audit-replayctl */
std::string ctlBinary();

/** Runs the program with `args`, feeding `input` to its stdin through a pipe. */
ProcessResult runCtl(const std::vector<std::string>& args, const std::string& input = "",
                     std::chrono::seconds deadline = std::chrono::seconds(60));

/** Runs the program in a pseudo-terminal `columns` wide (stdin, stdout and stderr). */
ProcessResult runCtlInPty(const std::vector<std::string>& args, int columns = 100,
                          std::chrono::seconds deadline = std::chrono::seconds(60));

/** Runs any program (`argv[0]` a path) the same way as runCtl. */
ProcessResult runProgram(const std::vector<std::string>& argv, const std::string& input = "",
                         std::chrono::seconds deadline = std::chrono::seconds(60));

}  // namespace audit::ctl::test
