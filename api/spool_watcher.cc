#include "api/spool_watcher.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <climits>
#include <cstring>

#include "api/control_server.hpp"
#include "common/offload.hpp"
#include "protocol/vocabulary.hpp"

namespace audit::api {
namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {
constexpr std::string_view kRequestSuffix = ".json";
constexpr std::string_view kResultSuffix = ".result.json";
constexpr std::size_t kNameMax = NAME_MAX;  // 255 bytes on every Linux file system we use

bool isRequestName(const std::string& name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(kRequestSuffix) && !ends(kResultSuffix) && name.front() != '.';
}

std::string resultName(const std::string& request) {
  return request.substr(0, request.size() - kRequestSuffix.size()) + std::string(kResultSuffix);
}

std::string errnoText(int err) {
  return std::strerror(err);
}

// A descriptor closed at scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

// A sub-folder of the spool, opened without following a link planted in its place.
Fd openSubdir(int dir_fd, const char* name) {
  return Fd(::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

struct Entry {
  std::string name;
  bool regular = false;
};

// Lists request names, oldest name first (names are the writer's to choose). Folders are
// skipped; anything else that is not a regular file is listed so that it can be refused.
std::vector<Entry> listRequests(int dir_fd) {
  std::vector<Entry> found;
  int fd = ::dup(dir_fd);
  if (fd < 0) return found;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return found;
  }
  ::rewinddir(d);  // the duplicate shares its offset with earlier scans
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (!isRequestName(name)) continue;
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) continue;
    found.push_back(Entry{std::move(name), S_ISREG(st.st_mode)});
  }
  ::closedir(d);
  std::sort(found.begin(), found.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return found;
}

// Writes `text` to `name` in the spool folder: a fresh temp file with an unguessable name,
// created exclusively and never through a link, fsynced, then renamed over `name` (a link
// or file already there is replaced, not written through).
std::string writeResult(int dir_fd, const std::string& name, const std::string& text) {
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 8 && fd < 0; ++attempt) {
    unsigned char random[12];
    if (::getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
      return "cannot draw a temp file name: " + errnoText(errno);
    }
    tmp = ".result-";
    for (unsigned char c : random) {
      static constexpr char kHex[] = "0123456789abcdef";
      tmp.push_back(kHex[c >> 4]);
      tmp.push_back(kHex[c & 15]);
    }
    tmp += ".tmp";
    fd = ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) return "cannot create a temp file: " + errnoText(errno);
  }
  if (fd < 0) return "cannot create a temp file: every name drawn exists";
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  written = written && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return "cannot write the result";
  }
  if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) {
    int err = errno;
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return "cannot write the result: " + errnoText(err);
  }
  return {};
}

// Moves `name` from `from_fd` into done/ or rejected/.
std::string moveTo(int dir_fd, int from_fd, const std::string& name, bool accepted) {
  const char* folder = accepted ? "done" : "rejected";
  Fd to = openSubdir(dir_fd, folder);
  if (!to.ok()) return std::string("cannot open ") + folder + "/: " + errnoText(errno);
  if (::renameat(from_fd, name.c_str(), to.get(), name.c_str()) != 0) {
    return std::string("cannot move the request to ") + folder + "/: " + errnoText(errno);
  }
  return {};
}

// What taking one listed entry led to.
struct Taken {
  enum class Kind {
    kRun,         // claimed and read (or unreadable): execute or answer `answer`
    kRefused,     // filed into rejected/ unread; `note` says why
    kGone,        // taken away before we got to it
    kClaimFailed  // could not be claimed; left where it is, not run
  };
  Kind kind = Kind::kGone;
  bool read_ok = false;
  std::string text;   // the request, when read_ok
  std::string note;   // why it was refused / not claimed / not readable
  std::string error;  // a problem filing a refused entry away
};

Taken refuse(int dir_fd, const Entry& entry, std::string why) {
  Taken out;
  out.kind = Taken::Kind::kRefused;
  out.note = std::move(why);
  const std::string result = resultName(entry.name);
  if (result.size() <= kNameMax) {
    json::object answer{{"ok", false}, {"code", 400}, {"error", out.note}};
    out.error = writeResult(dir_fd, result, json::serialize(answer) + "\n");
  }
  std::string moved = moveTo(dir_fd, dir_fd, entry.name, false);
  if (!moved.empty()) out.error += (out.error.empty() ? "" : "; ") + moved;
  return out;
}

// Refuses what must not be read, claims the rest into .claimed/ and reads it from there.
Taken take(int dir_fd, const Entry& entry) {
  if (!entry.regular) {
    return refuse(dir_fd, entry,
                  "not a regular file (links, FIFOs, sockets and devices are refused)");
  }
  if (resultName(entry.name).size() > kNameMax) {
    return refuse(dir_fd, entry,
                  "file name too long: its result name would exceed 255 bytes; not run");
  }
  Taken out;
  Fd claimed = openSubdir(dir_fd, SpoolWatcher::kClaimedDir);
  if (!claimed.ok()) {
    out.kind = Taken::Kind::kClaimFailed;
    out.note = std::string("cannot open ") + SpoolWatcher::kClaimedDir + "/: " + errnoText(errno);
    return out;
  }
  // No replacing: a request of the same name held there (not filed away) is kept.
  if (::renameat2(dir_fd, entry.name.c_str(), claimed.get(), entry.name.c_str(),
                  RENAME_NOREPLACE) != 0) {
    if (errno == ENOENT) return out;  // kGone
    out.kind = Taken::Kind::kClaimFailed;
    out.note = errno == EEXIST ? std::string("a request of this name is still held in ") +
                                     SpoolWatcher::kClaimedDir + "/"
                               : std::string("cannot move it to ") + SpoolWatcher::kClaimedDir +
                                     "/: " + errnoText(errno);
    return out;
  }
  out.kind = Taken::Kind::kRun;
  // O_NONBLOCK: should a FIFO have been swapped in since the listing, opening it must not
  // wait for a writer; fstat then refuses it.
  Fd fd(::openat(claimed.get(), entry.name.c_str(),
                 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  struct stat st {};
  if (!fd.ok() || ::fstat(fd.get(), &st) != 0) {
    out.note = "cannot read the request file";
    return out;
  }
  if (!S_ISREG(st.st_mode)) {
    out.note = "not a regular file (links, FIFOs, sockets and devices are refused)";
    return out;
  }
  std::string text(SpoolWatcher::kMaxRequestBytes + 1, '\0');
  std::size_t have = 0;
  while (have < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + have, text.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.note = "cannot read the request file: " + errnoText(errno);
      return out;
    }
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
  }
  if (have > SpoolWatcher::kMaxRequestBytes) {
    out.note = "request file over 1 MiB";
    return out;
  }
  text.resize(have);
  out.read_ok = true;
  out.text = std::move(text);
  return out;
}

// Writes the answer next to where the request was and files the claimed request away.
std::string fileAway(int dir_fd, const std::string& name, const std::string& result,
                     bool accepted) {
  std::string problem = writeResult(dir_fd, resultName(name), result);
  Fd claimed = openSubdir(dir_fd, SpoolWatcher::kClaimedDir);
  std::string moved = claimed.ok()
                          ? moveTo(dir_fd, claimed.get(), name, accepted)
                          : std::string("cannot open the claim folder: ") + errnoText(errno);
  if (!moved.empty()) {
    moved += std::string("; it stays in ") + SpoolWatcher::kClaimedDir + "/ and is not run again";
    problem += (problem.empty() ? "" : "; ") + moved;
  }
  return problem;
}
}  // namespace

std::string escapeForLog(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (unsigned char c : name) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

SpoolWatcher::SpoolWatcher(asio::any_io_executor executor, asio::thread_pool& workers, fs::path dir,
                           Millis interval, ControlApi& api)
    : executor_(executor),
      workers_(workers),
      dir_(std::move(dir)),
      interval_(interval),
      api_(api),
      timer_(executor) {}

SpoolWatcher::~SpoolWatcher() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

Expected<> SpoolWatcher::prepare() {
  std::error_code ec;
  for (const fs::path& d : {dir_, dir_ / "done", dir_ / "rejected", dir_ / kClaimedDir}) {
    fs::create_directories(d, ec);
    if (ec) {
      return Failure{"cannot create control.spool_dir folder " + d.string() + ": " + ec.message()};
    }
  }
  if (dir_fd_ < 0) {
    dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) {
      return Failure{"cannot open control.spool_dir " + dir_.string() + ": " + errnoText(errno)};
    }
  }
  // Requests left claimed by an earlier run (stopped mid-request, or done/ unusable) are
  // not run again: say so once.
  Fd claimed = openSubdir(dir_fd_, kClaimedDir);
  if (claimed.ok()) {
    if (DIR* d = ::fdopendir(::dup(claimed.get()))) {
      while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        spdlog::warn(
            "spool request {} was taken by an earlier run and not filed away; it is "
            "not run again (it stays in {}/)",
            escapeForLog(name), kClaimedDir);
      }
      ::closedir(d);
    }
  }
  return {};
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
  auto self = shared_from_this();
  if (dir_fd_ < 0) co_return 0;
  const int dir_fd = dir_fd_;
  auto list = [dir_fd] { return listRequests(dir_fd); };
  auto entries = co_await offload(workers_, list);
  std::size_t handled = 0;
  for (const Entry& entry : entries) {
    if (stopped_) break;
    const std::string shown = escapeForLog(entry.name);
    auto take_entry = [dir_fd, entry] { return take(dir_fd, entry); };
    Taken taken = co_await offload(workers_, take_entry);
    switch (taken.kind) {
      case Taken::Kind::kGone:
        continue;
      case Taken::Kind::kClaimFailed:
        if (claim_failures_logged_.size() > 10'000) claim_failures_logged_.clear();
        if (claim_failures_logged_.insert(entry.name).second) {
          spdlog::error("spool request {} not run: {}", shown, taken.note);
        }
        continue;
      case Taken::Kind::kRefused:
        spdlog::warn("spool request {} rejected: {}", shown, taken.note);
        if (!taken.error.empty()) spdlog::error("spool request {}: {}", shown, taken.error);
        ++handled;
        continue;
      case Taken::Kind::kRun:
        break;
    }
    claim_failures_logged_.erase(entry.name);
    json::object answer;
    if (!taken.read_ok) {
      answer = json::object{{"ok", false}, {"code", 400}, {"error", taken.note}};
    } else {
      json::object request;
      if (parseRequestLine(taken.text, request, answer)) {
        auto* op = request.if_contains("op");
        if (op != nullptr &&
            !(op->is_string() && protocol::parseOp(op->as_string()) == protocol::Op::PutJob)) {
          answer = json::object{
              {"ok", false}, {"code", 400}, {"error", "a spool file holds a put_job request"}};
        } else {
          request["op"] = protocol::toString(protocol::Op::PutJob);
          answer = co_await api_.execute(std::move(request));
        }
      }
    }
    bool accepted = answer.at("ok").as_bool();
    std::string result = json::serialize(answer) + "\n";
    auto file_away = [dir_fd, name = entry.name, result, accepted] {
      return fileAway(dir_fd, name, result, accepted);
    };
    auto problem = co_await offload(workers_, file_away);
    if (!problem.empty()) {
      spdlog::error("spool request {} {}: {}", shown, accepted ? "accepted" : "rejected", problem);
    } else if (accepted) {
      spdlog::info("spool request {} accepted", shown);
    } else {
      spdlog::warn("spool request {} rejected: {}", shown,
                   std::string(answer.at("error").as_string()));
    }
    ++handled;
  }
  co_return handled;
}

}  // namespace audit::api
