// Plain TCP and OpenSSL TLS transports. The TCP part resolves, connects with a
// deadline and tunes the socket; the TLS part verifies the server (CA, name,
// dates) and turns OpenSSL's error queue into one sentence a user can act on.
#include "redis/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

namespace keyshift {
namespace {

using Clock = std::chrono::steady_clock;

// poll()'s timeout for a deadline: -1 forever, else the milliseconds left
// (rounded up, so a wait never ends just before its deadline).
int PollTimeout(Deadline deadline) {
  if (deadline == Deadline::max()) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, INT_MAX));
}

// Waits for `events` on fd; false on timeout. EINTR just waits again.
Result<bool> PollFd(int fd, short events, Deadline deadline) {
  pollfd p{fd, events, 0};
  while (true) {
    int n = poll(&p, 1, PollTimeout(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return Fail(std::strerror(errno));
  }
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = other.Release();
    }
    return *this;
  }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// ------------------------------------------------------------------- TCP

// Keep-alive notices a peer that vanished without a FIN (a dead host, a
// dropped NAT entry) while keyshift waits for a reply.
void TuneSocket(int fd) {
  int on = 1, idle = 15, interval = 5, count = 3;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

// One non-blocking connect; returns the socket or errno's reason.
Result<Fd> ConnectOne(const addrinfo& ai, Deadline deadline) {
  Fd fd(socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol));
  if (fd.get() < 0) return Fail(std::strerror(errno));
  if (connect(fd.get(), ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return Fail(std::strerror(errno));
    auto ready = PollFd(fd.get(), POLLOUT, deadline);
    if (!ready.ok()) return ready.error();
    if (!*ready) return Fail(std::strerror(ETIMEDOUT));
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Fail(std::strerror(err));
  }
  TuneSocket(fd.get());
  return fd;
}

// Tries every address the name resolves to, in order; the last failure wins.
Result<Fd> ConnectTcp(const std::string& host, int port, Deadline deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list);
  if (rc != 0) return Fail(rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc));
  Result<Fd> result = Fail("no address");
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    result = ConnectOne(*ai, deadline);
    if (result.ok()) break;
  }
  freeaddrinfo(list);
  return result;
}

class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(Fd fd) : fd_(std::move(fd)) {}

  Result<size_t> Send(const char* data, size_t size) override {
    while (true) {
      ssize_t n = send(fd_.get(), data, size, MSG_NOSIGNAL);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
      if (errno != EINTR) return Fail(std::strerror(errno));
    }
  }

  Result<size_t> Receive(char* buffer, size_t cap) override {
    while (true) {
      ssize_t n = recv(fd_.get(), buffer, cap, 0);
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) return Fail(kClosedByServer);
      if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
      if (errno != EINTR) return Fail(std::strerror(errno));
    }
  }

  Result<bool> Wait(bool want_send, Deadline deadline) override {
    return PollFd(fd_.get(), static_cast<short>(POLLIN | (want_send ? POLLOUT : 0)), deadline);
  }

 private:
  Fd fd_;
};

// ------------------------------------------------------------------- TLS

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

// The reason of the newest error on OpenSSL's queue, which is then cleared so
// that the next operation starts from a clean slate.
std::string OpenSslReason(const char* fallback) {
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  return reason != nullptr ? reason : fallback;
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Status LoadTrust(SSL_CTX* ctx, const TlsSettings& tls) {
  if (tls.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return UsageError("cannot load the system's CA certificates: " + OpenSslReason("unknown error"));
    }
    return Status::Ok();
  }
  bool dir = IsDirectory(tls.ca_file);
  if (SSL_CTX_load_verify_locations(ctx, dir ? nullptr : tls.ca_file.c_str(), dir ? tls.ca_file.c_str() : nullptr) !=
      1) {
    return UsageError(fmt::format("cannot load the CA certificates in {}: {}", tls.ca_file,
                                  OpenSslReason("no certificate found")));
  }
  return Status::Ok();
}

Status LoadClientCertificate(SSL_CTX* ctx, const TlsSettings& tls) {
  if (tls.cert_file.empty()) {
    if (!tls.key_file.empty()) return UsageError("--key was given without --cert");
    return Status::Ok();
  }
  const std::string& key = tls.key_file.empty() ? tls.cert_file : tls.key_file;
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
    return UsageError(fmt::format("cannot load the client certificate {}: {}", tls.cert_file,
                                  OpenSslReason("not a PEM certificate")));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
    std::string why = OpenSslReason("not a PEM private key");
    if (mismatch) {
      return UsageError(fmt::format("the client key {} does not belong to the certificate {}", key, tls.cert_file));
    }
    if (tls.key_file.empty()) return UsageError("the client certificate needs its private key: --key FILE");
    return UsageError(fmt::format("cannot load the client key {}: {}", key, why));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return UsageError(fmt::format("the client key {} does not belong to the certificate {}", key, tls.cert_file));
  }
  return Status::Ok();
}

// What the TLS connection has seen so far, for explaining a hang-up.
struct TlsProgress {
  bool received = false;        // any bytes from the server since the handshake
  bool cert_requested = false;  // the server asked for a client certificate we do not have
};

// OpenSSL calls this when the server asks for a client certificate and none
// is configured; noting it lets a later hang-up be explained.
int NoteCertificateRequest(SSL* ssl, X509**, EVP_PKEY**) {
  if (auto* progress = static_cast<TlsProgress*>(SSL_get_app_data(ssl))) progress->cert_requested = true;
  return 0;  // carry on without one
}

Result<SslCtxPtr> MakeContext(const TlsSettings& tls) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return UsageError("cannot set up TLS: " + OpenSslReason("out of memory"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // Send() hands over a moving window of one buffer and accepts partial
  // writes, like send(2) on a non-blocking socket.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(ctx.get(), tls.insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
  if (!tls.insecure) {
    if (Status s = LoadTrust(ctx.get(), tls); !s) return s.error();
  }
  if (Status s = LoadClientCertificate(ctx.get(), tls); !s) return s.error();
  if (tls.cert_file.empty()) SSL_CTX_set_client_cert_cb(ctx.get(), NoteCertificateRequest);
  return ctx;
}

// Why the server's certificate was refused, with what to do about it.
std::string VerifyFailure(long result, const std::string& name, const TlsSettings& tls) {
  std::string what = X509_verify_cert_error_string(result);
  std::string hint;
  switch (result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      hint = tls.ca_file.empty() ? " (unknown CA: not in the system's CA store; give the server's CA with --cacert)"
                                 : " (unknown CA: not signed by a CA in " + tls.ca_file + ")";
      break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
      hint = fmt::format(" (the certificate is not for '{}'; connect by a name it lists, or set --sni)", name);
      break;
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      hint = fmt::format(" (name mismatch: the certificate is not for '{}'; connect by a name it lists, or set --sni)",
                         name);
      break;
    default: break;
  }
  return "certificate verify failed: " + what + hint;
}

// A connection the server ended without a TLS alert we could read.
std::string HangUp(int err, const TlsSettings& tls, const TlsProgress& progress) {
  std::string what = err == SSL_ERROR_SYSCALL && errno != 0 ? std::strerror(errno) : kClosedByServer;
  // TLS 1.3 finishes the client's side of the handshake before the server
  // has checked the client's certificate; its "certificate required" alert
  // can then be lost to the reset that follows it.
  if (progress.received) return what;
  if (progress.cert_requested) {
    return "the server requires a client certificate (give one with --cert and --key); it closed the connection: " +
           what;
  }
  if (!tls.cert_file.empty()) {
    return what + " before answering (did it refuse the client certificate? it must be signed by a CA the server "
                  "trusts)";
  }
  return what + " before answering (does it require a client certificate? give one with --cert and --key)";
}

// One sentence for a failed TLS operation (handshake, read or write).
std::string TlsFailure(SSL* ssl, int rc, const std::string& name, const TlsSettings& tls,
                       const TlsProgress& progress) {
  int err = SSL_get_error(ssl, rc);
  if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0)) {
    return HangUp(err, tls, progress);
  }
  unsigned long code = ERR_peek_last_error();
  switch (ERR_GET_REASON(code)) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      ERR_clear_error();
      return VerifyFailure(SSL_get_verify_result(ssl), name, tls);
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      ERR_clear_error();
      return "the server requires a client certificate (give one with --cert and --key)";
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
      ERR_clear_error();
      return "the server refused the TLS handshake (does it require a client certificate? --cert and --key)";
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      ERR_clear_error();
      return "the server does not trust the client certificate (unknown CA)";
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
      return "the server refused the client certificate: " + OpenSslReason("bad certificate");
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
      ERR_clear_error();
      return "the server does not speak TLS on this port (a plaintext port? then use redis://)";
    default: return "TLS error: " + OpenSslReason("unknown error");
  }
}

class TlsTransport final : public Transport {
 public:
  TlsTransport(Fd fd, SslCtxPtr ctx, SslPtr ssl, std::string name, TlsSettings tls)
      : fd_(std::move(fd)), ctx_(std::move(ctx)), ssl_(std::move(ssl)), name_(std::move(name)), tls_(std::move(tls)) {
    SSL_set_app_data(ssl_.get(), &progress_);
  }
  ~TlsTransport() override {
    // A close_notify is a courtesy; it must never block or raise SIGPIPE.
    if (ssl_ && !broken_) SSL_shutdown(ssl_.get());
  }

  Result<size_t> Send(const char* data, size_t size) override {
    ERR_clear_error();
    int rc = SSL_write(ssl_.get(), data, static_cast<int>(std::min<size_t>(size, INT_MAX)));
    send_wants_read_ = false;
    if (rc > 0) return static_cast<size_t>(rc);
    return Blocked(rc, &send_wants_read_);
  }

  Result<size_t> Receive(char* buffer, size_t cap) override {
    ERR_clear_error();
    int rc = SSL_read(ssl_.get(), buffer, static_cast<int>(std::min<size_t>(cap, INT_MAX)));
    receive_wants_write_ = false;
    if (rc > 0) {
      progress_.received = true;
      return static_cast<size_t>(rc);
    }
    bool wants_read = false;
    auto blocked = Blocked(rc, &wants_read);
    receive_wants_write_ = blocked.ok() && !wants_read;
    return blocked;
  }

  Result<bool> Wait(bool want_send, Deadline deadline) override {
    if (SSL_pending(ssl_.get()) > 0) return true;  // decrypted bytes already buffered
    short events = receive_wants_write_ ? POLLOUT : POLLIN;
    if (want_send) events |= send_wants_read_ ? POLLIN : POLLOUT;
    return PollFd(fd_.get(), events, deadline);
  }

  // The handshake, driven by poll until the deadline.
  Status Handshake(Deadline deadline) {
    while (true) {
      ERR_clear_error();
      int rc = SSL_connect(ssl_.get());
      if (rc == 1) return Status::Ok();
      bool wants_read = false;
      auto blocked = Blocked(rc, &wants_read);
      if (!blocked.ok()) return Fail("TLS handshake failed: " + blocked.error().message);
      auto ready = PollFd(fd_.get(), wants_read ? POLLIN : POLLOUT, deadline);
      if (!ready.ok()) return ready.error();
      // A plaintext Redis takes the binary hello for the start of an inline
      // command and waits for the rest of it.
      if (!*ready) return Fail("TLS handshake failed: no answer in time (a plaintext port? then use redis://)");
    }
  }

 private:
  // 0 bytes when OpenSSL only needs the socket to become ready (*wants_read
  // says for what); otherwise the failure, which ends the connection.
  Result<size_t> Blocked(int rc, bool* wants_read) {
    int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      *wants_read = err == SSL_ERROR_WANT_READ;
      return size_t{0};
    }
    broken_ = true;
    return Fail(TlsFailure(ssl_.get(), rc, name_, tls_, progress_));
  }

  Fd fd_;
  SslCtxPtr ctx_;
  SslPtr ssl_;
  std::string name_;  // what the certificate must name, for messages
  TlsSettings tls_;
  bool send_wants_read_ = false, receive_wants_write_ = false, broken_ = false;
  TlsProgress progress_;
};

// Sends SNI for names (never for IP literals, which RFC 6066 forbids) and
// checks the certificate against the name or address.
Status ConfigureVerification(SSL* ssl, const std::string& name, const TlsSettings& tls) {
  bool ip = IsIpLiteral(name);
  if (!ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    return UsageError(fmt::format("invalid TLS server name '{}'", name));
  }
  if (tls.insecure) return Status::Ok();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
              : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
  if (ok != 1) return UsageError(fmt::format("invalid TLS server name '{}'", name));
  return Status::Ok();
}

Result<std::unique_ptr<Transport>> OpenTls(Fd fd, SslCtxPtr ctx, const std::string& host, const TlsSettings& tls,
                                           Deadline deadline) {
  SslPtr ssl(SSL_new(ctx.get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd.get()) != 1) return UsageError("cannot set up TLS: " + OpenSslReason("?"));
  std::string name = tls.sni.empty() ? host : tls.sni;
  if (Status s = ConfigureVerification(ssl.get(), name, tls); !s) return s.error();
  auto transport = std::make_unique<TlsTransport>(std::move(fd), std::move(ctx), std::move(ssl), name, tls);
  if (Status s = transport->Handshake(deadline); !s) return s.error();
  return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace

Result<std::unique_ptr<Transport>> OpenTransport(const std::string& host, int port, const TlsSettings& tls,
                                                 int timeout_ms) {
  Deadline deadline = timeout_ms > 0 ? Clock::now() + std::chrono::milliseconds(timeout_ms) : Deadline::max();
  // Bad certificate files are found before any connection is made.
  SslCtxPtr ctx;
  if (tls.enabled) {
    auto made = MakeContext(tls);
    if (!made.ok()) return made.error();
    ctx = std::move(made.value());
  }
  auto fd = ConnectTcp(host, port, deadline);
  if (!fd.ok()) return fd.error();
  if (!tls.enabled) return std::unique_ptr<Transport>(std::make_unique<TcpTransport>(std::move(fd.value())));
  return OpenTls(std::move(fd.value()), std::move(ctx), host, tls, deadline);
}

}  // namespace keyshift
