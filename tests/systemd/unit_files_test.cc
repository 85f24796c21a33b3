// The shipped files as systemd, man and sh read them: `systemd-analyze verify` and `security`
// on the units, the example config's paths against the sandbox, lint of the man pages and the
// Debian maintainer scripts.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>

#include "tests/systemd/process_util.hpp"

namespace audit::test {
namespace {

namespace fs = std::filesystem;

const fs::path kSystemdDir = fs::path(AUDIT_SOURCE_DIR) / "systemd";

/** The value of the first `Key=` line of a unit file, or "" if none. */
std::string unitValue(const std::string& unit, const std::string& key) {
  std::istringstream in(unit);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

/**
 * Copies the units into `dir` with ExecStart pointing at a stub program: verify fails a unit
 * whose binary does not exist, and the real daemon may not be built (or installed) here.
 */
void stageUnits(const TempDir& dir) {
  const auto stub = dir / "audit-replayd";
  writeFile(stub, "#!/bin/sh\nexit 0\n");
  fs::permissions(stub, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  std::string service = readFile(kSystemdDir / "audit-replayd.service");
  const std::string installed = "/usr/bin/audit-replayd";
  const auto at = service.find(installed);
  ASSERT_NE(at, std::string::npos) << "ExecStart should run " << installed;
  service.replace(at, installed.size(), stub.string());
  writeFile(dir / "audit-replayd.service", service);
  fs::copy_file(kSystemdDir / "audit-replayd.socket", dir / "audit-replayd.socket");

  // Documentation=man:… is checked by running `man`; give it our pages.
  fs::create_directories(dir / "man" / "man8");
  fs::create_directories(dir / "man" / "man1");
  fs::copy_file(kSystemdDir / "audit-replayd.8", dir / "man" / "man8" / "audit-replayd.8");
  fs::copy_file(kSystemdDir / "audit-replayctl.1", dir / "man" / "man1" / "audit-replayctl.1");
  fs::create_directories(dir / "man" / "man5");
  fs::copy_file(kSystemdDir / "audit-replay.yaml.5", dir / "man" / "man5" / "audit-replay.yaml.5");
}

TEST(UnitFiles, PassSystemdAnalyzeVerifyWithoutWarnings) {
  if (!haveProgram("systemd-analyze")) GTEST_SKIP() << "systemd-analyze is not installed";
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(stageUnits(dir));
  std::vector<std::string> argv = {"systemd-analyze", "verify"};
  // Without man(1) verify cannot check Documentation=; everything else still is.
  if (!haveProgram("man")) argv.push_back("--man=no");
  argv.push_back((dir / "audit-replayd.service").string());
  argv.push_back((dir / "audit-replayd.socket").string());
  // systemd-analyze reports unknown keys and bad values as warnings with exit code 0, so the
  // output must be empty too.
  const auto result = runCommand(argv, dir.path(), {"MANPATH=" + (dir / "man").string()});
  EXPECT_TRUE(result.exitedWith(0)) << result.output;
  EXPECT_EQ(result.output, "");
}

TEST(UnitFiles, ServiceSandboxExposureIsLow) {
  if (!haveProgram("systemd-analyze")) GTEST_SKIP() << "systemd-analyze is not installed";
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(stageUnits(dir));
  // --threshold is on systemd's 0..100 scale: 20 = an exposure of 2.0 ("OK"). A sandbox
  // setting dropped by mistake raises the score past it.
  const auto result = runCommand({"systemd-analyze", "security", "--offline=yes", "--threshold=20",
                                  "--no-pager", (dir / "audit-replayd.service").string()},
                                 dir.path(), {"SYSTEMD_COLORS=0"});
  EXPECT_TRUE(result.exitedWith(0)) << result.output;
}

TEST(UnitFiles, ServiceHasTheContractedSettings) {
  const auto service = readFile(kSystemdDir / "audit-replayd.service");
  EXPECT_EQ(unitValue(service, "Type"), "notify");
  EXPECT_EQ(unitValue(service, "NotifyAccess"), "main");
  EXPECT_EQ(unitValue(service, "ExecStart"),
            "/usr/bin/audit-replayd --config /etc/audit-replay/config.yaml");
  EXPECT_EQ(unitValue(service, "ExecReload"), "/bin/kill -HUP $MAINPID");
  EXPECT_EQ(unitValue(service, "User"), "audit-replay");
  EXPECT_EQ(unitValue(service, "Restart"), "on-failure");
  EXPECT_EQ(unitValue(service, "RestartPreventExitStatus"), "2 3");  // docs/systemd.md
  EXPECT_EQ(unitValue(service, "WatchdogSec"), "30s");
  EXPECT_EQ(unitValue(service, "ProtectSystem"), "strict");
  EXPECT_EQ(unitValue(service, "NoNewPrivileges"), "yes");
  EXPECT_EQ(unitValue(service, "StateDirectory"), "audit-replay");
  EXPECT_EQ(unitValue(service, "RuntimeDirectory"), "audit-replay");
  EXPECT_EQ(unitValue(service, "DynamicUser"), "");
}

TEST(ExampleConfig, WritablePathsAreInsideTheSandbox) {
  // ProtectSystem=strict leaves only StateDirectory and RuntimeDirectory writable; a path
  // elsewhere would fail at start with "read-only file system".
  const auto config = readFile(kSystemdDir / "config.example.yaml");
  const std::regex path_key(R"(^\s*(data_dir|socket|spool_dir):\s*(\S+))");
  int seen = 0;
  std::istringstream in(config);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, path_key)) continue;
    ++seen;
    const std::string path = m[2];
    EXPECT_TRUE(path.rfind("/var/lib/audit-replay/", 0) == 0 ||
                path.rfind("/run/audit-replay/", 0) == 0)
        << m[1] << ": " << path;
  }
  EXPECT_EQ(seen, 3);
}

TEST(ExampleConfig, ControlSocketIsTheActivatedSocket) {
  const auto config = readFile(kSystemdDir / "config.example.yaml");
  const auto socket_unit = readFile(kSystemdDir / "audit-replayd.socket");
  const auto listen = unitValue(socket_unit, "ListenStream");
  EXPECT_EQ(listen, "/run/audit-replay/control.sock");
  EXPECT_NE(config.find("socket: " + listen), std::string::npos);
  EXPECT_EQ(unitValue(socket_unit, "Service"), "audit-replayd.service");
}

// The install rules of systemd/ alone (they need nothing built): the unit names the binary
// and configuration under the prefix being installed to, not the configure-time one.
std::string installedExecStart(const TempDir& dir, const std::string& prefix) {
  const auto destdir = dir / "root";
  const auto result = runCommand({"cmake", "-DCMAKE_INSTALL_PREFIX=" + prefix, "-P",
                                  std::string(AUDIT_BINARY_DIR) + "/systemd/cmake_install.cmake"},
                                 dir.path(), {"DESTDIR=" + destdir.string()});
  EXPECT_TRUE(result.exitedWith(0)) << result.output;
  auto unit =
      destdir / fs::path(prefix).relative_path() / "lib/systemd/system/audit-replayd.service";
  EXPECT_TRUE(fs::exists(unit)) << result.output;
  for (const char* page :
       {"man1/audit-replayctl.1.gz", "man1/audit-replay-sink.1.gz", "man1/audit-replay-gen.1.gz",
        "man5/audit-replay.yaml.5.gz", "man8/audit-replayd.8.gz"}) {
    EXPECT_TRUE(fs::exists(destdir / fs::path(prefix).relative_path() / "share/man" / page))
        << page;
  }
  return fs::exists(unit) ? unitValue(readFile(unit), "ExecStart") : std::string();
}

TEST(UnitFiles, InstalledUnitNamesTheInstalledPaths) {
  if (!haveProgram("cmake")) GTEST_SKIP() << "cmake is not installed";
  {
    TempDir dir;
    EXPECT_EQ(installedExecStart(dir, "/usr"),
              "/usr/bin/audit-replayd --config /etc/audit-replay/config.yaml");
  }
  {
    TempDir dir;
    EXPECT_EQ(installedExecStart(dir, "/opt/ar"),
              "/opt/ar/bin/audit-replayd --config /opt/ar/etc/audit-replay/config.yaml");
  }
}

TEST(ManPages, RenderWithoutWarnings) {
  if (!haveProgram("groff")) GTEST_SKIP() << "groff is not installed";
  TempDir dir;
  for (const char* page : {"audit-replayd.8", "audit-replayctl.1", "audit-replay-sink.1",
                           "audit-replay-gen.1", "audit-replay.yaml.5"}) {
    const auto result =
        runCommand({"groff", "-man", "-ww", "-z", (kSystemdDir / page).string()}, dir.path());
    EXPECT_TRUE(result.exitedWith(0)) << page << ": " << result.output;
    EXPECT_EQ(result.output, "") << page;
  }
}

TEST(MaintainerScripts, AreValidShellAndExecutable) {
  TempDir dir;
  for (const char* script : {"postinst", "prerm", "postrm"}) {
    const auto path = kSystemdDir / "debian" / script;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_NE(st.st_mode & S_IXUSR, 0u) << script << " must be executable";
    const auto syntax = runCommand({"sh", "-n", path.string()}, dir.path());
    EXPECT_TRUE(syntax.exitedWith(0)) << script << ": " << syntax.output;
    if (haveProgram("shellcheck")) {
      const auto lint = runCommand({"shellcheck", "-s", "sh", path.string()}, dir.path());
      EXPECT_TRUE(lint.exitedWith(0)) << script << ": " << lint.output;
    }
  }
}

}  // namespace
}  // namespace audit::test
