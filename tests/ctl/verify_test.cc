// verify, in process: events signed with a known key, checked against a JWKS file.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ctl/cli.hpp"
#include "signing/signer.hpp"

namespace audit::ctl {
namespace {

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ctl-verify-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    signer_ = signing::Signer::fromRawPrivateKey(std::string(32, '\x07')).value();
    other_ = signing::Signer::fromRawPrivateKey(std::string(32, '\x09')).value();
    // A key set with an RSA key the verifier must skip, and ours.
    write("keys.json",
          R"({"keys":[{"kty":"RSA","n":"xx","e":"AQAB"},)" + signer_->jwkJson() + "]}");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  struct Ran {
    int code;
    std::string out;
    std::string err;
  };
  Ran verify(std::vector<std::string> args) {
    std::vector<std::string> all{"verify", "--jwks", dir_ + "/keys.json"};
    all.insert(all.end(), args.begin(), args.end());
    std::ostringstream out, err;
    int code = run(all, Context{.out = out, .err = err});
    return {code, out.str(), err.str()};
  }

  std::string dir_;
  signing::SignerPtr signer_;
  signing::SignerPtr other_;
};

TEST_F(VerifyTest, AllSignedLinesVerify) {
  std::string text = signer_->signJsonEvent(R"({"rt":1,"a":"x"})") + "\n\n" +
                     signer_->signJsonEvent(R"({"rt":2})") + "\n";
  auto r = verify({write("good.ndjson", text)});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "2 lines: 2 valid, 0 invalid\n");
}

TEST_F(VerifyTest, ReportsEachBadLine) {
  std::string tampered = signer_->signJsonEvent(R"({"rt":1,"a":"x"})");
  tampered.replace(tampered.find("\"x\""), 3, "\"y\"");
  std::string text = signer_->signJsonEvent(R"({"rt":1})") + "\n" + tampered + "\n" +
                     R"({"rt":3})" + "\n" + other_->signJsonEvent(R"({"rt":4})") + "\n";
  auto path = write("bad.ndjson", text);
  auto r = verify({path});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, path + ":2: signature does not match\n" + path + ":3: no sig member\n" + path +
                       ":4: signature does not match\n4 lines: 1 valid, 3 invalid\n");

  r = verify({"--json", path});
  EXPECT_EQ(r.code, 1);
  std::istringstream lines(r.out);
  std::string line, last;
  int count = 0;
  while (std::getline(lines, line)) {
    last = line;
    ++count;
  }
  EXPECT_EQ(count, 4);
  EXPECT_EQ(boost::json::parse(last), boost::json::parse(R"({"lines":4,"valid":1,"invalid":3})"));
}

TEST_F(VerifyTest, ChecksCefLines) {
  std::string cef = "2026-11-20T20:00:00Z konghq.com CEF:0|KongInc|Konnect|1.0|request|x|1|rt=1";
  std::string text = signer_->signCefLine(cef) + "\n" + cef + " sig=AAAA\n";
  auto path = write("events.cef", text);
  auto r = verify({"--format", "cef", path});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, path + ":2: sig is not base64url of 64 bytes\n2 lines: 1 valid, 1 invalid\n");
  r = verify({path});  // detected: the lines do not start with '{'
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("2 lines: 1 valid, 1 invalid"), std::string::npos);
}

TEST_F(VerifyTest, BadKeyFilesAreUsageErrors) {
  auto events = write("e.ndjson", signer_->signJsonEvent(R"({"rt":1})") + "\n");
  write("keys.json", R"({"keys":[{"kty":"RSA"}]})");
  auto r = verify({events});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no Ed25519 key"), std::string::npos) << r.err;
  write("keys.json", "not json");
  r = verify({events});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not a JWKS file"), std::string::npos) << r.err;
  std::filesystem::remove(dir_ + "/keys.json");
  r = verify({events});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("cannot open"), std::string::npos) << r.err;
}

TEST_F(VerifyTest, ReadsStdin) {
  auto path = write("in.ndjson", signer_->signJsonEvent(R"({"rt":1})") + "\n");
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::ostringstream out, err;
  std::vector<std::string> args{"verify", "--jwks", dir_ + "/keys.json", "-"};
  int code = run(args, Context{.out = out, .err = err, .in_fd = fd});
  ::close(fd);
  EXPECT_EQ(code, 0) << err.str();
  EXPECT_EQ(out.str(), "1 lines: 1 valid, 0 invalid\n");
}

}  // namespace
}  // namespace audit::ctl
