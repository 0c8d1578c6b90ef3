#include "server_mode/numerals.h"

#include <fmt/format.h>

#include "server_mode/lua_chars.h"

namespace keyshift::portability {

namespace {

// The form of a numeral as Lua 5.4 reads it (lobject.c l_str2int/l_str2d).
struct NumeralForm {
  enum Kind { kMalformed, kDecimalInt, kDecimalFloat, kHexInt, kHexFloat } kind = kMalformed;
  std::string int_digits;  // integers: the digits without leading zeros
};

NumeralForm ParseNumeral(const std::string& text) {
  NumeralForm f;
  size_t i = 0, n = text.size();
  bool hex = n > 1 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  auto is_digit = hex ? IsXDigit : IsDigit;
  if (hex) i = 2;
  size_t int_start = i;
  while (i < n && is_digit(static_cast<unsigned char>(text[i]))) ++i;
  size_t int_end = i, frac_digits = 0;
  bool dot = false, exponent = false;
  if (i < n && text[i] == '.') {
    dot = true;
    ++i;
    while (i < n && is_digit(static_cast<unsigned char>(text[i]))) ++i, ++frac_digits;
  }
  if (int_end - int_start + frac_digits == 0) return f;  // no digits at all
  if (i < n && (hex ? (text[i] == 'p' || text[i] == 'P') : (text[i] == 'e' || text[i] == 'E'))) {
    exponent = true;
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    size_t exp_start = i;
    while (i < n && IsDigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == exp_start) return f;
  }
  if (i != n) return f;
  if (dot || exponent) {
    f.kind = hex ? NumeralForm::kHexFloat : NumeralForm::kDecimalFloat;
    return f;
  }
  f.kind = hex ? NumeralForm::kHexInt : NumeralForm::kDecimalInt;
  size_t nz = text.find_first_not_of('0', int_start);
  f.int_digits = nz == std::string::npos ? "" : text.substr(nz, int_end - nz);
  return f;
}

bool HexBeyond2To53(const std::string& digits) {
  // 2^53 = 0x20000000000000 (14 hex digits).
  return digits.size() > 14 ||
         (digits.size() == 14 && (HexValue(digits[0]) > 2 || (HexValue(digits[0]) == 2 &&
                                                               digits.find_first_not_of('0', 1) != std::string::npos)));
}

bool DecimalBeyond2To53(const std::string& digits) {
  static const std::string kTwo53 = "9007199254740992";
  return digits.size() > kTwo53.size() || (digits.size() == kTwo53.size() && digits > kTwo53);
}

}  // namespace

// A numeral as shown in a message: very long ones are cut.
std::string Shown(const std::string& text) {
  return text.size() <= 40 ? text : text.substr(0, 37) + "...";
}

void CheckNumeral(const std::string& text, int line, Reporter* rep) {
  NumeralForm form = ParseNumeral(text);
  if (form.kind == NumeralForm::kHexFloat) {
    rep->Add(line, fmt::format("hexadecimal float {} is not portable: Lua 5.1 has no hex floats (some forms are "
                               "a syntax error there); write it in decimal",
                               Shown(text)));
  } else if (form.kind == NumeralForm::kHexInt) {
    if (HexBeyond2To53(form.int_digits))
      rep->Add(line, fmt::format("hexadecimal integer {} is wider than 2^53: Lua 5.4 reads it as a 64-bit "
                                 "integer (wrapping around past 2^64), Lua 5.1 as an inexact double; keep "
                                 "it in a string",
                                 Shown(text)));
  } else if (form.kind == NumeralForm::kDecimalInt) {
    if (DecimalBeyond2To53(form.int_digits))
      rep->Add(line, fmt::format("integer {} is beyond 2^53: exact in Lua 5.4, rounded to a double in Lua 5.1; "
                                 "keep it in a string",
                                 Shown(text)));
  } else if (form.kind == NumeralForm::kMalformed) {
    throw SyntaxError{line, fmt::format("malformed number near '{}'", Shown(text))};
  }
}

}  // namespace keyshift::portability
