// The bash completion the package installs, sourced into a real bash: commands, each
// command's options, and region names read from the configuration.

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "ctl/args.hpp"
#include "process.hpp"

namespace audit::ctl::test {
namespace {

const std::string kScript =
    std::string(AUDIT_SOURCE_DIR) + "/systemd/completions/audit-replayctl.bash";

/** COMPREPLY for the command line `words` (the last word is the one being completed). */
std::string complete(const std::string& words) {
  const std::string program = "source '" + kScript + "'; COMP_WORDS=(" + words +
                              "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _audit_replayctl; "
                              "printf '%s\\n' \"${COMPREPLY[@]}\"";
  auto r = runProgram({"/bin/bash", "-c", program});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  return r.out;
}

TEST(BashCompletion, CompletesCommandsOptionsAndRegions) {
  if (::access("/bin/bash", X_OK) != 0) GTEST_SKIP() << "no bash";
  EXPECT_EQ(complete("audit-replayctl st"), "status\nstats\n");
  EXPECT_EQ(complete("audit-replayctl watch --"), "--region\n--interval\n--json\n");
  EXPECT_EQ(complete("audit-replayctl --socket /run/x.sock ingest --sk"), "--skip-invalid\n");
  EXPECT_EQ(complete("audit-replayctl help rep"), "replay\n");
  EXPECT_EQ(complete("audit-replayctl --config '" + std::string(AUDIT_SOURCE_DIR) +
                     "/systemd/config.example.yaml' replay --region ''"),
            "us\n");
  // Every command of the program is offered.
  std::string all = complete("audit-replayctl ''");
  for (const auto& spec : commandSpecs()) {
    EXPECT_NE(all.find(std::string(spec.name) + "\n"), std::string::npos) << spec.name;
  }
}

}  // namespace
}  // namespace audit::ctl::test
