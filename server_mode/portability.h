// Server-mode portability check (SPEC section 6): a migration is written for
// the host's Lua 5.4, but in server mode its transform runs inside Redis 7.0,
// which embeds Lua 5.1 with read-only globals. CheckPortability reads a whole
// migration file with its own Lua 5.4 lexer and parser (tracking local scopes)
// and reports, with the line of each, everything that would not run the same
// way there:
//   - 5.4-only syntax: `//`, `& | ~ << >>`, unary `~`, goto and ::labels::,
//     <const>/<close>, and what 5.1's parser refuses although 5.4 accepts it
//     (empty `;` statements, `break` not last in its block, a call whose '('
//     starts a new line, `[[` nested inside a [[...]] string or comment);
//   - lexical differences: "\x..", "\u{...}", "\z" escapes, integer literals
//     beyond 2^53, hex floats;
//   - 5.4-only / 5.1-only / absent library names (utf8, table.unpack, unpack,
//     os, io, print, require, load, coroutine, math.tointeger ...) and calls
//     that 5.1 reads differently (string.rep with a separator, math.log with
//     a base, xpcall with arguments, the %g pattern class);
//   - writes to globals or into the string/table/math libraries (Redis
//     refuses them; adding to json/time/ks is fine) and reads of globals that
//     do not exist in either environment;
//   - '..' on a value 5.4 holds as a float: 5.4 writes "5.0" where 5.1 writes
//     "5". Known floats: '/', '^', float literals (1e3, 2.0), math.sqrt/exp/
//     log/sin/cos/tan/asin/acos/atan/deg/rad/modf, math.abs/max/min/fmod of
//     a float, math.pi, math.huge, arithmetic on those, locals ever assigned
//     one of them, and numeric for loops whose start or step is not an
//     integer literal expression. (tostring,
//     string.format, table.concat and the string functions write numbers as
//     Lua 5.1 does in both engines: stdlib/globals.lua.) What only the data
//     decides (tonumber("2.0"), a JSON 1.0) is not seen: convert with
//     tostring(x) or ks.number(x) before '..';
//   - '...' at the file's top level (server mode runs the file inside a
//     function without parameters).
// When `luac5.1` is on PATH it also compiles the file with the real Lua 5.1
// parser, wrapped as server mode runs it, and reports its first error unless
// an issue already explains it.
#pragma once

#include <string>
#include <vector>

namespace keyshift {

struct PortabilityIssue {
  int line;             // 1-based line in the migration file
  std::string message;  // what and why, one line
};

// Checks that `source` (a whole migration file, as written for Lua 5.4) will run
// identically on Redis's Lua 5.1. Returns every issue found, in line order
// (empty = portable).
std::vector<PortabilityIssue> CheckPortability(const std::string& source);

// A token of a Lua 5.4 source and its byte range, for code that rewrites
// migrations (server_script.cc). Empty when the source does not lex.
struct SourceToken {
  enum Kind { kName, kOp, kString, kOther, kEof } kind;
  std::string text;  // names and operators; empty for the others
  size_t begin, end;
};
std::vector<SourceToken> LexLua(const std::string& source);

// "path:line: message", one issue per line (each ending in '\n'), for
// `keyshift check` and `up`. Empty when there are no issues.
std::string FormatPortabilityIssues(const std::string& path, const std::vector<PortabilityIssue>& issues);

}  // namespace keyshift
