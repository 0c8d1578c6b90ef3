// TLS end to end, against redis-servers with a TLS port and certificates the
// suite makes itself (tests/support/tls_certs.h): the connection seam over
// TLS (pipelines, reconnects, timeouts), every command through rediss://,
// mutual TLS, server mode and the lock's renewal connection, and each refusal
// (unknown CA, wrong name, expired, missing client certificate) as exit 2
// naming the reason.
#include <catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "tests/support/integration_fixtures.h"
#include "tests/support/tls_certs.h"

namespace keyshift::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

RedisServer::Tls ServerTls(bool require_client_cert = false) {
  const TestCertificates& c = Certificates();
  return {c.server_cert, c.server_key, c.ca, require_client_cert};
}

RedisServer::Tls ServerTlsWith(const std::string& cert, const std::string& key) {
  return {cert, key, Certificates().ca, false};
}

const char* const kAppendBang = R"(return {
  description = "append a bang",
  scan = { match = "s:*", type = "string", batch = 50 },
  transform = function(key, value) return value .. "!" end,
})";

// A RedisUrl for the server's TLS port, verified against the suite's CA.
RedisUrl TlsUrl(const RedisServer& server, const std::string& credentials = "") {
  auto url = ParseRedisUrl("rediss://" + credentials + "127.0.0.1:" + std::to_string(server.tls_port()) + "/0");
  REQUIRE(url.ok());
  url->tls.ca_file = Certificates().ca;
  return url.value();
}

std::unique_ptr<RedisConnection> MustConnect(const RedisUrl& url, int command_timeout_ms = 30000) {
  auto conn = ConnectRedis(url, 5000, command_timeout_ms);
  if (!conn.ok()) FAIL(conn.error().message);
  return std::move(conn.value());
}

// Runs keyshift against the TLS port and expects a refusal naming `reason`.
void ExpectRefused(const CliResult& r, const std::string& reason) {
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "cannot connect to Redis at "));
  CHECK(Contains(r.err, reason));
  CHECK(CountLines(r.err) == 1);
}

// ------------------------------------------------------- connection seam

TEST_CASE("TLS: pipelines of any size and binary values go through intact", "[redis][tls]") {
  RedisServer server(ServerTls(), {});
  auto conn = MustConnect(TlsUrl(server));
  CHECK(conn->Describe() == "rediss://127.0.0.1:" + std::to_string(server.tls_port()) + "/0");
  // Far more than any socket buffer in both directions at once: writes and
  // reads must interleave, and TLS records split values anywhere.
  std::vector<Command> commands;
  const std::string value(200, 'x');
  for (int i = 0; i < 20000; ++i) commands.push_back({"SET", "key:" + std::to_string(i), value});
  std::string big(5 * 1024 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 % 256);
  commands.push_back({"SET", "big", big});
  commands.push_back({"GET", "big"});
  commands.push_back({"DBSIZE"});
  auto replies = conn->Pipeline(commands);
  REQUIRE(replies.ok());
  REQUIRE(replies->size() == commands.size());
  CHECK(replies->at(20001).str == big);
  CHECK(replies->back().integer == 20001);
  // Seen from the plaintext port: the same server, the same data.
  CHECK(Cmd(*server.Connect(), {"STRLEN", "big"}).integer == static_cast<long long>(big.size()));
}

TEST_CASE("TLS: after a dropped connection the next call reconnects with TLS, AUTH and SELECT", "[redis][tls]") {
  RedisServer server(ServerTls(), {{}, "pw"});
  RedisUrl url = TlsUrl(server, ":pw@");
  url.db = 4;
  auto conn = MustConnect(url);
  REQUIRE(conn->Call({"SET", "in-4", "yes"}).ok());
  auto id = conn->Call({"CLIENT", "ID"});
  REQUIRE(id.ok());
  REQUIRE(Cmd(*server.Connect(), {"CLIENT", "KILL", "ID", std::to_string(id->integer)}).integer == 1);

  auto failed = conn->Pipeline({{"GET", "in-4"}});
  REQUIRE_FALSE(failed.ok());
  CHECK(Contains(failed.error().message, "lost connection to Redis at 127.0.0.1:"));
  auto again = conn->Call({"GET", "in-4"});
  REQUIRE(again.ok());
  CHECK(again->str == "yes");
}

TEST_CASE("TLS: the server is killed mid-session: an Error, no crash, no hang", "[redis][tls]") {
  RedisServer server(ServerTls(), {});
  auto conn = MustConnect(TlsUrl(server));
  REQUIRE(conn->Call({"SET", "k", "v"}).ok());
  server.Kill();
  // Megabytes to a dead peer through OpenSSL's write(2): EPIPE, not SIGPIPE.
  std::vector<Command> commands(200, Command{"SET", "k", std::string(20000, 'x')});
  auto replies = conn->Pipeline(commands);
  REQUIRE_FALSE(replies.ok());
  CHECK(replies.error().exit_code == kExitUsage);
  CHECK(Contains(replies.error().message, "lost connection to Redis at 127.0.0.1:"));
  auto again = conn->Call({"GET", "k"});
  REQUIRE_FALSE(again.ok());
  CHECK(Contains(again.error().message, "could not reconnect"));
}

TEST_CASE("TLS: a command slower than the command timeout is an Error", "[redis][tls]") {
  RedisServer server(ServerTls(), {});
  auto conn = MustConnect(TlsUrl(server), /*command_timeout_ms=*/300);
  auto slow = conn->Pipeline({{"BLPOP", "nothing", "3"}});
  REQUIRE_FALSE(slow.ok());
  CHECK(slow.error().exit_code == kExitUsage);
  CHECK_THAT(slow.error().message, Catch::EndsWith("no reply within 300 ms"));
  CHECK(conn->Call({"PING"})->str == "PONG");
}

// ---------------------------------------------------------- the CLI

TEST_CASE("TLS: status, up, down and up in server mode over rediss:// with --cacert or KEYSHIFT_CACERT", "[redis][tls]") {
  RedisServer server(ServerTls(), {});
  auto conn = server.Connect();
  SeedStrings(*conn, "s:", 120, "v");
  TempDir dir;
  dir.Write("0001_bang.lua", kAppendBang);
  Keyshift ks(server.tls_url(), dir);
  const std::string ca = Certificates().ca;

  CliResult status = ks.Run({"--cacert", ca, "status"});
  INFO(Describe(status));
  REQUIRE(status.exit_code == 0);
  CHECK(Contains(status.all(), "pending"));

  // The lock's renewal connection opens with the same settings: without
  // them `up` would stop at once with exit 2.
  CliResult up = RunKeyshift(ks.Args({"up"}), "", {{"KEYSHIFT_CACERT", ca}});
  INFO(Describe(up));
  REQUIRE(up.exit_code == 0);
  CHECK(Values(*conn, NumberedKeys("s:", 0, 120)) == std::vector<std::string>(120, "v!"));

  CliResult down = ks.Run({"down", "--cacert", ca});
  INFO(Describe(down));
  REQUIRE(down.exit_code == 0);
  CHECK(Values(*conn, NumberedKeys("s:", 0, 120)) == std::vector<std::string>(120, "v"));

  CliResult server_mode = RunKeyshift(ks.Args({"up", "--mode", "server"}), "", {{"KEYSHIFT_CACERT", ca}});
  INFO(Describe(server_mode));
  REQUIRE(server_mode.exit_code == 0);
  CHECK(Values(*conn, NumberedKeys("s:", 0, 120)) == std::vector<std::string>(120, "v!"));

  CliResult json = ks.Run({"--cacert", ca, "--output", "json", "status"});
  CHECK(json.exit_code == 0);
  CHECK_FALSE(Contains(json.err, "warning"));
}

TEST_CASE("TLS: mutual TLS with --cert/--key or KEYSHIFT_CERT/KEYSHIFT_KEY; refused without", "[redis][tls]") {
  RedisServer server(ServerTls(/*require_client_cert=*/true), {});
  SeedStrings(*server.Connect(), "s:", 10, "v");
  TempDir dir;
  dir.Write("0001_bang.lua", kAppendBang);
  Keyshift ks(server.tls_url(), dir);
  const TestCertificates& c = Certificates();

  SECTION("with a certificate signed by the server's CA") {
    CliResult up = ks.Run({"--cacert", c.ca, "--cert", c.client_cert, "--key", c.client_key, "up"});
    INFO(Describe(up));
    CHECK(up.exit_code == 0);
    CliResult status = RunKeyshift(ks.Args({"status"}), "",
                                   {{"KEYSHIFT_CACERT", c.ca}, {"KEYSHIFT_CERT", c.client_cert},
                                    {"KEYSHIFT_KEY", c.client_key}});
    INFO(Describe(status));
    CHECK(status.exit_code == 0);
    CHECK(Contains(status.out, "applied"));
  }
  SECTION("without a client certificate") {
    ExpectRefused(ks.Run({"--cacert", c.ca, "status"}),
                  "the server requires a client certificate (give one with --cert and --key)");
  }
  SECTION("with a certificate from a CA the server does not trust") {
    // As above: the server's "unknown CA" alert, or the reset after it.
    CliResult r = ks.Run({"--cacert", c.ca, "--cert", c.stranger_cert, "--key", c.stranger_key, "status"});
    ExpectRefused(r, "client certificate");
    CHECK((Contains(r.err, "(unknown CA)") || Contains(r.err, "signed by a CA the server trusts")));
  }
  SECTION("a key that does not belong to the certificate is a usage error before connecting") {
    CliResult r = ks.Run({"--cacert", c.ca, "--cert", c.client_cert, "--key", c.stranger_key, "status"});
    INFO(Describe(r));
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.err, "does not belong to the certificate"));
  }
}

TEST_CASE("TLS: server mode over TLS; the watchdog's own TLS connection kills a runaway script",
          "[redis][tls]") {
  RedisServer server(ServerTls(), {{"--busy-reply-threshold", "300"}, ""});
  auto conn = server.Connect();
  Cmd(*conn, {"SET", "r:1", "v"});
  Cmd(*conn, {"SET", "r:2", "v"});
  TempDir dir;
  dir.Write("0001_spin.lua", kRunawayOnR2);
  Keyshift ks(server.tls_url(), dir);
  CliResult r = ks.Run({"--cacert", Certificates().ca, "up"}, 60);
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.all(), "SCRIPT KILL"));
  CHECK(Cmd(*conn, {"GET", "r:2"}).str == "v");
  CHECK(Cmd(*conn, {"PING"}).str == "PONG");
}

// ---------------------------------------------------------- refusals

TEST_CASE("TLS: an unknown CA is refused, naming it; --insecure connects with one warning", "[redis][tls]") {
  RedisServer server(ServerTls(), {});
  TempDir dir;
  Keyshift ks(server.tls_url(), dir);
  // Redis sends its CA along, so OpenSSL's words are "self-signed
  // certificate in certificate chain"; either way it is an unknown CA.
  ExpectRefused(ks.Run({"status"}), "(unknown CA: not in the system's CA store; give the server's CA with --cacert)");
  CliResult other = ks.Run({"--cacert", Certificates().other_ca, "status"});
  ExpectRefused(other, "(unknown CA: not signed by a CA in " + Certificates().other_ca + ")");
  CHECK(Contains(other.err, "TLS handshake failed: certificate verify failed: "));

  SeedStrings(*server.Connect(), "s:", 10, "v");
  dir.Write("0001_bang.lua", kAppendBang);
  CliResult insecure = ks.Run({"--insecure", "up"});  // the lock renewal connects too
  INFO(Describe(insecure));
  CHECK(insecure.exit_code == 0);
  CHECK(CountLines(insecure.err) == 1);
  CHECK(Contains(insecure.err, "warning: --insecure"));
}

TEST_CASE("TLS: a certificate for another name or address is refused", "[redis][tls]") {
  const TestCertificates& c = Certificates();
  TempDir dir;
  SECTION("--sni names a host the certificate does not list") {
    RedisServer server(ServerTls(), {});
    ExpectRefused(Keyshift(server.tls_url(), dir).Run({"--cacert", c.ca, "--sni", "other.example", "status"}),
                  "certificate verify failed: hostname mismatch (the certificate is not for 'other.example'");
  }
  SECTION("--sni names the host the certificate lists") {
    RedisServer server(ServerTlsWith(c.wrong_name_cert, c.wrong_name_key), {});
    CliResult r = Keyshift(server.tls_url(), dir).Run({"--cacert", c.ca, "--sni", "elsewhere.example", "status"});
    INFO(Describe(r));
    CHECK(r.exit_code == 0);
  }
  SECTION("connecting by an address or a name the certificate does not list") {
    RedisServer server(ServerTlsWith(c.wrong_name_cert, c.wrong_name_key), {});
    ExpectRefused(Keyshift(server.tls_url(), dir).Run({"--cacert", c.ca, "status"}),
                  "certificate verify failed: IP address mismatch (name mismatch: the certificate is not for '127.0.0.1'");
    ExpectRefused(Keyshift(server.tls_url("localhost"), dir).Run({"--cacert", c.ca, "status"}),
                  "certificate verify failed: hostname mismatch (the certificate is not for 'localhost'");
  }
  SECTION("connecting by a name the certificate lists") {
    RedisServer server(ServerTls(), {});
    CliResult r = Keyshift(server.tls_url("localhost"), dir).Run({"--cacert", c.ca, "status"});
    INFO(Describe(r));
    CHECK(r.exit_code == 0);
  }
}

TEST_CASE("TLS: an expired server certificate is refused", "[redis][tls]") {
  const TestCertificates& c = Certificates();
  RedisServer server(ServerTlsWith(c.expired_cert, c.expired_key), {});
  TempDir dir;
  ExpectRefused(Keyshift(server.tls_url(), dir).Run({"--cacert", c.ca, "status"}),
                "certificate verify failed: certificate has expired");
}

TEST_CASE("TLS: mixing up TLS and plaintext is a clear usage error", "[redis][tls]") {
  RedisServer server(ServerTls(), {});
  TempDir dir;
  const std::string ca = Certificates().ca;
  const std::string plain_to_tls = "redis://127.0.0.1:" + std::to_string(server.tls_port()) + "/0";
  ExpectRefused(Keyshift(plain_to_tls, dir).Run({"status"}), "(is it a TLS port? then use rediss://)");
  const std::string tls_to_plain = "rediss://127.0.0.1:" + std::to_string(server.port()) + "/0";
  ExpectRefused(Keyshift(tls_to_plain, dir).Run({"--cacert", ca, "status"}),
                "(a plaintext port? then use redis://)");

  CliResult flags = Keyshift(server, dir).Run({"--cacert", ca, "status"});
  INFO(Describe(flags));
  CHECK(flags.exit_code == 2);
  CHECK(Contains(flags.err, "are for TLS, but --url 'redis://127.0.0.1:"));
  // From the environment the CA is only a default for rediss:// URLs.
  CliResult env = RunKeyshift(Keyshift(server, dir).Args({"status"}), "", {{"KEYSHIFT_CACERT", ca}});
  CHECK(env.exit_code == 0);

  CliResult missing = Keyshift(server.tls_url(), dir).Run({"--cacert", dir.path() + "/nope.pem", "status"});
  INFO(Describe(missing));
  CHECK(missing.exit_code == 2);
  CHECK(Contains(missing.err, "cannot load the CA certificates in " + dir.path() + "/nope.pem"));
}

TEST_CASE("TLS: the password never appears in TLS errors or output", "[redis][tls]") {
  const std::string secret = "tls-s3cret";
  RedisServer server(ServerTls(), {{}, secret});
  TempDir dir;
  const std::string url = "rediss://:" + secret + "@127.0.0.1:" + std::to_string(server.tls_port()) + "/0";
  CliResult refused = Keyshift(url, dir).Run({"status"});  // unknown CA
  CHECK(refused.exit_code == 2);
  CliResult ok = Keyshift(url, dir).Run({"--cacert", Certificates().ca, "status"});
  INFO(Describe(ok));
  CHECK(ok.exit_code == 0);
  for (const CliResult& r : {refused, ok}) CHECK_FALSE(Contains(r.all(), secret));
}

}  // namespace
}  // namespace keyshift::testing
