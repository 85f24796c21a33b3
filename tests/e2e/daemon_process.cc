#include "tests/e2e/daemon_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "common/rfc3339.hpp"

namespace audit::e2e {
namespace fs = std::filesystem;
namespace json = boost::json;

fs::path binaryPath(const std::string& relative) {
  return fs::path(AUDIT_BINARY_DIR) / relative;
}

bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    // A short blocking poll on nothing: the only portable way to yield for a few ms
    // without a sleep call; the condition above is what the test waits on.
    ::poll(nullptr, 0, 5);
  }
}

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string isoMillis(std::int64_t ms) {
  return formatRfc3339Millis(ms);
}

std::string makeEvent(std::int64_t rt_ms, const std::string& marker) {
  return "{\"rt\":" + std::to_string(rt_ms) + ",\"event_class_id\":\"audit\",\"name\":\"" + marker +
         "\",\"org_id\":\"0f1e2d3c\",\"success\":true}";
}

// ---- Process ---------------------------------------------------------------------------

namespace {
char** toArgv(std::vector<std::string>& args, std::vector<char*>& storage) {
  storage.clear();
  for (auto& a : args) storage.push_back(a.data());
  storage.push_back(nullptr);
  return storage.data();
}
}  // namespace

Process::Process(std::vector<std::string> argv, fs::path log_file,
                 std::vector<std::string> extra_env)
    : log_file_(std::move(log_file)) {
  std::vector<char*> arg_ptrs;
  char** args = toArgv(argv, arg_ptrs);
  pid_ = ::fork();
  if (pid_ == 0) {
    int fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    for (auto& e : extra_env) ::putenv(e.data());
    ::unsetenv("NOTIFY_SOCKET");
    ::execv(args[0], args);
    _exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0 && !result_) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
  }
}

void Process::signal(int sig) {
  if (pid_ > 0 && !result_) ::kill(pid_, sig);
}

bool Process::running() {
  if (result_) return false;
  int status;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    ProcessResult res;
    res.exited = WIFEXITED(status);
    res.exit_code = res.exited ? WEXITSTATUS(status) : -1;
    res.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    result_ = res;
    return false;
  }
  return true;
}

ProcessResult Process::wait(std::chrono::milliseconds deadline) {
  if (!waitUntil([&] { return !running(); }, deadline)) {
    ::kill(pid_, SIGKILL);
    waitUntil([&] { return !running(); }, 5s);
    ProcessResult r = result_.value_or(ProcessResult{});
    r.exited = false;  // it did not end by itself
    return r;
  }
  return *result_;
}

std::string Process::log() const {
  std::ifstream in(log_file_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ProcessResult runProgram(const std::vector<std::string>& argv_in, std::string* out,
                         std::string* err, const std::string& stdin_text,
                         std::chrono::milliseconds deadline) {
  std::vector<std::string> argv = argv_in;
  char out_tmpl[] = "/tmp/audit-e2e-outXXXXXX";
  char err_tmpl[] = "/tmp/audit-e2e-errXXXXXX";
  char in_tmpl[] = "/tmp/audit-e2e-inXXXXXX";
  int out_fd = ::mkstemp(out_tmpl), err_fd = ::mkstemp(err_tmpl), in_fd = ::mkstemp(in_tmpl);
  if (::write(in_fd, stdin_text.data(), stdin_text.size()) < 0) return {};
  ::lseek(in_fd, 0, SEEK_SET);
  std::vector<char*> arg_ptrs;
  char** args = toArgv(argv, arg_ptrs);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::execv(args[0], args);
    _exit(127);
  }
  ProcessResult result;
  int status = 0;
  bool done = waitUntil([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, deadline);
  if (!done) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  } else {
    result.exited = WIFEXITED(status);
    result.exit_code = result.exited ? WEXITSTATUS(status) : -1;
    result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  auto slurp = [](const char* path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  if (out) *out = slurp(out_tmpl);
  if (err) *err = slurp(err_tmpl);
  for (int fd : {out_fd, err_fd, in_fd}) ::close(fd);
  for (const char* p : {out_tmpl, err_tmpl, in_tmpl}) ::unlink(p);
  return result;
}

Expected<> writeEd25519Key(const std::filesystem::path& file) {
  std::error_code ignored;  // no key there yet is the usual case
  std::filesystem::remove(file, ignored);
  std::string out;
  std::string err;
  const auto done = runProgram(
      {"/usr/bin/openssl", "genpkey", "-algorithm", "ed25519", "-out", file.string()}, &out, &err);
  if (done.exit_code != 0) return Failure{"openssl genpkey: " + err};
  return {};
}

// ---- ControlClient ---------------------------------------------------------------------

ControlClient::ControlClient(const fs::path& socket) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

ControlClient::~ControlClient() {
  if (fd_ >= 0) ::close(fd_);
}

void ControlClient::sendRaw(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

std::optional<std::string> ControlClient::readLine(std::chrono::milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return std::nullopt;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::optional<std::string> ControlClient::roundTrip(const std::string& line,
                                                    std::chrono::milliseconds deadline) {
  if (fd_ < 0) return std::nullopt;
  sendRaw(line + "\n");
  return readLine(deadline);
}

std::optional<json::object> ControlClient::call(const json::object& request,
                                                std::chrono::milliseconds deadline) {
  auto line = roundTrip(json::serialize(request), deadline);
  if (!line) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(*line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.as_object();
}

bool ControlClient::closedByPeer(std::chrono::milliseconds deadline) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(deadline.count())) <= 0) return false;
  char c;
  return ::recv(fd_, &c, 1, 0) <= 0;
}

// ---- DaemonFixture ---------------------------------------------------------------------

DaemonFixture::DaemonFixture() {
  std::random_device rd;
  dir_ = fs::temp_directory_path() /
         ("audit-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(dir_);
}

DaemonFixture::~DaemonFixture() {
  process_.reset();
  std::error_code ec;
  if (!::getenv("AUDIT_KEEP_TEST_DIRS")) fs::remove_all(dir_, ec);
}

void DaemonFixture::writeConfig(const std::string& regions_yaml) {
  std::ofstream out(configFile());
  out << "data_dir: data\n"
         "log: {level: debug, format: text}\n"
         "control:\n"
         "  socket: run/control.sock\n"
         "  spool_dir: spool\n"
         "  poll_interval: 50ms\n"
      << regions_yaml;
}

void DaemonFixture::launch(std::vector<std::string> extra_args) {
  std::vector<std::string> argv{binaryPath("daemon/audit-replayd").string(), "--config",
                                configFile().string()};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ =
      std::make_unique<Process>(argv, dir_ / ("daemon-" + std::to_string(++launches_) + ".log"));
}

bool DaemonFixture::start(std::vector<std::string> extra_args) {
  launch(std::move(extra_args));
  return waitUntil(
             [&] {
               if (!process_->running()) return true;
               ControlClient c(socket());
               if (!c.connected()) return false;
               auto pong = c.call({{"op", "ping"}}, 2s);
               return pong && pong->at("ok").as_bool();
             },
             20s) &&
         process_->running();
}

void DaemonFixture::launchWrapped(const std::vector<std::string>& wrapper,
                                  std::vector<std::string> extra_args) {
  std::vector<std::string> argv = wrapper;
  argv.push_back(binaryPath("daemon/audit-replayd").string());
  argv.push_back("--config");
  argv.push_back(configFile().string());
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ =
      std::make_unique<Process>(argv, dir_ / ("daemon-" + std::to_string(++launches_) + ".log"));
}

std::string DaemonFixture::allLogs() const {
  std::string all;
  for (int i = 1; i <= launches_; ++i) {
    std::ifstream in(dir_ / ("daemon-" + std::to_string(i) + ".log"));
    std::stringstream ss;
    ss << in.rdbuf();
    all += ss.str();
  }
  return all;
}

ProcessResult DaemonFixture::stop(int sig, std::chrono::milliseconds deadline) {
  process_->signal(sig);
  return process_->wait(deadline);
}

void DaemonFixture::kill9() {
  process_->signal(SIGKILL);
  process_->wait(10s);
}

std::optional<json::object> DaemonFixture::call(const json::object& request) {
  ControlClient c(socket());
  return c.call(request);
}

json::object DaemonFixture::ingest(const std::string& region,
                                   const std::vector<std::string>& lines) {
  json::array arr;
  for (const auto& l : lines) arr.emplace_back(l);
  auto answer = call({{"op", "ingest"}, {"region", region}, {"lines", std::move(arr)}});
  return answer.value_or(json::object{});
}

std::optional<json::object> DaemonFixture::retryState(const std::string& region) {
  auto answer = call({{"op", "get_job"}, {"region", region}});
  if (!answer || !answer->contains("retry")) return std::nullopt;
  return answer->at("retry").as_object();
}

std::optional<json::object> DaemonFixture::waitJobEnded(const std::string& region,
                                                        std::chrono::milliseconds deadline) {
  std::optional<json::object> job;
  bool ended = waitUntil(
      [&] {
        auto answer = call({{"op", "get_job"}, {"region", region}});
        if (!answer || !answer->at("ok").as_bool()) return false;
        job = answer->at("job").as_object();
        auto status = job->at("status").as_string();
        return status == "completed" || status == "failed";
      },
      deadline);
  if (!ended) return std::nullopt;
  return job;
}

}  // namespace audit::e2e
