// Escaping of data bytes for terminal output.
#include "core/text.h"

#include <cstdio>

namespace keyshift {

namespace {

// Length of the well-formed UTF-8 character at s[i] (a lead byte >= 0x80), or
// 0 when it is malformed (overlong, surrogate, truncated, > U+10FFFF) or a C1
// control: some terminals act on U+0080..U+009F as they do on ESC sequences.
size_t PrintableUtf8Length(std::string_view s, size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  if ((lead & 0xC0) != 0xC0 || lead >= 0xF8 || i + len > s.size()) return 0;
  char32_t cp = lead & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    const auto cont = static_cast<unsigned char>(s[i + k]);
    if ((cont & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cont & 0x3F);
  }
  constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return cp <= 0x9F ? 0 : len;
}

}  // namespace

std::string EscapeUnit(std::string_view s, size_t i, size_t* used) {
  const auto c = static_cast<unsigned char>(s[i]);
  *used = 1;
  if (c == '\t' || (c >= 0x20 && c < 0x7F)) return std::string(1, s[i]);
  if (c >= 0x80) {
    if (size_t len = PrintableUtf8Length(s, i)) {
      *used = len;
      return std::string(s.substr(i, len));
    }
  }
  char hex[5];
  std::snprintf(hex, sizeof hex, "\\x%02x", c);
  return hex;
}

std::string TerminalSafe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\n') {
      out += '\n';
      ++i;
      continue;
    }
    size_t used = 0;
    out += EscapeUnit(text, i, &used);
    i += used;
  }
  return out;
}

}  // namespace keyshift
