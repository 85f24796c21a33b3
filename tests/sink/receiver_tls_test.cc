// The receiver over TLS, with a CA and server certificate generated for the test.

#include <gtest/gtest.h>

#include <boost/beast/core/error.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "sink/receiver.hpp"
#include "tests/fakes/temp_dir.hpp"
#include "tests/fakes/test_certs.hpp"
#include "tests/sink/test_client.hpp"

namespace audit::sink {
namespace {

using audit::testing::ClientOptions;
using audit::testing::TempDir;
using audit::testing::TestClient;
using audit::testing::TestPki;
using namespace std::chrono_literals;

class ReceiverTls : public ::testing::Test {
 protected:
  ReceiverTls() : pki_(audit::testing::makeTestPki(dir_.path())) {}

  ReceiverOptions tlsOptions() const {
    ReceiverOptions options;
    options.tls = TlsFiles{pki_.cert_chain_file.string(), pki_.key_file.string()};
    return options;
  }

  ClientOptions clientFor(std::uint16_t port, std::string host_name = "localhost") const {
    ClientOptions options;
    options.port = port;
    options.tls = true;
    options.ca_file = pki_.ca_file;
    options.host_name = std::move(host_name);
    return options;
  }

  TempDir dir_;
  TestPki pki_;
};

TEST_F(ReceiverTls, WritesThePkiFiles) {
  EXPECT_TRUE(std::filesystem::exists(pki_.ca_file));
  EXPECT_TRUE(std::filesystem::exists(pki_.cert_chain_file));
  EXPECT_TRUE(std::filesystem::exists(pki_.key_file));
  EXPECT_EQ(pki_.ca_file.filename(), "ca.pem");
  EXPECT_EQ(pki_.cert_chain_file.filename(), "server.pem");
  EXPECT_EQ(pki_.key_file.filename(), "server.key");
}

TEST_F(ReceiverTls, ServesPlainAndGzipBodiesOverOneVerifiedConnection) {
  Receiver receiver(tlsOptions());
  const auto port = receiver.start();
  TestClient client(clientFor(port));

  EXPECT_EQ(client.post("/audit", "a\nb").status, 200);
  EXPECT_EQ(client.post("/audit", "c\nd\ne", /*gzip=*/true).status, 200);

  const auto stats = receiver.stats();
  EXPECT_EQ(stats.events, 5u);
  EXPECT_EQ(stats.connections, 1u);
  EXPECT_EQ(receiver.acceptedEvents(), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(receiver.url(), "https://127.0.0.1:" + std::to_string(port) + "/audit");
}

TEST_F(ReceiverTls, CertificateHoldsLocalhostAndTheLoopbackAddress) {
  Receiver receiver(tlsOptions());
  const auto port = receiver.start();

  EXPECT_EQ(TestClient(clientFor(port, "localhost")).post("/audit", "a").status, 200);
  EXPECT_EQ(TestClient(clientFor(port, "127.0.0.1")).post("/audit", "a").status, 200);
  const auto wrong_name = TestClient(clientFor(port, "example.com")).post("/audit", "a");
  EXPECT_EQ(wrong_name.step, "handshake");
  EXPECT_EQ(receiver.stats().events, 2u);
}

TEST_F(ReceiverTls, ClientThatDoesNotTrustTheCaFailsTheHandshake) {
  Receiver receiver(tlsOptions());
  auto options = clientFor(receiver.start());
  options.ca_file.reset();  // the system store does not hold our test CA

  const auto response = TestClient(options).post("/audit", "a");

  EXPECT_FALSE(response.ok());
  EXPECT_EQ(response.step, "handshake");
  EXPECT_EQ(receiver.stats().requests, 0u);
}

TEST_F(ReceiverTls, PlainHttpClientIsRefused) {
  Receiver receiver(tlsOptions());
  ClientOptions options;
  options.port = receiver.start();

  EXPECT_FALSE(TestClient(options).post("/audit", "a").ok());
  EXPECT_EQ(receiver.stats().requests, 0u);
}

TEST_F(ReceiverTls, FaultsWorkOverTls) {
  Receiver receiver(tlsOptions(), [](const ReceivedRequest&, std::size_t n) {
    Reply reply;
    reply.kind = n == 0 ? Reply::Kind::CloseMidResponse : Reply::Kind::Hang;
    return reply;
  });
  const auto port = receiver.start();

  const auto cut = TestClient(clientFor(port)).post("/audit", "a");
  EXPECT_FALSE(cut.ok());
  EXPECT_EQ(cut.step, "read");

  auto hang_options = clientFor(port);
  hang_options.timeout = 200ms;
  const auto hung = TestClient(hang_options).post("/audit", "a");
  EXPECT_EQ(hung.error, boost::beast::error::timeout);
}

TEST_F(ReceiverTls, StopIsPromptWithAHangingTlsConnection) {
  Receiver receiver(tlsOptions(), [](const ReceivedRequest&, std::size_t) {
    Reply reply;
    reply.kind = Reply::Kind::Hang;
    return reply;
  });
  auto options = clientFor(receiver.start());
  options.timeout = 30s;
  audit::testing::ClientResponse response;
  std::thread client([&] { response = TestClient(options).post("/audit", "a"); });
  ASSERT_TRUE(receiver.waitFor([](const ReceiverStats& s) { return s.requests == 1; }, 5s));

  const auto started = std::chrono::steady_clock::now();
  receiver.stop();
  client.join();

  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_FALSE(response.ok());
}

TEST_F(ReceiverTls, StartThrowsOnMissingCertificateFiles) {
  auto options = tlsOptions();
  options.tls->cert_chain_file = (dir_ / "missing.pem").string();
  Receiver receiver(options);
  EXPECT_THROW(receiver.start(), std::exception);
}

}  // namespace
}  // namespace audit::sink
