// End to end: every input gets a clear message and a defined exit code.
// keyshift's own state keys holding the wrong shape, passwords from the
// environment or a file (and never in `ps`), data bytes escaped on the
// terminal, `down --to 0`, counts after --max-errors, short range errors,
// long migration paths.
#include <signal.h>

#include <catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

const std::string kBang = AppendMigration("s:*", "!", 10);

std::string ReadCmdline(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("state keys of an unexpected shape: every command exits 2 naming the key, never aborts", "[redis][cli]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedStrings(*conn, "s:", 5, "v");
  dir.Write("0001_bang.lua", kBang);
  Keyshift ks(server, dir);
  struct Bad {
    const char* key;
    Command write;
  };
  const std::string ledger = "keyshift:{state}:ledger", ckpt = "keyshift:{state}:ckpt:1",
                    lock = "keyshift:{state}:lock";
  const Bad shapes[] = {
      {"ledger", {"HSET", ledger, "1", "[]"}},
      {"ledger", {"HSET", ledger, "1", "not json"}},
      {"ledger", {"HSET", ledger, "1", R"({"status":"applied","scanned":"many"})"}},
      {"ledger", {"HSET", ledger, "1", R"({"status":"applied","scanned":1e300})"}},
      {"ledger", {"HSET", ledger, "1", R"({"status":"applied","changed":18446744073709551615})"}},
      {"ledger", {"HSET", ledger, "1", R"({"status":["applied"]})"}},
      {"ledger", {"HSET", ledger, "1", R"({"status":"half-done"})"}},
      {"ledger", {"HSET", ledger, "1", R"({"status":"applied","name":{"a":1},"sha256":7})"}},
      {"ledger", {"HSET", ledger, "one", R"({"status":"applied"})"}},
      {"ledger", {"SET", ledger, "a string"}},
      {"ckpt:1", {"HSET", ckpt, "cursor", "-3"}},
      {"ckpt:1", {"HSET", ckpt, "scanned", "1e300"}},
      {"ckpt:1", {"HSET", ckpt, "status", "whatever"}},
      {"ckpt:1", {"RPUSH", ckpt, "x"}},
      {"lock", {"HSET", lock, "holder", "x"}},
  };
  for (const auto& bad : shapes) {
    Cmd(*conn, {"DEL", ledger, ckpt, lock});
    Cmd(*conn, bad.write);
    for (const char* command : {"status", "up", "down", "verify", "plan", "prune"}) {
      std::vector<std::string> args = {command};
      if (std::string(command) == "prune") args = {"prune", "1", "--yes"};
      CliResult r = ks.Run(args);
      INFO(bad.write[0] << " " << bad.write.back() << " -> keyshift " << command << "\n" << Describe(r));
      CHECK(r.exit_code == 2);
      CHECK_THAT(r.err, Catch::Contains(std::string("keyshift:{state}:") + bad.key));
      CHECK_THAT(r.err, !Catch::Contains("terminate") && !Catch::Contains("type_error"));
    }
  }
}

TEST_CASE("a lock value without expiry is named as not keyshift's, whatever its JSON shape", "[redis][cli]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_bang.lua", kBang);
  Keyshift ks(server, dir);
  for (const char* value : {R"({"holder":["x"],"pid":"many","since":7})", "[1,2]", "plain"}) {
    Cmd(*conn, {"SET", "keyshift:{state}:lock", value});
    CliResult r = ks.Run({"up"});
    INFO(Describe(r));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("no expiry") && !Catch::Contains("terminate"));
  }
}

TEST_CASE("the password comes from KEYSHIFT_PASSWORD, REDISCLI_AUTH or --password-file, and leaves argv",
          "[redis][cli]") {
  const std::string password = "pw-Zq81-never-shown";
  RedisServer server(RedisServer::Options{{}, password});
  auto conn = server.Connect();
  TempDir dir, scratch("keyshift-pw");
  SeedStrings(*conn, "s:", 300, "v");
  dir.Write("0001_bang.lua", kBang);
  Keyshift plain(server, dir);  // the URL has no password
  SECTION("environment and file") {
    CliResult env = RunKeyshift(plain.Args({"status"}), "", {{"KEYSHIFT_PASSWORD", password}});
    INFO(Describe(env));
    CHECK(env.exit_code == 0);
    CliResult cli_env = RunKeyshift(plain.Args({"status"}), "", {{"REDISCLI_AUTH", password}});
    CHECK(cli_env.exit_code == 0);
    std::string file = scratch.Write("pw", password + "\n");
    CliResult from_file = plain.Run({"--password-file", file, "status"});
    INFO(Describe(from_file));
    CHECK(from_file.exit_code == 0);
    CliResult missing = plain.Run({"--password-file", scratch.path() + "/none", "status"});
    CHECK(missing.exit_code == 2);
    CHECK_THAT(missing.err, Catch::Contains("--password-file"));
    CliResult none = plain.Run({"status"});
    CHECK(none.exit_code == 2);
    CHECK_THAT(none.err, Catch::Contains("KEYSHIFT_PASSWORD"));
    for (const auto* r : {&env, &cli_env, &from_file, &missing, &none}) CHECK_THAT(r->all(), !Catch::Contains(password));
  }
  SECTION("a password in --url is gone from /proc/PID/cmdline while the run goes on") {
    dir.Write("0001_bang.lua", AppendMigration("s:*", "!", 5, 3));
    Keyshift with_url(server.url_with_password(), dir);
    Spawned run = SpawnKeyshift(with_url.Args({"up"}), scratch, "run");
    for (int i = 0; i < 1000 && Cmd(*conn, {"EXISTS", "keyshift:{state}:ckpt:1"}).integer == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::string cmdline = ReadCmdline(run.pid);
    kill(run.pid, SIGTERM);
    WaitKeyshift(run);
    INFO(cmdline);
    CHECK_THAT(cmdline, Catch::Contains("--url") && Catch::Contains("@127.0.0.1"));
    CHECK_THAT(cmdline, !Catch::Contains(password));
  }
}

TEST_CASE("bytes from the data reach the terminal escaped: errors, skipped keys, status", "[redis][cli]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  Cmd(*conn, {"SET", "s:\x1b]0;title\x07", "\x1b[2J\x9b" "31m"});
  dir.Write("0001_fail.lua", R"(return {
  description = "fails with the value in the message",
  scan = { match = "s:*", type = "string" },
  transform = function(key, value) error("bad value " .. value) end,
})");
  Keyshift ks(server, dir);
  for (const char* policy : {"abort", "skip"}) {
    CliResult r = ks.Run({"up", "--on-error", policy});
    INFO(Describe(r));
    CHECK_THAT(r.err, Catch::Contains("\\x1b[2J\\x9b31m"));
    CHECK_FALSE(HasAnsi(r.all()));
    CHECK(r.all().find('\x07') == std::string::npos);
    CHECK(r.all().find('\x9b') == std::string::npos);
  }
  CliResult status = ks.Run({"status"});
  INFO(Describe(status));
  CHECK_FALSE(HasAnsi(status.all()));
  CHECK(status.all().find('\x9b') == std::string::npos);
}

TEST_CASE("down --to 0 undoes every migration, 0000 included", "[redis][cli]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedStrings(*conn, "s:", 10, "v");
  dir.Write("0000_first.lua", kBang);
  dir.Write("0001_second.lua", AppendMigration("s:*", "?"));
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  CHECK(Values(*conn, {"s:1"}) == std::vector<std::string>{"v!?"});
  CliResult down = ks.Run({"down", "--to", "0"});
  INFO(Describe(down));
  CHECK(down.exit_code == 0);
  for (const auto& v : Values(*conn, NumberedKeys("s:", 0, 10))) CHECK(v == "v");
  CliResult status = ks.Run({"status"});
  CHECK_THAT(status.out, !Catch::Contains("applied"));
}

TEST_CASE("after a --max-errors stop the summary, the failed-keys set, the ledger and status agree", "[redis][cli]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedStrings(*conn, "e:", 200, "v");
  dir.Write("0001_bang.lua", kFailsOnSeven);
  Keyshift ks(server, dir);
  CliResult r = ks.Run({"up", "--on-error", "skip", "--max-errors", "3"});
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  long long in_set = Cmd(*conn, {"SCARD", "keyshift:{state}:failed:1"}).integer;
  CHECK(in_set >= 3);
  CHECK_THAT(r.out, Catch::Contains(fmt::format("errors {} ", in_set)));
  CHECK_THAT(Cmd(*conn, {"HGET", "keyshift:{state}:ledger", "1"}).str,
             Catch::Contains(fmt::format("\"failed\":{}", in_set)));
  CliResult status = ks.Run({"status"});
  INFO(Describe(status));
  CHECK_THAT(status.out, Catch::Contains(fmt::format("{} failed so far", in_set)));
  // Every failing key left as it was is in the set; every other scanned key was written.
  long long scanned = std::stoll(Cmd(*conn, {"HGET", "keyshift:{state}:ckpt:1", "scanned"}).str);
  long long changed = std::stoll(Cmd(*conn, {"HGET", "keyshift:{state}:ckpt:1", "changed"}).str);
  CHECK(scanned == changed + in_set);
}

TEST_CASE("numbers out of range are shown short, with exit 2", "[cli]") {
  const std::string huge(300, '9');
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"up", "--batch", huge}, {"up", "--to", huge}, {"up", "--max-errors", huge}, {"down", "--steps", "1e300"},
           {"verify", huge}, {"prune", "-" + huge}, {"plan", "--sample", huge}}) {
    CliResult r = RunKeyshift(args);
    INFO(Describe(r));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(args[args.size() - 1].substr(0, 12)));
    CHECK(r.err.size() < 200);
  }
}

TEST_CASE("a long migration path is named once and whole in Lua errors", "[redis][cli]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  std::string deep = dir.path() + "/a_rather_long_directory_name/and_another_long_component/migrations";
  std::filesystem::create_directories(deep);
  std::string path = deep + "/0001_a_long_descriptive_slug_for_this_migration.lua";
  std::ofstream(path) << "return {\n  description = 'x',\n  transform = function(key, value)\n"
                         "    error('boom')\n  end,\n}\n";
  Cmd(*conn, {"SET", "k", "v"});
  Keyshift ks(server.url(), dir);
  CliResult r = RunKeyshift({"--url", server.url(), "--dir", deep, "up"});
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(path + ":4: boom"));
  std::string name = "0001_a_long_descriptive_slug_for_this_migration.lua";
  size_t first = r.err.find(name);
  CHECK(r.err.find(name, first + 1) == std::string::npos);
  CHECK_THAT(r.err, !Catch::Contains("..."));
}

}  // namespace keyshift::testing

namespace keyshift::testing {

TEST_CASE("a journal hash or failed-keys set of another type is exit 2 naming the key", "[redis][cli]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedStrings(*conn, "s:", 20, "v");
  dir.Write("0001_bang.lua", AppendMigration("s:*", "!", 10));
  Keyshift ks(server, dir);
  SECTION("journal") {
    REQUIRE(ks.Run({"up"}).exit_code == 0);
    auto journal = ScanKeys(*conn, "keyshift:j:1:*");
    REQUIRE_FALSE(journal.empty());
    Cmd(*conn, {"DEL", journal[0]});
    Cmd(*conn, {"SET", journal[0], "x"});
    CliResult r = ks.Run({"down"});
    INFO(Describe(r));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(journal[0]));
  }
  SECTION("failed-keys set, read by a resumed run") {
    Cmd(*conn, {"HSET", "keyshift:{state}:ckpt:1", "cursor", "0", "status", "running"});
    Cmd(*conn, {"SET", "keyshift:{state}:failed:1", "x"});
    CliResult r = ks.Run({"up"});
    INFO(Describe(r));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("keyshift:{state}:failed:1"));
    for (const auto& v : Values(*conn, NumberedKeys("s:", 0, 20))) CHECK(v == "v");
  }
}

}  // namespace keyshift::testing
