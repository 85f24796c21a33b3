#include "webhook/http_client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>
#include <thread>

#include "sink/receiver.hpp"
#include "tests/fakes/temp_dir.hpp"
#include "tests/fakes/test_certs.hpp"
#include "tests/webhook/run_awaitable.hpp"
#include "webhook/encoder.hpp"

namespace audit::webhook {
namespace {

using namespace std::chrono_literals;
using sink::Receiver;
using sink::ReceiverOptions;
using sink::Reply;
using testing::runAwaitable;

EventBatch threeEvents() {
  EventBatch batch;
  batch.add(R"({"rt":1,"name":"a"})", 1);
  batch.add(R"({"rt":2,"name":"b"})", 2);
  batch.add(R"({"rt":3,"name":"c"})", 3);
  return batch;
}

ClientOptions settingsFor(const std::string& url) {
  ClientOptions s;
  s.endpoint = url;
  s.timeout = 5s;
  return s;
}

class HttpClientTest : public ::testing::Test {
 protected:
  WebhookClientPtr makeClient(const ClientOptions& settings) {
    auto client = WebhookClient::create(io_.get_executor(), settings);
    EXPECT_TRUE(client) << client.message();
    return client ? std::move(*client) : nullptr;
  }

  AttemptResult post(WebhookClient& client, const EncodedBody& body, std::string key = "k-1") {
    return runAwaitable(io_, client.post(body, std::move(key)));
  }

  boost::asio::io_context io_;
  EncodedBody body_ = encodeBatch(threeEvents(), {});  // JSON, gzip
};

TEST_F(HttpClientTest, PostsTheBatchWithItsHeaders) {
  Receiver receiver(ReceiverOptions{});
  receiver.start();
  auto settings = settingsFor(receiver.url("/audit?src=replay"));
  settings.authorization = "Bearer s3cret";
  settings.headers = {{"X-Tenant", "acme"}};
  auto client = makeClient(settings);

  AttemptResult r = post(*client, body_, "batch-42");
  EXPECT_FALSE(r.error) << r.step << ": " << r.error.message();
  EXPECT_EQ(r.status, 200);

  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& req = requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/audit?src=replay");
  EXPECT_EQ(req.headers.at("user-agent"), userAgent());
  EXPECT_EQ(userAgent(), std::string("audit-replay/") + AUDIT_REPLAY_VERSION);
  EXPECT_EQ(req.headers.at("content-type"), "text/plain");
  EXPECT_EQ(req.headers.at("content-encoding"), "gzip");
  EXPECT_EQ(req.headers.at("authorization"), "Bearer s3cret");
  EXPECT_EQ(req.headers.at("idempotency-key"), "batch-42");
  EXPECT_EQ(req.headers.at("x-tenant"), "acme");
  EXPECT_EQ(req.wire_bytes, body_.bytes.size());
  EXPECT_EQ(req.body, threeEvents().joined());  // the receiver gunzipped it
  EXPECT_EQ(req.line_count, 3u);
}

TEST_F(HttpClientTest, SendsAPlainBodyWithoutContentEncoding) {
  Receiver receiver(ReceiverOptions{});
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  EncodedBody plain = encodeBatch(threeEvents(), {Format::Cps, Compression::None});
  AttemptResult r = post(*client, plain);
  EXPECT_EQ(r.status, 200);
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].headers.count("content-encoding"), 0u);
  EXPECT_EQ(requests[0].body, plain.bytes);
}

TEST_F(HttpClientTest, ReusesOneConnectionForSeveralPosts) {
  Receiver receiver(ReceiverOptions{});
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(post(*client, body_).status, 200);
  EXPECT_EQ(receiver.stats().requests, 5u);
  EXPECT_EQ(receiver.stats().connections, 1u);
}

TEST_F(HttpClientTest, ReconnectsWhenTheServerClosedTheIdleConnection) {
  auto first = std::make_unique<Receiver>(ReceiverOptions{});
  std::uint16_t port = first->start();
  auto client = makeClient(settingsFor(first->url()));
  EXPECT_EQ(post(*client, body_).status, 200);

  // The server goes away (closing the kept-alive connection) and comes back on its port.
  first.reset();
  ReceiverOptions same_port;
  same_port.port = port;
  Receiver second(same_port);
  second.start();

  AttemptResult r = post(*client, body_);
  EXPECT_FALSE(r.error) << r.step << ": " << r.error.message();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(second.stats().requests, 1u);
  EXPECT_EQ(second.stats().connections, 1u);
}

TEST_F(HttpClientTest, ResendsOnceWhenAReusedConnectionDropsBeforeAnswering) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t n) {
    Reply reply;
    if (n == 1) reply.kind = Reply::Kind::CloseWithoutAnswer;
    return reply;
  });
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  EXPECT_EQ(post(*client, body_).status, 200);
  AttemptResult r = post(*client, body_);  // dropped, then resent on a new connection
  EXPECT_FALSE(r.error) << r.step << ": " << r.error.message();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(receiver.stats().requests, 3u);
  EXPECT_EQ(receiver.stats().connections, 2u);
}

TEST_F(HttpClientTest, DoesNotResendOnAFreshConnection) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t) {
    Reply reply;
    reply.kind = Reply::Kind::CloseWithoutAnswer;
    return reply;
  });
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  AttemptResult r = post(*client, body_);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.step, "read");
  EXPECT_EQ(receiver.stats().requests, 1u);
}

TEST_F(HttpClientTest, OpensANewConnectionAfterConnectionClose) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t) {
    Reply reply;
    reply.headers = {{"Connection", "close"}};
    return reply;
  });
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  EXPECT_EQ(post(*client, body_).status, 200);
  EXPECT_EQ(post(*client, body_).status, 200);
  EXPECT_EQ(receiver.stats().connections, 2u);
}

TEST_F(HttpClientTest, ReportsStatusBodyAndRetryAfter) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t n) {
    Reply reply;
    if (n == 0) {
      reply.status = 429;
      reply.headers = {{"Retry-After", "1"}};
    } else {
      reply.status = 400;
      reply.body = "field rt is missing";
    }
    return reply;
  });
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  AttemptResult r = post(*client, body_);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.retry_after, 1000ms);
  r = post(*client, body_);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body_excerpt, "field rt is missing");
  EXPECT_FALSE(r.retry_after);
}

TEST_F(HttpClientTest, CutsAnOversizedAnswerAndReconnects) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t n) {
    Reply reply;
    if (n == 0) {
      reply.status = 503;
      reply.body = std::string(1 << 20, 'x');
    }
    return reply;
  });
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  AttemptResult r = post(*client, body_);
  EXPECT_FALSE(r.error) << r.step << ": " << r.error.message();
  EXPECT_EQ(r.status, 503);
  EXPECT_LE(r.body_excerpt.size(), 512u);
  EXPECT_EQ(post(*client, body_).status, 200);
  EXPECT_EQ(receiver.stats().connections, 2u);
}

TEST_F(HttpClientTest, CloseMidResponseIsARetryableReadError) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t) {
    Reply reply;
    reply.kind = Reply::Kind::CloseMidResponse;
    return reply;
  });
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  AttemptResult r = post(*client, body_);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.step, "read");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(receiver.stats().requests, 1u);  // a started answer is never resent silently

  FakeClock clock;
  RetryPolicy policy(RetryOptions{}, clock);
  EXPECT_EQ(policy.decide(r).kind, Decision::Kind::Retry);
}

TEST_F(HttpClientTest, TimesOutWhenTheServerNeverAnswers) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t) {
    Reply reply;
    reply.kind = Reply::Kind::Hang;
    return reply;
  });
  receiver.start();
  auto settings = settingsFor(receiver.url());
  settings.timeout = 200ms;
  auto client = makeClient(settings);
  auto started = std::chrono::steady_clock::now();
  AttemptResult r = post(*client, body_);
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.error, boost::beast::error::timeout) << r.error.message();
  EXPECT_EQ(r.step, "read");
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 2s);
}

// A one-connection HTTP server on a raw socket that answers each request with `answers[i]`
// written verbatim, so that it can send what no server library would (interim answers).
class RawServer {
 public:
  explicit RawServer(std::vector<std::string> answers) : answers_(std::move(answers)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 4);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~RawServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (conn_fd_ >= 0) ::shutdown(conn_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
    if (conn_fd_ >= 0) ::close(conn_fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/in"; }

 private:
  void run() {
    conn_fd_ = ::accept(listen_fd_, nullptr, nullptr);
    if (conn_fd_ < 0) return;
    std::string in;
    char buf[65536];
    for (const std::string& answer : answers_) {
      // One request: the head, then Content-Length bytes of body.
      std::size_t head_end;
      while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(conn_fd_, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<std::size_t>(n));
      }
      std::size_t length = 0;
      if (auto at = in.find("Content-Length: "); at != std::string::npos && at < head_end) {
        length = std::stoul(in.substr(at + 16));
      }
      while (in.size() < head_end + 4 + length) {
        ssize_t n = ::recv(conn_fd_, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<std::size_t>(n));
      }
      in.erase(0, head_end + 4 + length);
      ::send(conn_fd_, answer.data(), answer.size(), MSG_NOSIGNAL);
    }
    while (::recv(conn_fd_, buf, sizeof buf, 0) > 0) {
    }
  }

  std::vector<std::string> answers_;
  int listen_fd_ = -1;
  int conn_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(HttpClientTest, ReadsPastInterimAnswersToTheFinalOne) {
  const std::string early_hints =
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n";
  const std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
  RawServer server({early_hints + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                    cont + early_hints + "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy",
                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"});
  auto client = makeClient(settingsFor(server.url()));
  AttemptResult first = post(*client, body_);
  EXPECT_FALSE(first.error) << first.step << ": " << first.error.message();
  EXPECT_EQ(first.status, 200);
  AttemptResult second = post(*client, body_);  // same connection: nothing left unread
  EXPECT_FALSE(second.error) << second.step << ": " << second.error.message();
  EXPECT_EQ(second.status, 503);
  EXPECT_EQ(second.body_excerpt, "busy");
  EXPECT_EQ(post(*client, body_).status, 200);
}

TEST_F(HttpClientTest, SecretsEchoedByTheReceiverAreRedacted) {
  const std::string token = "s3cr3t-T0KEN-abcdef0123";
  const std::string api_key = "k3y-VALUE-98765";
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest& req, std::size_t) {
    Reply reply;
    reply.status = 401;
    // The secret twice, and a token the client never sent (a proxy's, another client's).
    reply.body = "denied; you sent Authorization: " + req.headers.at("authorization") +
                 " and x-api-key: " + req.headers.at("x-api-key") + std::string(440, '.') +
                 req.headers.at("authorization") + "; proxy saw bearer other-client-token.99";
    return reply;
  });
  receiver.start();
  auto settings = settingsFor(receiver.url());
  settings.authorization = "Bearer " + token;
  settings.headers.emplace_back("X-Api-Key", api_key);
  auto client = makeClient(settings);
  AttemptResult r = post(*client, body_);
  ASSERT_EQ(r.status, 401);
  EXPECT_EQ(r.body_excerpt.find(token.substr(0, 8)), std::string::npos) << r.body_excerpt;
  EXPECT_EQ(r.body_excerpt.find(api_key), std::string::npos) << r.body_excerpt;
  EXPECT_NE(r.body_excerpt.find("Authorization: [redacted]"), std::string::npos) << r.body_excerpt;
  FakeClock clock;
  RetryPolicy policy(RetryOptions{}, clock);
  Decision d = policy.decide(r);  // the job's error and the log line are made from this
  EXPECT_EQ(d.reason.find(token.substr(0, 8)), std::string::npos) << d.reason;
}

TEST_F(HttpClientTest, ConnectionRefusedNamesTheStep) {
  std::string url;
  {
    Receiver gone(ReceiverOptions{});
    gone.start();
    url = gone.url();
  }
  auto client = makeClient(settingsFor(url));
  AttemptResult r = post(*client, body_);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.step, "connect");
}

TEST_F(HttpClientTest, SpeaksIpv6) {
  ReceiverOptions options;
  options.host = "::1";
  Receiver receiver(options);
  try {
    receiver.start();
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  auto client = makeClient(settingsFor(receiver.url()));
  AttemptResult r = post(*client, body_);
  EXPECT_EQ(r.status, 200) << r.step << ": " << r.error.message();
  EXPECT_EQ(receiver.requests().at(0).headers.at("host"),
            "[::1]:" + std::to_string(receiver.port()));
}

TEST_F(HttpClientTest, CloseDropsTheConnection) {
  Receiver receiver(ReceiverOptions{});
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  EXPECT_EQ(post(*client, body_).status, 200);
  client->close();
  EXPECT_EQ(post(*client, body_).status, 200);
  EXPECT_EQ(receiver.stats().connections, 2u);
}

// ---- create() --------------------------------------------------------------------------

TEST(WebhookClientCreate, RefusesUnusableSettings) {
  boost::asio::io_context io;
  auto refused = [&](ClientOptions s) {
    auto client = WebhookClient::create(io.get_executor(), s);
    EXPECT_FALSE(client) << s.endpoint;
    return client ? std::string() : client.message();
  };
  EXPECT_NE(refused(settingsFor("ftp://example.com/x")).find("http or https"), std::string::npos);
  EXPECT_NE(refused(settingsFor("example.com/audit")).find("webhook.endpoint"), std::string::npos);
  EXPECT_NE(refused(settingsFor("http:///audit")).find("no host"), std::string::npos);

  std::string error = refused(settingsFor("https://user:hunter2@example.com/"));
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;

  auto bad_ca = settingsFor("https://example.com/");
  bad_ca.tls.ca_file = "/nonexistent/ca.pem";
  EXPECT_NE(refused(bad_ca).find("/nonexistent/ca.pem"), std::string::npos);

  auto bad_auth = settingsFor("http://example.com/");
  bad_auth.authorization = "Bearer abc\r\nX-Evil: 1";
  error = refused(bad_auth);
  EXPECT_NE(error.find("webhook.authorization"), std::string::npos);
  EXPECT_EQ(error.find("abc"), std::string::npos) << "the secret leaked: " << error;

  auto bad_header = settingsFor("http://example.com/");
  bad_header.headers = {{"X-A", "1\n2"}};
  EXPECT_NE(refused(bad_header).find("X-A"), std::string::npos);
  bad_header.headers = {{"Content-Length", "5"}};
  EXPECT_NE(refused(bad_header).find("Content-Length"), std::string::npos);
}

TEST(WebhookClientCreate, AcceptsDefaultPortsAndQueries) {
  boost::asio::io_context io;
  for (const char* url :
       {"http://example.com", "https://example.com/a?b=c", "http://[::1]:8080/"}) {
    auto client = WebhookClient::create(io.get_executor(), settingsFor(url));
    EXPECT_TRUE(client) << url << ": " << (client ? std::string() : client.message());
  }
}

// ---- TLS -------------------------------------------------------------------------------

class HttpsClientTest : public HttpClientTest {
 protected:
  void SetUp() override {
    pki_ = audit::testing::makeTestPki(dir_.path());
    ReceiverOptions options;
    options.tls = sink::TlsFiles{pki_.cert_chain_file.string(), pki_.key_file.string()};
    receiver_ = std::make_unique<Receiver>(options);
    receiver_->start();
  }

  audit::testing::TempDir dir_{"webhook-tls"};
  audit::testing::TestPki pki_;
  std::unique_ptr<Receiver> receiver_;
};

TEST_F(HttpsClientTest, RefusesAServerTheSystemStoreDoesNotTrust) {
  auto client = makeClient(settingsFor(receiver_->url()));
  AttemptResult r = post(*client, body_);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.step, "handshake");
  EXPECT_EQ(receiver_->stats().requests, 0u);
}

TEST_F(HttpsClientTest, DeliversWithTheCaFile) {
  auto settings = settingsFor(receiver_->url());
  settings.tls.ca_file = pki_.ca_file;
  auto client = makeClient(settings);
  for (int i = 0; i < 3; ++i) {
    AttemptResult r = post(*client, body_);
    EXPECT_EQ(r.status, 200) << r.step << ": " << r.error.message();
  }
  EXPECT_EQ(receiver_->requests().at(0).body, threeEvents().joined());
  EXPECT_EQ(receiver_->stats().connections, 1u);
}

TEST_F(HttpsClientTest, ChecksTheHostNameWithSni) {
  auto settings = settingsFor("https://localhost:" + std::to_string(receiver_->port()) + "/audit");
  settings.tls.ca_file = pki_.ca_file;
  auto client = makeClient(settings);
  AttemptResult r = post(*client, body_);
  EXPECT_EQ(r.status, 200) << r.step << ": " << r.error.message();
}

TEST_F(HttpsClientTest, RefusesACertificateForAnotherHost) {
  // The certificate names localhost and 127.0.0.1; 127.0.0.2 reaches a server with it.
  ReceiverOptions options;
  options.host = "127.0.0.2";
  options.tls = sink::TlsFiles{pki_.cert_chain_file.string(), pki_.key_file.string()};
  Receiver other(options);
  try {
    other.start();
  } catch (const std::exception& e) {
    GTEST_SKIP() << "cannot listen on 127.0.0.2: " << e.what();
  }
  auto settings = settingsFor(other.url());
  settings.tls.ca_file = pki_.ca_file;
  auto client = makeClient(settings);
  AttemptResult r = post(*client, body_);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.step, "handshake");
}

TEST_F(HttpsClientTest, SkipsVerificationWhenAsked) {
  auto settings = settingsFor(receiver_->url());
  settings.tls.skip_verification = true;
  auto client = makeClient(settings);
  AttemptResult r = post(*client, body_);
  EXPECT_EQ(r.status, 200) << r.step << ": " << r.error.message();
}

TEST_F(HttpsClientTest, ClosesGracefullyAndReconnects) {
  auto settings = settingsFor(receiver_->url());
  settings.tls.ca_file = pki_.ca_file;
  auto client = makeClient(settings);
  EXPECT_EQ(post(*client, body_).status, 200);
  client->close();
  EXPECT_EQ(post(*client, body_).status, 200);
  EXPECT_EQ(receiver_->stats().connections, 2u);
}

}  // namespace
}  // namespace audit::webhook
