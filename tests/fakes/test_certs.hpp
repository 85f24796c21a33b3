#pragma once
// TLS material made at test time (nothing secret is checked in, nothing expires in the repo):
// a self-signed CA and a server certificate it signed for "localhost" and 127.0.0.1.

#include <filesystem>

namespace audit::testing {

struct TestPki {
  std::filesystem::path ca_file;          // ca.pem: the CA certificate, for clients to trust
  std::filesystem::path cert_chain_file;  // server.pem: server certificate, then the CA's
  std::filesystem::path key_file;         // server.key: the server's private key (PEM)
};

/** Generates EC P-256 keys and certificates (valid from an hour ago for a week) into `dir`,
 *  which must exist. The server certificate has SAN DNS:localhost and IP:127.0.0.1.
 *  Throws std::runtime_error with OpenSSL's reason on failure. */
TestPki makeTestPki(const std::filesystem::path& dir);

}  // namespace audit::testing
