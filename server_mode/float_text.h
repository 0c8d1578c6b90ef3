// The silent number-to-text difference: Lua 5.4 keeps integers and floats
// apart and writes an integral float as "5.0", where Lua 5.1 (doubles only)
// writes "5". The checker follows which expressions Lua 5.4 computes as a
// float so that it can name a '..' that would produce different text.
#pragma once

#include <string>
#include <vector>

namespace keyshift::portability {

// What an expression's value is known to be, for number-to-text checks:
// kFloat when Lua 5.4 computes a float (a '/' or '^', an integral float
// literal such as 1e3 or 2.0, arithmetic on those), whose text can differ
// from 5.1's ("5.0" / "5"); kFraction for a literal like 1.5, which prints
// the same in both but makes arithmetic on it a float.
enum class Num { kOther, kFraction, kFloat };

// The Num of a numeral's text.
Num LiteralNum(const std::string& text);

// The Num of `left op right` for a binary operator `op` (other than '..').
Num BinaryNum(const std::string& op, Num left, Num right);

// Whether Lua 5.4 gives a float from math.`field` called with arguments of
// these Nums.
bool IsFloatMath(const std::string& field, const std::vector<Num>& args);

// Whether math.`field` is a float constant (math.pi, math.huge).
bool IsFloatConstant(const std::string& field);

// The message for turning a float into text `how` ("'..' turns into text").
std::string FloatTextMessage(const char* how);

}  // namespace keyshift::portability
