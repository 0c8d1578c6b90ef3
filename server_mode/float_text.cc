#include "server_mode/float_text.h"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "server_mode/library_names.h"

namespace keyshift::portability {

Num LiteralNum(const std::string& text) {
  bool hex = text.size() > 1 && (text[1] == 'x' || text[1] == 'X');
  bool is_float = text.find_first_of(hex ? ".pP" : ".eE") != std::string::npos;
  if (!is_float) return Num::kOther;
  double v = std::strtod(text.c_str(), nullptr);
  if (std::isfinite(v) && v == std::floor(v)) return Num::kFloat;
  return Num::kFraction;
}

Num BinaryNum(const std::string& op, Num left, Num right) {
  if (op == "/" || op == "^") return Num::kFloat;
  if (In(op, {"+", "-", "*", "%", "//"}))
    return (left != Num::kOther || right != Num::kOther) ? Num::kFloat : Num::kOther;
  if (op == "and" || op == "or") return (left == Num::kFloat || right == Num::kFloat) ? Num::kFloat : Num::kOther;
  return Num::kOther;
}

// Lua 5.4 gives a float from these whatever the argument, or (abs, max,
// min, fmod) when an argument is one.
bool IsFloatMath(const std::string& field, const std::vector<Num>& args) {
  if (In(field, {"sqrt", "exp", "log", "sin", "cos", "tan", "asin", "acos", "atan", "deg", "rad", "modf"}))
    return true;
  bool float_arg = false;
  for (Num a : args) float_arg |= a == Num::kFloat;
  return float_arg && In(field, {"abs", "max", "min", "fmod"});
}

bool IsFloatConstant(const std::string& field) { return In(field, {"pi", "huge"}); }

std::string FloatTextMessage(const char* how) {
  return fmt::format("{} a number that Lua 5.4 holds as a float: it writes 5.0 where Lua 5.1 writes 5; "
                     "format it first with ks.number(x) or tostring(x)",
                     how);
}

}  // namespace keyshift::portability
