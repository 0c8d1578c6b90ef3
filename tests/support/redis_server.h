// Test harness owning a private redis-server per test: started on a free
// loopback port in its own temp dir, stopped by pid, never outliving the test
// process. Integration tests never talk to a server they did not start.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "redis/redis_client.h"
#include "redis/topology.h"

namespace keyshift::testing {

class RedisServer {
 public:
  // A TLS port beside the plaintext one (which the harness and Connect()
  // keep using, so that seeding and inspection do not depend on the code
  // under test). Files from tls_certs.h.
  struct Tls {
    std::string cert, key;     // the server's certificate and key
    std::string ca;            // CA that client certificates must be signed by
    bool require_client_cert = false;
  };
  struct Options {
    std::vector<std::string> extra_args;  // appended to the redis-server command line
    std::string requirepass;              // non-empty: --requirepass, and Connect() authenticates
    // A cluster node: --cluster-enabled yes, nodes.conf in dir(), and the
    // cluster bus on a free port of its own (cluster_port()).
    bool cluster = false;
  };

  // Starts the server and waits until it answers PING; FAILs the test (with
  // the tail of the server's log) if it cannot.
  // (Two constructors, not a default argument: GCC cannot use Options'
  // member initializers before RedisServer is complete.)
  RedisServer();
  explicit RedisServer(Options options);
  // Also listens with TLS, on tls_port().
  RedisServer(Tls tls, Options options);
  // SIGTERM, wait up to 5 s, then SIGKILL; removes the temp dir.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  // The TLS port (Options::tls), else 0.
  int tls_port() const { return tls_port_; }
  // The cluster bus port (Options::cluster), else 0.
  int cluster_port() const { return cluster_port_; }
  // rediss://HOST:TLS_PORT/0; HOST 127.0.0.1 unless given (e.g. "localhost").
  std::string tls_url(const std::string& host = "127.0.0.1") const;
  // redis://127.0.0.1:PORT/0, never with a password (see url_with_password()).
  std::string url() const;
  // Like url(), plus ":PASSWORD@" when Options::requirepass is set.
  std::string url_with_password() const;
  pid_t pid() const { return pid_; }
  // The server's working dir (its log is redis.log in there).
  const std::string& dir() const { return dir_; }

  // A connection to db 0, authenticated if needed, as the engine sees a
  // single server (redis/topology.h); REQUIREs success.
  std::unique_ptr<Topology> Connect() const;
  // SIGKILL now and reap: for tests of "Redis goes away". pid() is -1 after.
  void Kill();
  // The last lines of the server's log and console output, for diagnostics.
  std::string LogTail() const;

 private:
  void Start();
  bool StartOnce(std::string* why);
  bool WaitUntilReady(std::string* why);
  bool AnswersAsUs() const;
  void Stop();

  Options options_;
  std::optional<Tls> tls_;
  std::string dir_;
  int port_ = 0;
  int tls_port_ = 0;
  int cluster_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace keyshift::testing
