// Owns the hiredis side of the Redis seam: redis:// URL parsing and redaction,
// and HiredisConnection (connect, AUTH/SELECT, pipelining, reconnect after a
// transport failure). No other file in keyshift includes hiredis.
#include "runtime/redis_client.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/time.h>

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

namespace keyshift {
namespace {

// ---------------------------------------------------------------- URL parsing

// A parse step either succeeds or says why not; the reason is shown to the
// user, so it must only ever quote text that comes after the credentials.
using Problem = std::optional<std::string>;

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int hi = HexValue(text[i + 1]), lo = HexValue(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// Redacted() must produce a URL that parses back to the same user, so
// anything outside the unreserved set is escaped.
std::string PercentEncode(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

// Plain decimal digits only: no sign, no spaces, no trailing text.
std::optional<int> ParseBoundedInt(std::string_view text, int lo, int hi) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  long long value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value < lo || value > hi) return std::nullopt;
  return static_cast<int>(value);
}

Problem ParseUserinfo(std::string_view info, const std::string& password_elsewhere, RedisUrl* url) {
  size_t colon = info.find(':');
  if (colon == std::string_view::npos && !password_elsewhere.empty()) {
    auto user = PercentDecode(info);
    if (!user) return "bad percent-encoding in the user name";
    url->user = std::move(*user);
    return std::nullopt;
  }
  if (colon == std::string_view::npos) {
    return "credentials need a password: redis://user:PASSWORD@host or redis://:PASSWORD@host";
  }
  auto user = PercentDecode(info.substr(0, colon));
  if (!user) return "bad percent-encoding in the user name";
  auto password = PercentDecode(info.substr(colon + 1));
  if (!password) return "bad percent-encoding in the password";
  if (password->empty()) return "the password is empty";
  url->user = std::move(*user);
  url->password = std::move(*password);
  return std::nullopt;
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

bool IsIpv6Char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

// Splits "[v6]:port", "[v6]", "host:port" or "host"; *port stays nullopt
// when there is no ':' (an empty port after ':' is still a port, and wrong).
Problem SplitHostPort(std::string_view text, std::string_view* host,
                      std::optional<std::string_view>* port) {
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return "unclosed '[' in the IPv6 host";
    *host = text.substr(1, close - 1);
    std::string_view after = text.substr(close + 1);
    if (after.empty()) return std::nullopt;
    if (after[0] != ':') return "unexpected text after the IPv6 host";
    *port = after.substr(1);
    return std::nullopt;
  }
  size_t colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
    return "an IPv6 host must be in brackets, e.g. redis://[::1]:6379";
  }
  *host = text.substr(0, colon);
  if (colon != std::string_view::npos) *port = text.substr(colon + 1);
  return std::nullopt;
}

Problem ParseHostPort(std::string_view text, RedisUrl* url) {
  std::string_view host;
  std::optional<std::string_view> port;
  bool bracketed = !text.empty() && text[0] == '[';
  if (Problem p = SplitHostPort(text, &host, &port)) return p;
  if (host.empty()) return "no host";
  for (char c : host) {
    if (bracketed ? !IsIpv6Char(c) : !IsHostChar(c)) {
      return bracketed ? "not an IPv6 address between [ and ]" : "invalid character in the host name";
    }
  }
  url->host = std::string(host);
  if (!port) return std::nullopt;
  auto number = ParseBoundedInt(*port, 1, 65535);
  if (!number) return fmt::format("port must be a number from 1 to 65535, got '{}'", *port);
  url->port = *number;
  return std::nullopt;
}

Problem ParseDb(std::string_view text, RedisUrl* url) {
  if (text.empty()) return std::nullopt;  // "redis://host/" means db 0
  if (text.find('?') != std::string_view::npos) return "query parameters are not supported";
  auto db = ParseBoundedInt(text, 0, INT_MAX);
  if (!db) return fmt::format("the database must be a non-negative number, got '{}'", text);
  url->db = *db;
  return std::nullopt;
}

std::string BracketedHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string HostPort(const RedisUrl& url) {
  return fmt::format("{}:{}", BracketedHost(url.host), url.port);
}

}  // namespace

std::string RedactUrlText(const std::string& text) {
  size_t start = text.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t at = text.rfind('@');
  if (at == std::string::npos || at < start) return text;
  size_t colon = text.find(':', start);
  // Without a ':' the lone userinfo may be a bare password: hide all of it.
  size_t hide_from = (colon == std::string::npos || colon > at) ? start : colon + 1;
  return text.substr(0, hide_from) + "***" + text.substr(at);
}

std::string RedisUrl::Redacted() const {
  std::string credentials;
  if (!user.empty() || !password.empty()) credentials = PercentEncode(user) + ":***@";
  return fmt::format("redis://{}{}:{}/{}", credentials, BracketedHost(host), port, db);
}

Result<RedisUrl> ParseRedisUrl(const std::string& text, const std::string& password) {
  auto invalid = [&](const std::string& reason) {
    return UsageError(fmt::format("invalid --url '{}': {}", RedactUrlText(text), reason));
  };
  if (StartsWithNoCase(text, "rediss://")) {
    return invalid("TLS (rediss://) is not supported by this build");
  }
  if (!StartsWithNoCase(text, "redis://")) return invalid("the URL must start with redis://");
  std::string_view rest = std::string_view(text).substr(8);
  RedisUrl url;
  // The last '@' ends the credentials, so an unescaped '@' or '/' in a
  // password still parses (and is still redacted).
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    if (Problem p = ParseUserinfo(rest.substr(0, at), password, &url)) return invalid(*p);
    rest = rest.substr(at + 1);
  }
  size_t slash = rest.find('/');
  if (Problem p = ParseHostPort(rest.substr(0, slash), &url)) return invalid(*p);
  if (slash != std::string_view::npos) {
    if (Problem p = ParseDb(rest.substr(slash + 1), &url)) return invalid(*p);
  }
  if (url.password.empty()) url.password = password;
  return url;
}

namespace {

// ----------------------------------------------------------------- hiredis

Reply ConvertReply(const redisReply& raw) {
  Reply reply;
  switch (raw.type) {
    case REDIS_REPLY_STATUS: reply.kind = Reply::kStatus; break;
    case REDIS_REPLY_ERROR: reply.kind = Reply::kError; break;
    case REDIS_REPLY_STRING: reply.kind = Reply::kString; break;
    case REDIS_REPLY_INTEGER: reply.kind = Reply::kInteger; break;
    case REDIS_REPLY_ARRAY: reply.kind = Reply::kArray; break;
    default: return reply;  // REDIS_REPLY_NIL
  }
  if (raw.type == REDIS_REPLY_INTEGER) reply.integer = raw.integer;
  if (raw.type == REDIS_REPLY_ARRAY) {
    reply.elements.reserve(raw.elements);
    for (size_t i = 0; i < raw.elements; ++i) reply.elements.push_back(ConvertReply(*raw.element[i]));
  } else if (raw.str != nullptr) {
    reply.str.assign(raw.str, raw.len);
  }
  return reply;
}

timeval ToTimeval(int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

// hiredis writes with write(2): a server that drops the connection while a
// pipeline is being sent would kill the whole process with SIGPIPE instead of
// giving us an Error. Only touch the disposition if nobody chose one.
void IgnoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
  });
}

class HiredisConnection final : public RedisConnection {
 public:
  HiredisConnection(RedisUrl url, int connect_timeout_ms, int command_timeout_ms)
      : url_(std::move(url)),
        connect_timeout_ms_(connect_timeout_ms),
        command_timeout_ms_(command_timeout_ms) {}
  ~HiredisConnection() override { Close(); }
  HiredisConnection(const HiredisConnection&) = delete;
  HiredisConnection& operator=(const HiredisConnection&) = delete;

  // Connects and replays AUTH/SELECT. Used for the first connection and for
  // reconnecting after a transport failure.
  Status Open(bool reconnect);
  Result<std::vector<Reply>> Pipeline(const std::vector<Command>& commands) override;
  std::string Describe() const override { return url_.Redacted(); }

 private:
  Problem Connect();
  Status Handshake(const std::string& where);
  Problem Exchange(const std::vector<Command>& commands, std::vector<Reply>* replies);
  std::string FailureReason() const;
  std::string Scrub(std::string message) const;
  void Close();

  RedisUrl url_;
  int connect_timeout_ms_;
  int command_timeout_ms_;
  redisContext* ctx_ = nullptr;  // null: never connected, or dropped after a transport failure
};

void HiredisConnection::Close() {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
}

Problem HiredisConnection::Connect() {
  Close();
  ctx_ = redisConnectWithTimeout(url_.host.c_str(), url_.port, ToTimeval(connect_timeout_ms_));
  if (ctx_ == nullptr) return "out of memory";
  Problem problem;
  if (ctx_->err != 0) {
    problem = ctx_->errstr;
  } else if (command_timeout_ms_ > 0 &&
             redisSetTimeout(ctx_, ToTimeval(command_timeout_ms_)) != REDIS_OK) {
    problem = fmt::format("cannot set the command timeout: {}", ctx_->errstr);
  } else if (redisEnableKeepAlive(ctx_) != REDIS_OK) {
    problem = fmt::format("cannot enable keep-alive: {}", ctx_->errstr);
  }
  if (problem) Close();
  return problem;
}

// Why the context failed, in words; a reply timeout shows up as EAGAIN.
std::string HiredisConnection::FailureReason() const {
  if (ctx_ == nullptr) return "not connected";
  if (ctx_->err == REDIS_ERR_IO && std::strcmp(ctx_->errstr, std::strerror(EAGAIN)) == 0) {
    return fmt::format("no reply within {} ms", command_timeout_ms_);
  }
  return ctx_->errstr[0] != '\0' ? ctx_->errstr : "unknown error";
}

// Redis echoes little of what it is sent, but a message is only ever printed
// after this, so a password cannot leak even if a server quotes it back.
std::string HiredisConnection::Scrub(std::string message) const {
  if (url_.password.empty()) return message;
  for (size_t pos = 0; (pos = message.find(url_.password, pos)) != std::string::npos; pos += 3) {
    message.replace(pos, url_.password.size(), "***");
  }
  return message;
}

// Sends every command, then reads every reply. On a transport failure returns
// the reason and drops the context: after a partial exchange the stream
// position is unknown, so the context can never be trusted again.
Problem HiredisConnection::Exchange(const std::vector<Command>& commands,
                                    std::vector<Reply>* replies) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const Command& command : commands) {
    argv.clear();
    lengths.clear();
    for (const std::string& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lengths.data()) !=
        REDIS_OK) {
      break;  // only out of memory; reported below via ctx_->err
    }
  }
  replies->reserve(commands.size());
  while (ctx_->err == 0 && replies->size() < commands.size()) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) break;
    replies->push_back(ConvertReply(*static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  if (ctx_->err == 0 && replies->size() == commands.size()) return std::nullopt;
  std::string reason = FailureReason();
  Close();
  return reason;
}

// The first refusal among the handshake replies, as a one-line message.
Problem HandshakeRefusal(const RedisUrl& url, const std::vector<Reply>& replies) {
  std::string at = HostPort(url);
  if (replies.size() == 2 && replies[0].is_error()) {
    return fmt::format("Redis at {} refused the credentials: {}", at, replies[0].str);
  }
  const Reply& last = replies.back();
  if (!last.is_error()) return std::nullopt;
  if (last.str.rfind("NOAUTH", 0) == 0) {
    return fmt::format(
        "Redis at {} requires a password: {} (give it in KEYSHIFT_PASSWORD, --password-file FILE or the URL)",
        at, last.str);
  }
  std::string what = url.db != 0 ? "SELECT " + std::to_string(url.db) : "PING";
  return fmt::format("Redis at {} refused {}: {}", at, what, last.str);
}

Status HiredisConnection::Handshake(const std::string& where) {
  std::vector<Command> commands;
  if (!url_.password.empty()) {
    commands.push_back(url_.user.empty() ? Command{"AUTH", url_.password}
                                         : Command{"AUTH", url_.user, url_.password});
  }
  // SELECT 0 is refused by cluster nodes, so db 0 is probed with PING instead;
  // either way a server that wants a password says so now, not mid-run.
  commands.push_back(url_.db != 0 ? Command{"SELECT", std::to_string(url_.db)} : Command{"PING"});
  std::vector<Reply> replies;
  if (Problem p = Exchange(commands, &replies)) {
    return UsageError(Scrub(fmt::format("{}: {}", where, *p)));
  }
  if (Problem refusal = HandshakeRefusal(url_, replies)) {
    Close();
    return UsageError(Scrub(*refusal));
  }
  return Status::Ok();
}

Status HiredisConnection::Open(bool reconnect) {
  std::string where =
      reconnect ? fmt::format("lost connection to Redis at {} and could not reconnect", HostPort(url_))
                : fmt::format("cannot connect to Redis at {}", HostPort(url_));
  if (Problem p = Connect()) return UsageError(Scrub(fmt::format("{}: {}", where, *p)));
  return Handshake(where);
}

Result<std::vector<Reply>> HiredisConnection::Pipeline(const std::vector<Command>& commands) {
  for (const Command& command : commands) {
    // Redis answers an empty multibulk with nothing at all: we would wait forever.
    if (command.empty()) return Fail("internal error: empty Redis command in a pipeline");
  }
  std::vector<Reply> replies;
  if (commands.empty()) return replies;
  // A dropped connection is re-established lazily, but the pipeline that
  // failed is never resent: some of its commands may already have run.
  if (ctx_ == nullptr) {
    if (Status s = Open(/*reconnect=*/true); !s) return s.error();
  }
  if (Problem p = Exchange(commands, &replies)) {
    return UsageError(Scrub(fmt::format("lost connection to Redis at {}: {}", HostPort(url_), *p)));
  }
  return replies;
}

}  // namespace

Result<Reply> RedisConnection::Call(const Command& command) {
  auto replies = Pipeline({command});
  if (!replies) return replies.error();
  Reply& reply = replies.value().front();
  if (reply.is_error()) return Fail(reply.str);
  return std::move(reply);
}

std::string HiredisVersion() { return fmt::format("{}.{}.{}", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH); }

Result<std::unique_ptr<RedisConnection>> ConnectRedis(const RedisUrl& url, int timeout_ms,
                                                      int command_timeout_ms) {
  IgnoreSigpipeOnce();
  auto connection = std::make_unique<HiredisConnection>(url, timeout_ms, command_timeout_ms);
  if (Status s = connection->Open(/*reconnect=*/false); !s) return s.error();
  return std::unique_ptr<RedisConnection>(std::move(connection));
}

}  // namespace keyshift
