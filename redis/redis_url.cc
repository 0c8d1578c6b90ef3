// redis:// and rediss:// URLs: parsing, and redaction of the password for
// anything that may be printed.
#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <climits>
#include <optional>
#include <string_view>
#include <utility>

#include "redis/redis_client.h"

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

std::string RedisUrl::Address() const { return fmt::format("{}:{}", BracketedHost(host), port); }

std::string RedisUrl::Redacted() const {
  std::string credentials;
  if (!user.empty() || !password.empty()) credentials = PercentEncode(user) + ":***@";
  return fmt::format("{}://{}{}/{}", tls.enabled ? "rediss" : "redis", credentials, Address(), db);
}

Result<RedisUrl> ParseRedisUrl(const std::string& text, const std::string& password) {
  auto invalid = [&](const std::string& reason) {
    return UsageError(fmt::format("invalid --url '{}': {}", RedactUrlText(text), reason));
  };
  RedisUrl url;
  url.tls.enabled = StartsWithNoCase(text, "rediss://");
  if (!url.tls.enabled && !StartsWithNoCase(text, "redis://")) {
    return invalid("the URL must start with redis:// (or rediss:// for TLS)");
  }
  std::string_view rest = std::string_view(text).substr(url.tls.enabled ? 9 : 8);
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

}  // namespace keyshift
