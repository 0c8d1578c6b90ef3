// Character classes as Lua 5.4's lexer (lctype.h, llex.c) sees source bytes;
// shared by the portability lexer, its numeral checks and the luac5.1 line
// mapping, which must count line breaks the same way.
#pragma once

namespace keyshift::portability {

inline bool IsAlpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
inline bool IsDigit(int c) { return c >= '0' && c <= '9'; }
inline bool IsXDigit(int c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
inline bool IsNewline(int c) { return c == '\n' || c == '\r'; }
inline bool IsSpace(int c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || IsNewline(c); }

inline int HexValue(int c) {
  if (IsDigit(c)) return c - '0';
  return (c | 0x20) - 'a' + 10;
}

}  // namespace keyshift::portability
