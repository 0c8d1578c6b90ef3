// Numerals in a Lua 5.4 source that Lua 5.1 reads as another value or not at
// all: hex floats and integers beyond 2^53 (exact 64-bit integers in 5.4,
// rounded doubles in 5.1), and malformed numerals, which end the check.
#pragma once

#include <string>

#include "server_mode/portability_report.h"

namespace keyshift::portability {

// A numeral as shown in a message: very long ones are cut.
std::string Shown(const std::string& text);

// Reports `text` (a numeral as Lua 5.4's read_numeral takes it, at `line`)
// when 5.1 reads it differently; throws SyntaxError when it is malformed.
void CheckNumeral(const std::string& text, int line, Reporter* rep);

}  // namespace keyshift::portability
