// Owns the lifecycle of the per-test redis-server: port choice, fork/exec,
// readiness probe (raw hiredis, so a bug in RedisConnection cannot mask a
// server that failed to start), and shutdown by pid.
#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "tests/support/child_process.h"

namespace keyshift::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kStartAttempts = 5;
constexpr auto kReadyTimeout = std::chrono::seconds(10);
constexpr auto kStopTimeout = std::chrono::seconds(5);

// The kernel hands out an unused port; another process may grab it before
// redis-server binds it, which StartOnce's retry absorbs.
int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  close(fd);
  REQUIRE(ok);
  return ntohs(addr.sin_port);
}

int FreeLoopbackPortBut(std::initializer_list<int> taken) {
  int port = 0;
  do port = FreeLoopbackPort();
  while (std::find(taken.begin(), taken.end(), port) != taken.end());
  return port;
}

// Resolved before fork: only async-signal-safe calls are allowed in the child.
std::string RedisServerBinary() {
  if (const char* over = std::getenv("KEYSHIFT_TEST_REDIS_SERVER")) return over;
  return FindExecutable("redis-server", "apt-get install redis-server");
}

}  // namespace

RedisServer::RedisServer(Tls tls, Options options) : options_(std::move(options)), tls_(std::move(tls)) { Start(); }

RedisServer::RedisServer() : RedisServer(Options{}) {}

RedisServer::RedisServer(Options options) : options_(std::move(options)) { Start(); }

void RedisServer::Start() {
  std::string pattern = (fs::temp_directory_path() / "keyshift-redis-XXXXXX").string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  dir_ = pattern;
  std::string why;
  // Only a lost port race is worth another try; anything else (a bad extra
  // arg, a missing binary) fails the same way every time.
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    if (StartOnce(&why)) return;
    if (LogTail().find("Address already in use") == std::string::npos) break;
  }
  std::string tail = LogTail();
  Stop();  // the destructor does not run when a constructor throws
  FAIL("redis-server did not start: " << why << "\n" << tail);
}

RedisServer::~RedisServer() { Stop(); }

std::string RedisServer::url() const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/0";
}

std::string RedisServer::url_with_password() const {
  if (options_.requirepass.empty()) return url();
  return "redis://:" + options_.requirepass + "@127.0.0.1:" + std::to_string(port_) + "/0";
}

std::string RedisServer::tls_url(const std::string& host) const {
  return "rediss://" + host + ":" + std::to_string(tls_port_) + "/0";
}

namespace {

std::vector<std::string> TlsArgs(const RedisServer::Tls& tls, int port) {
  return {"--tls-port", std::to_string(port), "--tls-cert-file", tls.cert, "--tls-key-file", tls.key,
          "--tls-ca-cert-file", tls.ca, "--tls-auth-clients", tls.require_client_cert ? "yes" : "no"};
}

}  // namespace

bool RedisServer::StartOnce(std::string* why) {
  port_ = FreeLoopbackPort();
  std::vector<std::string> args = {RedisServerBinary(), "--port", std::to_string(port_),
                                   "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                   "--dir", dir_, "--daemonize", "no",
                                   "--logfile", dir_ + "/redis.log"};
  if (!options_.requirepass.empty()) {
    args.insert(args.end(), {"--requirepass", options_.requirepass});
  }
  if (tls_) {
    tls_port_ = FreeLoopbackPortBut({port_});
    std::vector<std::string> tls = TlsArgs(*tls_, tls_port_);
    args.insert(args.end(), tls.begin(), tls.end());
  }
  if (options_.cluster) {
    // The default bus port (port + 10000) may be taken or past 65535.
    cluster_port_ = FreeLoopbackPortBut({port_, tls_port_});
    args.insert(args.end(), {"--cluster-enabled", "yes", "--cluster-port", std::to_string(cluster_port_),
                             "--cluster-config-file", dir_ + "/nodes.conf"});
    unlink((dir_ + "/nodes.conf").c_str());  // a failed attempt's node must not come back
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  unlink((dir_ + "/redis.log").c_str());  // the tail shown on failure is this attempt's
  pid_ = StartChild(args, dir_ + "/redis.out");
  if (WaitUntilReady(why)) return true;
  if (pid_ > 0) KillAndReap(pid_);
  pid_ = -1;
  return false;
}

bool RedisServer::WaitUntilReady(std::string* why) {
  auto deadline = Clock::now() + kReadyTimeout;
  while (Clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      *why = "redis-server on port " + std::to_string(port_) + " exited " + DescribeExit(status);
      return false;
    }
    if (AnswersAsUs()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *why = "redis-server on port " + std::to_string(port_) + " did not answer PING within 10 s";
  return false;
}

// PONG alone is not enough: if another process won the port race, the PING
// could reach someone else's server. INFO's process_id tells them apart.
bool RedisServer::AnswersAsUs() const {
  redisContext* ctx = redisConnectWithTimeout("127.0.0.1", port_, timeval{0, 200 * 1000});
  if (ctx == nullptr) return false;
  bool ours = false;
  if (ctx->err == 0) {
    redisSetTimeout(ctx, timeval{1, 0});
    if (!options_.requirepass.empty()) {
      freeReplyObject(redisCommand(ctx, "AUTH %s", options_.requirepass.c_str()));
    }
    auto* reply = static_cast<redisReply*>(redisCommand(ctx, "INFO server"));
    if (reply != nullptr && reply->type == REDIS_REPLY_STRING) {
      std::string info(reply->str, reply->len);
      ours = info.find("process_id:" + std::to_string(pid_) + "\r\n") != std::string::npos;
    }
    if (reply != nullptr) freeReplyObject(reply);
  }
  redisFree(ctx);
  return ours;
}

std::unique_ptr<Topology> RedisServer::Connect() const {
  auto url = ParseRedisUrl(url_with_password());
  REQUIRE(url.ok());
  auto connection = ConnectRedis(*url);
  if (!connection.ok()) FAIL("cannot connect to the test redis-server: " << connection.error().message);
  return SingleServer(std::move(connection.value()));
}

void RedisServer::Kill() {
  if (pid_ > 0) KillAndReap(pid_);
  pid_ = -1;
}

std::string RedisServer::LogTail() const {
  return Tail(dir_ + "/redis.log") + Tail(dir_ + "/redis.out");
}

void RedisServer::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    if (!WaitForExit(pid_, kStopTimeout, &status)) KillAndReap(pid_);
    pid_ = -1;
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

}  // namespace keyshift::testing
