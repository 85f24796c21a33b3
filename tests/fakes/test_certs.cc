#include "tests/fakes/test_certs.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace audit::testing {
namespace {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

constexpr long kOneHour = 3600;
constexpr long kOneWeek = 7 * 24 * kOneHour;

[[noreturn]] void fail(const std::string& step) {
  const unsigned long code = ERR_get_error();
  char reason[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
  throw std::runtime_error("makeTestPki: " + step + ": " + reason);
}

void check(int ok, const std::string& step) {
  if (ok != 1) fail(step);
}

KeyPtr makeKey() {
  KeyPtr key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) fail("generate P-256 key");
  return key;
}

void addExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr) fail(std::string("extension ") + OBJ_nid2sn(nid));
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (added != 1) fail(std::string("add extension ") + OBJ_nid2sn(nid));
}

/** A certificate for `key` named `common_name`, signed by `issuer` (self-signed when null). */
CertPtr makeCert(EVP_PKEY* key, const char* common_name, long serial, X509* issuer,
                 EVP_PKEY* issuer_key) {
  CertPtr cert(X509_new(), X509_free);
  if (!cert) fail("X509_new");
  X509* x = cert.get();
  check(X509_set_version(x, X509_VERSION_3), "set version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), "set serial");
  // Backdated an hour so that a clock a little behind still accepts it.
  if (X509_gmtime_adj(X509_getm_notBefore(x), -kOneHour) == nullptr) fail("set notBefore");
  if (X509_gmtime_adj(X509_getm_notAfter(x), kOneWeek) == nullptr) fail("set notAfter");
  check(X509_set_pubkey(x, key), "set public key");

  X509_NAME* name = X509_get_subject_name(x);
  const auto* org = reinterpret_cast<const unsigned char*>("audit-replay tests");
  const auto* cn = reinterpret_cast<const unsigned char*>(common_name);
  check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, org, -1, -1, 0), "set O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0), "set CN");
  check(X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name),
        "set issuer");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : x, x, nullptr, nullptr, 0);
  const bool is_ca = issuer == nullptr;
  addExtension(x, &ctx, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  addExtension(x, &ctx, NID_key_usage,
               is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  addExtension(x, &ctx, NID_subject_key_identifier, "hash");
  addExtension(x, &ctx, NID_authority_key_identifier, "keyid:always");
  if (!is_ca) {
    addExtension(x, &ctx, NID_ext_key_usage, "serverAuth");
    addExtension(x, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  }
  if (X509_sign(x, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) fail("sign");
  return cert;
}

BioPtr openForWrite(const std::filesystem::path& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"), BIO_free);
  if (!bio) fail("open " + path.string());
  return bio;
}

void writeCerts(const std::filesystem::path& path, std::initializer_list<X509*> certs) {
  auto bio = openForWrite(path);
  for (X509* cert : certs) check(PEM_write_bio_X509(bio.get(), cert), "write " + path.string());
}

}  // namespace

TestPki makeTestPki(const std::filesystem::path& dir) {
  const KeyPtr ca_key = makeKey();
  const CertPtr ca = makeCert(ca_key.get(), "audit-replay test CA", 1, nullptr, nullptr);
  const KeyPtr server_key = makeKey();
  const CertPtr server = makeCert(server_key.get(), "localhost", 2, ca.get(), ca_key.get());

  TestPki pki{dir / "ca.pem", dir / "server.pem", dir / "server.key"};
  writeCerts(pki.ca_file, {ca.get()});
  writeCerts(pki.cert_chain_file, {server.get(), ca.get()});
  auto key_bio = openForWrite(pki.key_file);
  check(PEM_write_bio_PrivateKey(key_bio.get(), server_key.get(), nullptr, nullptr, 0, nullptr,
                                 nullptr),
        "write " + pki.key_file.string());
  return pki;
}

}  // namespace audit::testing
