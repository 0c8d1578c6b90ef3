// The I/O seam to Redis. Everything in the engine talks to a RedisConnection;
// StreamConnection (redis_client.cc) is the only code that touches hiredis
// (its command formatting and reply parser, over a Transport), so logic above
// it can be tested with a fake. redis_url.cc parses redis:// URLs.
//
// Pipelining is the primitive: Pipeline() sends every command, then reads every
// reply, in order. A per-key round trip is a bug; batch through Pipeline().
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "redis/transport.h"

namespace keyshift {

struct Reply {
  enum Kind { kNil, kStatus, kError, kInteger, kString, kArray };
  Kind kind = kNil;
  long long integer = 0;
  std::string str;              // kStatus, kError, kString
  std::vector<Reply> elements;  // kArray

  bool is_error() const { return kind == kError; }
  bool is_nil() const { return kind == kNil; }
};

using Command = std::vector<std::string>;

// redis[s]://[user:pass@]host[:port][/db]. Password kept only here; Redacted()
// is what may be printed. rediss:// turns tls.enabled on; the CLI fills in
// the rest of `tls` (--cacert ...), so every connection opened from this URL
// (lock renewal, script watchdog, cluster nodes) talks TLS the same way.
struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string user;
  std::string password;
  TlsSettings tls;
  std::string Redacted() const;
  std::string Address() const;  // host:port, an IPv6 host in brackets
};

// Parses a URL; a malformed one is a usage error (exit 2) whose message never
// contains the password. `password` (from the environment or a file) is used
// when the URL carries none; then redis://user@host names just the user.
Result<RedisUrl> ParseRedisUrl(const std::string& text, const std::string& password = "");

// The raw text of a --url value with anything that may be a password replaced
// by ***, for echoing a URL that may not even parse.
std::string RedactUrlText(const std::string& text);

class RedisConnection {
 public:
  virtual ~RedisConnection() = default;
  // Sends all commands, returns one reply per command. A transport failure
  // (connection lost, timeout) is an Error; a Redis error reply is not.
  virtual Result<std::vector<Reply>> Pipeline(const std::vector<Command>& commands) = 0;
  // Where this connection points, password redacted, for messages.
  virtual std::string Describe() const = 0;

  // One command; a Redis error reply becomes an Error too.
  Result<Reply> Call(const Command& command);

  // Pub/sub, for a connection used only to subscribe (`catchup --follow`):
  // Send writes a command without waiting for its reply; Receive returns the
  // next push (subscribe confirmations included), or nullopt when none came
  // within timeout_ms, so a caller can check for Ctrl-C or a deadline. The
  // connection is unusable after a transport Error: open a new one.
  virtual Status Send(const Command& command);
  virtual Result<std::optional<Reply>> Receive(int timeout_ms);
  // Whether Send/Receive carry ordinary commands and their replies in order
  // (one server, one connection), so a caller may keep several in flight.
  virtual bool CanStream() const { return false; }
};

// Connects (TLS when url.tls.enabled), authenticates and selects the
// database. Unreachable server, bad credentials, a refused certificate: exit-2
// errors with one-line messages. timeout_ms bounds the
// connect; command_timeout_ms bounds each wait for a reply (a stuck server
// becomes an Error rather than a hang).
// The hiredis this binary was built with ("0.14.1"), for --version.
std::string HiredisVersion();

Result<std::unique_ptr<RedisConnection>> ConnectRedis(const RedisUrl& url, int timeout_ms = 5000,
                                                      int command_timeout_ms = 30000);


}  // namespace keyshift
