#include "daemon/spool_watcher.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>

#include "daemon/control_server.hpp"
#include "daemon/offload.hpp"

namespace audit::daemon {
namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {
constexpr std::string_view kRequestSuffix = ".json";
constexpr std::string_view kResultSuffix = ".result.json";

bool isRequestName(const std::string& name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(kRequestSuffix) && !ends(kResultSuffix) && name.front() != '.';
}

// Lists request files, oldest name first (names are the writer's to choose).
std::vector<fs::path> listRequests(const fs::path& dir) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    std::string name = entry.path().filename().string();
    if (isRequestName(name)) found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

struct ReadOutcome {
  bool ok = false;
  std::string text;
  std::string error;
};

ReadOutcome readRequest(const fs::path& file) {
  ReadOutcome out;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    out.error = "cannot read the request file";
    return out;
  }
  std::string text(SpoolWatcher::kMaxRequestBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > SpoolWatcher::kMaxRequestBytes) {
    out.error = "request file over 1 MiB";
    return out;
  }
  out.ok = true;
  out.text = std::move(text);
  return out;
}

// Writes the result next to the request (tmp + fsync + rename) and files the request away.
std::string fileAway(const fs::path& request, const std::string& result, bool accepted) {
  const fs::path dir = request.parent_path();
  const std::string stem = request.stem().string();
  const fs::path result_path = dir / (stem + std::string(kResultSuffix));
  const fs::path tmp = dir / ("." + stem + ".result.json.tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return std::string("cannot write ") + tmp.string() + ": " + std::strerror(errno);
  bool written = ::write(fd, result.data(), result.size()) == static_cast<ssize_t>(result.size());
  written = written && ::fsync(fd) == 0;
  ::close(fd);
  std::error_code ec;
  if (!written) {
    fs::remove(tmp, ec);
    return "cannot write " + tmp.string();
  }
  fs::rename(tmp, result_path, ec);
  if (ec) return "cannot rename " + tmp.string() + ": " + ec.message();
  fs::rename(request, dir / (accepted ? "done" : "rejected") / request.filename(), ec);
  if (ec) return "cannot move " + request.string() + ": " + ec.message();
  return {};
}
}  // namespace

SpoolWatcher::SpoolWatcher(asio::any_io_executor executor, asio::thread_pool& workers, fs::path dir,
                           Millis interval, ControlApi& api)
    : executor_(executor),
      workers_(workers),
      dir_(std::move(dir)),
      interval_(interval),
      api_(api),
      timer_(executor) {}

bool SpoolWatcher::prepare(std::string* error) {
  std::error_code ec;
  for (const fs::path& d : {dir_, dir_ / "done", dir_ / "rejected"}) {
    fs::create_directories(d, ec);
    if (ec) {
      *error = "cannot create control.spool_dir folder " + d.string() + ": " + ec.message();
      return false;
    }
  }
  return true;
}

void SpoolWatcher::start() {
  asio::co_spawn(executor_, pollLoop(), asio::detached);
}

void SpoolWatcher::stop() {
  stopped_ = true;
  timer_.cancel();
}

asio::awaitable<void> SpoolWatcher::pollLoop() {
  auto self = shared_from_this();
  while (!stopped_) {
    co_await scanOnce();
    if (stopped_) break;
    timer_.expires_after(interval_);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<std::size_t> SpoolWatcher::scanOnce() {
  auto list = [dir = dir_] { return listRequests(dir); };
  auto requests = co_await offload(workers_, list);
  std::size_t handled = 0;
  for (const fs::path& file : requests) {
    if (stopped_) break;
    auto read_file = [file] { return readRequest(file); };
    auto read = co_await offload(workers_, read_file);
    json::object answer;
    if (!read.ok) {
      if (!fs::exists(file)) continue;  // taken away between listing and reading
      answer = json::object{{"ok", false}, {"code", 400}, {"error", read.error}};
    } else {
      json::object request;
      if (parseRequestLine(read.text, request, answer)) {
        auto* op = request.if_contains("op");
        if (op != nullptr && !(op->is_string() && op->as_string() == "put_job")) {
          answer = json::object{
              {"ok", false}, {"code", 400}, {"error", "a spool file holds a put_job request"}};
        } else {
          request["op"] = "put_job";
          answer = co_await api_.execute(std::move(request));
        }
      }
    }
    bool accepted = answer.at("ok").as_bool();
    std::string result = json::serialize(answer) + "\n";
    auto file_away = [file, result, accepted] { return fileAway(file, result, accepted); };
    auto problem = co_await offload(workers_, file_away);
    std::string name = file.filename().string();
    if (!problem.empty()) {
      spdlog::error("spool request {}: {}", name, problem);
    } else if (accepted) {
      spdlog::info("spool request {} accepted", name);
    } else {
      spdlog::warn("spool request {} rejected: {}", name,
                   std::string(answer.at("error").as_string()));
    }
    ++handled;
  }
  co_return handled;
}

}  // namespace audit::daemon
