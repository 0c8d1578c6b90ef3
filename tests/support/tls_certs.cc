// Generates the test PKI with one shell script run by the openssl CLI. EC
// keys keep it well under a second.
#include "tests/support/tls_certs.h"

#include <stdlib.h>

#include <catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

namespace keyshift::testing {
namespace {

constexpr const char* kScript = R"(set -e
key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"; }
ca() { key "$1"; openssl req -x509 -new -key "$1.key" -subj "/CN=keyshift test $1" -days 3 -out "$1.crt"; }
# leaf NAME SIGNING-CA DAYS EXTENSION: DAYS -1 ends its validity yesterday.
leaf() {
  key "$1"
  openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr"
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days "$3" \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
ca ca
ca other-ca
leaf server ca 3 "subjectAltName=IP:127.0.0.1,DNS:localhost"
leaf expired ca -1 "subjectAltName=IP:127.0.0.1,DNS:localhost"
leaf wrong-name ca 3 "subjectAltName=DNS:elsewhere.example"
leaf client ca 3 "extendedKeyUsage=clientAuth"
leaf stranger other-ca 3 "extendedKeyUsage=clientAuth"
)";

struct Generated {
  TestCertificates certs;
  ~Generated() {
    std::error_code ignored;
    if (!certs.dir.empty()) std::filesystem::remove_all(certs.dir, ignored);
  }
};

void Generate(TestCertificates* c) {
  std::string pattern = (std::filesystem::temp_directory_path() / "keyshift-tls-XXXXXX").string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  c->dir = pattern;
  std::ofstream(c->dir + "/gen.sh") << kScript;
  std::string command = "cd '" + c->dir + "' && bash gen.sh >gen.log 2>&1";
  if (std::system(command.c_str()) != 0) {
    std::ifstream log(c->dir + "/gen.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    FAIL("generating test certificates with openssl failed:\n" << text);
  }
  auto at = [&](const std::string& name) { return c->dir + "/" + name; };
  c->ca = at("ca.crt");
  c->other_ca = at("other-ca.crt");
  c->server_cert = at("server.crt"), c->server_key = at("server.key");
  c->expired_cert = at("expired.crt"), c->expired_key = at("expired.key");
  c->wrong_name_cert = at("wrong-name.crt"), c->wrong_name_key = at("wrong-name.key");
  c->client_cert = at("client.crt"), c->client_key = at("client.key");
  c->stranger_cert = at("stranger.crt"), c->stranger_key = at("stranger.key");
}

}  // namespace

const TestCertificates& Certificates() {
  static Generated generated;
  if (generated.certs.dir.empty()) Generate(&generated.certs);
  return generated.certs;
}

}  // namespace keyshift::testing
