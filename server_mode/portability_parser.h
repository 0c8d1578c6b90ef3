// The portability check's Lua 5.4 parser: a recursive-descent reading of the
// whole file (lparser.c's grammar) that reports the syntax Lua 5.1 refuses or
// reads differently (goto, labels, <const>, '//', bitwise operators, empty
// ';', 'break' not last, a '(' starting a line, '...' at the top level) and
// hands every name to name_access.h and every value to float_text.h.
#pragma once

#include <vector>

#include "server_mode/lua_lexer.h"
#include "server_mode/portability_report.h"

namespace keyshift::portability {

// Parses `toks` (from Lex) as a whole file, reporting into `rep`. Throws
// SyntaxError where Lua 5.4 could not parse it.
void ParseChunk(const std::vector<Token>& toks, Reporter* rep);

}  // namespace keyshift::portability
