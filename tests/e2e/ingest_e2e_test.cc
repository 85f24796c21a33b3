// End-to-end: receiving events over HTTP (POST /v2/audit-logs) into the real daemon, as
// Konnect's webhook, Vector or Fluent Bit send them: gzip NDJSON batches on a kept-alive
// connection, CEF lines in Konnect's layout, bad lines, limits, many clients, kill -9.

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"
#include "tests/e2e/raw_http.hpp"
#include "tests/fakes/test_certs.hpp"
#include "webhook/cef.hpp"
#include "webhook/gzip.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;

constexpr const char* kToken = "INGEST-token-7f3a";

/** One kept-alive HTTP/1.1 connection; each answer read by its Content-Length. */
class KeepAlive {
 public:
  explicit KeepAlive(std::uint16_t port) : fd_(connectTo(port)) {}
  ~KeepAlive() {
    if (fd_ >= 0) ::close(fd_);
  }
  KeepAlive(const KeepAlive&) = delete;
  KeepAlive& operator=(const KeepAlive&) = delete;

  HttpAnswer send(const std::string& request) {
    HttpAnswer answer;
    if (fd_ < 0) return answer;
    std::size_t off = 0;
    while (off < request.size()) {
      const ssize_t n = ::send(fd_, request.data() + off, request.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return answer;
      off += static_cast<std::size_t>(n);
    }
    std::size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!readMore()) return answer;
    }
    answer.head = buffer_.substr(0, head_end);
    answer.status = std::atoi(answer.head.substr(9, 3).c_str());
    std::size_t length = 0;
    std::string lower = answer.head;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (auto at = lower.find("content-length:"); at != std::string::npos) {
      length = std::strtoul(lower.c_str() + at + 15, nullptr, 10);
    }
    while (buffer_.size() < head_end + 4 + length) {
      if (!readMore()) return answer;
    }
    answer.body = buffer_.substr(head_end + 4, length);
    buffer_.erase(0, head_end + 4 + length);
    return answer;
  }

 private:
  bool readMore() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 60'000) <= 0) return false;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_;
  std::string buffer_;
};

/** A POST of `body` as Konnect's webhook sends it (text/plain, gzip, its Authorization). */
std::string post(const std::string& body, const std::string& query = "",
                 const std::string& headers = "Content-Encoding: gzip\r\n",
                 const std::string& token = kToken, bool close = false) {
  return "POST /v2/audit-logs" + query +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
         "User-Agent: Go-http-client/1.1\r\n" +
         (token.empty() ? std::string() : "Authorization: Bearer " + token + "\r\n") + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n" +
         (close ? "Connection: close\r\n" : "") + "\r\n" + body;
}

std::string joinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

/** `n` distinct events from `first_ms`, one millisecond apart. */
std::vector<std::string> events(std::int64_t first_ms, int n, const std::string& marker) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(makeEvent(first_ms + i, marker + std::to_string(i)));
  return out;
}

json::object answerOf(const HttpAnswer& a) {
  boost::system::error_code ec;
  json::value v = json::parse(a.body, ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

std::int64_t count(const json::object& answer, std::string_view key) {
  const auto* v = answer.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : -1;
}

/**
 * One request over HTTPS (Connection: close), verifying the server against `ca_file` and
 * the name "localhost". status 0: the handshake or verification failed.
 */
HttpAnswer httpsRequest(std::uint16_t port, const std::string& ca_file, const std::string& request,
                        std::string* peer_subject = nullptr) {
  HttpAnswer answer;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) return answer;
  const int fd = connectTo(port);
  if (fd < 0) return answer;
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  SSL_set1_host(ssl.get(), "localhost");
  if (SSL_connect(ssl.get()) != 1) {
    ::close(fd);
    return answer;
  }
  if (peer_subject != nullptr) {
    if (X509* cert = SSL_get1_peer_certificate(ssl.get())) {
      char name[512];
      X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof name);
      *peer_subject = name;
      X509_free(cert);
    }
  }
  SSL_write(ssl.get(), request.data(), static_cast<int>(request.size()));
  std::string all;
  char buf[16384];
  for (;;) {
    const int n = SSL_read(ssl.get(), buf, sizeof buf);
    if (n <= 0) break;
    all.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto split = all.find("\r\n\r\n");
  answer.head = all.substr(0, split);
  answer.body = split == std::string::npos ? "" : all.substr(split + 4);
  if (all.size() > 12) answer.status = std::atoi(all.substr(9, 3).c_str());
  return answer;
}

class IngestE2E : public ::testing::Test {
 protected:
  void startDaemon(const std::string& http_extra = "", const std::string& log_format = "json") {
    receiver_.start();
    std::ofstream(d_.dir() / "tokens") << kToken << "\n";
    port_ = freePort();
    d_.writeConfig("http: {listen: \"127.0.0.1:" + std::to_string(port_) +
                   "\", tokens_file: tokens" + http_extra +
                   "}\nregions:\n  us:\n    webhook: " + "{endpoint: \"" + receiver_.url() +
                   "\", log_format: " + log_format + ", compression: none}\n");
    ASSERT_TRUE(d_.start()) << d_.log();
  }

  /** What a socket ingest of `lines` finds already stored: its duplicates. */
  std::int64_t alreadyStored(const std::vector<std::string>& lines) {
    return count(d_.ingest("us", lines), "duplicates");
  }

  sink::Receiver receiver_{sink::ReceiverOptions{}};
  DaemonFixture d_;
  std::uint16_t port_ = 0;
  const std::int64_t base_ = (nowMs() / 1000 - 3600) * 1000;
};

TEST_F(IngestE2E, KonnectLikeClientSendsGzipBatchesOnOneConnection) {
  startDaemon();
  KeepAlive conn(port_);
  const auto first = events(base_, 500, "a");
  const auto second = events(base_ + 500, 500, "b");
  auto a1 = conn.send(post(webhook::gzipCompress(joinLines(first))));
  ASSERT_EQ(a1.status, 200) << a1.head << a1.body;
  EXPECT_NE(a1.head.find("application/json"), std::string::npos);
  EXPECT_EQ(count(answerOf(a1), "ingested"), 500);
  EXPECT_EQ(count(answerOf(a1), "duplicates"), 0);
  EXPECT_TRUE(answerOf(a1).at("rejected").as_array().empty());
  // Konnect's documentation names the type application/gzip: accepted as gzip too.
  auto a2 = conn.send(post(webhook::gzipCompress(joinLines(second)), "?region=us",
                           "Content-Type: application/gzip\r\n"));
  ASSERT_EQ(a2.status, 200) << a2.body;
  EXPECT_EQ(count(answerOf(a2), "ingested"), 500);
  // A retried batch (at-least-once senders): duplicates, nothing stored twice.
  auto a3 = conn.send(post(webhook::gzipCompress(joinLines(first))));
  ASSERT_EQ(a3.status, 200);
  EXPECT_EQ(count(answerOf(a3), "ingested"), 0);
  EXPECT_EQ(count(answerOf(a3), "duplicates"), 500);
  // Plain bodies, the NDJSON of Vector and Fluent Bit, on the same connection.
  auto a4 = conn.send(post(joinLines(events(base_ + 2000, 10, "plain")), "", ""));
  ASSERT_EQ(a4.status, 200) << a4.body;
  EXPECT_EQ(count(answerOf(a4), "ingested"), 10);

  EXPECT_EQ(alreadyStored(first), 500);
  EXPECT_EQ(alreadyStored(second), 500);
  EXPECT_EQ(d_.stop().exit_code, 0);
}

TEST_F(IngestE2E, CefInKonnectsLayoutRoundTripsThroughAReplayAsCef) {
  startDaemon("", "cef");
  std::vector<std::string> lines;
  for (int i = 0; i < 50; ++i) {
    const std::string event =
        "{\"cef_version\":0,\"event_class_id\":\"konnect\",\"event_product\":\"Konnect\","
        "\"event_vendor\":\"KongInc\",\"event_version\":\"1.0\",\"name\":\"Authz.control-planes\","
        "\"severity\":1,\"rt\":" +
        std::to_string(base_ + i * 10) +
        ",\"src\":\"127.0.0.6\",\"action\":\"list\",\"granted\":true,\"org_id\":\"d0b3e4f1\","
        "\"principal_id\":\"p-" +
        std::to_string(i) +
        "\",\"trace_id\":\"8841902271\",\"user_agent\":\"grpc-node-js/1.12.4\","
        "\"detail\":\"a=b | c\\\\d\"}";
    lines.push_back(webhook::renderCef(event));
  }
  KeepAlive conn(port_);
  auto answer = conn.send(post(webhook::gzipCompress(joinLines(lines))));
  ASSERT_EQ(answer.status, 200) << answer.body;
  ASSERT_EQ(count(answerOf(answer), "ingested"), 50);

  auto put = d_.call({{"op", "put_job"},
                      {"region", "us"},
                      {"start_at", isoMillis(base_)},
                      {"end_at", isoMillis(base_ + 60'000)}});
  ASSERT_TRUE(put && put->at("ok").as_bool()) << (put ? json::serialize(*put) : "");
  auto ended = d_.waitJobEnded("us");
  ASSERT_TRUE(ended);
  ASSERT_EQ(ended->at("status").as_string(), "completed") << json::serialize(*ended);
  std::vector<std::string> replayed = receiver_.acceptedEvents();
  std::vector<std::string> sent = lines;
  std::sort(replayed.begin(), replayed.end());
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(replayed, sent);
}

TEST_F(IngestE2E, ABadLineStoresNothingUnlessSkipInvalid) {
  startDaemon();
  std::vector<std::string> lines = events(base_, 3, "bad");
  lines.insert(lines.begin() + 1, "{\"name\":\"no time\"}");
  lines.push_back("not an event at all");
  KeepAlive conn(port_);
  auto refused = conn.send(post(joinLines(lines), "", ""));
  ASSERT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.head.find("application/problem+json"), std::string::npos);
  const json::object problem = answerOf(refused);
  ASSERT_EQ(problem.at("rejected").as_array().size(), 2u) << refused.body;
  EXPECT_EQ(problem.at("rejected").as_array()[0].at("line").as_int64(), 2);
  EXPECT_EQ(problem.at("rejected").as_array()[1].at("line").as_int64(), 5);
  EXPECT_NE(std::string(problem.at("detail").as_string()).find("line 2"), std::string::npos);
  EXPECT_EQ(problem.at("invalid_parameters").as_array()[0].at("field").as_string(), "line 2");
  // Nothing of the request was stored.
  const auto good = events(base_, 3, "bad");
  EXPECT_EQ(alreadyStored({good[0]}), 0);

  auto skipped = conn.send(post(joinLines(lines), "?skip_invalid=true", ""));
  ASSERT_EQ(skipped.status, 200) << skipped.body;
  const json::object answer = answerOf(skipped);
  EXPECT_EQ(count(answer, "ingested"), 2);  // good[0] is stored already
  EXPECT_EQ(count(answer, "duplicates"), 1);
  ASSERT_EQ(answer.at("rejected").as_array().size(), 2u);
  EXPECT_EQ(answer.at("rejected").as_array()[0].at("line").as_int64(), 2);
  EXPECT_EQ(alreadyStored(good), 3);

  EXPECT_EQ(conn.send(post("{}", "?skip_invalid=maybe", "")).status, 400);
  EXPECT_EQ(conn.send(post("{}", "", "Content-Encoding: br\r\n")).status, 415);
  EXPECT_EQ(conn.send(post("not gzip", "", "Content-Encoding: gzip\r\n")).status, 400);
  EXPECT_EQ(conn.send(post("{}", "?region=mars", "")).status, 404);
}

TEST_F(IngestE2E, TokensMethodsAndLimits) {
  startDaemon(", max_ingest_bytes: 4MiB");
  const std::string body = joinLines(events(base_, 2, "auth"));
  EXPECT_EQ(httpRequest(port_, post(body, "", "", "", true)).status, 401);
  EXPECT_EQ(httpRequest(port_, post(body, "", "", "wrong-token", true)).status, 401);
  EXPECT_EQ(httpRequest(port_, "GET /v2/audit-logs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                   std::string(kToken) + "\r\nConnection: close\r\n\r\n")
                .status,
            405);

  // Over the limit as sent: refused while reading, before anything is decoded.
  std::string big;
  // Markers that compress like real events (a few times, not a thousand).
  std::uint64_t x = 88172645463325252ull;
  for (int i = 0; big.size() <= (4u << 20); ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    big += makeEvent(base_ + i, std::to_string(x)) + "\n";
  }
  auto too_big = httpRequest(port_, post(big, "", "", kToken, true));
  EXPECT_EQ(too_big.status, 413) << too_big.head;
  // Over the limit once inflated.
  auto inflated = httpRequest(
      port_, post(webhook::gzipCompress(big), "", "Content-Encoding: gzip\r\n", kToken, true));
  EXPECT_EQ(inflated.status, 413) << inflated.body;
  EXPECT_NE(inflated.body.find("inflates to more than"), std::string::npos) << inflated.body;
  // A gzip bomb under the size limit: 3 MiB of newlines in a few KiB.
  auto bomb = httpRequest(port_, post(webhook::gzipCompress(std::string(3u << 20, '\n'), 9), "",
                                      "Content-Encoding: gzip\r\n", kToken, true));
  EXPECT_EQ(bomb.status, 413) << bomb.body;
  EXPECT_NE(bomb.body.find("decompression bomb"), std::string::npos);
  // Under the limit: stored.
  auto fits = httpRequest(port_, post(body, "", "", kToken, true));
  EXPECT_EQ(fits.status, 200) << fits.body;
  // No token in the daemon's log.
  EXPECT_EQ(d_.log().find(kToken), std::string::npos);
}

TEST_F(IngestE2E, FiftyConcurrentClients) {
  startDaemon();
  constexpr int kClients = 50;
  constexpr int kBatches = 4;
  constexpr int kPerBatch = 100;
  std::atomic<int> ok{0};
  std::atomic<int> ingested{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      KeepAlive conn(port_);
      for (int b = 0; b < kBatches; ++b) {
        const auto batch =
            events(base_ + (c * kBatches + b) * kPerBatch, kPerBatch, "c" + std::to_string(c));
        auto a = conn.send(post(webhook::gzipCompress(joinLines(batch))));
        if (a.status == 200) {
          ++ok;
          ingested += static_cast<int>(count(answerOf(a), "ingested"));
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kBatches);
  EXPECT_EQ(ingested.load(), kClients * kBatches * kPerBatch);
  EXPECT_EQ(alreadyStored(events(base_ + 7 * kBatches * kPerBatch, kPerBatch, "c7")), kPerBatch);
}

TEST_F(IngestE2E, Kill9RightAfterA200LosesNothingOfThatRequest) {
  startDaemon();
  const auto batch = events(base_, 3000, "k");
  KeepAlive conn(port_);
  auto answer = conn.send(post(webhook::gzipCompress(joinLines(batch))));
  ASSERT_EQ(answer.status, 200) << answer.body;
  d_.kill9();
  ASSERT_TRUE(d_.start()) << d_.log();
  EXPECT_EQ(alreadyStored(batch), 3000);
}

TEST_F(IngestE2E, HttpsWithASelfSignedCertificateReReadOnSighup) {
  std::filesystem::create_directories(d_.dir() / "pki");
  const testing::TestPki pki = testing::makeTestPki(d_.dir() / "pki");
  startDaemon(", tls: {cert_file: \"" + pki.cert_chain_file.string() + "\", key_file: \"" +
              pki.key_file.string() + "\"}");
  const auto batch = events(base_, 20, "tls");
  std::string subject;
  auto answer = httpsRequest(
      port_, pki.ca_file.string(),
      post(webhook::gzipCompress(joinLines(batch)), "", "Content-Encoding: gzip\r\n", kToken, true),
      &subject);
  ASSERT_EQ(answer.status, 200) << answer.head << answer.body << d_.log();
  EXPECT_EQ(count(answerOf(answer), "ingested"), 20);
  EXPECT_EQ(alreadyStored(batch), 20);
  // Plain HTTP on the HTTPS port gets no answer.
  EXPECT_EQ(httpRequest(port_, post("{}", "", "", kToken, true)).status, 0);

  // A renewed certificate (new files in place) is served after SIGHUP.
  std::filesystem::create_directories(d_.dir() / "pki2");
  const testing::TestPki renewed = testing::makeTestPki(d_.dir() / "pki2");
  std::filesystem::copy_file(renewed.cert_chain_file, pki.cert_chain_file,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(renewed.key_file, pki.key_file,
                             std::filesystem::copy_options::overwrite_existing);
  d_.process().signal(SIGHUP);
  const std::string get = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  EXPECT_TRUE(waitUntil(
      [&] { return httpsRequest(port_, renewed.ca_file.string(), get).status == 200; }, 20s))
      << d_.log();
  EXPECT_EQ(httpsRequest(port_, pki.ca_file.string(), get).status, 0);  // the old CA no longer
  EXPECT_EQ(d_.stop().exit_code, 0);
}

TEST_F(IngestE2E, SocketIngestRawIsAtomicNamesLinesAndBoundsItsLength) {
  startDaemon();
  const auto good = events(base_, 3, "raw");
  const std::string body = good[0] + "\n{\"name\":\"no time\"}\n" + good[1] + "\n" + good[2];
  auto raw = [&](bool skip) {
    ControlClient client(d_.socket());
    // roundTrip ends the request with the '\n' that ends the body's last line.
    const std::string header = std::string(R"({"op":"ingest_raw","region":"us","skip_invalid":)") +
                               (skip ? "true" : "false") +
                               ",\"bytes\":" + std::to_string(body.size() + 1) + "}\n";
    auto line = client.roundTrip(header + body);
    return line ? json::parse(*line).as_object() : json::object{};
  };
  json::object refused = raw(false);
  EXPECT_FALSE(refused.at("ok").as_bool()) << json::serialize(refused);
  EXPECT_EQ(refused.at("code").as_int64(), 400);
  ASSERT_EQ(refused.at("rejected").as_array().size(), 1u);
  EXPECT_EQ(refused.at("rejected").as_array()[0].at("line").as_int64(), 2);
  EXPECT_EQ(alreadyStored({good[1]}), 0);  // nothing of the request was stored

  json::object skipped = raw(true);
  EXPECT_TRUE(skipped.at("ok").as_bool()) << json::serialize(skipped);
  EXPECT_EQ(count(skipped, "ingested"), 2);
  EXPECT_EQ(count(skipped, "duplicates"), 1);

  ControlClient big(d_.socket());
  auto answer = big.roundTrip(R"({"op":"ingest_raw","region":"us","bytes":1000000000})");
  ASSERT_TRUE(answer);
  EXPECT_EQ(json::parse(*answer).at("code").as_int64(), 413);
  EXPECT_TRUE(big.closedByPeer());
}

}  // namespace
}  // namespace audit::e2e
