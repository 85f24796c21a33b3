// audit-replayctl: the operator's command-line client of audit-replayd (docs/cli.md).

#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "ctl/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  audit::ctl::Context ctx{.out = std::cout, .err = std::cerr};
  try {
    return audit::ctl::run(args, ctx);
  } catch (const std::exception& e) {
    // Only allocation failures and the like get here; report instead of aborting.
    std::cerr << "audit-replayctl: " << e.what() << '\n';
    return 1;
  }
}
