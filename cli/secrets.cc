// Password sources and argv scrubbing.
#include "cli/secrets.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace keyshift {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The userinfo of a redis:// URL in `text`, from after "://" (or after the
// user's ':') to the last '@'; a lone userinfo may be a bare password.
void MaskCredentials(char* text) {
  char* start = std::strstr(text, "://");
  if (!start) return;
  start += 3;
  char* at = std::strrchr(start, '@');
  if (!at) return;
  char* colon = static_cast<char*>(std::memchr(start, ':', at - start));
  for (char* p = colon ? colon + 1 : start; p < at; ++p) *p = '*';
}

}  // namespace

Result<std::string> ResolvePassword(const std::string& password_file) {
  if (password_file.empty()) {
    std::string env = Env("KEYSHIFT_PASSWORD");
    return env.empty() ? Env("REDISCLI_AUTH") : env;
  }
  std::ifstream in(password_file, std::ios::binary);
  if (!in) return UsageError(fmt::format("cannot read --password-file '{}'", password_file));
  std::ostringstream text;
  text << in.rdbuf();
  std::string password = text.str();
  if (!password.empty() && password.back() == '\n') password.pop_back();
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) return UsageError(fmt::format("--password-file '{}' is empty", password_file));
  return password;
}

void ScrubUrlArguments(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    // --to: copy's and compare's target (for up and down a version number,
    // which has no credentials to mask).
    for (const char* option : {"--url", "--to"}) {
      size_t n = std::strlen(option);
      if (std::strcmp(argv[i], option) == 0 && i + 1 < argc) {
        MaskCredentials(argv[++i]);
        break;
      }
      if (std::strncmp(argv[i], option, n) == 0 && argv[i][n] == '=') MaskCredentials(argv[i] + n + 1);
    }
  }
}

}  // namespace keyshift
