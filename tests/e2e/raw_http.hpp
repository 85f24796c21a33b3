#pragma once
// Plain-socket HTTP/1.1 for the end-to-end tests of the daemon's HTTP API: a free port to
// listen on, a connection, and one request read to the end. Deliberately not Beast: the
// tests must also send what no HTTP library would (junk, half requests, huge headers).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace audit::e2e {

/** A loopback port nobody listens on right now. */
inline std::uint16_t freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/** A connected socket to 127.0.0.1:port, or -1. */
inline int connectTo(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/** Sends what the socket takes without blocking; the daemon may have closed it already. */
inline void sendSome(int fd, const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

struct HttpAnswer {
  int status = 0;  // 0: no answer
  std::string head;
  std::string body;
};

/** One request on a fresh connection (send Connection: close), read to the end. */
inline HttpAnswer httpRequest(std::uint16_t port, const std::string& request) {
  HttpAnswer answer;
  int fd = connectTo(port);
  if (fd < 0) return answer;
  sendSome(fd, request);
  std::string all;
  char buf[65536];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10'000) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    all.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  auto split = all.find("\r\n\r\n");
  answer.head = all.substr(0, split);
  answer.body = split == std::string::npos ? "" : all.substr(split + 4);
  if (all.size() > 12) answer.status = std::atoi(all.substr(9, 3).c_str());
  return answer;
}

}  // namespace audit::e2e
