// The receiver's scripted answers and faults, and stop() while connections hang.

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "sink/receiver.hpp"
#include "tests/sink/test_client.hpp"

namespace audit::sink {
namespace {

namespace http = boost::beast::http;
using audit::testing::ClientOptions;
using audit::testing::ClientResponse;
using audit::testing::TestClient;
using namespace std::chrono_literals;

constexpr auto kWait = 5000ms;

ClientOptions clientFor(std::uint16_t port, std::chrono::milliseconds timeout = kWait) {
  ClientOptions options;
  options.port = port;
  options.timeout = timeout;
  return options;
}

Script always(Reply reply) {
  return [reply](const ReceivedRequest&, std::size_t) { return reply; };
}

Reply ofKind(Reply::Kind kind) {
  Reply reply;
  reply.kind = kind;
  return reply;
}

TEST(ReceiverFaults, RespondsWithScriptedStatusHeadersAndBodyAndCountsNoEvents) {
  Reply reply;
  reply.status = 429;
  reply.body = "slow down";
  reply.headers = {{"Retry-After", "1"}};
  Receiver receiver(ReceiverOptions{}, always(reply));
  TestClient client(clientFor(receiver.start()));

  const auto first = client.post("/audit", "a\nb");
  const auto second = client.post("/audit", "c");

  EXPECT_EQ(first.status, 429);
  EXPECT_EQ(first.body, "slow down");
  EXPECT_EQ(first.headers.at("Retry-After"), "1");
  EXPECT_TRUE(first.keep_alive);
  EXPECT_EQ(second.status, 429);
  const auto stats = receiver.stats();
  EXPECT_EQ(stats.requests, 2u);
  EXPECT_EQ(stats.connections, 1u);
  EXPECT_EQ(stats.events, 0u);
  EXPECT_EQ(stats.accepted, 0u);
  EXPECT_TRUE(receiver.acceptedEvents().empty());
  EXPECT_EQ(receiver.requests()[0].status, 429);
}

TEST(ReceiverFaults, FailsTheFirstRequestsThenAcceptsOnlyTheRetry) {
  Receiver receiver(ReceiverOptions{}, [](const ReceivedRequest&, std::size_t n) {
    Reply reply;
    reply.status = n < 2 ? 503 : 200;
    return reply;
  });
  TestClient client(clientFor(receiver.start()));

  std::vector<int> statuses;
  for (int i = 0; i < 3; ++i) statuses.push_back(client.post("/audit", "a\nb", true).status);

  EXPECT_EQ(statuses, (std::vector<int>{503, 503, 200}));
  EXPECT_EQ(receiver.stats().events, 2u);
  EXPECT_EQ(receiver.acceptedEvents(), (std::vector<std::string>{"a", "b"}));
}

TEST(ReceiverFaults, DelaysTheAnswer) {
  Reply reply;
  reply.delay = 300ms;
  Receiver receiver(ReceiverOptions{}, always(reply));
  TestClient client(clientFor(receiver.start()));
  const auto started = std::chrono::steady_clock::now();

  EXPECT_EQ(client.post("/audit", "a").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
}

TEST(ReceiverFaults, ClientThatGaveUpDuringTheDelayIsNotCounted) {
  Receiver receiver(ReceiverOptions{}, [](const ReceivedRequest&, std::size_t n) {
    Reply reply;
    // The second answer comes well after the first's delay ended (one I/O thread runs the
    // timers in order), so by then the first was decided.
    reply.delay = n == 0 ? 300ms : 900ms;
    return reply;
  });
  const auto port = receiver.start();
  TestClient impatient(clientFor(port, 100ms));
  const auto gave_up = impatient.post("/audit", "a");
  ASSERT_EQ(gave_up.error, boost::beast::error::timeout);
  ASSERT_EQ(gave_up.step, "read");

  TestClient patient(clientFor(port));
  EXPECT_EQ(patient.post("/audit", "b").status, 200);

  EXPECT_EQ(receiver.stats().accepted, 1u);
  EXPECT_EQ(receiver.acceptedEvents(), (std::vector<std::string>{"b"}));
  EXPECT_EQ(receiver.requests()[0].status, 0);
}

TEST(ReceiverFaults, CloseMidResponseCutsTheAnswerShort) {
  Receiver receiver(ReceiverOptions{}, always(ofKind(Reply::Kind::CloseMidResponse)));
  TestClient client(clientFor(receiver.start()));

  const auto response = client.post("/audit", "a\nb");

  EXPECT_EQ(response.error, http::error::partial_message) << response.error.message();
  EXPECT_EQ(response.step, "read");
  EXPECT_EQ(receiver.stats().requests, 1u);
  EXPECT_EQ(receiver.stats().events, 0u);
}

TEST(ReceiverFaults, CloseWithoutAnswerDropsTheConnection) {
  Receiver receiver(ReceiverOptions{}, always(ofKind(Reply::Kind::CloseWithoutAnswer)));
  TestClient client(clientFor(receiver.start()));

  const auto response = client.post("/audit", "a");

  EXPECT_EQ(response.error, http::error::end_of_stream) << response.error.message();
  EXPECT_EQ(receiver.stats().requests, 1u);
  EXPECT_EQ(receiver.stats().events, 0u);
}

TEST(ReceiverFaults, HangNeverAnswersAndKeepsTheConnectionOpen) {
  Receiver receiver(ReceiverOptions{}, always(ofKind(Reply::Kind::Hang)));
  TestClient client(clientFor(receiver.start(), 200ms));

  const auto response = client.post("/audit", "a");

  EXPECT_EQ(response.error, boost::beast::error::timeout) << response.error.message();
  EXPECT_EQ(receiver.stats().requests, 1u);
  EXPECT_EQ(receiver.requests()[0].status, 0);
}

TEST(ReceiverFaults, StopIsPromptWithHangingAndDelayedConnections) {
  Receiver receiver(ReceiverOptions{}, [](const ReceivedRequest&, std::size_t n) {
    Reply reply;
    if (n < 3) reply.kind = Reply::Kind::Hang;
    reply.delay = 60s;  // the fourth is a very slow answer
    return reply;
  });
  const auto port = receiver.start();
  std::vector<ClientResponse> responses(4);
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < responses.size(); ++i) {
    clients.emplace_back([port, &response = responses[i]] {
      TestClient client(clientFor(port, 30s));
      response = client.post("/audit", "a");
    });
  }
  ASSERT_TRUE(receiver.waitFor([](const ReceiverStats& s) { return s.requests == 4; }, kWait));

  const auto started = std::chrono::steady_clock::now();
  receiver.stop();
  const auto stop_took = std::chrono::steady_clock::now() - started;
  for (auto& client : clients) client.join();
  const auto clients_took = std::chrono::steady_clock::now() - started;

  EXPECT_LT(stop_took, 1s);
  EXPECT_LT(clients_took, 5s);  // they saw the close, not their 30 s timeout
  for (const auto& response : responses) EXPECT_FALSE(response.ok());
  EXPECT_EQ(receiver.stats().events, 0u);
}

TEST(ReceiverFaults, ThrowingScriptAnswers500) {
  Receiver receiver(ReceiverOptions{}, [](const ReceivedRequest&, std::size_t) -> Reply {
    throw std::runtime_error("test bug");
  });
  TestClient client(clientFor(receiver.start()));

  EXPECT_EQ(client.post("/audit", "a").status, 500);
  EXPECT_EQ(client.post("/audit", "a").status, 500);  // the connection survives it
}

TEST(ReceiverFaults, ReplyConnectionCloseHeaderClosesAfterTheAnswer) {
  Reply reply;
  reply.headers = {{"Connection", "close"}};
  Receiver receiver(ReceiverOptions{}, always(reply));
  TestClient client(clientFor(receiver.start()));

  const auto response = client.post("/audit", "a");

  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(response.keep_alive);
  EXPECT_TRUE(client.serverClosesWithin(kWait));
}

TEST(ReceiverFaults, IdleConnectionIsClosedAfterIoTimeout) {
  ReceiverOptions options;
  options.io_timeout = 200ms;
  Receiver receiver(options);
  TestClient client(clientFor(receiver.start()));
  ASSERT_EQ(client.post("/audit", "a").status, 200);

  EXPECT_TRUE(client.serverClosesWithin(kWait));
}

}  // namespace
}  // namespace audit::sink
