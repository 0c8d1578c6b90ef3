// The connection side of the Redis seam: StreamConnection speaks RESP over a
// Transport (plain TCP or TLS, transport.h) with hiredis's command formatter
// and reply parser: connect, AUTH/SELECT, pipelining, reconnect after a
// transport failure. No other file in keyshift includes hiredis.
#include "redis/redis_client.h"

#include <charconv>

#include <hiredis/hiredis.h>
#include <signal.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <new>
#include <optional>
#include <utility>

namespace keyshift {
namespace {

// A step either succeeds or says why not, in one line.
using Problem = std::optional<std::string>;

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

// A server that drops the connection while a pipeline is being sent must give
// us an Error, not kill the process with SIGPIPE (TLS writes go through
// write(2), which has no MSG_NOSIGNAL). Only touch the disposition if nobody
// chose one.
void IgnoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
  });
}

struct ReaderFree {
  void operator()(redisReader* reader) const { redisReaderFree(reader); }
};

// A RESP length line ("*3\r\n", "$5\r\n"), written directly: hiredis's
// formatter allocates per command and prints every length with sprintf, a
// cost per argument of every key.
void AppendLength(char kind, size_t n, std::string* out) {
  char buf[24];
  buf[0] = kind;
  char* end = std::to_chars(buf + 1, buf + sizeof buf - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out->append(buf, end);
}

// Every command of a pipeline in RESP, back to back, ready to send.
std::string FormatCommands(const std::vector<Command>& commands) {
  size_t size = 0;
  for (const Command& command : commands)
    for (const std::string& arg : command) size += arg.size() + 16;
  std::string out;
  out.reserve(size + 16 * commands.size());
  for (const Command& command : commands) {
    AppendLength('*', command.size(), &out);
    for (const std::string& arg : command) {
      AppendLength('$', arg.size(), &out);
      out.append(arg);
      out.append("\r\n");
    }
  }
  return out;
}

class StreamConnection final : public RedisConnection {
 public:
  StreamConnection(RedisUrl url, int connect_timeout_ms, int command_timeout_ms)
      : url_(std::move(url)), connect_timeout_ms_(connect_timeout_ms), command_timeout_ms_(command_timeout_ms) {}

  // Connects and replays AUTH/SELECT. Used for the first connection and for
  // reconnecting after a transport failure.
  Status Open(bool reconnect);
  Result<std::vector<Reply>> Pipeline(const std::vector<Command>& commands) override;
  std::string Describe() const override { return url_.Redacted(); }
  Status Send(const Command& command) override;
  Result<std::optional<Reply>> Receive(int timeout_ms) override;
  bool CanStream() const override { return true; }

 private:
  Status Lost(const std::string& reason);
  Status Handshake(const std::string& where);
  Problem Exchange(const std::vector<Command>& commands, std::vector<Reply>* replies);
  Problem Drive(const std::string& out, size_t expected, std::vector<Reply>* replies);
  Problem TakeReplies(size_t expected, std::vector<Reply>* replies);
  std::string Scrub(std::string message) const;
  void Close();

  RedisUrl url_;
  int connect_timeout_ms_;
  int command_timeout_ms_;
  // Both null: never connected, or dropped after a transport failure.
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<redisReader, ReaderFree> reader_;
};

void StreamConnection::Close() {
  transport_.reset();
  reader_.reset();
}

// Redis echoes little of what it is sent, but a message is only ever printed
// after this, so a password cannot leak even if a server quotes it back.
std::string StreamConnection::Scrub(std::string message) const {
  if (url_.password.empty()) return message;
  for (size_t pos = 0; (pos = message.find(url_.password, pos)) != std::string::npos; pos += 3) {
    message.replace(pos, url_.password.size(), "***");
  }
  return message;
}

// Moves every complete reply out of the parser.
Problem StreamConnection::TakeReplies(size_t expected, std::vector<Reply>* replies) {
  while (replies->size() < expected) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
      return fmt::format("bad reply from the server: {}", reader_->errstr);
    }
    if (raw == nullptr) return std::nullopt;
    replies->push_back(ConvertReply(*static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return std::nullopt;
}

// Writes `out` while reading replies as they come, so neither side ever waits
// on a full socket buffer. The command timeout bounds each wait without
// progress, as it did for one blocking read.
Problem StreamConnection::Drive(const std::string& out, size_t expected, std::vector<Reply>* replies) {
  static thread_local char buffer[64 * 1024];
  using Clock = std::chrono::steady_clock;
  auto timeout = std::chrono::milliseconds(command_timeout_ms_);
  Deadline deadline = command_timeout_ms_ > 0 ? Clock::now() + timeout : Deadline::max();
  size_t sent = 0;
  bool readable = false;  // after a Wait, until a Receive finds nothing
  bool moved = false;     // bytes went either way since the last Wait
  while (replies->size() < expected) {
    if (sent < out.size()) {
      auto n = transport_->Send(out.data() + sent, out.size() - sent);
      if (!n.ok()) return n.error().message;
      sent += *n;
      moved = moved || *n > 0;
    }
    if (readable) {
      auto n = transport_->Receive(buffer, sizeof buffer);
      if (!n.ok()) return n.error().message;
      readable = *n > 0;
      moved = moved || readable;
      if (readable && redisReaderFeed(reader_.get(), buffer, *n) != REDIS_OK) return "out of memory";
      if (Problem p = TakeReplies(expected, replies)) return p;
      if (readable) continue;
    }
    if (moved && command_timeout_ms_ > 0) deadline = Clock::now() + timeout;
    moved = false;
    auto ready = transport_->Wait(sent < out.size(), deadline);
    if (!ready.ok()) return ready.error().message;
    if (!*ready) return fmt::format("no reply within {} ms", command_timeout_ms_);
    readable = true;
  }
  return std::nullopt;
}

// Sends every command and reads every reply. On a transport failure returns
// the reason and drops the connection: after a partial exchange the stream
// position is unknown, so it can never be trusted again.
Problem StreamConnection::Exchange(const std::vector<Command>& commands, std::vector<Reply>* replies) {
  if (!transport_) return "not connected";
  replies->reserve(commands.size());
  Problem problem = Drive(FormatCommands(commands), commands.size(), replies);
  if (problem) Close();
  return problem;
}

// The first refusal among the handshake replies, as a one-line message.
Problem HandshakeRefusal(const RedisUrl& url, const std::vector<Reply>& replies) {
  std::string at = url.Address();
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

Status StreamConnection::Handshake(const std::string& where) {
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
    // A TLS port hangs up on a plaintext hello without a word.
    bool hung_up = *p == kClosedByServer || *p == std::strerror(ECONNRESET);
    std::string hint = url_.tls.enabled || !hung_up ? "" : " (is it a TLS port? then use rediss://)";
    return UsageError(Scrub(fmt::format("{}: {}{}", where, *p, hint)));
  }
  if (Problem refusal = HandshakeRefusal(url_, replies)) {
    Close();
    return UsageError(Scrub(*refusal));
  }
  return Status::Ok();
}

Status StreamConnection::Open(bool reconnect) {
  std::string where =
      reconnect ? fmt::format("lost connection to Redis at {} and could not reconnect", url_.Address())
                : fmt::format("cannot connect to Redis at {}", url_.Address());
  Close();
  auto transport = OpenTransport(url_.host, url_.port, url_.tls, connect_timeout_ms_);
  if (!transport.ok()) return UsageError(Scrub(fmt::format("{}: {}", where, transport.error().message)));
  transport_ = std::move(transport.value());
  reader_.reset(redisReaderCreate());
  if (!reader_) throw std::bad_alloc();
  return Handshake(where);
}

Result<std::vector<Reply>> StreamConnection::Pipeline(const std::vector<Command>& commands) {
  for (const Command& command : commands) {
    // Redis answers an empty multibulk with nothing at all: we would wait forever.
    if (command.empty()) return Fail("internal error: empty Redis command in a pipeline");
  }
  std::vector<Reply> replies;
  if (commands.empty()) return replies;
  // A dropped connection is re-established lazily, but the pipeline that
  // failed is never resent: some of its commands may already have run.
  if (!transport_) {
    if (Status s = Open(/*reconnect=*/true); !s) return s.error();
  }
  if (Problem p = Exchange(commands, &replies)) {
    return UsageError(Scrub(fmt::format("lost connection to Redis at {}: {}", url_.Address(), *p)));
  }
  return replies;
}

Status StreamConnection::Lost(const std::string& reason) {
  Close();
  return UsageError(Scrub(fmt::format("lost connection to Redis at {}: {}", url_.Address(), reason)));
}

Status StreamConnection::Send(const Command& command) {
  if (!transport_) return Lost("not connected");
  std::string out = FormatCommands({command});
  Deadline deadline = command_timeout_ms_ > 0 ? std::chrono::steady_clock::now() +
                                                    std::chrono::milliseconds(command_timeout_ms_)
                                              : Deadline::max();
  for (size_t sent = 0; sent < out.size();) {
    auto n = transport_->Send(out.data() + sent, out.size() - sent);
    if (!n.ok()) return Lost(n.error().message);
    sent += *n;
    if (*n > 0) continue;
    auto ready = transport_->Wait(true, deadline);
    if (!ready.ok()) return Lost(ready.error().message);
    if (!*ready) return Lost(fmt::format("could not send within {} ms", command_timeout_ms_));
  }
  return Status::Ok();
}

// A push (or reply) already parsed is returned first; otherwise waits up to
// timeout_ms for one, so a subscriber can check for Ctrl-C or a deadline.
Result<std::optional<Reply>> StreamConnection::Receive(int timeout_ms) {
  static thread_local char buffer[64 * 1024];
  if (!transport_) return Lost("not connected").error();
  Deadline deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<Reply> got;
  while (true) {
    if (Problem p = TakeReplies(1, &got)) return Lost(*p).error();
    if (!got.empty()) return std::optional<Reply>(std::move(got.front()));
    auto ready = transport_->Wait(false, deadline);
    if (!ready.ok()) return Lost(ready.error().message).error();
    if (!*ready) return std::optional<Reply>();
    auto n = transport_->Receive(buffer, sizeof buffer);
    if (!n.ok()) return Lost(n.error().message).error();
    if (*n > 0 && redisReaderFeed(reader_.get(), buffer, *n) != REDIS_OK) return Lost("out of memory").error();
  }
}

}  // namespace

Status RedisConnection::Send(const Command&) { return Fail("this connection cannot subscribe"); }
Result<std::optional<Reply>> RedisConnection::Receive(int) { return Fail("this connection cannot subscribe"); }

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
  auto connection = std::make_unique<StreamConnection>(url, timeout_ms, command_timeout_ms);
  if (Status s = connection->Open(/*reconnect=*/false); !s) return s.error();
  return std::unique_ptr<RedisConnection>(std::move(connection));
}

}  // namespace keyshift
