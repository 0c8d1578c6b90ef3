// End to end: connection configuration errors (exit 2, one line, no password
// anywhere), `check` over a directory with good and bad files, and `new`.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/directory.h"
#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A loopback port nobody listens on: bound (so nothing else takes it) but
// never listened on, so connecting is refused.
class ClosedPort {
 public:
  ClosedPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~ClosedPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A configuration error: exit 2, one line on stderr, nothing that looks like a crash.
void CheckConfigError(const CliResult& r) {
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(CountLines(r.err) == 1);
  CHECK(r.err.rfind("keyshift: ", 0) == 0);
  CHECK(r.out.empty());
  for (const char* crash : {"terminate called", "what()", "Aborted", "stack traceback", "Segmentation"})
    CHECK_FALSE(Contains(r.all(), crash));
}

constexpr const char* kUpper = R"LUA(return {
  description = "upper-case",
  transform = function(key, value) return value:upper() end,
}
)LUA";

TEST_CASE("malformed --url values are usage errors", "[redis][host][config]") {
  TempDir dir;
  dir.Write("0001_upper.lua", kUpper);
  for (const std::string url : {"redis//x", "http://host", "redis://127.0.0.1:99999", "redis://127.0.0.1:port/0"}) {
    for (const std::string cmd : {"status", "up"}) {
      INFO(cmd << " --url " << url);
      CliResult r = Keyshift(url, dir).Run({cmd});
      CheckConfigError(r);
      CHECK(Contains(r.err, "url"));
    }
  }
}

TEST_CASE("an unreachable Redis is exit 2 naming host:port", "[redis][host][config]") {
  TempDir dir;
  dir.Write("0001_upper.lua", kUpper);
  ClosedPort closed;
  std::string where = "127.0.0.1:" + std::to_string(closed.port());
  for (const std::string cmd : {"status", "up"}) {
    INFO(cmd);
    CliResult r = Keyshift("redis://" + where + "/0", dir).Run({cmd}, 30);
    CheckConfigError(r);
    CHECK(Contains(r.err, where));
  }
}

TEST_CASE("wrong credentials are exit 2 and no password is ever printed", "[redis][host][config]") {
  const std::string password = "s3cret-Pa55-word-7781";
  const std::string wrong = "wr0ng-Pa55-word-1234";
  RedisServer server(RedisServer::Options{{}, password});
  auto conn = server.Connect();
  Cmd(*conn, {"SET", "a", "x"});
  TempDir dir;
  dir.Write("0001_upper.lua", kUpper);
  std::string host_port = "127.0.0.1:" + std::to_string(server.port());

  for (const std::string& url : {"redis://:" + wrong + "@" + host_port + "/0",
                                "redis://default:" + wrong + "@" + host_port + "/0",
                                "redis://" + host_port + "/0"}) {
    for (const std::string cmd : {"status", "up"}) {
      INFO(cmd << " with " << (Contains(url, "@") ? "a wrong password" : "no password"));
      CliResult r = Keyshift(url, dir).Run({cmd});
      CheckConfigError(r);
      CHECK(Contains(r.err, host_port));
      CHECK_FALSE(Contains(r.all(), wrong));
      CHECK_FALSE(Contains(r.all(), password));
    }
  }
  CHECK(Cmd(*conn, {"GET", "a"}).str == "x");

  // The right password works, and still is never shown: not in output, not in the ledger.
  Keyshift ks(server.url_with_password(), dir);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"status"}, {"up"}, {"--output", "json", "status"},
                                              {"check"}}) {
    CliResult r = ks.Run(args);
    INFO(Describe(r));
    CHECK(r.exit_code == 0);
    CHECK_FALSE(Contains(r.all(), password));
  }
  CHECK(Cmd(*conn, {"GET", "a"}).str == "X");
  for (const auto& key : ScanKeys(*conn, "keyshift:*")) {
    INFO(key);
    std::string type = Cmd(*conn, {"TYPE", key}).str;
    std::string contents;
    if (type == "hash")
      for (const auto& [field, value] : PairMap(Cmd(*conn, {"HGETALL", key}))) contents += field + "=" + value + "\n";
    else if (type == "string")
      contents = Cmd(*conn, {"GET", key}).str;
    CHECK_FALSE(Contains(contents, password));
  }
}

TEST_CASE("check lints a directory: syntax errors, duplicate versions, misnamed files", "[redis][host][check]") {
  RedisServer server;
  TempDir dir;
  Keyshift ks(server, dir);
  dir.Write("0001_good.lua", kUpper);
  dir.Write("0002_syntax.lua", R"LUA(return {
  description = "broken",
  transform = function(key, value) return value .. end,
}
)LUA");
  dir.Write("0003_first.lua", kUpper);
  dir.Write("0003_second.lua", kUpper);
  dir.Write("notes.lua", kUpper);
  dir.Write("0004 spaced name.lua", kUpper);
  dir.Write("0005_wrong_ext.lua.bak", kUpper);

  // A duplicate version is a configuration error.
  CliResult dup = ks.Run({"check"});
  INFO(Describe(dup));
  CHECK(dup.exit_code == 2);
  CHECK(Contains(dup.err, "duplicate"));
  CHECK(Contains(dup.err, "0003_first.lua"));
  CHECK(Contains(dup.err, "0003_second.lua"));
  CliResult dup_up = ks.Run({"up", "--dry-run"});
  INFO(Describe(dup_up));
  CHECK(dup_up.exit_code == 2);

  // Without it: the syntax error fails the check; misnamed files are warnings.
  dir.Remove("0003_second.lua");
  CliResult syntax = ks.Run({"check"});
  INFO(Describe(syntax));
  CHECK(syntax.exit_code == 1);
  CHECK(Contains(syntax.out, "0002_syntax.lua:3:"));
  CHECK(Contains(syntax.out, "0001_good.lua"));
  CHECK(Contains(syntax.out, "0003_first.lua"));
  for (const std::string misnamed : {"notes.lua", "0004 spaced name.lua", "0005_wrong_ext.lua.bak"}) {
    INFO(misnamed);
    CHECK(Contains(syntax.all(), "ignoring " + dir.path() + "/" + misnamed));
  }
  CliResult json = ks.Run({"--output", "json", "check"});
  INFO(Describe(json));
  CHECK(json.exit_code == 1);
  auto j = nlohmann::json::parse(json.out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  CHECK(j.at("ok") == false);
  int errors = 0;
  for (const auto& f : j.at("findings")) errors += f.at("level") == "error";
  CHECK(errors == 1);

  // Fixed: clean, with the misnamed files still warned about.
  dir.Write("0002_syntax.lua", kUpper);
  CliResult clean = ks.Run({"check"});
  INFO(Describe(clean));
  CHECK(clean.exit_code == 0);
  CHECK(Contains(clean.all(), "notes.lua"));
  CHECK_FALSE(Contains(clean.out, "error "));
}

TEST_CASE("new writes numbered files from a template that check accepts", "[redis][host][new]") {
  RedisServer server;
  TempDir dir;
  Keyshift ks(server, dir);
  CliResult first = ks.Run({"new", "my_change"});
  INFO(Describe(first));
  CHECK(first.exit_code == 0);
  REQUIRE(dir.Exists("0001_my_change.lua"));
  CHECK(Contains(first.all(), "0001_my_change.lua"));
  // Until its placeholder description is edited, check and up refuse it.
  CliResult check = ks.Run({"check"});
  INFO(Describe(check));
  CHECK(check.exit_code == 1);
  CHECK(Contains(check.out, "0001_my_change.lua"));
  CHECK(Contains(check.out, "placeholder"));
  CliResult refused = ks.Run({"up"});
  INFO(Describe(refused));
  CHECK(refused.exit_code == 1);
  CHECK(Contains(refused.err, "placeholder"));
  CHECK(Cmd(*server.Connect(), {"HLEN", "keyshift:{state}:ledger"}).integer == 0);
  std::string text = dir.Read("0001_my_change.lua");
  text.replace(text.find(kPlaceholderDescription), std::string(kPlaceholderDescription).size(), "my change");
  dir.Write("0001_my_change.lua", text);
  check = ks.Run({"check"});
  INFO(Describe(check));
  CHECK(check.exit_code == 0);

  // A numbered name is taken as the slug: the version is still the next one.
  CliResult second = ks.Run({"new", "0001_other-change"});
  INFO(Describe(second));
  CHECK(second.exit_code == 0);
  CHECK(dir.Exists("0002_other-change.lua"));
  CHECK_FALSE(dir.Exists("0002_0001_other-change.lua"));
  CHECK(dir.Read("0001_my_change.lua") != "");

  // The edited template's migration is pending and its dry-run runs cleanly.
  dir.Write("0002_other-change.lua", text);
  CliResult dry = ks.Run({"up", "--dry-run"});
  INFO(Describe(dry));
  CHECK(dry.exit_code == 0);

  // A slug that is not a file name part is refused, and nothing is written.
  CliResult bad = ks.Run({"new", "bad slug!"});
  INFO(Describe(bad));
  CHECK(bad.exit_code == 2);
  CHECK_FALSE(dir.Exists("0003_bad slug!.lua"));
}

}  // namespace
}  // namespace keyshift::testing
