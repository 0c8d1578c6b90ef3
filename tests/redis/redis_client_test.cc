// Tests for redis/redis_client: URL parsing and redaction ([url], no server),
// and HiredisConnection against a private redis-server per test ([redis]).
#include "redis/redis_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch.hpp>
#include <chrono>
#include <map>
#include <tuple>
#include <string>

#include "tests/support/redis_server.h"

namespace keyshift {
namespace {

using testing::RedisServer;

RedisUrl MustParse(const std::string& text) {
  auto url = ParseRedisUrl(text);
  INFO(text);
  if (!url.ok()) FAIL(url.error().message);
  return url.value();
}

Result<std::unique_ptr<RedisConnection>> ConnectTo(const std::string& text, int command_timeout_ms = 30000) {
  auto url = ParseRedisUrl(text);
  REQUIRE(url.ok());
  return ConnectRedis(*url, 5000, command_timeout_ms);
}

std::string Bytes(const char* data, size_t size) { return std::string(data, size); }

std::map<std::string, std::string> PairsOf(const Reply& array) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < array.elements.size(); i += 2) {
    out[array.elements[i].str] = array.elements[i + 1].str;
  }
  return out;
}

// ------------------------------------------------------------------ [url]

TEST_CASE("accepted redis:// forms", "[url]") {
  struct Case {
    const char* text;
    std::string host;
    int port, db;
    std::string user, password;
  };
  const Case cases[] = {
      {"redis://127.0.0.1:6379/0", "127.0.0.1", 6379, 0, "", ""},
      {"redis://localhost", "localhost", 6379, 0, "", ""},
      {"redis://cache.internal:6380", "cache.internal", 6380, 0, "", ""},
      {"redis://my_host-1/5", "my_host-1", 6379, 5, "", ""},
      {"redis://host/", "host", 6379, 0, "", ""},
      {"redis://user:pass@host:1234/2", "host", 1234, 2, "user", "pass"},
      {"redis://:pass@host", "host", 6379, 0, "", "pass"},
      {"redis://[::1]:6380", "::1", 6380, 0, "", ""},
      {"redis://[::1]", "::1", 6379, 0, "", ""},
      {"redis://u:p@[fe80::1:2]:7000/9", "fe80::1:2", 7000, 9, "u", "p"},
      {"redis://us%40er:p%40ss%3Aw%2Fd%25@host", "host", 6379, 0, "us@er", "p@ss:w/d%"},
      {"redis://:p@ss/w:rd@host", "host", 6379, 0, "", "p@ss/w:rd"},
      {"REDIS://Host:1/2147483647", "Host", 1, 2147483647, "", ""},
      {"redis://host:65535", "host", 65535, 0, "", ""},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    RedisUrl url = MustParse(c.text);
    CHECK(url.host == c.host);
    CHECK(url.port == c.port);
    CHECK(url.db == c.db);
    CHECK(url.user == c.user);
    CHECK(url.password == c.password);
  }
}

TEST_CASE("Redacted() hides the password and round-trips", "[url]") {
  CHECK(MustParse("redis://user:pass@host:1234/2").Redacted() == "redis://user:***@host:1234/2");
  CHECK(MustParse("redis://:pass@host").Redacted() == "redis://:***@host:6379/0");
  CHECK(MustParse("redis://host").Redacted() == "redis://host:6379/0");
  CHECK(RedisUrl{}.Redacted() == "redis://127.0.0.1:6379/0");
  CHECK(MustParse("redis://[::1]:6380/4").Redacted() == "redis://[::1]:6380/4");

  RedisUrl odd = MustParse("redis://us%40e%3Ar:pw@host/1");
  CHECK(odd.Redacted() == "redis://us%40e%3Ar:***@host:6379/1");
  RedisUrl back = MustParse(odd.Redacted());
  CHECK(back.user == "us@e:r");
  CHECK(back.host == "host");
  CHECK(back.db == 1);
}

TEST_CASE("rediss:// turns TLS on; redis:// leaves it off; Redacted() keeps the scheme", "[url]") {
  const std::tuple<const char*, bool, std::string, int, int, std::string> cases[] = {
      {"rediss://host", true, "host", 6379, 0, "rediss://host:6379/0"},
      {"REDISS://u:pw@cache.example:6380/2", true, "cache.example", 6380, 2, "rediss://u:***@cache.example:6380/2"},
      {"rediss://:pw@[::1]:7000", true, "::1", 7000, 0, "rediss://:***@[::1]:7000/0"},
      {"redis://host", false, "host", 6379, 0, "redis://host:6379/0"},
  };
  for (const auto& [text, tls, host, port, db, redacted] : cases) {
    INFO(text);
    RedisUrl url = MustParse(text);
    CHECK(url.tls.enabled == tls);
    CHECK(url.host == host);
    CHECK(url.port == port);
    CHECK(url.db == db);
    CHECK(url.Redacted() == redacted);
    CHECK(MustParse(url.Redacted()).tls.enabled == tls);
    // Only the scheme says TLS; how to verify comes from the CLI.
    CHECK(url.tls.ca_file.empty());
    CHECK_FALSE(url.tls.insecure);
  }
}

TEST_CASE("rejected URLs are usage errors with a reason", "[url]") {
  const std::pair<const char*, const char*> cases[] = {
      {"redisss://host:6379", "must start with redis:// (or rediss:// for TLS)"},
      {"rediss:/host", "must start with redis://"},
      {"rediss://", "no host"},
      {"rediss://host:0", "got '0'"},
      {"http://host", "must start with redis://"},
      {"host:6379", "must start with redis://"},
      {"", "must start with redis://"},
      {"redis:/host", "must start with redis://"},
      {"redis://", "no host"},
      {"redis:///0", "no host"},
      {"redis://:6379", "no host"},
      {"redis://host:", "port must be a number from 1 to 65535, got ''"},
      {"redis://host:0", "got '0'"},
      {"redis://host:65536", "got '65536'"},
      {"redis://host:abc", "got 'abc'"},
      {"redis://host:-1", "got '-1'"},
      {"redis://host:6379x", "got '6379x'"},
      {"redis://host: 6379", "got ' 6379'"},
      {"redis://host/abc", "database must be a non-negative number, got 'abc'"},
      {"redis://host/-1", "got '-1'"},
      {"redis://host/1/2", "got '1/2'"},
      {"redis://host/0 ", "got '0 '"},
      {"redis://host/99999999999", "got '99999999999'"},
      {"redis://host/0?timeout=1", "query parameters are not supported"},
      {"redis://::1:6379", "must be in brackets"},
      {"redis://[::1", "unclosed '['"},
      {"redis://[::1]x", "unexpected text after the IPv6 host"},
      {"redis://[]:6379", "no host"},
      {"redis://[zz::1]", "not an IPv6 address"},
      {"redis://ho st", "invalid character in the host name"},
      {"redis://user@host", "credentials need a password"},
      {"redis://user:@host", "the password is empty"},
      {"redis://u:%zz@host", "bad percent-encoding in the password"},
      {"redis://u:abc%2@host", "bad percent-encoding in the password"},
      {"redis://%g0:pw@host", "bad percent-encoding in the user name"},
  };
  for (const auto& [text, reason] : cases) {
    INFO(text);
    auto url = ParseRedisUrl(text);
    REQUIRE_FALSE(url.ok());
    CHECK(url.error().exit_code == kExitUsage);
    CHECK(url.error().message.rfind("invalid --url '", 0) == 0);
    CHECK_THAT(url.error().message, Catch::Contains(reason));
    CHECK(url.error().message.find('\n') == std::string::npos);
  }
  CHECK(ParseRedisUrl("redis://host:6379x").error().message ==
        "invalid --url 'redis://host:6379x': port must be a number from 1 to 65535, got '6379x'");
}

TEST_CASE("no URL error message contains the password", "[url]") {
  const std::string secret = "s3cr3t-PW";
  const std::string cases[] = {
      "rediss://u:" + secret + "@host:0",
      "rediss://u:" + secret + "@host/x",
      "http://u:" + secret + "@host",
      "redis://u:" + secret + "@host:99999",
      "redis://u:" + secret + "@host/x",
      "redis://:" + secret + "@",
      "redis://" + secret + "@host",
      "redis://u:" + secret + "%zz@host",
      "redis://u:" + secret + "@[::1",
      "redis://u:" + secret + "@ho st/0",
      "redis://u:" + secret + "@host/0?password=x",
      "redis://u:" + secret + "/x@host:0",
      secret + "@host",
      "u:" + secret + "@host",
  };
  for (const std::string& text : cases) {
    INFO(text);
    auto url = ParseRedisUrl(text);
    REQUIRE_FALSE(url.ok());
    CHECK(url.error().message.find("s3cr3t") == std::string::npos);
    CHECK_THAT(url.error().message, Catch::Contains("***"));
  }
  CHECK(ParseRedisUrl("redis://u:" + secret + "@host:0").error().message ==
        "invalid --url 'redis://u:***@host:0': port must be a number from 1 to 65535, got '0'");
}

TEST_CASE("RedactUrlText hides anything that may be a password", "[url]") {
  CHECK(RedactUrlText("redis://u:pw@h:1/0") == "redis://u:***@h:1/0");
  CHECK(RedactUrlText("redis://:pw@h") == "redis://:***@h");
  CHECK(RedactUrlText("redis://pw@h") == "redis://***@h");
  CHECK(RedactUrlText("redis://u:p@w@h") == "redis://u:***@h");
  CHECK(RedactUrlText("redis://h:1/0") == "redis://h:1/0");
  CHECK(RedactUrlText("u:pw@h") == "u:***@h");
  CHECK(RedactUrlText("") == "");
}

// ---------------------------------------------------------------- [redis]

TEST_CASE("pipelined round trip is binary safe", "[redis]") {
  RedisServer server;
  auto conn = server.Connect();
  const std::string key = Bytes("k\0ey", 4);
  const std::string value = Bytes("a\0b\xff\r\n*3\r\n$\0", 12);
  const std::string field = Bytes("f\0", 2);
  auto replies = conn->Pipeline({
      {"SET", key, value},
      {"GET", key},
      {"HSET", "h", "plain", "v1", field, value},
      {"HGETALL", "h"},
      {"INCR", "counter"},
      {"STRLEN", key},
  });
  REQUIRE(replies.ok());
  REQUIRE(replies->size() == 6);
  const auto& r = replies.value();
  CHECK(r[0].kind == Reply::kStatus);
  CHECK(r[0].str == "OK");
  CHECK(r[1].kind == Reply::kString);
  CHECK(r[1].str == value);
  CHECK(r[2].kind == Reply::kInteger);
  CHECK(r[2].integer == 2);
  REQUIRE(r[3].kind == Reply::kArray);
  CHECK(PairsOf(r[3]) == std::map<std::string, std::string>{{"plain", "v1"}, {field, value}});
  CHECK(r[4].integer == 1);
  CHECK(r[5].integer == 12);
}

TEST_CASE("an error reply mid-pipeline does not disturb the others", "[redis]") {
  RedisServer server;
  auto conn = server.Connect();
  auto replies = conn->Pipeline({
      {"SET", "a", "1"},
      {"SET", "s", "not a number"},
      {"INCR", "s"},
      {"NO-SUCH-COMMAND", "x"},
      {"GET", "a"},
      {"HGET", "a", "f"},
      {"INCR", "a"},
  });
  REQUIRE(replies.ok());
  const auto& r = replies.value();
  REQUIRE(r.size() == 7);
  CHECK(r[2].is_error());
  CHECK_THAT(r[2].str, Catch::StartsWith("ERR value is not an integer"));
  CHECK(r[3].is_error());
  CHECK_THAT(r[3].str, Catch::StartsWith("ERR unknown command"));
  CHECK(r[4].str == "1");
  CHECK(r[5].is_error());
  CHECK_THAT(r[5].str, Catch::StartsWith("WRONGTYPE"));
  CHECK(r[6].integer == 2);
  // And the connection is still fine for the next round trip.
  auto after = conn->Call({"GET", "a"});
  REQUIRE(after.ok());
  CHECK(after->str == "2");
}

TEST_CASE("nil replies, empty pipelines and empty commands", "[redis]") {
  RedisServer server;
  auto conn = server.Connect();
  auto replies = conn->Pipeline({{"GET", "missing"}, {"HGET", "missing", "f"}, {"LPOP", "missing"}});
  REQUIRE(replies.ok());
  for (const Reply& reply : replies.value()) CHECK(reply.is_nil());

  auto none = conn->Pipeline({});
  REQUIRE(none.ok());
  CHECK(none->empty());

  auto empty = conn->Pipeline({{"PING"}, {}});
  REQUIRE_FALSE(empty.ok());
  CHECK_THAT(empty.error().message, Catch::Contains("empty Redis command"));
  CHECK(conn->Call({"PING"})->str == "PONG");  // nothing was sent
}

TEST_CASE("nested arrays: SCAN and a nested script result", "[redis]") {
  RedisServer server;
  auto conn = server.Connect();
  REQUIRE(conn->Pipeline({{"SET", "user:1", "a"}, {"SET", "user:2", "b"}, {"SET", "other", "c"}}).ok());
  auto scan = conn->Call({"SCAN", "0", "MATCH", "user:*", "COUNT", "1000"});
  REQUIRE(scan.ok());
  REQUIRE(scan->kind == Reply::kArray);
  REQUIRE(scan->elements.size() == 2);
  CHECK(scan->elements[0].kind == Reply::kString);
  CHECK(scan->elements[0].str == "0");
  REQUIRE(scan->elements[1].kind == Reply::kArray);
  std::map<std::string, int> keys;
  for (const Reply& k : scan->elements[1].elements) keys[k.str]++;
  CHECK(keys == std::map<std::string, int>{{"user:1", 1}, {"user:2", 1}});

  auto nested = conn->Call({"EVAL", "return {1, {'two', {3, redis.status_reply('OK')}}, {}}", "0"});
  REQUIRE(nested.ok());
  REQUIRE(nested->elements.size() == 3);
  CHECK(nested->elements[0].integer == 1);
  const Reply& inner = nested->elements[1];
  CHECK(inner.elements[0].str == "two");
  CHECK(inner.elements[1].elements[0].integer == 3);
  CHECK(inner.elements[1].elements[1].kind == Reply::kStatus);
  CHECK(nested->elements[2].kind == Reply::kArray);
  CHECK(nested->elements[2].elements.empty());
}

TEST_CASE("Call turns an error reply into an Error", "[redis]") {
  RedisServer server;
  auto conn = server.Connect();
  auto ok = conn->Call({"SET", "k", "v"});
  REQUIRE(ok.ok());
  CHECK(ok->str == "OK");
  auto bad = conn->Call({"LPUSH", "k", "x"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().exit_code == kExitFailed);
  CHECK_THAT(bad.error().message, Catch::StartsWith("WRONGTYPE"));
}

TEST_CASE("a large pipeline goes through in one exchange", "[redis]") {
  RedisServer server;
  auto conn = server.Connect();
  std::vector<Command> commands;
  const std::string value(200, 'x');
  for (int i = 0; i < 20000; ++i) commands.push_back({"SET", "key:" + std::to_string(i), value});
  commands.push_back({"DBSIZE"});
  auto replies = conn->Pipeline(commands);
  REQUIRE(replies.ok());
  REQUIRE(replies->size() == commands.size());
  CHECK(replies->back().integer == 20000);
}

TEST_CASE("nothing listening: exit-2 error naming host:port", "[redis]") {
  // A bound but not listening socket refuses connections, and holding it
  // keeps anyone else from taking the port meanwhile.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  auto conn = ConnectTo("redis://127.0.0.1:" + port + "/0");
  close(fd);
  REQUIRE_FALSE(conn.ok());
  CHECK(conn.error().exit_code == kExitUsage);
  CHECK(conn.error().message == "cannot connect to Redis at 127.0.0.1:" + port + ": Connection refused");
}

TEST_CASE("requirepass: missing, wrong and right credentials", "[redis]") {
  const std::string secret = "secret-Pa55";
  RedisServer server({{}, secret});
  const std::string at = "127.0.0.1:" + std::to_string(server.port());

  SECTION("no password") {
    auto conn = ConnectTo(server.url());
    REQUIRE_FALSE(conn.ok());
    CHECK(conn.error().exit_code == kExitUsage);
    CHECK_THAT(conn.error().message, Catch::StartsWith("Redis at " + at + " requires a password: NOAUTH"));
  }
  SECTION("wrong password, with and without a user") {
    for (const char* creds : {":wrong-Pa55word", "default:wrong-Pa55word"}) {
      auto conn = ConnectTo(std::string("redis://") + creds + "@" + at + "/3");
      REQUIRE_FALSE(conn.ok());
      CHECK(conn.error().exit_code == kExitUsage);
      CHECK_THAT(conn.error().message,
                 Catch::StartsWith("Redis at " + at + " refused the credentials: WRONGPASS"));
      CHECK(conn.error().message.find("wrong-Pa55word") == std::string::npos);
      CHECK(conn.error().message.find('\n') == std::string::npos);
    }
  }
  SECTION("right password, AUTH pass and AUTH user pass") {
    for (const std::string& creds : {":" + secret, "default:" + secret}) {
      auto conn = ConnectTo("redis://" + creds + "@" + at + "/0");
      REQUIRE(conn.ok());
      CHECK(conn.value()->Call({"PING"})->str == "PONG");
      CHECK(conn.value()->Describe().find(secret) == std::string::npos);
      CHECK_THAT(conn.value()->Describe(), Catch::Contains(":***@"));
    }
    CHECK(server.Connect()->Call({"PING"})->str == "PONG");
  }
}

TEST_CASE("the URL's db is selected", "[redis]") {
  RedisServer server;
  const std::string base = "redis://127.0.0.1:" + std::to_string(server.port());
  auto db3 = ConnectTo(base + "/3");
  REQUIRE(db3.ok());
  REQUIRE(db3.value()->Call({"SET", "only-in-3", "yes"}).ok());
  CHECK(db3.value()->Describe() == base + "/3");

  auto db0 = server.Connect();
  CHECK(db0->Call({"GET", "only-in-3"})->is_nil());
  CHECK(db0->Call({"DBSIZE"})->integer == 0);
  CHECK(db3.value()->Call({"GET", "only-in-3"})->str == "yes");

  auto out_of_range = ConnectTo(base + "/16");
  REQUIRE_FALSE(out_of_range.ok());
  CHECK(out_of_range.error().exit_code == kExitUsage);
  CHECK_THAT(out_of_range.error().message, Catch::Contains("refused SELECT 16: ERR DB index is out of range"));
}

TEST_CASE("the server is killed mid-session: an Error, no crash, no hang", "[redis]") {
  RedisServer server;
  auto conn = server.Connect();
  REQUIRE(conn->Call({"SET", "k", "v"}).ok());
  server.Kill();

  // Megabytes to a dead peer: write() hits EPIPE, which must not be SIGPIPE.
  std::vector<Command> commands(200, Command{"SET", "k", std::string(20000, 'x')});
  auto start = std::chrono::steady_clock::now();
  auto replies = conn->Pipeline(commands);
  REQUIRE_FALSE(replies.ok());
  CHECK(replies.error().exit_code == kExitUsage);
  CHECK_THAT(replies.error().message, Catch::StartsWith("lost connection to Redis at 127.0.0.1:" +
                                                        std::to_string(server.port()) + ": "));

  auto again = conn->Call({"GET", "k"});
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().exit_code == kExitUsage);
  CHECK_THAT(again.error().message, Catch::StartsWith("lost connection to Redis at 127.0.0.1:"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("after a dropped connection the next call reconnects with AUTH and SELECT", "[redis]") {
  RedisServer server({{}, "pw"});
  auto conn = ConnectTo("redis://:pw@127.0.0.1:" + std::to_string(server.port()) + "/5");
  REQUIRE(conn.ok());
  REQUIRE(conn.value()->Call({"SET", "in-5", "yes"}).ok());
  auto id = conn.value()->Call({"CLIENT", "ID"});
  REQUIRE(id.ok());
  REQUIRE(server.Connect()->Call({"CLIENT", "KILL", "ID", std::to_string(id->integer)})->integer == 1);

  auto failed = conn.value()->Pipeline({{"GET", "in-5"}});
  REQUIRE_FALSE(failed.ok());  // never retried behind the caller's back
  CHECK_THAT(failed.error().message, Catch::StartsWith("lost connection to Redis at"));

  auto again = conn.value()->Call({"GET", "in-5"});
  REQUIRE(again.ok());
  CHECK(again->str == "yes");
}

TEST_CASE("a command slower than the command timeout is an Error", "[redis]") {
  RedisServer server;
  auto conn = ConnectTo(server.url(), /*command_timeout_ms=*/300);
  REQUIRE(conn.ok());
  auto slow = conn.value()->Pipeline({{"BLPOP", "nothing", "3"}});
  REQUIRE_FALSE(slow.ok());
  CHECK(slow.error().exit_code == kExitUsage);
  CHECK_THAT(slow.error().message, Catch::EndsWith("no reply within 300 ms"));
  CHECK(conn.value()->Call({"PING"})->str == "PONG");  // a fresh connection
}

}  // namespace
}  // namespace keyshift
