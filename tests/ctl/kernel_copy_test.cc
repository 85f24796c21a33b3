#include "ctl/kernel_copy.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/fakes/temp_dir.hpp"

namespace audit::ctl {
namespace {

// 3 MiB and a bit, in lines that say where they are: a byte out of place shows.
std::string streamBytes() {
  std::string s;
  for (int i = 0; s.size() < (3u << 20) + 12345; ++i) s += "{\"line\":" + std::to_string(i) + "}\n";
  return s;
}

class KernelCopyTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sockets_), 0); }
  void TearDown() override {
    if (writer_.joinable()) writer_.join();
    for (int fd : sockets_) {
      if (fd >= 0) ::close(fd);
    }
  }

  // The daemon's side: writes `bytes` into the socket, then closes it.
  void sendThenClose(const std::string& bytes) {
    writer_ = std::thread([this, &bytes] {
      for (std::size_t done = 0; done < bytes.size();) {
        const ssize_t n = ::write(sockets_[1], bytes.data() + done, bytes.size() - done);
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
      }
      ::close(sockets_[1]);
      sockets_[1] = -1;
    });
  }

  // Moves everything into `copy`'s output, waiting for the socket as the client does.
  // @return the last step: socket_eof when all went, or why it stopped.
  KernelCopy::Step moveAll(KernelCopy& copy, std::size_t* moved) {
    for (;;) {
      const KernelCopy::Result r = copy.move(sockets_[0], 1 << 30);
      if (r.step == KernelCopy::Step::moved) {
        *moved += r.bytes;
        continue;
      }
      if (r.step != KernelCopy::Step::socket_empty) return r.step;
      pollfd p{sockets_[0], POLLIN, 0};
      if (::poll(&p, 1, 10'000) <= 0) return KernelCopy::Step::failed;  // a deadline
    }
  }

  // A file of the test's folder opened for writing, with `flags` besides the usual ones.
  int openFile(const std::string& name, int flags) const {
    return ::open((dir_.path() / name).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0600);
  }

  static std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  int sockets_[2] = {-1, -1};
  std::thread writer_;
  audit::testing::TempDir dir_{"kernel-copy"};
};

TEST_F(KernelCopyTest, IntoAPipeEveryByteInOrder) {
  const std::string bytes = streamBytes();
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  std::string received;
  std::thread reader([&] {  // a slow reader fills the pipe: move() must wait, not fail
    char buffer[4096];
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
      received.append(buffer, n);
  });
  sendThenClose(bytes);
  std::size_t moved = 0;
  {
    KernelCopy copy(pipe_fds[1]);
    EXPECT_EQ(moveAll(copy, &moved), KernelCopy::Step::socket_eof);
  }
  ::close(pipe_fds[1]);
  reader.join();
  ::close(pipe_fds[0]);
  EXPECT_EQ(moved, bytes.size());
  EXPECT_TRUE(received == bytes);
}

TEST_F(KernelCopyTest, IntoAFileThroughItsOwnPipe) {
  const std::string bytes = streamBytes();
  const int out = openFile("out", O_TRUNC);
  ASSERT_GE(out, 0);
  sendThenClose(bytes);
  std::size_t moved = 0;
  KernelCopy copy(out);
  EXPECT_EQ(moveAll(copy, &moved), KernelCopy::Step::socket_eof);
  ::close(out);
  EXPECT_EQ(moved, bytes.size());
  EXPECT_TRUE(readFile(dir_.path() / "out") == bytes);
}

// splice(2) refuses a file opened for appending (as it may a terminal): the bytes already
// taken from the socket are written the ordinary way and nothing is lost or repeated; the
// caller then copies the rest itself.
TEST_F(KernelCopyTest, AnOutputThatRefusesSplicedBytesLosesNone) {
  const std::string bytes = streamBytes();
  const int out = openFile("appended", O_APPEND);
  ASSERT_GE(out, 0);
  sendThenClose(bytes);
  std::size_t moved = 0;
  KernelCopy copy(out);
  EXPECT_EQ(moveAll(copy, &moved), KernelCopy::Step::unsupported);
  EXPECT_EQ(copy.move(sockets_[0], 1 << 20).step, KernelCopy::Step::unsupported);
  std::string rest;
  char buffer[65536];
  for (ssize_t n; (n = ::read(sockets_[0], buffer, sizeof buffer)) > 0;) rest.append(buffer, n);
  ::close(out);
  EXPECT_GT(moved, 0u);
  EXPECT_TRUE(readFile(dir_.path() / "appended") + rest == bytes);
}

}  // namespace
}  // namespace audit::ctl
