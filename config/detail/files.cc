#include "config/detail/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace audit::config::detail {
namespace {

// A secret's first line is short; a file without a line break in the first 64 KiB is not one.
constexpr std::size_t kMaxFirstLine = 64 * 1024;

/** Owns a file descriptor for the few lines that use it. */
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);  // read-only: nothing to lose if close fails
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string cannotRead(const std::filesystem::path& file, int err) {
  return "cannot read " + file.string() + ": " + std::strerror(err);
}

// Opens `file` for reading and checks it is a regular file (a directory opens fine on Linux
// and only fails at the first read, with a less helpful message). O_NONBLOCK keeps open()
// from waiting for a writer when the path is a FIFO (or a device that waits on open), so
// the S_ISREG check can refuse it; on a regular file the flag changes nothing.
std::optional<std::string> openRegular(const std::filesystem::path& file, int& fd_out) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return cannotRead(file, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return cannotRead(file, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return file.string() + " is not a regular file";
  }
  fd_out = fd;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> checkReadableFile(const std::filesystem::path& file) {
  int raw = -1;
  if (auto problem = openRegular(file, raw)) return problem;
  Fd fd(raw);
  return std::nullopt;
}

std::optional<std::string> readFirstLine(const std::filesystem::path& file, std::string& line) {
  int raw = -1;
  if (auto problem = openRegular(file, raw)) return problem;
  Fd fd(raw);
  std::string data;
  char buf[4096];
  while (data.find('\n') == std::string::npos && data.size() <= kMaxFirstLine) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cannotRead(file, errno);
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  auto end = data.find('\n');
  if (end == std::string::npos && data.size() > kMaxFirstLine) {
    return "the first line of " + file.string() + " is longer than 64 KiB";
  }
  if (end != std::string::npos) data.resize(end);
  while (!data.empty() && (data.back() == '\r' || data.back() == ' ' || data.back() == '\t')) {
    data.pop_back();
  }
  line = std::move(data);
  return std::nullopt;
}

std::optional<std::string> readWholeFile(const std::filesystem::path& file, std::size_t max_bytes,
                                         std::string& text) {
  int raw = -1;
  if (auto problem = openRegular(file, raw)) return problem;
  Fd fd(raw);
  std::string data;
  char buf[16 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cannotRead(file, errno);
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    if (data.size() > max_bytes) {
      return file.string() + " is larger than " + std::to_string(max_bytes) + " bytes";
    }
  }
  text = std::move(data);
  return std::nullopt;
}

}  // namespace audit::config::detail
