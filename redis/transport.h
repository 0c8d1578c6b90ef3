// Byte streams to a Redis server: plain TCP, or TLS through OpenSSL. Debian's
// hiredis 0.14 has no TLS, so keyshift keeps hiredis for the protocol (command
// formatting, reply parsing) and owns the socket itself (redis_client.cc).
//
// Every transport is non-blocking: Send and Receive move what they can and
// return at once, Wait blocks until one of them can make progress. That lets a
// pipeline interleave reads with writes, so a big one never deadlocks on full
// socket buffers.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/result.h"

namespace keyshift {

// How to talk TLS. Certificates are verified unless `insecure`.
struct TlsSettings {
  bool enabled = false;   // rediss://
  std::string ca_file;    // CA file or directory; empty: the system's CAs
  std::string cert_file;  // client certificate (chain) for mutual TLS
  std::string key_file;   // its private key; empty: read from cert_file
  std::string sni;        // name sent and verified; empty: the URL's host
  bool insecure = false;  // skip verification (--insecure)
};

// The reason given when the server ends the connection.
inline constexpr const char* kClosedByServer = "Server closed the connection";

using Deadline = std::chrono::steady_clock::time_point;

// Errors from a transport are one-line reasons (Error::message) for the caller
// to put in context ("cannot connect to Redis at host:port: ...").
class Transport {
 public:
  virtual ~Transport() = default;
  // Takes as many bytes as the socket accepts now; 0 when it would block.
  virtual Result<size_t> Send(const char* data, size_t size) = 0;
  // Reads what has arrived, up to cap bytes; 0 when nothing has. A closed
  // connection is an Error.
  virtual Result<size_t> Receive(char* buffer, size_t cap) = 0;
  // Blocks until Receive (or Send, when want_send) may make progress; false
  // when the deadline passed first. Deadline::max(): wait forever.
  virtual Result<bool> Wait(bool want_send, Deadline deadline) = 0;
};

// Connects (and completes the TLS handshake, verifying the server) within
// timeout_ms. Sets TCP_NODELAY and keep-alive.
Result<std::unique_ptr<Transport>> OpenTransport(const std::string& host, int port, const TlsSettings& tls,
                                                 int timeout_ms);

}  // namespace keyshift
