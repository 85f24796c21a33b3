// End-to-end: `audit-replayctl export` writes what a receiver got for the same range.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>

#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"
#include "webhook/gzip.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;

std::string readAll(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

class ExportE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    json_receiver_.start();
    cef_receiver_.start();
    std::string out, err;
    auto key = d_.dir() / "signing.pem";
    ASSERT_NO_THROW(writeEd25519Key(key).value());
    // Signed, uncompressed, small batches: several batches, each event signed.
    d_.writeConfig(
        "signing: {key_file: signing.pem}\nregions:\n"
        "  us:\n    webhook: {endpoint: \"" +
        json_receiver_.url() +
        "\", compression: none}\n    batch: {max_events: 7}\n"
        "  eu:\n    webhook: {endpoint: \"" +
        cef_receiver_.url() +
        "\", compression: none, log_format: cef}\n    batch: {max_events: 7}\n");
    ASSERT_TRUE(d_.start()) << d_.log();
    start_ = nowMs() - 600'000;
    std::vector<std::string> events;
    for (int i = 0; i < 50; ++i) {
      events.push_back("{\"rt\":" + std::to_string(start_ + i) +
                       ",\"name\":\"Authz.control-planes\",\"action\":\"list\",\"n\":" +
                       std::to_string(i) + "}");
    }
    ASSERT_TRUE(d_.ingest("us", events).at("ok").as_bool());
    ASSERT_TRUE(d_.ingest("eu", events).at("ok").as_bool());
  }

  void replay(const std::string& region) {
    d_.call({{"op", "put_job"},
             {"region", region},
             {"start_at", isoMillis(start_)},
             {"end_at", isoMillis(start_ + 1000)}});
    auto job = d_.waitJobEnded(region);
    ASSERT_TRUE(job);
    ASSERT_EQ(job->at("status").as_string(), "completed") << d_.log();
  }

  ProcessResult ctl(std::vector<std::string> args, std::string* out, std::string* err) {
    args.insert(args.begin(),
                {binaryPath("ctl/audit-replayctl").string(), "--socket", d_.socket().string()});
    return runProgram(args, out, err);
  }

  std::vector<std::string> range() const {
    return {"--start", isoMillis(start_), "--end", isoMillis(start_ + 1000)};
  }

  sink::Receiver json_receiver_{sink::ReceiverOptions{}};
  sink::Receiver cef_receiver_{sink::ReceiverOptions{}};
  DaemonFixture d_;
  std::int64_t start_ = 0;
};

TEST_F(ExportE2E, AJsonExportIsByteIdenticalToWhatTheReceiverGot) {
  replay("us");
  const std::string received = joined(json_receiver_.acceptedEvents());
  ASSERT_NE(received.find("\"sig\":\""), std::string::npos);  // signed, as delivered

  std::string out, err;
  auto file = d_.dir() / "us.ndjson";
  std::vector<std::string> args{"export", "--region", "us",          "--format",
                                "json",   "-o",       file.string(), "--json"};
  for (auto& a : range()) args.push_back(a);
  ASSERT_EQ(ctl(args, &out, &err).exit_code, 0) << out << err << d_.log();
  EXPECT_EQ(readAll(file), received);
  auto summary = json::parse(out).as_object();
  EXPECT_EQ(summary.at("events").to_number<std::uint64_t>(), 50u);
  EXPECT_EQ(summary.at("bytes").to_number<std::uint64_t>(), received.size());
  // No temporary file is left beside it.
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(d_.dir())) {
    files += e.path().filename().string().find("us.ndjson") != std::string::npos;
  }
  EXPECT_EQ(files, 1u);

  // Into a pipe: streamed over the socket rather than written by the daemon; same bytes.
  {
    std::string command = "'" + binaryPath("ctl/audit-replayctl").string() + "' --socket '" +
                          d_.socket().string() + "' export --region us";
    for (auto& a : range()) command += " " + a;
    std::string piped;
    ASSERT_EQ(runProgram({"/bin/sh", "-c", command + " | cat"}, &piped, &err).exit_code, 0) << err;
    EXPECT_EQ(piped, received);
  }

  // To stdout (a file here, so handed to the daemon), and gzip: the same bytes once
  // decompressed.
  args = {"export", "--region", "us"};
  for (auto& a : range()) args.push_back(a);
  ASSERT_EQ(ctl(args, &out, &err).exit_code, 0) << err;
  EXPECT_EQ(out, received);
  auto gz = d_.dir() / "us.ndjson.gz";
  args = {"export", "--region", "us", "--gzip", "-o", gz.string()};
  for (auto& a : range()) args.push_back(a);
  ASSERT_EQ(ctl(args, &out, &err).exit_code, 0) << err;
  std::string plain;
  ASSERT_EQ(runProgram({"/usr/bin/gzip", "-dc", gz.string()}, &plain, &err).exit_code, 0) << err;
  EXPECT_EQ(plain, received);
  EXPECT_EQ(d_.stop().exit_code, 0);
}

// A plain export of many batches (39,000 events over eleven minutes, a burst of thousands
// in a few milliseconds among them), to a file and to a pipe: still exactly what the
// receiver got, batch after batch.
TEST_F(ExportE2E, ALargePlainExportIsByteIdenticalToWhatTheReceiverGot) {
  const std::int64_t from = start_ - 1'800'000;  // ten minutes of 3,000 events, then a burst
  std::vector<std::string> events;
  for (int i = 0; i < 30'000; ++i) {
    events.push_back("{\"rt\":" + std::to_string(from + i * 20) + ",\"n\":" + std::to_string(i) +
                     "}");
  }
  for (int i = 0; i < 9'000; ++i) {
    events.push_back("{\"rt\":" + std::to_string(from + 660'000 + i % 13) +
                     ",\"b\":" + std::to_string(i) + "}");
  }
  for (std::size_t at = 0; at < events.size(); at += 10'000) {
    std::vector<std::string> chunk(
        events.begin() + static_cast<std::ptrdiff_t>(at),
        events.begin() + static_cast<std::ptrdiff_t>(std::min(at + 10'000, events.size())));
    ASSERT_TRUE(d_.ingest("us", chunk).at("ok").as_bool());
  }
  const std::vector<std::string> span{"--start", isoMillis(from), "--end",
                                      isoMillis(from + 720'000)};
  d_.call({{"op", "put_job"}, {"region", "us"}, {"start_at", span[1]}, {"end_at", span[3]}});
  auto job = d_.waitJobEnded("us");
  ASSERT_TRUE(job);
  ASSERT_EQ(job->at("status").as_string(), "completed") << d_.log();
  const std::string received = joined(json_receiver_.acceptedEvents());
  ASSERT_EQ(std::count(received.begin(), received.end(), '\n'), 39'000);

  std::string out, err;
  auto file = d_.dir() / "large.ndjson";
  std::vector<std::string> args{"export", "--region", "us",         "--format",
                                "json",   "-o",       file.string()};
  args.insert(args.end(), span.begin(), span.end());
  ASSERT_EQ(ctl(args, &out, &err).exit_code, 0) << out << err << d_.log();
  EXPECT_TRUE(readAll(file) == received) << "the file differs from what the receiver got";
  std::string command = "'" + binaryPath("ctl/audit-replayctl").string() + "' --socket '" +
                        d_.socket().string() + "' export --region us";
  for (auto& a : span) command += " '" + a + "'";
  std::string piped;
  ASSERT_EQ(runProgram({"/bin/sh", "-c", command + " | cat"}, &piped, &err).exit_code, 0) << err;
  EXPECT_TRUE(piped == received) << "the stream differs from what the receiver got";

  // Stopped in the middle of an export whose client reads nothing more: the daemon still
  // ends cleanly (what the export had in flight goes with the loop, before the workers).
  ControlClient stalled(d_.socket());
  ASSERT_TRUE(stalled.connected());
  auto header = stalled.roundTrip(R"({"op":"export","region":"us","start_at":")" + span[1] +
                                  R"(","end_at":")" + span[3] + R"("})");
  ASSERT_TRUE(header);
  EXPECT_NE(header->find("\"events_total\":39000"), std::string::npos) << *header;
  EXPECT_EQ(d_.stop().exit_code, 0) << d_.log();
}

TEST_F(ExportE2E, ACefExportIsByteIdenticalToWhatTheReceiverGot) {
  replay("eu");
  const std::string received = joined(cef_receiver_.acceptedEvents());
  ASSERT_NE(received.find("CEF:0|"), std::string::npos);
  std::string out, err;
  auto file = d_.dir() / "eu.cef";
  std::vector<std::string> args{"export", "--region", "eu", "--format", "cef", "-o", file.string()};
  for (auto& a : range()) args.push_back(a);
  ASSERT_EQ(ctl(args, &out, &err).exit_code, 0) << out << err << d_.log();
  EXPECT_EQ(readAll(file), received);
  EXPECT_EQ(d_.stop().exit_code, 0);
}

TEST_F(ExportE2E, RefusalsLeaveNoFile) {
  std::string out, err;
  auto file = d_.dir() / "nope.ndjson";
  std::vector<std::string> args{"export", "--region", "mars", "-o", file.string()};
  for (auto& a : range()) args.push_back(a);
  EXPECT_EQ(ctl(args, &out, &err).exit_code, 1) << out << err;
  EXPECT_NE(err.find("mars"), std::string::npos) << err;
  args = {"export", "--region",       "us", "--start", isoMillis(start_ + 1000),
          "--end",  isoMillis(start_)};
  EXPECT_EQ(ctl(args, &out, &err).exit_code, 2) << out << err;  // end before start
  EXPECT_FALSE(std::filesystem::exists(file));
  // The connection stays usable after an export: a second request on it is answered.
  ControlClient client(d_.socket());
  ASSERT_TRUE(client.connected());
  auto header =
      client.roundTrip("{\"op\":\"export\",\"region\":\"us\",\"start_at\":\"" + isoMillis(start_) +
                       "\",\"end_at\":\"" + isoMillis(start_ + 3) + "\"}");
  ASSERT_TRUE(header);
  EXPECT_NE(header->find("\"events_total\":4"), std::string::npos) << *header;
  std::string length = *client.roundTrip("{\"op\":\"ping\"}");  // reads the next line
  EXPECT_GT(std::stoul(length), 0u);
  EXPECT_EQ(d_.stop().exit_code, 0);
}

}  // namespace
}  // namespace audit::e2e
