// Certificates for TLS integration tests, made once per test process with the
// openssl CLI in a temp dir (removed at exit): a CA, a server certificate for
// 127.0.0.1 and localhost, an expired one, one for another name, a client
// certificate, and a second CA that signed nothing the servers trust.
#pragma once

#include <string>

namespace keyshift::testing {

struct TestCertificates {
  std::string dir;
  std::string ca;                      // ca.crt: signs every server and the client
  std::string other_ca;                // other-ca.crt: unrelated
  std::string server_cert, server_key;  // SAN IP:127.0.0.1, DNS:localhost
  std::string expired_cert, expired_key;  // like server, but expired yesterday
  std::string wrong_name_cert, wrong_name_key;  // SAN DNS:elsewhere.example only
  std::string client_cert, client_key;  // signed by ca
  std::string stranger_cert, stranger_key;  // a client certificate signed by other_ca
};

// Generates them on first use; FAILs the test if openssl is missing or fails.
const TestCertificates& Certificates();

}  // namespace keyshift::testing
