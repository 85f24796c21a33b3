// The receiver over plain HTTP: reading, decoding, counting, limits, lifecycle, throughput.

#include "sink/receiver.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/sink/test_client.hpp"

namespace audit::sink {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using audit::testing::ClientOptions;
using audit::testing::gzipCompress;
using audit::testing::makePost;
using audit::testing::TestClient;
using namespace std::chrono_literals;

constexpr auto kWait = 5000ms;

ClientOptions clientFor(std::uint16_t port) {
  ClientOptions options;
  options.port = port;
  return options;
}

/** `count` NDJSON-like lines of about `line_size` bytes, without a trailing newline. */
std::string makeEvents(std::size_t count, std::size_t line_size = 600) {
  std::string body;
  for (std::size_t i = 0; i < count; ++i) {
    if (i != 0) body += '\n';
    std::string line = R"({"id":)" + std::to_string(i) + R"(,"pad":")";
    line.append(line_size > line.size() + 2 ? line_size - line.size() - 2 : 0, 'a' + i % 26);
    body += line + R"("})";
  }
  return body;
}

TEST(Receiver, CountsLinesOfPlainBodiesOnOneKeepAliveConnection) {
  Receiver receiver(ReceiverOptions{});
  TestClient client(clientFor(receiver.start()));

  EXPECT_EQ(client.post("/audit", "a\nb").status, 200);
  EXPECT_EQ(client.post("/audit", "").status, 200);
  EXPECT_EQ(client.post("/audit", "c\nd\n\ne\n").status, 200);

  const auto stats = receiver.stats();
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.accepted, 3u);
  EXPECT_EQ(stats.events, 5u);
  EXPECT_EQ(stats.connections, 1u);
  EXPECT_EQ(stats.wire_bytes, 3u + 0u + 7u);
  EXPECT_EQ(stats.plain_bytes, stats.wire_bytes);
  EXPECT_EQ(receiver.acceptedEvents(), (std::vector<std::string>{"a", "b", "c", "d", "e"}));

  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/audit");
  EXPECT_EQ(requests[0].headers.at("content-type"), "text/plain");
  EXPECT_EQ(requests[0].line_count, 2u);
  EXPECT_EQ(requests[1].line_count, 0u);
  EXPECT_EQ(requests[2].status, 200);
}

TEST(Receiver, GunzipsBodiesAndCountsWireAndPlainBytes) {
  Receiver receiver(ReceiverOptions{});
  TestClient client(clientFor(receiver.start()));
  const std::string plain = makeEvents(1000);
  const std::size_t wire = gzipCompress(plain).size();

  const auto response = client.post("/audit", plain, /*gzip=*/true);

  EXPECT_EQ(response.status, 200);
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body, plain);
  EXPECT_EQ(requests[0].line_count, 1000u);
  EXPECT_EQ(requests[0].wire_bytes, wire);
  EXPECT_EQ(requests[0].headers.at("content-encoding"), "gzip");
  const auto stats = receiver.stats();
  EXPECT_EQ(stats.events, 1000u);
  EXPECT_EQ(stats.wire_bytes, wire);
  EXPECT_EQ(stats.plain_bytes, plain.size());
}

TEST(Receiver, GunzipsConcatenatedMembers) {
  Receiver receiver(ReceiverOptions{});
  TestClient client(clientFor(receiver.start()));
  auto request = makePost("/audit", gzipCompress("a\nb\n") + gzipCompress("c"), false);
  request.set(http::field::content_encoding, "gzip");

  EXPECT_EQ(client.send(request).status, 200);
  EXPECT_EQ(receiver.acceptedEvents(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Receiver, BadGzipAnswers400AndKeepsTheConnection) {
  Receiver receiver(ReceiverOptions{});
  TestClient client(clientFor(receiver.start()));
  auto request = makePost("/audit", "not gzip at all", false);
  request.set(http::field::content_encoding, "gzip");

  EXPECT_EQ(client.send(request).status, 400);
  EXPECT_EQ(client.post("/audit", "a").status, 200);
  const auto stats = receiver.stats();
  EXPECT_EQ(stats.requests, 2u);
  EXPECT_EQ(stats.events, 1u);
  EXPECT_EQ(stats.connections, 1u);
  EXPECT_EQ(receiver.requests()[0].status, 400);
}

TEST(Receiver, UnknownContentEncodingAnswers415) {
  Receiver receiver(ReceiverOptions{});
  TestClient client(clientFor(receiver.start()));
  auto request = makePost("/audit", "a", false);
  request.set(http::field::content_encoding, "br");

  EXPECT_EQ(client.send(request).status, 415);
  EXPECT_EQ(receiver.stats().events, 0u);
}

TEST(Receiver, BodyOverMaxBodyAnswers413AndCloses) {
  ReceiverOptions options;
  options.max_body = 1024;
  Receiver receiver(options);
  TestClient client(clientFor(receiver.start()));

  const auto response = client.post("/audit", std::string(4096, 'x'));

  EXPECT_EQ(response.status, 413);
  EXPECT_FALSE(response.keep_alive);
  EXPECT_TRUE(client.serverClosesWithin(kWait));
  EXPECT_EQ(client.post("/audit", std::string(1024, 'x')).status, 200);  // the limit itself is fine
  const auto stats = receiver.stats();
  EXPECT_EQ(stats.requests, 2u);
  EXPECT_EQ(stats.events, 1u);
  EXPECT_EQ(receiver.requests()[0].status, 413);
}

TEST(Receiver, ClientStillSendingALargeBodyReads413) {
  ReceiverOptions options;
  options.max_body = 64 * 1024;
  Receiver receiver(options);
  TestClient client(clientFor(receiver.start()));

  // Far more than the socket buffers hold: the client is still writing when the 413 goes
  // out, and reads it only because the receiver drains instead of resetting.
  const auto response = client.post("/audit", std::string(16u << 20, 'x'));

  EXPECT_EQ(response.status, 413) << response.step << ": " << response.error.message();
}

TEST(Receiver, ChunkedBodyGrowingPastMaxBodyAnswers413) {
  ReceiverOptions options;
  options.max_body = 1024;
  Receiver receiver(options);
  TestClient client(clientFor(receiver.start()));
  auto request = makePost("/audit", std::string(4096, 'x'), false);
  request.chunked(true);

  EXPECT_EQ(client.send(request).status, 413);
  EXPECT_EQ(receiver.stats().events, 0u);
}

TEST(Receiver, GunzippedBodyOver16TimesMaxBodyAnswers413) {
  ReceiverOptions options;
  options.max_body = 1024;
  Receiver receiver(options);
  TestClient client(clientFor(receiver.start()));
  const std::string plain(16 * 1024 + 1, '0');
  ASSERT_LT(gzipCompress(plain).size(), options.max_body);

  EXPECT_EQ(client.post("/audit", plain, /*gzip=*/true).status, 413);
  EXPECT_EQ(client.post("/audit", std::string(16 * 1024, '0'), /*gzip=*/true).status, 200);
}

TEST(Receiver, StatsTargetAnswersJsonAndIsNotCounted) {
  ReceiverOptions options;
  options.stats_target = "/stats";
  Receiver receiver(options);
  TestClient client(clientFor(receiver.start()));
  ASSERT_EQ(client.post("/audit", "a\nb").status, 200);

  const auto response = client.get("/stats");

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.at("Content-Type"), "application/json");
  EXPECT_EQ(response.body, toJson(receiver.stats()));
  EXPECT_NE(response.body.find(R"("requests":1,"events":2,"wire_bytes":3,"plain_bytes":3)"),
            std::string::npos);
  EXPECT_EQ(receiver.stats().requests, 1u);
}

TEST(Receiver, WithoutKeepRequestsOnlyCounts) {
  ReceiverOptions options;
  options.keep_requests = false;
  std::vector<std::string> seen;
  Receiver receiver(options, [&seen](const ReceivedRequest& request, std::size_t) {
    seen.push_back(request.body);  // the script still sees each body
    return Reply{};
  });
  TestClient client(clientFor(receiver.start()));

  EXPECT_EQ(client.post("/audit", "a\nb", /*gzip=*/true).status, 200);
  EXPECT_EQ(client.post("/audit", "c").status, 200);

  EXPECT_TRUE(receiver.requests().empty());
  EXPECT_TRUE(receiver.acceptedEvents().empty());
  EXPECT_EQ(receiver.stats().events, 3u);
  EXPECT_EQ(seen, (std::vector<std::string>{"a\nb", "c"}));
}

TEST(Receiver, ScriptGetsEachRequestWithItsIndex) {
  std::vector<std::size_t> indexes;
  Receiver receiver(ReceiverOptions{}, [&indexes](const ReceivedRequest& request, std::size_t n) {
    indexes.push_back(n);
    EXPECT_EQ(request.line_count, 1u);
    return Reply{};
  });
  TestClient client(clientFor(receiver.start()));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(client.post("/audit", "x").status, 200);

  EXPECT_EQ(indexes, (std::vector<std::size_t>{0, 1, 2}));
}

TEST(Receiver, SetScriptAppliesToLaterRequests) {
  Receiver receiver(ReceiverOptions{});
  TestClient client(clientFor(receiver.start()));
  EXPECT_EQ(client.post("/audit", "a").status, 200);

  receiver.setScript([](const ReceivedRequest&, std::size_t) {
    Reply reply;
    reply.status = 204;
    return reply;
  });

  EXPECT_EQ(client.post("/audit", "b").status, 204);
  EXPECT_EQ(receiver.stats().events, 2u);  // 204 is a 2xx too
}

TEST(Receiver, ConnectionCloseRequestIsAnsweredThenClosed) {
  Receiver receiver(ReceiverOptions{});
  TestClient client(clientFor(receiver.start()));
  auto request = makePost("/audit", "a", false);
  request.keep_alive(false);

  const auto response = client.send(request);

  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(response.keep_alive);
  EXPECT_TRUE(client.serverClosesWithin(kWait));
}

asio::awaitable<std::vector<int>> postExpectingContinue(std::uint16_t port) {
  constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(kWait);
  co_await stream.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
  auto request = makePost("/audit", "a\nb", false);
  request.set(http::field::expect, "100-continue");
  http::request_serializer<http::string_body> serializer(request);
  co_await http::async_write_header(stream, serializer, asio::use_awaitable);

  // The body goes only after the interim 100 answer, as curl does for large bodies.
  std::vector<int> statuses;
  beast::flat_buffer buffer;
  http::response<http::string_body> interim;
  co_await http::async_read(stream, buffer, interim, asio::use_awaitable);
  statuses.push_back(static_cast<int>(interim.result_int()));
  co_await http::async_write(stream, serializer, asio::use_awaitable);
  http::response<http::string_body> final_answer;
  auto [ec, unused] = co_await http::async_read(stream, buffer, final_answer, tuple);
  if (!ec) statuses.push_back(static_cast<int>(final_answer.result_int()));
  co_return statuses;
}

TEST(Receiver, HonoursExpect100Continue) {
  Receiver receiver(ReceiverOptions{});
  const auto port = receiver.start();
  asio::io_context io;

  const auto statuses = audit::testing::runToCompletion(io, postExpectingContinue(port));

  EXPECT_EQ(statuses, (std::vector<int>{100, 200}));
  EXPECT_EQ(receiver.stats().events, 2u);
}

TEST(Receiver, WaitForReturnsFalseAtTheDeadline) {
  Receiver receiver(ReceiverOptions{});
  receiver.start();
  const auto started = std::chrono::steady_clock::now();

  EXPECT_FALSE(receiver.waitFor([](const ReceiverStats& s) { return s.events > 0; }, 50ms));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 50ms);
}

TEST(Receiver, WaitForWakesOnRequestsFromAnotherThreadAndMayCallTheReceiver) {
  Receiver receiver(ReceiverOptions{});
  const auto port = receiver.start();
  std::thread sender([port] {
    TestClient client(clientFor(port));
    for (int i = 0; i < 5; ++i) client.post("/audit", "a\nb");
  });

  const bool held = receiver.waitFor(
      [&receiver](const ReceiverStats& s) {
        return s.events >= 10 && receiver.acceptedEvents().size() == 10;
      },
      kWait);

  sender.join();
  EXPECT_TRUE(held);
}

TEST(Receiver, StartsAndStopsRepeatedly) {
  Receiver receiver(ReceiverOptions{});
  for (int round = 0; round < 20; ++round) {
    TestClient client(clientFor(receiver.start()));
    ASSERT_EQ(client.post("/audit", "a").status, 200) << "round " << round;
    receiver.stop();
    receiver.stop();  // idempotent
  }
  EXPECT_EQ(receiver.stats().events, 20u);
  TestClient late(clientFor(receiver.port()));
  EXPECT_FALSE(late.post("/audit", "a").ok());  // nothing listens after stop()
}

TEST(Receiver, UrlNamesSchemeHostPortAndPath) {
  Receiver receiver(ReceiverOptions{});
  const auto port = receiver.start();
  EXPECT_EQ(receiver.url(), "http://127.0.0.1:" + std::to_string(port) + "/audit");
  EXPECT_EQ(receiver.url("/x"), "http://127.0.0.1:" + std::to_string(port) + "/x");
  EXPECT_EQ(receiver.port(), port);
}

TEST(Receiver, StartThrowsWhenThePortIsTaken) {
  Receiver first(ReceiverOptions{});
  ReceiverOptions options;
  options.port = first.start();
  Receiver second(options);
  EXPECT_THROW(second.start(), std::exception);
}

TEST(Receiver, SeveralIoThreadsServeSeveralConnections) {
  ReceiverOptions options;
  options.threads = 2;
  Receiver receiver(options);
  const auto port = receiver.start();
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([port] {
      TestClient client(clientFor(port));
      for (int i = 0; i < 50; ++i) client.post("/audit", "a\nb\nc", i % 2 == 0);
    });
  }
  for (auto& sender : senders) sender.join();

  const auto stats = receiver.stats();
  EXPECT_EQ(stats.events, 4u * 50u * 3u);
  EXPECT_EQ(stats.connections, 4u);
  EXPECT_EQ(receiver.acceptedEvents().size(), 600u);
}

}  // namespace
}  // namespace audit::sink
