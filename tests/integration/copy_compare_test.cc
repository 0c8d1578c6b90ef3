// `keyshift copy` and `compare` across clusters and TLS (either side, each
// with its own options, slots moving during the copy), and compare's kinds of
// difference and --sample.
#include <catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "tests/support/copy_fixtures.h"
#include "tests/support/integration_fixtures.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/tls_certs.h"

namespace keyshift::testing {
namespace {

TEST_CASE("copy: a single server into a 3-primary cluster and back out, compared clean", "[redis][cluster][copy]") {
  RedisServer source;
  RedisCluster cluster;
  TempDir dir;
  auto src = source.Connect();
  SeedEveryType(*src);
  SeedStrings(*src, "k:", 3000, "v");
  Keyshift ks(source, dir);

  CliResult r = Copy(ks, cluster.url(), {"--batch", "100"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(Json(r)["copied"] == 3008);
  std::map<std::string, std::string> on_cluster;
  for (size_t i = 0; i < cluster.size(); ++i) {
    auto part = ReadAll(cluster.Connection(i));
    CHECK(!part.empty());  // spread over every primary
    on_cluster.insert(part.begin(), part.end());
  }
  CHECK(on_cluster == ReadAll(*src));
  CHECK(cluster.Keys("keyshift:*").empty());

  CliResult same = Compare(ks, cluster.url(), {"--full"});
  INFO(Describe(same));
  CHECK(same.exit_code == 0);
  CHECK(Json(same)["total"] == 0);

  // And back out of the cluster (every primary scanned) into another server.
  RedisServer back;
  auto out = back.Connect();
  Keyshift from_cluster(cluster.url(), dir);
  CliResult r2 = Copy(from_cluster, back.url(), {"--batch", "100"});
  INFO(Describe(r2));
  REQUIRE(r2.exit_code == 0);
  CHECK(ReadAll(*out) == ReadAll(*src));
  CHECK(Compare(from_cluster, back.url(), {"--full"}).exit_code == 0);
  CHECK(cluster.Keys("keyshift:*").empty());  // the source side keeps no state
}

TEST_CASE("copy: a TLS cluster into a TLS server, each side with its own TLS options, compared clean",
          "[redis][cluster][copy][tls]") {
  const TestCertificates& c = Certificates();
  RedisCluster::Options options;
  options.tls = RedisServer::Tls{c.server_cert, c.server_key, c.ca};
  RedisCluster cluster(options);
  RedisServer target(RedisServer::Tls{c.server_cert, c.server_key, c.ca, true}, RedisServer::Options{});
  TempDir dir;
  std::vector<Command> seed;
  for (int i = 0; i < 600; ++i) seed.push_back({"SET", "k:" + std::to_string(i), "v" + std::to_string(i)});
  cluster.Pipeline(seed);
  auto dst = target.Connect();
  Keyshift ks(cluster.tls_url(), dir);
  std::vector<std::string> tls = {"--cacert", c.ca, "--to", target.tls_url(), "--to-cacert", c.ca,
                                  "--to-cert", c.client_cert, "--to-key", c.client_key};

  std::vector<std::string> copy = {"--output", "json", "copy"};
  copy.insert(copy.end(), tls.begin(), tls.end());
  CliResult r = ks.Run(copy);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(Json(r)["copied"] == 600);
  CHECK(ScanKeys(*dst, "k:*").size() == 600);
  CHECK(Cmd(*dst, {"GET", "k:599"}).str == "v599");

  std::vector<std::string> compare = {"compare", "--full"};
  compare.insert(compare.end(), tls.begin(), tls.end());
  CliResult same = ks.Run(compare);
  INFO(Describe(same));
  CHECK(same.exit_code == 0);
}

TEST_CASE("copy: out of a cluster while its slots move, every key once, no conflict with itself",
          "[redis][cluster][copy]") {
  RedisCluster cluster;
  RedisServer target;
  TempDir dir;
  constexpr int kKeys = 20000;
  std::vector<Command> seed;
  for (int i = 0; i < kKeys; ++i) seed.push_back({"SET", "k:" + std::to_string(i), "v"});
  cluster.Pipeline(seed);
  auto dst = target.Connect();
  Keyshift ks(cluster.url(), dir);

  // Keys moving to a node already scanned are found again by a re-pass
  // (docs/cluster.md): the progress marks make those no conflicts.
  ReshardRun reshard = cluster.StartReshard(0, 1, 1500);
  CliResult r = ks.Run({"--output", "json", "copy", "--to", target.url(), "--batch", "50"});
  cluster.WaitReshard(reshard);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  auto j = Json(r);
  CHECK(j["copied"] == kKeys);
  CHECK(j["conflicts"] == 0);
  CHECK(ScanKeys(*dst, "k:*").size() == static_cast<size_t>(kKeys));
}

TEST_CASE("compare: names each kind of difference; equal content in another encoding is no difference",
          "[redis][copy]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedEveryType(*src);
  SeedStrings(*src, "k:", 100, "v");
  // The target stores small hashes as hashtables: other DUMP bytes, same data.
  Cmd(*dst, {"CONFIG", "SET", "hash-max-listpack-entries", "0"});
  REQUIRE(Copy(ks, target.url()).exit_code == 0);
  REQUIRE(Cmd(*dst, {"OBJECT", "ENCODING", "h:small"}).str != Cmd(*src, {"OBJECT", "ENCODING", "h:small"}).str);
  CliResult clean = Compare(ks, target.url(), {"--full"});
  INFO(Describe(clean));
  REQUIRE(clean.exit_code == 0);

  Cmd(*dst, {"DEL", "k:1"});                                  // missing
  Cmd(*dst, {"SET", "only-on-target", "x"});                  // extra
  Cmd(*dst, {"DEL", "k:2"});
  Cmd(*dst, {"SADD", "k:2", "v"});                            // type
  Cmd(*dst, {"HSET", "h:small", "a", "2"});                   // value
  Cmd(*dst, {"EXPIRE", "k:3", "100000"});                     // ttl: none on the source
  Cmd(*dst, {"PEXPIRE", "s:ttl", "60000"});                   // ttl: an hour less

  CliResult full = Compare(ks, target.url(), {"--full"});
  INFO(Describe(full));
  CHECK(full.exit_code == 1);
  auto d = Json(full)["differences"];
  CHECK(d["missing"]["keys"] == nlohmann::json::array({"k:1"}));
  CHECK(d["extra"]["keys"] == nlohmann::json::array({"only-on-target"}));
  CHECK(d["type"]["keys"] == nlohmann::json::array({"k:2"}));
  CHECK(d["value"]["keys"] == nlohmann::json::array({"h:small"}));
  CHECK(d["ttl"]["count"] == 2);

  CliResult quick = Compare(ks, target.url());
  INFO(Describe(quick));
  CHECK(quick.exit_code == 1);
  auto q = Json(quick)["differences"];
  CHECK(q["value"]["count"] == 0);  // quick: type and expiry only
  CHECK(q["missing"]["count"] == 1);

  CliResult text = ks.Run({"compare", "--to", target.url(), "--full"});
  CHECK(text.exit_code == 1);
  CHECK(Contains(text.out, "missing: 1 keys"));
  CHECK(Contains(text.out, "'k:1'"));
}

TEST_CASE("compare --sample checks only that many keys on each side", "[redis][copy]") {
  RedisServer source, target;
  TempDir dir;
  auto src = source.Connect();
  SeedStrings(*src, "k:", 500, "v");
  CliResult r = Compare(Keyshift(source, dir), target.url(), {"--sample", "40"});
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  auto j = Json(r);
  CHECK(j["checked"] == 40);
  CHECK(j["differences"]["missing"]["count"] == 40);
  CHECK(j["differences"]["missing"]["keys"].size() == 20);
}

TEST_CASE("copy: to a TLS target with a password, its own CA and mutual TLS; the password never shown",
          "[redis][copy][tls]") {
  const TestCertificates& c = Certificates();
  RedisServer source;
  RedisServer::Options options;
  options.requirepass = "t0-s3cret";
  RedisServer target(RedisServer::Tls{c.server_cert, c.server_key, c.ca, true}, options);
  TempDir dir;
  auto src = source.Connect();
  auto dst = target.Connect();
  SeedEveryType(*src);
  Keyshift ks(source, dir);
  std::vector<std::string> args = {"--output", "json", "copy", "--to", target.tls_url(), "--to-cacert", c.ca,
                                   "--to-cert", c.client_cert, "--to-key", c.client_key};

  CliResult refused = RunKeyshift(ks.Args(args));  // no password for the target
  INFO(Describe(refused));
  CHECK(refused.exit_code == 2);
  CHECK(Contains(refused.err, "the target (--to)"));

  CliResult r = RunKeyshift(ks.Args(args), "", {{"KEYSHIFT_TO_PASSWORD", "t0-s3cret"}});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(ReadAll(*src) == ReadAll(*dst));
  CHECK_FALSE(Contains(refused.all() + r.all(), "t0-s3cret"));
}

}  // namespace
}  // namespace keyshift::testing
