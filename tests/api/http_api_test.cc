// The HTTP API (docs/http-api.md) against a FakeControlApi: real sockets on 127.0.0.1 port 0, the
// server on its own io_context thread, clients with a deadline on every step.

#include "api/http_api.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/http/metrics.hpp"
#include "api/http/region.hpp"
#include "api/http/token_set.hpp"
#include "api/stats_source.hpp"
#include "common/expected.hpp"
#include "jobs/engine.hpp"
#include "tests/fakes/fake_control_api.hpp"
#include "tests/fakes/fake_stats_source.hpp"

namespace audit::api {
namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using boost::system::error_code;
using fakes::FakeControlApi;
using fakes::FakeStatsSource;
using net::ip::tcp;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kToken[] = "s3cr3t-token-0123456789";
constexpr auto kDeadline = 5s;

// ---------------------------------------------------------------------------------------
// Doubles and helpers

json::object jobObject(const std::string& status) {
  return json::parse(R"({"id":"9b2c","region":"us","start_at":"2023-03-27T20:00:00Z",
      "end_at":"2023-03-27T20:00:00Z","created_at":"2023-03-31T11:34:18Z",
      "updated_at":"2023-03-31T11:34:19Z","status":")" +
                     status + R"(","progress":{"events_total":120000,"events_sent":64000,
      "batches_sent":64,"bytes_sent":40960000,"last_event_at":null},"error":null})")
      .as_object();
}

json::object okAnswer(int code, const char* member, json::value value) {
  return json::object{{"ok", true}, {"code", code}, {member, std::move(value)}};
}

json::object errAnswer(int code, const char* error) {
  return json::object{{"ok", false}, {"code", code}, {"error", error}};
}

/** Spins (without sleeping) until `pred` holds or the deadline passes. */
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = kDeadline) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

using Response = bhttp::response<bhttp::string_body>;

/** A client whose every step runs on its own io_context for at most a deadline. */
class Client {
 public:
  explicit Client(std::uint16_t port) { connect_ec_ = connect(port); }

  bool connected() const { return !connect_ec_; }

  error_code send(std::string_view raw) {
    return run([&](auto handler) { net::async_write(socket_, net::buffer(raw), handler); });
  }

  std::optional<Response> read(std::chrono::milliseconds timeout = kDeadline) {
    Response response;
    const auto ec =
        run([&](auto handler) { bhttp::async_read(socket_, buffer_, response, handler); }, timeout);
    if (ec) return std::nullopt;
    return response;
  }

  std::optional<Response> exchange(std::string_view raw) {
    if (send(raw)) return std::nullopt;
    return read();
  }

  /** Reads the answer to a HEAD: headers only, whatever Content-Length says. */
  std::optional<Response> readHead() {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(true);
    const auto ec =
        run([&](auto handler) { bhttp::async_read(socket_, buffer_, parser, handler); });
    if (ec) return std::nullopt;
    return parser.release();
  }

  /** True when the server closes (EOF or reset) within the deadline; data is discarded. */
  bool closedByServer(std::chrono::milliseconds timeout = kDeadline) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::array<char, 4096> scratch{};
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return false;
      const auto ec =
          run([&](auto handler) { socket_.async_read_some(net::buffer(scratch), handler); }, left);
      if (ec == net::error::eof || ec == net::error::connection_reset) return true;
      if (ec) return false;  // our own deadline
    }
  }

  void close() {
    error_code ignored;  // closing in any state is what the tests want
    socket_.close(ignored);
  }

 private:
  error_code connect(std::uint16_t port) {
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    return run([&](auto handler) { socket_.async_connect(endpoint, handler); });
  }

  /** Starts an operation and runs it for at most `timeout`; timed_out if it didn't finish. */
  template <typename Start>
  error_code run(Start start, std::chrono::milliseconds timeout = kDeadline) {
    std::optional<error_code> result;
    start([&result](error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run_for(timeout);
    if (result) return *result;
    close();
    ioc_.restart();
    ioc_.run();  // lets the aborted handler run before `result` goes away
    return net::error::timed_out;
  }

  net::io_context ioc_;
  tcp::socket socket_{ioc_};
  boost::beast::flat_buffer buffer_;
  error_code connect_ec_;
};

/** A request as curl sends it (header order included). */
std::string curlRequest(std::string_view method, std::string_view target, std::uint16_t port,
                        const std::vector<std::string>& headers, std::string_view body = {},
                        bool with_body = false) {
  std::string raw = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
  raw += "Host: 127.0.0.1:" + std::to_string(port) + "\r\nUser-Agent: curl/7.88.1\r\n";
  raw += "Accept: */*\r\n";
  for (const auto& header : headers) raw += header + "\r\n";
  if (with_body || !body.empty()) raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  raw += "\r\n";
  raw += body;
  return raw;
}

std::string bearer(std::string_view token = kToken) {
  return "Authorization: Bearer " + std::string(token);
}

json::object bodyObject(const Response& response) {
  return json::parse(response.body()).as_object();
}

const std::regex kTraceInstance("audit-replay:trace:[0-9a-f]{32}");

/** Konnect's title for each status the API answers. */
std::string konnectTitle(unsigned status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Resource Conflict";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "?";
  }
}

/**
 * Checks a problem+json answer: status, content type, Konnect's title, a trace instance
 * (`path` is the request's, only for the message) and, on a 400, invalid_parameters.
 */
void expectProblem(const std::optional<Response>& response, unsigned status,
                   std::string_view path) {
  ASSERT_TRUE(response.has_value()) << path;
  EXPECT_EQ(response->result_int(), status) << path;
  EXPECT_EQ((*response)[bhttp::field::content_type], "application/problem+json");
  const auto problem = bodyObject(*response);
  EXPECT_EQ(problem.at("status").as_int64(), status);
  EXPECT_EQ(problem.at("title").as_string(), konnectTitle(status));
  EXPECT_TRUE(problem.at("detail").is_string());
  EXPECT_TRUE(std::regex_match(std::string(problem.at("instance").as_string()), kTraceInstance))
      << problem.at("instance");
  if (status == 400) {
    ASSERT_TRUE(problem.contains("invalid_parameters")) << problem;
    EXPECT_FALSE(problem.at("invalid_parameters").as_array().empty());
  } else {
    EXPECT_FALSE(problem.contains("invalid_parameters"));
  }
}

// ---------------------------------------------------------------------------------------
// A line-based validator of the Prometheus text exposition format 0.0.4.

struct Exposition {
  std::map<std::string, std::string> types;  // family → type
  std::map<std::string, double> samples;     // `name{labels}` as written → value
  std::vector<std::string> errors;
};

Exposition parseExposition(const std::string& text) {
  static const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex kHelp("# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*");
  static const std::regex kType(
      "# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)");
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? ([^ ]+)( -?[0-9]+)?)");
  Exposition out;
  std::set<std::string> helped;
  std::set<std::string> families_with_samples;
  std::string last_family;
  if (!text.empty() && text.back() != '\n') out.errors.push_back("no trailing newline");
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    const std::string where = "line " + std::to_string(n) + ": ";
    std::smatch m;
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0) {
      if (!std::regex_match(line, m, kHelp))
        out.errors.push_back(where + "bad HELP");
      else if (!helped.insert(m[1]).second)
        out.errors.push_back(where + "second HELP");
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      if (!std::regex_match(line, m, kType)) {
        out.errors.push_back(where + "bad TYPE");
      } else if (out.types.count(m[1]) != 0) {
        out.errors.push_back(where + "second TYPE");
      } else if (families_with_samples.count(m[1]) != 0) {
        out.errors.push_back(where + "TYPE after samples");
      } else {
        out.types[m[1]] = m[2];
      }
      continue;
    }
    if (line[0] == '#') continue;  // a comment
    if (!std::regex_match(line, m, kSample)) {
      out.errors.push_back(where + "bad sample: " + line);
      continue;
    }
    const std::string name = m[1];
    const std::string value = m[4];
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix);
      if (out.types.count(family) == 0 && name.size() > s.size() &&
          name.compare(name.size() - s.size(), s.size(), s) == 0) {
        const auto base = name.substr(0, name.size() - s.size());
        if (out.types.count(base) != 0 && out.types[base] != "counter" &&
            out.types[base] != "gauge") {
          family = base;
        }
      }
    }
    if (out.types.count(family) == 0) out.errors.push_back(where + "undeclared family " + name);
    if (family != last_family && families_with_samples.count(family) != 0) {
      out.errors.push_back(where + "family " + family + " is not contiguous");
    }
    families_with_samples.insert(family);
    last_family = family;
    double parsed = 0;
    if (value == "NaN" || value == "+Inf" || value == "-Inf") {
      parsed = value == "NaN" ? std::nan("") : (value[0] == '+' ? HUGE_VAL : -HUGE_VAL);
    } else {
      char* end = nullptr;
      parsed = std::strtod(value.c_str(), &end);
      if (end != value.c_str() + value.size()) out.errors.push_back(where + "bad value " + value);
    }
    const std::string series = name + (m[2].matched ? std::string(m[2]) : std::string());
    if (!out.samples.emplace(series, parsed).second) {
      out.errors.push_back(where + "duplicate series " + series);
    }
  }
  for (const auto& [family, type] : out.types) {
    if (helped.count(family) == 0) out.errors.push_back("no HELP for " + family);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Fixture: one server per test on 127.0.0.1:0.

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/http_api_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    writeTokens(std::string("# operators\n\n  ") + kToken + "  \r\nsecond-token\n");
    api_.answer("put_job", okAnswer(202, "job", jobObject("accepted")));
    api_.answer("get_job", okAnswer(200, "job", jobObject("running")));
    api_.answer("cancel_job", okAnswer(200, "job", jobObject("failed")));
    api_.answer("health", json::object{{"ok", true}, {"code", 200}});
    api_.answer(
        "jwks",
        okAnswer(
            200, "jwks",
            json::parse(
                R"({"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":"k1","x":"AAAA"}]})")));
    api_.answer(
        "webhook_status",
        okAnswer(200, "webhook", json::parse(R"({"webhook_enabled":true,"webhook_status":"active",
                           "last_attempt_at":null,"last_response_code":null,
                           "last_response_message":null})")));
  }

  void TearDown() override {
    stopServer();
    std::error_code ignored;  // a leftover temp dir is harmless
    std::filesystem::remove_all(dir_, ignored);
  }

  config::HttpSettings settings() const {
    config::HttpSettings s;
    s.listen = "127.0.0.1:0";
    s.host = "127.0.0.1";
    s.port = 0;
    s.tokens_file = dir_ / "tokens";
    return s;
  }

  void writeTokens(const std::string& text) { std::ofstream(dir_ / "tokens") << text; }

  void startServer(const config::HttpSettings& s, HttpLimits limits = {}) {
    auto created = HttpApi::create(ioc_.get_executor(), s, api_, stats_, limits);
    ASSERT_TRUE(created.has_value()) << created.message();
    server_ = std::move(*created);
    server_->start();
    thread_ = std::thread([this] { ioc_.run(); });
    port_ = server_->port();
  }
  void startServer() { startServer(settings()); }

  /** Why create() refuses `s`; empty when it does not. */
  std::string createFailure(const config::HttpSettings& s) {
    auto created = HttpApi::create(ioc_.get_executor(), s, api_, stats_);
    return created ? std::string() : created.message();
  }

  void stopServer() {
    if (server_) server_->stop();
    work_.reset();
    // Returns once every connection coroutine has ended: stop() must close them promptly.
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  std::optional<Response> exchange(const std::string& raw) { return Client(port_).exchange(raw); }

  std::filesystem::path dir_;
  FakeControlApi api_;
  FakeStatsSource stats_;
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_{ioc_.get_executor()};
  HttpApiPtr server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

// ---------------------------------------------------------------------------------------
// Konnect's examples

TEST_F(HttpApiTest, KonnectPutExampleAnswers202WithTheJob) {
  startServer();
  const std::string body = R"({"start_at":"2023-03-27T20:00:00Z","end_at":"2023-03-27T20:00:00Z"})";
  const auto response = exchange(curlRequest("PUT", "/v2/audit-log-replay-job", port_,
                                             {"Content-Type: application/json", bearer()}, body));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 202);
  EXPECT_EQ((*response)[bhttp::field::content_type], "application/json");
  EXPECT_EQ(bodyObject(*response), jobObject("accepted"));
  const auto requests = api_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0], json::parse(R"({"op":"put_job","start_at":"2023-03-27T20:00:00Z",
                                         "end_at":"2023-03-27T20:00:00Z"})"));
}

TEST_F(HttpApiTest, KonnectGetExampleAnswers200WithTheJob) {
  startServer();
  const auto response = exchange(curlRequest("GET", "/v2/audit-log-replay-job", port_, {bearer()}));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(bodyObject(*response), jobObject("running"));
  EXPECT_EQ(api_.requests().at(0), json::parse(R"({"op":"get_job"})"));
}

TEST_F(HttpApiTest, RealCurlRunsKonnectExamplesWithOnlyTheHostChanged) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no curl";
  startServer();
  const std::string base = "http://127.0.0.1:" + std::to_string(port_);
  const auto run = [](const std::string& command) {
    std::string output;
    FILE* pipe = popen((command + " 2>/dev/null").c_str(), "r");
    std::array<char, 512> chunk{};
    while (pipe != nullptr && std::fgets(chunk.data(), chunk.size(), pipe) != nullptr) {
      output += chunk.data();
    }
    if (pipe != nullptr) pclose(pipe);
    return output;
  };
  const auto put = run(
      "curl --max-time 10 -i -X PUT " + base +
      "/v2/audit-log-replay-job --header \"Content-Type: application/json\" "
      "--header \"Authorization: Bearer " +
      kToken +
      "\" --data '{\"start_at\":\"2023-03-27T20:00:00Z\",\"end_at\":\"2023-03-27T20:00:00Z\"}'");
  EXPECT_THAT(put, StartsWith("HTTP/1.1 202"));
  EXPECT_THAT(put, HasSubstr(R"("status":"accepted")"));
  const auto get =
      run("curl --max-time 10 -s " + base +
          "/v2/audit-log-replay-job --header \"Authorization: Bearer " + kToken + "\"");
  EXPECT_EQ(json::parse(get), jobObject("running"));
}

// ---------------------------------------------------------------------------------------
// Translation to the ControlApi and back

TEST_F(HttpApiTest, RegionQueryIsForwarded) {
  startServer();
  exchange(curlRequest("GET", "/v2/audit-log-replay-job?region=eu", port_, {bearer()}));
  exchange(curlRequest("DELETE", "/v2/audit-log-replay-job?region=eu", port_, {bearer()}));
  exchange(curlRequest("GET", "/v2/audit-log-webhook/status?region=eu", port_, {bearer()}));
  const auto requests = api_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0], json::parse(R"({"region":"eu","op":"get_job"})"));
  EXPECT_EQ(requests[1], json::parse(R"({"region":"eu","op":"cancel_job"})"));
  EXPECT_EQ(requests[2], json::parse(R"({"region":"eu","op":"webhook_status"})"));
}

TEST_F(HttpApiTest, ControlErrorsBecomeProblemsWithTheirStatusAndReason) {
  startServer();
  api_.answer("put_job", errAnswer(400, "end_at: is before start_at"));
  auto response = exchange(curlRequest("PUT", "/v2/audit-log-replay-job?region=us", port_,
                                       {bearer()}, R"({"start_at":"x","end_at":"y"})"));
  expectProblem(response, 400, "/v2/audit-log-replay-job");
  EXPECT_EQ(bodyObject(*response).at("detail"), "end_at: is before start_at");

  api_.answer("put_job", errAnswer(409, "the job of region us is running"));
  expectProblem(exchange(curlRequest("PUT", "/v2/audit-log-replay-job", port_, {bearer()},
                                     R"({"start_at":"x","end_at":"y"})")),
                409, "/v2/audit-log-replay-job");
  api_.answer("get_job", errAnswer(404, "region us has no replay job"));
  expectProblem(exchange(curlRequest("GET", "/v2/audit-log-replay-job", port_, {bearer()})), 404,
                "/v2/audit-log-replay-job");
  api_.answer("cancel_job", errAnswer(409, "the job already ended"));
  expectProblem(exchange(curlRequest("DELETE", "/v2/audit-log-replay-job", port_, {bearer()})), 409,
                "/v2/audit-log-replay-job");
}

TEST_F(HttpApiTest, CancelAnswers200WithTheJob) {
  startServer();
  const auto response =
      exchange(curlRequest("DELETE", "/v2/audit-log-replay-job", port_, {bearer()}));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(bodyObject(*response).at("status"), "failed");
}

TEST_F(HttpApiTest, PutFieldsPassUnvalidatedAndOthersAreDropped) {
  startServer();
  exchange(curlRequest("PUT", "/v2/audit-log-replay-job", port_, {bearer()},
                       R"({"start_at":42,"extra":"x"})"));
  EXPECT_EQ(api_.requests().at(0), json::parse(R"({"op":"put_job","start_at":42})"));
}

TEST_F(HttpApiTest, PutBodyThatIsNotAJsonObjectIs400AndNotForwarded) {
  startServer();
  for (const std::string body : {"", "not json", "[1,2]", R"("text")"}) {
    expectProblem(exchange(curlRequest("PUT", "/v2/audit-log-replay-job", port_,
                                       {"Content-Type: application/json", bearer()}, body, true)),
                  400, "/v2/audit-log-replay-job");
  }
  EXPECT_TRUE(api_.requests().empty());
}

TEST_F(HttpApiTest, ControlApiExceptionIs500) {
  startServer();
  api_.throwOn("get_job");
  expectProblem(exchange(curlRequest("GET", "/v2/audit-log-replay-job", port_, {bearer()})), 500,
                "/v2/audit-log-replay-job");
}

TEST_F(HttpApiTest, MalformedControlAnswerIs500) {
  startServer();
  api_.answer("get_job", json::object{{"ok", true}, {"code", 200}});  // no "job"
  expectProblem(exchange(curlRequest("GET", "/v2/audit-log-replay-job", port_, {bearer()})), 500,
                "/v2/audit-log-replay-job");
}

TEST_F(HttpApiTest, WebhookStatusAnswersTheWebhookObject) {
  startServer();
  const auto response =
      exchange(curlRequest("GET", "/v2/audit-log-webhook/status", port_, {bearer()}));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(bodyObject(*response).at("webhook_status"), "active");
}

// ---------------------------------------------------------------------------------------
// Authentication

TEST_F(HttpApiTest, MissingOrWrongTokenIs401WithBearerChallenge) {
  startServer();
  auto response = exchange(curlRequest("GET", "/v2/audit-log-replay-job", port_, {}));
  expectProblem(response, 401, "/v2/audit-log-replay-job");
  EXPECT_THAT(std::string((*response)[bhttp::field::www_authenticate]), StartsWith("Bearer"));
  response = exchange(curlRequest("GET", "/v2/audit-log-replay-job", port_, {bearer("wrong")}));
  expectProblem(response, 401, "/v2/audit-log-replay-job");
  EXPECT_THAT(std::string((*response)[bhttp::field::www_authenticate]), HasSubstr("invalid_token"));
  for (const char* header : {"Authorization: Basic dXNlcjpwYXNz", "Authorization: Bearer",
                             "Authorization: s3cr3t-token-0123456789"}) {
    expectProblem(exchange(curlRequest("PUT", "/v2/audit-log-replay-job", port_, {header}, "{}")),
                  401, "/v2/audit-log-replay-job");
  }
  EXPECT_TRUE(api_.requests().empty());
}

TEST_F(HttpApiTest, EveryTokenOfTheFileIsAcceptedAndTheSchemeIsCaseInsensitive) {
  startServer();
  for (const std::string& header :
       {bearer(), bearer("second-token"), "Authorization: bearer " + std::string(kToken)}) {
    const auto response = exchange(curlRequest("GET", "/v2/audit-log-replay-job", port_, {header}));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 200) << header;
  }
}

TEST_F(HttpApiTest, JwksAndHealthzNeedNoToken) {
  startServer();
  auto response = exchange(curlRequest("GET", "/v2/audit-log-webhook/jwks.json", port_, {}));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(bodyObject(*response).at("keys").as_array().at(0).at("kty"), "OKP");
  response = exchange(curlRequest("GET", "/healthz", port_, {}));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(bodyObject(*response), json::parse(R"({"status":"ok"})"));
}

TEST_F(HttpApiTest, UnhealthyIs503Problem) {
  startServer();
  api_.answer("health", errAnswer(500, "store: I/O error"));
  const auto response = exchange(curlRequest("GET", "/healthz", port_, {}));
  expectProblem(response, 503, "/healthz");
  EXPECT_EQ(bodyObject(*response).at("detail"), "store: I/O error");
}

TEST_F(HttpApiTest, NoTokensFileWithoutOptOutIsRefused) {
  auto s = settings();
  s.tokens_file.reset();
  std::string error;
  error = createFailure(s);
  EXPECT_FALSE(error.empty());
  EXPECT_THAT(error, HasSubstr("tokens_file"));
  writeTokens("# only comments\n\n");
  error = createFailure(settings());
  EXPECT_FALSE(error.empty());
  EXPECT_THAT(error, HasSubstr("no token"));
  s.tokens_file = dir_ / "missing";
  error = createFailure(s);
  EXPECT_FALSE(error.empty());
  EXPECT_THAT(error, HasSubstr("missing"));
}

TEST_F(HttpApiTest, AllowUnauthenticatedServesWithoutToken) {
  auto s = settings();
  s.tokens_file.reset();
  s.allow_unauthenticated = true;
  startServer(s);
  const auto response = exchange(curlRequest("GET", "/v2/audit-log-replay-job", port_, {}));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
}

TEST_F(HttpApiTest, ReloadSwapsTokensAndKeepsThemWhenTheFileIsBad) {
  startServer();
  writeTokens("new-token\n");
  const Expected<> reloaded = server_->reload(settings());
  ASSERT_TRUE(reloaded.has_value()) << reloaded.message();
  const auto status = [&](std::string_view token) {
    const auto r = exchange(curlRequest("GET", "/v2/audit-log-replay-job", port_, {bearer(token)}));
    return r ? r->result_int() : 0u;
  };
  EXPECT_EQ(status(kToken), 401u);
  EXPECT_EQ(status("new-token"), 200u);
  auto bad = settings();
  bad.tokens_file = dir_ / "missing";
  const Expected<> refused = server_->reload(bad);
  ASSERT_FALSE(refused.has_value());
  EXPECT_FALSE(refused.message().empty());
  EXPECT_EQ(status("new-token"), 200u);
}

TEST_F(HttpApiTest, LogsNeverShowTheToken) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  startServer();
  exchange(curlRequest("GET", "/v2/audit-log-replay-job", port_, {bearer()}));
  exchange(curlRequest("GET", "/v2/audit-log-replay-job", port_, {bearer("wrong-secret")}));
  stopServer();
  spdlog::set_default_logger(previous);
  EXPECT_THAT(log.str(), HasSubstr("GET /v2/audit-log-replay-job 200"));
  EXPECT_THAT(log.str(), Not(HasSubstr(kToken)));
  EXPECT_THAT(log.str(), Not(HasSubstr("wrong-secret")));
}

TEST(TokenSet, SkipsCommentsAndBlanksAndTrims) {
  const auto set = http::TokenSet::parseLenient("# c\n\n  a  \r\n\tb\n#not-a-token\n");
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains("a"));
  EXPECT_TRUE(set.contains("b"));
  EXPECT_FALSE(set.contains("#not-a-token"));
  EXPECT_FALSE(set.contains(""));
  EXPECT_FALSE(set.contains("a "));
}

TEST(TokenSet, BearerTokenParsing) {
  EXPECT_EQ(http::bearerToken("Bearer abc"), "abc");
  EXPECT_EQ(http::bearerToken("BEARER   abc  "), "abc");
  EXPECT_EQ(http::bearerToken("Bearerabc"), "");
  EXPECT_EQ(http::bearerToken("Basic abc"), "");
  EXPECT_EQ(http::bearerToken("Bearer "), "");
}

// ---------------------------------------------------------------------------------------
// HTTP: routes, methods, limits

TEST_F(HttpApiTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  startServer();
  expectProblem(exchange(curlRequest("GET", "/v2/nope", port_, {bearer()})), 404, "/v2/nope");
  auto response =
      exchange(curlRequest("POST", "/v2/audit-log-replay-job", port_, {bearer()}, "{}"));
  expectProblem(response, 405, "/v2/audit-log-replay-job");
  EXPECT_EQ((*response)[bhttp::field::allow], "GET, HEAD, PUT, DELETE");
  response = exchange(curlRequest("DELETE", "/healthz", port_, {}));
  expectProblem(response, 405, "/healthz");
  EXPECT_EQ((*response)[bhttp::field::allow], "GET, HEAD");
}

TEST_F(HttpApiTest, IngestRouteTakesBodiesOver64KiBAndPassesRegionEncodingAndSkipInvalid) {
  startServer();
  api_.answer("ingest_body", json::object{{"ok", true},
                                          {"code", 200},
                                          {"ingested", 7},
                                          {"duplicates", 1},
                                          {"rejected", json::array{}}});
  const std::string body(100 * 1024, 'x');  // over the 64 KiB of the other routes
  const auto response = exchange(curlRequest("POST", "/v2/audit-logs?region=eu&skip_invalid=true",
                                             port_, {bearer(), "Content-Encoding: gzip"}, body));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->result_int(), 200u) << response->body();
  EXPECT_EQ(bodyObject(*response),
            json::parse(R"({"ingested":7,"duplicates":1,"rejected":[]})").as_object());
  const auto ingests = api_.ingests();
  ASSERT_EQ(ingests.size(), 1u);
  EXPECT_EQ(ingests[0].at("request").at("region").as_string(), "eu");
  EXPECT_EQ(ingests[0].at("body").as_string().size(), body.size());
  EXPECT_TRUE(ingests[0].at("gzip").as_bool());
  EXPECT_TRUE(ingests[0].at("skip_invalid").as_bool());
  // Konnect's documented type, without Content-Encoding, is gzip too; no skip_invalid: false.
  ASSERT_TRUE(exchange(curlRequest("POST", "/v2/audit-logs", port_,
                                   {bearer(), "Content-Type: application/gzip"}, "z")));
  EXPECT_TRUE(api_.ingests().at(1).at("gzip").as_bool());
  EXPECT_FALSE(api_.ingests().at(1).at("skip_invalid").as_bool());
}

TEST_F(HttpApiTest, IngestRouteMapsStoreTroubleTo503WithRetryAfterAndBadLinesTo400) {
  startServer();
  api_.answer("ingest_body", errAnswer(503, "the store cannot write: No space left on device"));
  auto response =
      exchange(curlRequest("POST", "/v2/audit-logs", port_, {bearer()}, "{\"rt\":1}\n"));
  expectProblem(response, 503, "/v2/audit-logs");
  EXPECT_EQ((*response)[bhttp::field::retry_after], "5");

  json::object bad = errAnswer(400, "1 invalid line(s), nothing stored; first at line 2: x");
  bad["rejected"] = json::parse(R"([{"line":2,"reason":"no rt or event_ts field"}])");
  api_.answer("ingest_body", bad);
  response = exchange(curlRequest("POST", "/v2/audit-logs", port_, {bearer()}, "{}\n{}\n"));
  expectProblem(response, 400, "/v2/audit-logs");
  const auto problem = bodyObject(*response);
  EXPECT_EQ(problem.at("rejected").at(0).at("line").as_int64(), 2);
  EXPECT_EQ(problem.at("invalid_parameters").at(0).at("field").as_string(), "line 2");
  EXPECT_EQ(problem.at("invalid_parameters").at(0).at("reason").as_string(),
            "no rt or event_ts field");

  // Not a POST: 405 naming POST; no token: 401; both before the body is looked at.
  response = exchange(curlRequest("GET", "/v2/audit-logs", port_, {bearer()}));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->result_int(), 405u);
  EXPECT_EQ((*response)[bhttp::field::allow], "POST");
  expectProblem(exchange(curlRequest("POST", "/v2/audit-logs", port_, {}, "{}")), 401,
                "/v2/audit-logs");
  EXPECT_EQ(api_.ingests().size(), 2u);
}

TEST_F(HttpApiTest, OversizedBodyIs413) {
  startServer();
  const std::string body(70 * 1024, 'x');
  expectProblem(exchange(curlRequest("PUT", "/v2/audit-log-replay-job", port_, {bearer()}, body)),
                413, "/v2/audit-log-replay-job");
  // Chunked, so the size is only known while reading.
  std::string chunked = curlRequest("PUT", "/v2/audit-log-replay-job", port_,
                                    {bearer(), "Transfer-Encoding: chunked"});
  for (int i = 0; i < 70; ++i) chunked += "400\r\n" + std::string(1024, 'y') + "\r\n";
  chunked += "0\r\n\r\n";
  expectProblem(exchange(chunked), 413, "/v2/audit-log-replay-job");
  EXPECT_TRUE(api_.requests().empty());
}

TEST_F(HttpApiTest, ExpectContinueGetsContinueOr413BeforeTheBody) {
  startServer();
  Client big(port_);
  const auto response =
      big.exchange(curlRequest("PUT", "/v2/audit-log-replay-job", port_,
                               {bearer(), "Expect: 100-continue", "Content-Length: 1000000"}));
  expectProblem(response, 413, "/v2/audit-log-replay-job");

  const std::string body = R"({"start_at":"a","end_at":"b"})";
  Client expecting(port_);
  ASSERT_FALSE(expecting.send(
      "PUT /v2/audit-log-replay-job HTTP/1.1\r\nHost: x\r\n" + bearer() +
      "\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  const auto cont = expecting.read();
  ASSERT_TRUE(cont);
  EXPECT_EQ(cont->result_int(), 100);
  const auto final_response = expecting.exchange(body);
  ASSERT_TRUE(final_response);
  EXPECT_EQ(final_response->result_int(), 202);
}

TEST_F(HttpApiTest, OversizedHeaderIs431) {
  startServer();
  const auto response =
      exchange(curlRequest("GET", "/healthz", port_, {"X-Big: " + std::string(10 * 1024, 'h')}));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 431);
}

TEST_F(HttpApiTest, MalformedRequestIs400AndCloses) {
  startServer();
  Client client(port_);
  const auto response = client.exchange("GARBAGE\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 400);
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(HttpApiTest, KeepAliveAndPipelinedRequestsShareAConnection) {
  startServer();
  Client client(port_);
  const auto get = curlRequest("GET", "/v2/audit-log-replay-job", port_, {bearer()});
  for (int i = 0; i < 3; ++i) {
    const auto response = client.exchange(get);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 200);
  }
  ASSERT_FALSE(client.send(get + get));
  EXPECT_EQ(client.read()->result_int(), 200);
  EXPECT_EQ(client.read()->result_int(), 200);
  EXPECT_EQ(api_.requests().size(), 5u);
}

TEST_F(HttpApiTest, ConnectionCloseIsHonoured) {
  startServer();
  Client client(port_);
  const auto response =
      client.exchange(curlRequest("GET", "/healthz", port_, {"Connection: close"}));
  ASSERT_TRUE(response);
  EXPECT_FALSE(response->keep_alive());
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(HttpApiTest, SlowlorisDoesNotBlockOthersAndIsCutOff) {
  HttpLimits limits;
  limits.request_timeout = 300ms;
  startServer(settings(), limits);
  Client slow(port_);
  ASSERT_FALSE(slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  Client silent(port_);  // connects and sends nothing
  const auto response = exchange(curlRequest("GET", "/healthz", port_, {}));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_TRUE(slow.closedByServer());
  EXPECT_TRUE(silent.closedByServer());
}

TEST_F(HttpApiTest, IdleKeepAliveConnectionIsClosed) {
  HttpLimits limits;
  limits.idle_timeout = 200ms;
  startServer(settings(), limits);
  Client client(port_);
  ASSERT_TRUE(client.exchange(curlRequest("GET", "/healthz", port_, {})));
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(HttpApiTest, ManyDroppedConnectionsLeaveTheServerAnswering) {
  startServer();
  {
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 200; ++i) {
      clients.push_back(std::make_unique<Client>(port_));
      if (i % 3 == 1) clients.back()->send("GET /healthz HTTP/1.1\r\nHo");
      if (i % 3 == 2) clients.back()->send(curlRequest("GET", "/healthz", port_, {}));
    }
  }  // all dropped, some mid-request, some with an unread answer
  const auto response = exchange(curlRequest("GET", "/healthz", port_, {}));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_TRUE(eventually([&] { return server_->stats().open_connections == 0; }));
}

TEST_F(HttpApiTest, ConnectionsOverTheLimitGet503) {
  HttpLimits limits;
  limits.max_connections = 2;
  startServer(settings(), limits);
  Client a(port_);
  Client b(port_);
  ASSERT_TRUE(eventually([&] { return server_->stats().open_connections == 2; }));
  Client c(port_);
  const auto response = c.exchange(curlRequest("GET", "/healthz", port_, {}));
  expectProblem(response, 503, "/healthz");
  EXPECT_EQ((*response)[bhttp::field::retry_after], "1");
  EXPECT_TRUE(c.closedByServer());
  EXPECT_EQ(server_->stats().rejected_connections, 1u);
  a.close();
  ASSERT_TRUE(eventually([&] { return server_->stats().open_connections == 1; }));
  const auto ok = exchange(curlRequest("GET", "/healthz", port_, {}));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result_int(), 200);
}

TEST_F(HttpApiTest, StopClosesEveryConnectionPromptly) {
  startServer();
  Client idle(port_);
  ASSERT_TRUE(idle.exchange(curlRequest("GET", "/healthz", port_, {})));
  Client half(port_);
  ASSERT_FALSE(half.send("GET /healthz HTTP/1.1\r\n"));
  ASSERT_TRUE(eventually([&] { return server_->stats().open_connections == 2; }));
  server_->stop();
  EXPECT_TRUE(idle.closedByServer());
  EXPECT_TRUE(half.closedByServer());
  stopServer();  // joins the loop: nothing is left running
  EXPECT_FALSE(Client(port_).connected());
}

TEST_F(HttpApiTest, StartStopLoopLeavesNothingBehind) {
  startServer();  // keeps the loop thread running while others come and go
  for (int i = 0; i < 25; ++i) {
    auto created = HttpApi::create(ioc_.get_executor(), settings(), api_, stats_);
    ASSERT_TRUE(created.has_value()) << created.message();
    HttpApiPtr other = std::move(*created);
    other->start();
    Client idle(other->port());
    const auto response = Client(other->port()).exchange(curlRequest("GET", "/healthz", 0, {}));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 200);
    other->stop();
    EXPECT_TRUE(idle.closedByServer());
    EXPECT_TRUE(eventually([&] { return other->stats().open_connections == 0; }));
    EXPECT_TRUE(eventually([&] { return other.use_count() == 1; }));  // no coroutine holds it
  }
}

TEST_F(HttpApiTest, TakenPortAndBadAddressAreErrors) {
  startServer();
  auto s = settings();
  s.port = port_;
  s.listen = "127.0.0.1:" + std::to_string(port_);
  std::string error;
  error = createFailure(s);
  EXPECT_FALSE(error.empty());
  EXPECT_THAT(error, HasSubstr("bind"));
  s.host = "192.0.2.1";  // TEST-NET-1: never a local address
  s.port = 0;
  error = createFailure(s);
  EXPECT_FALSE(error.empty());
  EXPECT_THAT(error, HasSubstr("http.listen"));
}

// ---------------------------------------------------------------------------------------
// Metrics

jobs::Stats engineStats() {
  jobs::Stats stats;
  stats.uptime_seconds = 12;
  stats.totals.events_ingested = 1000;
  stats.totals.events_sent = 64000;
  stats.totals.batches_sent = 64;
  stats.totals.bytes_sent = 40960000;
  stats.totals.retries = 3;
  stats.store_bytes = 1048576;
  jobs::JobRecord job;
  job.id = "9b2c";
  job.region = "us";
  job.status = jobs::JobStatus::Running;
  job.progress.events_total = 120000;
  job.progress.events_sent = 64000;
  config::RegionSettings us;
  us.webhook.endpoint = "https://siem.example/hook";
  jobs::WebhookState delivered;
  delivered.last_attempt_at = 1795692859000;
  delivered.last_response_code = 200;
  delivered.last_response_message = "OK";
  stats.regions.push_back({"us", job, {"us", us, delivered, {}}});
  stats.regions.push_back({"eu", std::nullopt, {"eu", std::nullopt, {}, {}}});
  return stats;
}

TEST_F(HttpApiTest, MetricsNeedATokenAndParseAsPrometheusText) {
  startServer();
  stats_.set(engineStats());
  expectProblem(exchange(curlRequest("GET", "/metrics", port_, {})), 401, "/metrics");
  exchange(curlRequest("PUT", "/v2/audit-log-replay-job", port_, {bearer()}, R"({"a":1})"));
  const auto response = exchange(curlRequest("GET", "/metrics", port_, {bearer()}));
  ASSERT_TRUE(response);
  ASSERT_EQ(response->result_int(), 200);
  EXPECT_THAT(std::string((*response)[bhttp::field::content_type]),
              StartsWith("text/plain; version=0.0.4"));
  const auto exposition = parseExposition(response->body());
  EXPECT_THAT(exposition.errors, ::testing::IsEmpty()) << response->body();
  const auto& s = exposition.samples;
  EXPECT_EQ(s.at("audit_replay_events_ingested_total"), 1000);
  EXPECT_EQ(s.at("audit_replay_events_sent_total"), 64000);
  EXPECT_EQ(s.at("audit_replay_batches_sent_total"), 64);
  EXPECT_EQ(s.at("audit_replay_bytes_sent_total"), 40960000);
  EXPECT_EQ(s.at("audit_replay_retries_total"), 3);
  EXPECT_EQ(s.at("audit_replay_store_bytes"), 1048576);
  EXPECT_EQ(s.at("audit_replay_uptime_seconds"), 12);
  EXPECT_EQ(s.at(R"(audit_replay_job_status{region="us",status="running"})"), 1);
  EXPECT_EQ(s.at(R"(audit_replay_job_status{region="us",status="failed"})"), 0);
  EXPECT_EQ(s.count(R"(audit_replay_job_status{region="eu",status="running"})"), 0u);
  EXPECT_EQ(s.at(R"(audit_replay_job_events{region="us"})"), 120000);
  EXPECT_EQ(s.at(R"(audit_replay_job_events_sent{region="us"})"), 64000);
  EXPECT_EQ(s.at(R"(audit_replay_webhook_last_response_code{region="us"})"), 200);
  EXPECT_EQ(s.count(R"(audit_replay_webhook_last_response_code{region="eu"})"), 0u);
  EXPECT_EQ(s.at(R"(audit_replay_webhook_active{region="us"})"), 1);
  EXPECT_EQ(s.at(R"(audit_replay_webhook_active{region="eu"})"), 0);
  EXPECT_EQ(
      s.at(R"(audit_replay_http_requests_total{route="/v2/audit-log-replay-job",code="202"})"), 1);
  EXPECT_EQ(s.at(R"(audit_replay_http_requests_total{route="/metrics",code="401"})"), 1);
  EXPECT_EQ(s.at("audit_replay_stats_up"), 1);
  EXPECT_EQ(exposition.types.at("audit_replay_events_sent_total"), "counter");
  EXPECT_EQ(exposition.types.at("audit_replay_store_bytes"), "gauge");
}

TEST_F(HttpApiTest, PublicMetricsNeedNoTokenAndSurviveMissingStats) {
  auto s = settings();
  s.metrics_public = true;
  startServer(s);
  stats_.set(std::nullopt);  // e.g. shutting down
  exchange(curlRequest("GET", "/nowhere", port_, {}));
  const auto response = exchange(curlRequest("GET", "/metrics", port_, {}));
  ASSERT_TRUE(response);
  ASSERT_EQ(response->result_int(), 200);
  const auto exposition = parseExposition(response->body());
  EXPECT_THAT(exposition.errors, ::testing::IsEmpty()) << response->body();
  EXPECT_EQ(exposition.samples.at("audit_replay_stats_up"), 0);
  EXPECT_EQ(exposition.samples.at(R"(audit_replay_http_requests_total{route="other",code="404"})"),
            1);
  EXPECT_EQ(exposition.samples.count("audit_replay_events_sent_total"), 0u);
}

TEST(Metrics, OddValuesAndLabelValuesStayValid) {
  jobs::Stats stats;
  stats.totals.retries = 10'000'000'000'000'000'000u;
  stats.uptime_seconds = -1;
  jobs::JobRecord job;
  job.status = jobs::JobStatus::Running;
  const std::string odd = "we\"ird\\na\nme";
  stats.regions.push_back({odd, job, {odd, std::nullopt, {}, {}}});
  HttpStats http;
  http.requests[{"other", 404}] = 2;
  const auto text = http::renderMetrics(&stats, http);
  const auto exposition = parseExposition(text);
  EXPECT_THAT(exposition.errors, ::testing::IsEmpty()) << text;
  EXPECT_EQ(exposition.samples.at("audit_replay_retries_total"), 1e19);
  EXPECT_EQ(exposition.samples.at("audit_replay_uptime_seconds"), -1);
  EXPECT_EQ(exposition.samples.at(
                R"(audit_replay_job_status{region="we\"ird\\na\nme",status="running"})"),
            1);
}

TEST(Metrics, WithoutStatsOnlyTheServersOwn) {
  HttpStats http;
  http.open_connections = 1;
  const auto text = http::renderMetrics(nullptr, http);
  const auto exposition = parseExposition(text);
  EXPECT_THAT(exposition.errors, ::testing::IsEmpty()) << text;
  EXPECT_EQ(exposition.samples.at("audit_replay_stats_up"), 0);
  EXPECT_EQ(exposition.samples.at("audit_replay_http_open_connections"), 1);
  EXPECT_EQ(exposition.samples.count("audit_replay_events_sent_total"), 0u);
}

TEST(PrometheusValidator, RejectsMalformedExpositions) {
  EXPECT_FALSE(parseExposition("undeclared 1\n").errors.empty());
  EXPECT_FALSE(parseExposition("# TYPE a counter\n# HELP a x\na{l=\"v} 1\n").errors.empty());
  EXPECT_FALSE(parseExposition("# TYPE a counter\n# HELP a x\na one\n").errors.empty());
  EXPECT_FALSE(parseExposition("# TYPE a counter\na 1\n").errors.empty());  // no HELP
  EXPECT_FALSE(parseExposition("# HELP a x\n# TYPE a gauge\na 1\na 2\n").errors.empty());
  EXPECT_TRUE(
      parseExposition("# HELP a x\n# TYPE a gauge\na{l=\"v\\\"\"} 1\na 2\n").errors.empty());
}

}  // namespace
}  // namespace audit::api

namespace audit::api {
namespace {

// ---------------------------------------------------------------------------------------
// Konnect fidelity: problems, roles, the region rule, HEAD, the webhook's configuration

/** A request with an explicit Host header (curlRequest sends 127.0.0.1:port). */
std::string withHost(std::string_view method, std::string_view target, std::string_view host,
                     const std::vector<std::string>& headers, std::string_view body = {}) {
  std::string raw = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
  raw += "Host: " + std::string(host) + "\r\n";
  for (const auto& header : headers) raw += header + "\r\n";
  if (!body.empty()) raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  raw += "\r\n";
  raw += body;
  return raw;
}

std::string instanceOf(const Response& response) {
  return std::string(bodyObject(response).at("instance").as_string());
}

TEST_F(HttpApiTest, ConflictIsKonnectsResourceConflictWithItsDetail) {
  startServer();
  api_.answer("put_job", errAnswer(409, "a replay job is running in region us; wait"));
  const auto response = exchange(curlRequest("PUT", "/v2/audit-log-replay-job", port_, {bearer()},
                                             R"({"start_at":"x","end_at":"y"})"));
  expectProblem(response, 409, "/v2/audit-log-replay-job");
  auto body = bodyObject(*response);
  const std::string instance = instanceOf(*response);
  EXPECT_EQ(body, json::parse(R"({"status":409,"title":"Resource Conflict",)"
                              R"("detail":"A replay job is currently running","instance":")" +
                              instance + "\"}"));
  // Cancelling an ended job is a conflict of its own: the daemon's words stay.
  api_.answer("cancel_job", errAnswer(409, "the replay job of region us already completed"));
  const auto cancel =
      exchange(curlRequest("DELETE", "/v2/audit-log-replay-job", port_, {bearer()}));
  expectProblem(cancel, 409, "/v2/audit-log-replay-job");
  EXPECT_EQ(bodyObject(*cancel).at("detail"), "the replay job of region us already completed");
}

TEST_F(HttpApiTest, BadRequestCarriesEveryInvalidParameterOfTheAnswer) {
  startServer();
  json::object answer = errAnswer(400, "start_at is required; end_at is required");
  answer["invalid_parameters"] =
      json::parse(R"([{"field":"start_at","reason":"start_at is required"},)"
                  R"({"field":"end_at","reason":"end_at is required"}])");
  api_.answer("put_job", answer);
  const auto response =
      exchange(curlRequest("PUT", "/v2/audit-log-replay-job", port_, {bearer()}, "{}"));
  expectProblem(response, 400, "/v2/audit-log-replay-job");
  EXPECT_EQ(bodyObject(*response),
            json::parse(R"({"status":400,"title":"Bad Request",)"
                        R"("detail":"start_at is required; end_at is required","instance":")" +
                        instanceOf(*response) +
                        R"(","invalid_parameters":[)"
                        R"({"field":"start_at","reason":"start_at is required"},)"
                        R"({"field":"end_at","reason":"end_at is required"}]})"));
  // A body that is not an object names the body.
  const auto bad =
      exchange(curlRequest("PUT", "/v2/audit-log-replay-job", port_, {bearer()}, "[]"));
  expectProblem(bad, 400, "/v2/audit-log-replay-job");
  EXPECT_EQ(bodyObject(*bad).at("invalid_parameters").at(0).at("field"), "body");
}

TEST_F(HttpApiTest, EveryRequestHasItsOwnTraceIdAndTheLogLineNamesIt) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(logger);
  startServer();
  api_.answer("get_job", errAnswer(404, "region xx is not configured"));
  const auto first =
      exchange(curlRequest("GET", "/v2/audit-log-replay-job?region=xx", port_, {bearer()}));
  const auto second =
      exchange(curlRequest("GET", "/v2/audit-log-replay-job?region=xx", port_, {bearer()}));
  stopServer();
  spdlog::set_default_logger(previous);
  expectProblem(first, 404, "/v2/audit-log-replay-job");
  expectProblem(second, 404, "/v2/audit-log-replay-job");
  const std::string a = instanceOf(*first), b = instanceOf(*second);
  EXPECT_NE(a, b);
  const std::string prefix = "audit-replay:trace:";
  EXPECT_THAT(log.str(), HasSubstr("GET /v2/audit-log-replay-job 404"));
  EXPECT_THAT(log.str(), HasSubstr("request_id=" + a.substr(prefix.size())));
  EXPECT_THAT(log.str(), HasSubstr("request_id=" + b.substr(prefix.size())));
}

TEST_F(HttpApiTest, RolesOfTheTokensFileAreEnforcedWith403) {
  writeTokens("admin-token\nadmin2-token admin\nviewer-token viewer\n  ingest-token\tingest \n");
  startServer();
  const auto status = [&](std::string_view method, std::string_view target, std::string_view token,
                          std::string_view body = {}) {
    const auto r = exchange(curlRequest(method, target, port_, {bearer(token)}, body));
    if (r && r->result_int() == 403) expectProblem(r, 403, target);
    return r ? r->result_int() : 0u;
  };
  const std::string job = "/v2/audit-log-replay-job";
  const std::string put = R"({"start_at":"x","end_at":"y"})";
  for (const char* admin : {"admin-token", "admin2-token"}) {
    EXPECT_EQ(status("GET", job, admin), 200u);
    EXPECT_EQ(status("PUT", job, admin, put), 202u);
    EXPECT_EQ(status("DELETE", job, admin), 200u);
  }
  EXPECT_EQ(status("GET", job, "viewer-token"), 200u);
  EXPECT_EQ(status("GET", "/v2/audit-log-webhook/status", "viewer-token"), 200u);
  EXPECT_EQ(status("GET", "/metrics", "viewer-token"), 200u);
  EXPECT_EQ(status("PUT", job, "viewer-token", put), 403u);
  EXPECT_EQ(status("DELETE", job, "viewer-token"), 403u);
  EXPECT_EQ(status("PATCH", "/v2/audit-log-webhook", "viewer-token", R"({"enabled":false})"), 403u);
  EXPECT_EQ(status("GET", job, "ingest-token"), 403u);
  EXPECT_EQ(status("PUT", job, "ingest-token", put), 403u);
  EXPECT_EQ(status("DELETE", job, "ingest-token"), 403u);
  EXPECT_EQ(status("GET", "/metrics", "ingest-token"), 403u);
  EXPECT_EQ(status("GET", "/healthz", "ingest-token"), 200u);  // open routes stay open
  // Only the admin requests reached the daemon.
  std::size_t puts = 0, cancels = 0;
  for (const auto& r : api_.requests()) {
    puts += r.at("op") == "put_job" ? 1 : 0;
    cancels += r.at("op") == "cancel_job" ? 1 : 0;
  }
  EXPECT_EQ(puts, 2u);
  EXPECT_EQ(cancels, 2u);

  const auto response = exchange(curlRequest("PUT", job, port_, {bearer("viewer-token")}, put));
  EXPECT_EQ(
      bodyObject(*response),
      json::parse(R"({"status":403,"title":"Forbidden",)"
                  R"("detail":"a token with role viewer may not PUT /v2/audit-log-replay-job",)"
                  R"("instance":")" +
                  instanceOf(*response) + "\"}"));
}

TEST_F(HttpApiTest, UnknownRoleInTheTokensFileIsRefusedWithoutEchoingTheToken) {
  writeTokens("good-token\nsecret-value root\n");
  std::string error;
  error = createFailure(settings());
  EXPECT_FALSE(error.empty());
  EXPECT_THAT(error, HasSubstr("line 2: unknown role \"root\""));
  EXPECT_THAT(error, Not(HasSubstr("secret-value")));
}

TEST(TokenSet, RolesDefaultToAdmin) {
  const auto set = http::TokenSet::parseLenient("a\nb viewer\nc ingest\nd admin\n");
  EXPECT_EQ(set.find("a"), http::Role::Admin);
  EXPECT_EQ(set.find("b"), http::Role::Viewer);
  EXPECT_EQ(set.find("c"), http::Role::Ingest);
  EXPECT_EQ(set.find("d"), http::Role::Admin);
  EXPECT_EQ(set.find("b viewer"), std::nullopt);
  EXPECT_TRUE(http::roleAllows(http::Role::Viewer, "HEAD"));
  EXPECT_FALSE(http::roleAllows(http::Role::Viewer, "PATCH"));
  EXPECT_TRUE(http::roleAllows(http::Role::Ingest, "POST"));
  EXPECT_FALSE(http::roleAllows(http::Role::Ingest, "GET"));
}

TEST_F(HttpApiTest, RegionComesFromQueryThenHostLabelThenTheOnlyRegion) {
  startServer();
  server_->setRegions({"eu", "us"});
  const std::string job = "/v2/audit-log-replay-job";
  exchange(withHost("GET", job, "us.audit.example:8470", {bearer()}));
  exchange(withHost("GET", job + "?region=eu", "us.audit.example:8470", {bearer()}));
  exchange(withHost("DELETE", job, "eu.audit.example", {bearer()}));
  exchange(withHost("PUT", job, "us", {bearer()}, R"({"start_at":"a","end_at":"b"})"));
  auto requests = api_.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0], json::parse(R"({"region":"us","op":"get_job"})"));
  EXPECT_EQ(requests[1], json::parse(R"({"region":"eu","op":"get_job"})"));
  EXPECT_EQ(requests[2], json::parse(R"({"region":"eu","op":"cancel_job"})"));
  EXPECT_EQ(requests[3].at("region"), "us");

  // No ?region and a host that names none: the choices are named, nothing is forwarded.
  for (const char* host : {"audit.example:8470", "127.0.0.1:8470", "[::1]:8470", "ap.x"}) {
    const auto response = exchange(withHost("GET", job, host, {bearer()}));
    expectProblem(response, 400, job);
    const std::string reason =
        "region is required: several regions are configured (eu, us); add ?region=R or use a "
        "host name whose first label is the region";
    EXPECT_EQ(
        bodyObject(*response),
        json::parse(R"({"status":400,"title":"Bad Request","detail":")" + reason +
                    R"(","instance":")" + instanceOf(*response) +
                    R"(","invalid_parameters":[{"field":"region","reason":")" + reason + "\"}]}"))
        << host;
  }
  EXPECT_EQ(api_.requests().size(), 4u);

  // One region: it is the region whatever the host.
  server_->setRegions({"us"});
  exchange(withHost("GET", job, "audit.example", {bearer()}));
  EXPECT_EQ(api_.requests().back(), json::parse(R"({"region":"us","op":"get_job"})"));
}

TEST(HttpRegion, ChooseRegionRule) {
  const std::vector<std::string> two{"eu", "us"};
  EXPECT_EQ(http::chooseRegion(std::string("xx"), "us.a", two).region, "xx");
  EXPECT_EQ(http::chooseRegion(std::nullopt, "us.a:1", two).region, "us");
  EXPECT_EQ(http::chooseRegion(std::nullopt, "us:1", two).region, "us");
  EXPECT_TRUE(http::chooseRegion(std::nullopt, "usa.example", two).ambiguous);
  EXPECT_EQ(http::chooseRegion(std::nullopt, "", {"eu"}).region, "eu");
  const auto none = http::chooseRegion(std::nullopt, "us.a", {});
  EXPECT_FALSE(none.region.has_value());
  EXPECT_FALSE(none.ambiguous);
  EXPECT_EQ(http::hostLabel("[::1]:80"), "");
}

TEST_F(HttpApiTest, StatusWithoutRegionOnSeveralRegionsListsEveryRegion) {
  startServer();
  server_->setRegions({"eu", "us"});
  api_.answer("webhook_status",
              json::parse(R"({"ok":true,"code":200,"webhooks":[{"region":"eu"},{"region":"us"}]})")
                  .as_object());
  const auto response =
      exchange(curlRequest("GET", "/v2/audit-log-webhook/status", port_, {bearer()}));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(bodyObject(*response), json::parse(R"({"regions":[{"region":"eu"},{"region":"us"}]})"));
  EXPECT_EQ(api_.requests().back(), json::parse(R"({"op":"webhook_status"})"));
  // A region named by the host still answers that region's object.
  api_.answer("webhook_status",
              json::parse(R"({"ok":true,"code":200,"webhook":{"region":"us"}})").as_object());
  const auto one = exchange(withHost("GET", "/v2/audit-log-webhook/status", "us.x", {bearer()}));
  EXPECT_EQ(bodyObject(*one), json::parse(R"({"region":"us"})"));
}

TEST_F(HttpApiTest, HeadHealthzAnswersHeadersOnly) {
  startServer();
  Client client(port_);
  ASSERT_FALSE(client.send(curlRequest("HEAD", "/healthz", port_, {})));
  auto response = client.readHead();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ((*response)[bhttp::field::content_type], "application/json");
  EXPECT_EQ((*response)[bhttp::field::content_length], "15");  // {"status":"ok"}
  EXPECT_TRUE(response->body().empty());
  // The connection stays usable: no body bytes were left behind.
  ASSERT_FALSE(client.send(curlRequest("GET", "/healthz", port_, {})));
  response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body(), R"({"status":"ok"})");
  api_.answer("health", errAnswer(503, "store: I/O error"));
  ASSERT_FALSE(client.send(curlRequest("HEAD", "/healthz", port_, {})));
  response = client.readHead();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 503);
}

TEST_F(HttpApiTest, WebhookRouteReadsAndPatchesThroughTheControlApi) {
  startServer();
  const json::value view =
      json::parse(R"({"endpoint":"https://siem.example/a","enabled":true,"log_format":"json",)"
                  R"("skip_ssl_verification":false,"updated_at":"2026-11-24T11:34:18Z"})");
  api_.answer("get_webhook", okAnswer(200, "webhook", view));
  api_.answer("patch_webhook", okAnswer(200, "webhook", view));
  auto response =
      exchange(curlRequest("GET", "/v2/audit-log-webhook?region=us", port_, {bearer()}));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(bodyObject(*response), view);
  response = exchange(curlRequest("PATCH", "/v2/audit-log-webhook?region=us", port_, {bearer()},
                                  R"({"enabled":false,"authorization":"Bearer x"})"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(api_.requests().back(),
            json::parse(R"({"region":"us","op":"patch_webhook",)"
                        R"("changes":{"enabled":false,"authorization":"Bearer x"}})"));
  json::object bad = errAnswer(400, "log_format must be json, cef or cps");
  bad["invalid_parameters"] =
      json::parse(R"([{"field":"log_format","reason":"log_format must be json, cef or cps"}])");
  api_.answer("patch_webhook", bad);
  response = exchange(
      curlRequest("PATCH", "/v2/audit-log-webhook", port_, {bearer()}, R"({"log_format":"xml"})"));
  expectProblem(response, 400, "/v2/audit-log-webhook");
  EXPECT_EQ(
      bodyObject(*response).at("invalid_parameters"),
      json::parse(R"([{"field":"log_format","reason":"log_format must be json, cef or cps"}])"));
  response = exchange(curlRequest("PATCH", "/v2/audit-log-webhook", port_, {bearer()}, "nope"));
  expectProblem(response, 400, "/v2/audit-log-webhook");
  response = exchange(curlRequest("PUT", "/v2/audit-log-webhook", port_, {bearer()}, "{}"));
  expectProblem(response, 405, "/v2/audit-log-webhook");
  EXPECT_EQ((*response)[bhttp::field::allow], "GET, HEAD, PATCH");
}

}  // namespace
}  // namespace audit::api
