// Server-mode portability check (see portability.h): lexes and parses the
// migration as Lua 5.4 does, collecting what Redis's Lua 5.1 would read
// differently, then asks luac5.1 as a last safety net. The pieces:
//   portability_report  findings, ordering, what blocks 5.1's parser
//   lua_lexer, numerals tokens; escapes and numerals 5.1 reads differently
//   portability_parser  grammar; syntax 5.1 refuses
//   name_access         scopes, globals, library reads/writes and calls
//   library_names       what exists where, and the messages about it
//   float_text          5.4 floats that '..' writes as "5.0"
//   luac51              the real Lua 5.1 parser
#include "server_mode/portability.h"

#include <fmt/format.h>

#include "server_mode/lua_lexer.h"
#include "server_mode/luac51.h"
#include "server_mode/portability_parser.h"
#include "server_mode/portability_report.h"

namespace keyshift {

using portability::Reporter;
using portability::SyntaxError;
using portability::Tok;
using portability::Token;

std::vector<PortabilityIssue> CheckPortability(const std::string& source) {
  Reporter rep;
  try {
    portability::ParseChunk(portability::Lex(source, &rep), &rep);
  } catch (const SyntaxError& e) {
    rep.Add(e.line, fmt::format("syntax error: {} (Lua 5.4 cannot load this file either)", e.message), true);
  }
  if (auto err = portability::CompileWithLua51(source); err && !rep.Explains(err->line))
    rep.Add(err->line, fmt::format("Lua 5.1 (Redis) cannot compile this: {}", err->message));
  return rep.Take();
}

std::vector<SourceToken> LexLua(const std::string& source) {
  Reporter rep;
  std::vector<SourceToken> out;
  try {
    for (const Token& t : portability::Lex(source, &rep)) {
      SourceToken::Kind kind = t.kind == Tok::kName     ? SourceToken::kName
                               : t.kind == Tok::kOp     ? SourceToken::kOp
                               : t.kind == Tok::kString ? SourceToken::kString
                               : t.kind == Tok::kEof    ? SourceToken::kEof
                                                        : SourceToken::kOther;
      out.push_back({kind, t.kind == Tok::kString ? "" : t.text, t.begin, t.end});
    }
  } catch (const SyntaxError&) {
    return {};
  }
  return out;
}

std::string FormatPortabilityIssues(const std::string& path, const std::vector<PortabilityIssue>& issues) {
  std::string out;
  for (const auto& i : issues) out += fmt::format("{}:{}: {}\n", path, i.line, i.message);
  return out;
}

}  // namespace keyshift
