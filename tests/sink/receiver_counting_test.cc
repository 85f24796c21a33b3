// The benchmark's counting receiver (decompress = false): compressed bodies are read in full
// and answered, never gunzipped; plain bodies are still counted by line.

#include <gtest/gtest.h>

#include "sink/receiver.hpp"
#include "tests/sink/test_client.hpp"

namespace audit::sink {
namespace {

using audit::testing::ClientOptions;
using audit::testing::gzipCompress;
using audit::testing::TestClient;

TEST(CountingReceiver, ReadsGzipBodiesWithoutGunzippingThem) {
  ReceiverOptions options;
  options.decompress = false;
  Receiver receiver(options);
  ClientOptions client_options;
  client_options.port = receiver.start();
  TestClient client(client_options);
  std::string plain;
  for (int i = 0; i < 500; ++i) plain += R"({"n":)" + std::to_string(i) + "}\n";
  const std::string wire = gzipCompress(plain);

  EXPECT_EQ(client.post("/audit", plain, /*gzip=*/true).status, 200);
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body, wire);  // as received
  EXPECT_EQ(requests[0].line_count, 0u);
  auto stats = receiver.stats();
  EXPECT_EQ(stats.wire_bytes, wire.size());
  EXPECT_EQ(stats.events, 0u);  // not known without gunzipping
  EXPECT_EQ(stats.accepted, 1u);

  // A plain body is still counted by its lines: that costs no gunzip.
  EXPECT_EQ(client.post("/audit", "a\nb\n", /*gzip=*/false).status, 200);
  EXPECT_EQ(receiver.stats().events, 2u);
}

}  // namespace
}  // namespace audit::sink
