// The portability check's Lua 5.4 lexer: turns a migration file into tokens
// as llex.c does, reporting on the way what Lua 5.1 reads differently inside
// a token ("\x", "\z", "\u{...}" escapes, nested "[[", numerals: numerals.h).
#pragma once

#include <string>
#include <vector>

#include "server_mode/portability_report.h"

namespace keyshift::portability {

enum class Tok { kName, kKeyword, kNumber, kString, kOp, kEof };

struct Token {
  Tok kind;
  std::string text;  // names, keywords, operators, number text; strings: the decoded value
  int line;          // where the token starts
  int end_line;      // where it ends (long strings span lines)
  size_t begin = 0, end = 0;  // byte range in the source
};

// Every token of `src`, ending with a kEof token. Throws SyntaxError where
// Lua 5.4 could not lex the file.
std::vector<Token> Lex(const std::string& src, Reporter* rep);

}  // namespace keyshift::portability
