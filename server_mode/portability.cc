// Server-mode portability check: a Lua 5.4 lexer and a scope-tracking
// recursive-descent parser that report what Redis's Lua 5.1 would read
// differently (see portability.h), plus `luac5.1 -p` as a last safety net.
#include "server_mode/portability.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "bindings/boundary.h"

extern char** environ;

namespace keyshift {

namespace {

// ---------------------------------------------------------------- reporting

struct SyntaxError {
  int line;
  std::string message;
};

class Reporter {
 public:
  // `blocks_51`: Lua 5.1's parser refuses the construct, so luac5.1's first
  // error at or after this line is a consequence of it, not a new finding.
  void Add(int line, std::string message, bool blocks_51 = false) {
    issues_.push_back({line, std::move(message)});
    if (blocks_51) blocking_lines_.push_back(line);
  }
  bool Explains(int line) const {
    for (const auto& i : issues_)
      if (i.line == line) return true;
    for (int b : blocking_lines_)
      if (b <= line) return true;
    return false;
  }
  std::vector<PortabilityIssue> Take() {
    std::stable_sort(issues_.begin(), issues_.end(),
                     [](const PortabilityIssue& a, const PortabilityIssue& b) { return a.line < b.line; });
    std::vector<PortabilityIssue> out;
    for (auto& i : issues_) {
      bool dup = false;
      for (const auto& o : out) dup |= o.line == i.line && o.message == i.message;
      if (!dup) out.push_back(std::move(i));
    }
    issues_.clear();
    return out;
  }

 private:
  std::vector<PortabilityIssue> issues_;
  std::vector<int> blocking_lines_;
};

// ---------------------------------------------------------------- lexer

enum class Tok { kName, kKeyword, kNumber, kString, kOp, kEof };

struct Token {
  Tok kind;
  std::string text;  // names, keywords, operators, number text; strings: the decoded value
  int line;          // where the token starts
  int end_line;      // where it ends (long strings span lines)
  size_t begin = 0, end = 0;  // byte range in the source
};

constexpr const char* kKeywords[] = {"and",   "break", "do",  "else", "elseif", "end",    "false",
                                     "for",   "function", "goto", "if", "in",   "local",  "nil",
                                     "not",   "or",    "repeat", "return", "then", "true", "until",
                                     "while"};

// Longest first, so that the first match is the token.
constexpr const char* kOperators[] = {"...", "..", "==", "~=", "<=", ">=", "<<", ">>", "//", "::",
                                      "+",   "-",  "*",  "/",  "%",  "^",  "#",  "&",  "~",  "|",
                                      "<",   ">",  "=",  "(",  ")",  "{",  "}",  "[",  "]",  ";",
                                      ":",   ",",  "."};

bool IsKeyword(const std::string& s) {
  for (const char* k : kKeywords)
    if (s == k) return true;
  return false;
}

bool IsAlpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(int c) { return c >= '0' && c <= '9'; }
bool IsXDigit(int c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsNewline(int c) { return c == '\n' || c == '\r'; }
bool IsSpace(int c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || IsNewline(c); }

int HexValue(int c) {
  if (IsDigit(c)) return c - '0';
  return (c | 0x20) - 'a' + 10;
}

void AppendUtf8(std::string* out, unsigned long x) {  // Lua 5.4's luaO_utf8esc, up to 2^31
  if (x < 0x80) {
    out->push_back(static_cast<char>(x));
    return;
  }
  char buf[8];
  int n = 1;
  unsigned mfb = 0x3f;
  do {
    buf[8 - (n++)] = static_cast<char>(0x80 | (x & 0x3f));
    x >>= 6;
    mfb >>= 1;
  } while (x > mfb);
  buf[8 - n] = static_cast<char>((~mfb << 1) | x);
  out->append(buf + 8 - n, n);
}

// A numeral as shown in a message: very long ones are cut.
std::string Shown(const std::string& text) {
  return text.size() <= 40 ? text : text.substr(0, 37) + "...";
}

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

class Lexer {
 public:
  Lexer(const std::string& src, Reporter* rep) : s_(src), rep_(rep) {}

  std::vector<Token> Run() {
    std::vector<Token> toks;
    for (;;) {
      size_t begin = i_, count = toks.size();
      int c = Cur();
      if (c < 0) break;
      if (IsNewline(c)) {
        Newline();
      } else if (IsSpace(c)) {
        ++i_;
      } else if (c == '-' && Peek(1) == '-') {
        i_ += 2;
        if (Cur() == '[' && LongLevel() >= 0) {
          LongBracket(LongLevel(), /*comment=*/true);
        } else {
          while (Cur() >= 0 && !IsNewline(Cur())) ++i_;
        }
      } else if (c == '[' && LongLevel() >= 0) {
        int line = line_;
        std::string value = LongBracket(LongLevel(), /*comment=*/false);
        toks.push_back({Tok::kString, std::move(value), line, line_});
      } else if (c == '[' && Peek(1) == '=') {
        throw SyntaxError{line_, "invalid long string delimiter near '[='"};
      } else if (c == '"' || c == '\'') {
        int line = line_;
        std::string value = ShortString();
        toks.push_back({Tok::kString, std::move(value), line, line_});
      } else if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) {
        toks.push_back({Tok::kNumber, Number(), line_, line_});
      } else if (IsAlpha(c)) {
        size_t start = i_;
        while (IsAlpha(Cur()) || IsDigit(Cur())) ++i_;
        std::string word = s_.substr(start, i_ - start);
        Tok kind = IsKeyword(word) ? Tok::kKeyword : Tok::kName;
        toks.push_back({kind, std::move(word), line_, line_});
      } else {
        const char* op = nullptr;
        for (const char* o : kOperators)
          if (s_.compare(i_, std::strlen(o), o) == 0) {
            op = o;
            break;
          }
        if (!op) {
          std::string shown = (c >= 0x20 && c < 0x7f) ? std::string(1, static_cast<char>(c)) : fmt::format("<\\{}>", c);
          throw SyntaxError{line_, fmt::format("unexpected symbol near '{}'", shown)};
        }
        i_ += std::strlen(op);
        toks.push_back({Tok::kOp, op, line_, line_});
      }
      if (toks.size() > count) toks.back().begin = begin, toks.back().end = i_;
    }
    toks.push_back({Tok::kEof, "<eof>", line_, line_});
    return toks;
  }

 private:
  int Cur() const { return i_ < s_.size() ? static_cast<unsigned char>(s_[i_]) : -1; }
  int Peek(size_t k) const { return i_ + k < s_.size() ? static_cast<unsigned char>(s_[i_ + k]) : -1; }

  // At a newline: skips "\n", "\r", "\r\n" or "\n\r" as one line break.
  void Newline() {
    int c = Cur();
    ++i_;
    if (IsNewline(Cur()) && Cur() != c) ++i_;
    ++line_;
  }

  // At '[' or ']': the level of a long bracket starting here ("[==[" -> 2),
  // or -1 when the '='s are not followed by the same bracket. Consumes nothing.
  int LongLevel() const {
    int b = Cur();
    size_t j = i_ + 1;
    while (j < s_.size() && s_[j] == '=') ++j;
    if (j < s_.size() && s_[j] == b) return static_cast<int>(j - i_ - 1);
    return -1;
  }

  std::string LongBracket(int level, bool comment) {
    int start_line = line_;
    i_ += level + 2;
    if (IsNewline(Cur())) Newline();  // the first line break is not part of the string
    std::string value;
    bool nested_reported = false;
    for (;;) {
      int c = Cur();
      if (c < 0)
        throw SyntaxError{start_line, comment ? "unfinished long comment" : "unfinished long string"};
      if (c == ']' && LongLevel() == level) {
        i_ += level + 2;
        return value;
      }
      if (IsNewline(c)) {
        Newline();
        value.push_back('\n');
        continue;
      }
      // Lua 5.1 (LUA_COMPAT_LSTR 1) refuses "[[" inside a level-0 long bracket.
      if (level == 0 && c == '[' && Peek(1) == '[' && !nested_reported) {
        nested_reported = true;
        rep_->Add(line_,
                  fmt::format("'[[' inside a [[...]] {} is a syntax error in Lua 5.1 (\"nesting of [[...]] is "
                              "deprecated\"); open it with [=[ and close it with ]=]",
                              comment ? "comment" : "string"),
                  true);
      }
      value.push_back(static_cast<char>(c));
      ++i_;
    }
  }

  std::string ShortString() {
    int quote = Cur();
    ++i_;
    std::string value;
    for (;;) {
      int c = Cur();
      if (c < 0 || IsNewline(c)) throw SyntaxError{line_, "unfinished string"};
      if (c == quote) {
        ++i_;
        return value;
      }
      if (c != '\\') {
        value.push_back(static_cast<char>(c));
        ++i_;
        continue;
      }
      ++i_;  // the backslash
      int e = Cur();
      switch (e) {
        case 'a': value.push_back('\a'); ++i_; break;
        case 'b': value.push_back('\b'); ++i_; break;
        case 'f': value.push_back('\f'); ++i_; break;
        case 'n': value.push_back('\n'); ++i_; break;
        case 'r': value.push_back('\r'); ++i_; break;
        case 't': value.push_back('\t'); ++i_; break;
        case 'v': value.push_back('\v'); ++i_; break;
        case '\\': case '"': case '\'': value.push_back(static_cast<char>(e)); ++i_; break;
        case '\n': case '\r':
          Newline();
          value.push_back('\n');
          break;
        case 'x': {
          rep_->Add(line_,
                    "'\\x' escape reads differently in Lua 5.1 (there it is the letter 'x' and the digits "
                    "as text); write the byte as '\\ddd'");
          ++i_;
          if (!IsXDigit(Cur()) || !IsXDigit(Peek(1))) throw SyntaxError{line_, "hexadecimal digit expected"};
          value.push_back(static_cast<char>(HexValue(Cur()) * 16 + HexValue(Peek(1))));
          i_ += 2;
          break;
        }
        case 'z': {
          rep_->Add(line_,
                    "'\\z' escape is Lua 5.4 only (Lua 5.1 keeps the 'z' and the line break and spaces "
                    "after it); join the pieces with '..' instead");
          ++i_;
          while (IsSpace(Cur())) {
            if (IsNewline(Cur())) Newline();
            else ++i_;
          }
          break;
        }
        case 'u': {
          rep_->Add(line_,
                    "'\\u{...}' escape is Lua 5.4 only (Lua 5.1 reads it as the text 'u{...}'); write the "
                    "UTF-8 bytes as '\\ddd' escapes");
          ++i_;
          if (Cur() != '{') throw SyntaxError{line_, "missing '{' in \\u{xxxx}"};
          ++i_;
          if (!IsXDigit(Cur())) throw SyntaxError{line_, "hexadecimal digit expected"};
          unsigned long cp = 0;
          while (IsXDigit(Cur())) {
            cp = cp * 16 + HexValue(Cur());
            if (cp > 0x7FFFFFFFul) throw SyntaxError{line_, "UTF-8 value too large"};
            ++i_;
          }
          if (Cur() != '}') throw SyntaxError{line_, "missing '}' in \\u{xxxx}"};
          ++i_;
          AppendUtf8(&value, cp);
          break;
        }
        default: {
          if (e < 0) throw SyntaxError{line_, "unfinished string"};
          if (!IsDigit(e)) throw SyntaxError{line_, fmt::format("invalid escape sequence '\\{}'", static_cast<char>(e))};
          int v = 0;
          for (int k = 0; k < 3 && IsDigit(Cur()); ++k) {
            v = v * 10 + (Cur() - '0');
            ++i_;
          }
          if (v > 255) throw SyntaxError{line_, "decimal escape too large"};
          value.push_back(static_cast<char>(v));
        }
      }
    }
  }

  // Reads a numeral as Lua 5.4's read_numeral does, then checks its form and
  // whether Lua 5.1 reads the same value.
  std::string Number() {
    size_t start = i_;
    const char* expo = "Ee";
    if (Cur() == '0' && (Peek(1) == 'x' || Peek(1) == 'X')) {
      i_ += 2;
      expo = "Pp";
    }
    for (;;) {
      if (Cur() == expo[0] || Cur() == expo[1]) {
        ++i_;
        if (Cur() == '+' || Cur() == '-') ++i_;
      } else if (IsXDigit(Cur()) || Cur() == '.') {
        ++i_;
      } else {
        break;
      }
    }
    if (IsAlpha(Cur())) ++i_;  // a numeral touching a letter is malformed
    std::string text = s_.substr(start, i_ - start);
    NumeralForm form = ParseNumeral(text);
    if (form.kind == NumeralForm::kHexFloat) {
      rep_->Add(line_, fmt::format("hexadecimal float {} is not portable: Lua 5.1 has no hex floats (some forms are "
                                   "a syntax error there); write it in decimal",
                                   Shown(text)));
    } else if (form.kind == NumeralForm::kHexInt) {
      const std::string& digits = form.int_digits;
      // 2^53 = 0x20000000000000 (14 hex digits).
      if (digits.size() > 14 ||
          (digits.size() == 14 && (HexValue(digits[0]) > 2 || (HexValue(digits[0]) == 2 &&
                                                                digits.find_first_not_of('0', 1) != std::string::npos))))
        rep_->Add(line_, fmt::format("hexadecimal integer {} is wider than 2^53: Lua 5.4 reads it as a 64-bit "
                                     "integer (wrapping around past 2^64), Lua 5.1 as an inexact double; keep "
                                     "it in a string",
                                     Shown(text)));
    } else if (form.kind == NumeralForm::kDecimalInt) {
      const std::string& digits = form.int_digits;
      static const std::string kTwo53 = "9007199254740992";
      if (digits.size() > kTwo53.size() || (digits.size() == kTwo53.size() && digits > kTwo53))
        rep_->Add(line_, fmt::format("integer {} is beyond 2^53: exact in Lua 5.4, rounded to a double in Lua 5.1; "
                                     "keep it in a string",
                                     Shown(text)));
    } else if (form.kind == NumeralForm::kMalformed) {
      throw SyntaxError{line_, fmt::format("malformed number near '{}'", Shown(text))};
    }
    return text;
  }

  const std::string& s_;
  Reporter* rep_;
  size_t i_ = 0;
  int line_ = 1;
};

// ---------------------------------------------------------------- what exists where

const std::set<std::string, std::less<>> kPortableGlobals = {
    "string", "table",  "math",     "pairs",    "ipairs",       "next",         "type",   "tostring",
    "tonumber", "error", "assert",  "select",   "rawget",       "rawset",       "rawequal",
    "setmetatable", "getmetatable", "pcall", "xpcall", "_G", "json", "time", "ks"};
const std::set<std::string, std::less<>> kLibraries = {"string", "math", "table"};
const std::set<std::string, std::less<>> kModules = {"json", "time", "ks"};

// What is wrong with reading global `name` (shown as `shown`, e.g. "os.time"),
// or nothing when it is portable or simply unknown.
std::optional<std::string> GlobalProblem(std::string_view name, const std::string& shown) {
  if (name == "utf8")
    return fmt::format("'{}' is Lua 5.4 only: Redis runs Lua 5.1, which has no utf8 library", shown);
  if (name == "os")
    return fmt::format("'{}': Redis scripts have no 'os' library; take times from the data (time.to_epoch "
                       "reads ISO-8601)",
                       shown);
  if (name == "io" || name == "debug" || name == "package")
    return fmt::format("'{}': there is no '{}' library in Redis scripts (nor in the sandbox)", shown, name);
  if (name == "print") return fmt::format("'{}' does not exist in Redis scripts; use ks.log(...)", shown);
  if (name == "require" || name == "dofile" || name == "loadfile")
    return fmt::format("'{}' does not exist in Redis scripts; json, time and ks are already there as globals",
                       shown);
  if (name == "load")
    return fmt::format("'{}' is not portable: Lua 5.1's load takes a function, not a string; do not load code "
                       "in a migration",
                       shown);
  if (name == "loadstring")
    return fmt::format("'{}' exists only in Lua 5.1 (the sandbox does not offer it); do not load code in a "
                       "migration",
                       shown);
  if (name == "collectgarbage") return fmt::format("'{}' is not offered to migrations", shown);
  if (name == "coroutine")
    return fmt::format("'{}': coroutines are not offered to migrations (the sandbox has none)", shown);
  if (name == "unpack")
    return fmt::format("'{}' exists only in Lua 5.1 (the host's Lua 5.4 has table.unpack instead, Redis's "
                       "5.1 does not); avoid it: index the table or loop with ipairs",
                       shown);
  if (name == "rawlen") return fmt::format("'{}' is Lua 5.4 only; use #t", shown);
  if (name == "_ENV") return fmt::format("'{}' is Lua 5.4 only; Redis runs Lua 5.1", shown);
  if (name == "warn") return fmt::format("'{}' is Lua 5.4 only; use ks.log(...)", shown);
  if (name == "setfenv" || name == "getfenv" || name == "gcinfo" || name == "module" || name == "newproxy")
    return fmt::format("'{}' exists only in Lua 5.1 (the host's Lua 5.4 has no such function)", shown);
  if (name == "cjson")
    return fmt::format("'{}' exists only inside Redis (nil in the host); use json (cjson also reorders keys and "
                       "rounds numbers beyond 2^53)",
                       shown);
  if (name == "bit")
    return fmt::format("'{}' exists only inside Redis (nil in the host); use arithmetic instead", shown);
  if (name == "cmsgpack" || name == "struct")
    return fmt::format("'{}' exists only inside Redis (nil in the host)", shown);
  if (name == "redis")
    return fmt::format("'{}' exists only inside Redis; a transform returns the new value and keyshift writes "
                       "it",
                       shown);
  if (name == "_VERSION")
    return fmt::format("'{}' differs: \"Lua 5.4\" in the host, \"Lua 5.1\" in Redis", shown);
  return std::nullopt;
}

bool In(std::string_view s, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

std::optional<std::string> LibraryFieldProblem(const std::string& lib, const std::string& field) {
  std::string shown = lib + "." + field;
  if (lib == "string") {
    if (In(field, {"byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "rep",
                   "reverse", "sub", "upper"}))
      return std::nullopt;
    if (In(field, {"pack", "unpack", "packsize"}))
      return fmt::format("'{}' is Lua 5.4 only; Redis runs Lua 5.1", shown);
    if (field == "gfind") return fmt::format("'{}' exists only in Lua 5.1; use string.gmatch", shown);
    if (field == "dump") return fmt::format("'{}' is not portable: bytecode differs between Lua 5.1 and 5.4", shown);
  } else if (lib == "math") {
    if (In(field, {"abs", "acos", "asin", "atan", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log",
                   "max", "min", "modf", "pi", "rad", "sin", "sqrt", "tan"}))
      return std::nullopt;
    if (field == "tointeger")
      return fmt::format("'{}' is Lua 5.4 only; use math.floor(x) (after checking x == math.floor(x))", shown);
    if (field == "type")
      return fmt::format("'{}' is Lua 5.4 only (Lua 5.1 has no integer subtype); use type(x) == \"number\" and "
                         "x == math.floor(x)",
                         shown);
    if (field == "ult") return fmt::format("'{}' is Lua 5.4 only; Redis runs Lua 5.1", shown);
    if (field == "maxinteger" || field == "mininteger")
      return fmt::format("'{}' is Lua 5.4 only (Lua 5.1 numbers are doubles, exact up to 2^53)", shown);
    if (field == "random" || field == "randomseed")
      return fmt::format("'{}' is not offered to migrations: transforms must be deterministic", shown);
    if (field == "pow") return fmt::format("'{}' exists only in Lua 5.1 (nil in the host); use x ^ y", shown);
    if (field == "log10")
      return fmt::format("'{}' exists only in Lua 5.1 (nil in the host); use math.log(x) / math.log(10)", shown);
    if (field == "mod") return fmt::format("'{}' exists only in Lua 5.1 (nil in the host); use math.fmod", shown);
    if (In(field, {"atan2", "cosh", "sinh", "tanh", "frexp", "ldexp"}))
      return fmt::format("'{}' exists only in Lua 5.1 (nil in the host)", shown);
  } else if (lib == "table") {
    if (In(field, {"concat", "insert", "remove", "sort"})) return std::nullopt;
    if (field == "unpack")
      return fmt::format("'{}' is Lua 5.4 only (Redis's Lua 5.1 has the global unpack, the host does not); "
                         "avoid it: index the table or loop with ipairs",
                         shown);
    if (field == "move") return fmt::format("'{}' is Lua 5.4 only; copy with a for loop", shown);
    if (field == "pack")
      return fmt::format("'{}' is Lua 5.4 only; use {{ ... }} and select(\"#\", ...)", shown);
    if (field == "getn") return fmt::format("'{}' exists only in Lua 5.1 (nil in the host); use #t", shown);
    if (In(field, {"setn", "maxn", "foreach", "foreachi"}))
      return fmt::format("'{}' exists only in Lua 5.1 (nil in the host)", shown);
  } else {
    return std::nullopt;  // json, time, ks: the same stdlib in both
  }
  return fmt::format("'{}' does not exist in Lua 5.1 or 5.4", shown);
}

// The %g class (printable characters) is Lua 5.2+: 5.1 reads it as a literal 'g'.
constexpr const char* kPercentG =
    "pattern class '%{}' is Lua 5.2+ only: Lua 5.1 reads it as a literal '{}'; use '{}' instead";

// ---------------------------------------------------------------- parser

class Parser {
 public:
  Parser(const std::vector<Token>& toks, Reporter* rep) : t_(toks), rep_(rep) {}

  void Chunk() {
    OpenScope();
    Block();
    if (Cur().kind != Tok::kEof) throw Expected("<eof>");
    CloseScope();
    for (const auto& [name, line] : undefined_reads_)
      if (!written_globals_.count(name))
        rep_->Add(line, fmt::format("reads undefined global '{}' (Redis scripts error on undefined globals)", name));
  }

 private:
  // What an expression names, kept until we know whether it is read or written.
  struct Ref {
    enum Kind { kNone, kLocal, kGlobal, kGlobalDynamic, kLibrary } kind = kNone;
    std::string name;   // kGlobal: the global; kLibrary: the library or module
    std::string field;  // kLibrary: the field ("" for a computed index)
    int line = 0;
  };
  // What an expression's value is known to be, for number-to-text checks:
  // kFloat when Lua 5.4 computes a float (a '/' or '^', an integral float
  // literal such as 1e3 or 2.0, arithmetic on those), whose text can differ
  // from 5.1's ("5.0" / "5"); kFraction for a literal like 1.5, which prints
  // the same in both but makes arithmetic on it a float.
  enum class Num { kOther, kFraction, kFloat };
  struct ExprInfo {
    Num num{};
    bool is_string = false;  // exactly one string literal
    std::string str;
    bool is_global_name = false;  // exactly one name that is not a local
    std::string name;
  };

  // Bounds the parser's recursion: Lua itself refuses a file nested about 200
  // levels deep, so a file that reaches kMaxNesting is not Lua anyway.
  static constexpr int kMaxNesting = 500;
  struct Nesting {
    explicit Nesting(Parser* p) : parser(p) {
      if (++parser->nesting_ > kMaxNesting)
        throw SyntaxError{parser->Cur().line, "chunk has too many syntax levels"};
    }
    ~Nesting() { --parser->nesting_; }
    Parser* parser;
  };

  // -- tokens
  const Token& Cur() const { return t_[p_]; }
  const Token& Prev() const { return t_[p_ - 1]; }
  void Next() {
    if (p_ + 1 < t_.size()) ++p_;
  }
  bool IsOp(const char* op) const { return Cur().kind == Tok::kOp && Cur().text == op; }
  bool IsKw(const char* kw) const { return Cur().kind == Tok::kKeyword && Cur().text == kw; }
  static std::string Near(const Token& t) {
    if (t.kind == Tok::kEof) return "<eof>";
    if (t.kind == Tok::kString) return "string";
    return "'" + t.text + "'";
  }
  SyntaxError Expected(const std::string& what) const {
    return SyntaxError{Cur().line, fmt::format("'{}' expected near {}", what, Near(Cur()))};
  }
  void ExpectOp(const char* op) {
    if (!IsOp(op)) throw Expected(op);
    Next();
  }
  void ExpectKw(const char* kw) {
    if (!IsKw(kw)) throw Expected(kw);
    Next();
  }
  Token ExpectName() {
    if (Cur().kind != Tok::kName) throw Expected("<name>");
    Token t = Cur();
    Next();
    return t;
  }
  bool BlockFollow() const {
    return Cur().kind == Tok::kEof || IsKw("else") || IsKw("elseif") || IsKw("end") || IsKw("until");
  }

  // -- scopes
  void OpenScope() {
    scopes_.emplace_back();
    float_locals_.emplace_back();
  }
  void CloseScope() {
    scopes_.pop_back();
    float_locals_.pop_back();
  }
  void Declare(const Token& name) {
    if (name.text == "_ENV")
      rep_->Add(name.line, "a local named '_ENV' is Lua 5.4 only (it redirects globals); rename it", true);
    scopes_.back().push_back(name.text);
  }
  bool IsLocal(const std::string& name) const { return ScopeOf(name) >= 0; }
  // Index in scopes_ of the innermost scope declaring `name`, or -1.
  int ScopeOf(const std::string& name) const {
    for (int i = static_cast<int>(scopes_.size()) - 1; i >= 0; --i)
      if (std::find(scopes_[i].begin(), scopes_[i].end(), name) != scopes_[i].end()) return i;
    return -1;
  }
  // Whether local `name` may hold a float. A declaration sets it; any later
  // assignment of a float makes it stick (the checker does not follow branches).
  void NoteLocalNum(const std::string& name, Num num, bool declaration) {
    int scope = ScopeOf(name);
    if (scope < 0) return;
    if (num == Num::kFloat) float_locals_[scope].insert(name);
    else if (declaration) float_locals_[scope].erase(name);
  }
  Num LocalNum(const std::string& name) const {
    int scope = ScopeOf(name);
    return scope >= 0 && float_locals_[scope].count(name) ? Num::kFloat : Num::kOther;
  }

  // -- reads and writes
  Ref NameRef(const Token& t) const {
    Ref r;
    r.kind = IsLocal(t.text) ? Ref::kLocal : Ref::kGlobal;
    r.name = t.text;
    r.line = t.line;
    return r;
  }

  void CheckGlobalRead(const std::string& name, int line, const std::string& shown) {
    if (kPortableGlobals.count(name)) return;
    if (auto problem = GlobalProblem(name, shown)) {
      rep_->Add(line, *problem);
      return;
    }
    undefined_reads_.emplace_back(name, line);
  }

  void Read(const Ref& r) {
    if (r.kind == Ref::kGlobal) {
      CheckGlobalRead(r.name, r.line, r.name);
    } else if (r.kind == Ref::kLibrary && !r.field.empty()) {
      if (auto problem = LibraryFieldProblem(r.name, r.field)) rep_->Add(r.line, *problem);
    }
  }

  void Write(const Ref& r, bool function_statement = false) {
    switch (r.kind) {
      case Ref::kGlobal:
        written_globals_.insert(r.name);
        if (function_statement)
          rep_->Add(r.line, fmt::format("global write to '{0}' (function {0}): Redis forbids globals; write "
                                        "'local function {0}'",
                                        r.name));
        else
          rep_->Add(r.line, fmt::format("global write to '{}': Redis forbids globals; declare it local", r.name));
        break;
      case Ref::kGlobalDynamic:
        rep_->Add(r.line, "global write through _G[...]: Redis forbids globals; use a local table");
        break;
      case Ref::kLibrary: {
        // json, time and ks are locals of the server-mode script, rebuilt on
        // every call before the file runs: adding to them works in both modes.
        if (kModules.count(r.name)) break;
        std::string shown = r.field.empty() ? r.name + "[...]" : r.name + "." + r.field;
        rep_->Add(r.line, fmt::format("write into the '{}' library ('{}'): Redis refuses it (library tables are "
                                        "read-only); keep helpers in a local table",
                                        r.name, shown));
        break;
      }
      default:
        break;
    }
  }

  // base.field
  Ref Field(const Ref& base, const std::string& field, int line) {
    Ref r;
    if (base.kind == Ref::kGlobal) {
      if (base.name == "_G") {
        r.kind = Ref::kGlobal;
        r.name = field;
        r.line = line;
        return r;
      }
      if (kLibraries.count(base.name) || kModules.count(base.name)) {
        r.kind = Ref::kLibrary;
        r.name = base.name;
        r.field = field;
        r.line = base.line;
        return r;
      }
      CheckGlobalRead(base.name, base.line, base.name + "." + field);
      return r;
    }
    Read(base);
    return r;
  }

  // base[key]
  Ref Index(const Ref& base, const ExprInfo& key, int line) {
    if (key.is_string) return Field(base, key.str, line);
    Ref r;
    if (base.kind == Ref::kGlobal && base.name == "_G") {
      r.kind = Ref::kGlobalDynamic;
      r.line = base.line;
      return r;
    }
    if (base.kind == Ref::kGlobal && (kLibraries.count(base.name) || kModules.count(base.name))) {
      r.kind = Ref::kLibrary;
      r.name = base.name;
      r.line = base.line;
      return r;
    }
    Read(base);
    return r;
  }

  // -- calls whose meaning differs in 5.1
  void CheckCall(const Ref& callee, const std::vector<ExprInfo>& args, int line) {
    if (callee.kind == Ref::kLibrary) {
      const std::string& f = callee.field;
      if (callee.name == "string" && f == "rep" && args.size() >= 3)
        rep_->Add(line, "string.rep(s, n, sep): Lua 5.1 ignores the separator; build the string with table.concat");
      if (callee.name == "math" && f == "log" && args.size() >= 2)
        rep_->Add(line, "math.log(x, base): Lua 5.1 ignores the base; use math.log(x) / math.log(base)");
      if (callee.name == "math" && f == "atan" && args.size() >= 2)
        rep_->Add(line, "math.atan(y, x): Lua 5.1 ignores x (and so the quadrant); use math.atan(y / x) and fix "
                        "the quadrant yourself");
      if (callee.name == "string" && In(f, {"find", "match", "gmatch", "gsub"}) && args.size() >= 2 &&
          args[1].is_string)
        CheckPattern(args[1].str, line);
    } else if (callee.kind == Ref::kGlobal && callee.name == "xpcall" && args.size() >= 3) {
      rep_->Add(line, "xpcall(f, handler, ...): Lua 5.1 passes no arguments to f; call it through a closure");
    } else if (callee.kind == Ref::kGlobal && callee.name == "rawset" && !args.empty() && args[0].is_global_name) {
      Ref target;
      target.line = line;
      if (args[0].name == "_G") {
        target.kind = Ref::kGlobalDynamic;
        Write(target);
      } else if (kLibraries.count(args[0].name) || kModules.count(args[0].name)) {
        target.kind = Ref::kLibrary;
        target.name = args[0].name;
        Write(target);
      }
    }
  }

  void CheckMethodCall(const std::string& method, const std::vector<ExprInfo>& args, int line) {
    if (method == "rep" && args.size() >= 2)
      rep_->Add(line, "s:rep(n, sep): Lua 5.1 ignores the separator; build the string with table.concat");
    if (In(method, {"find", "match", "gmatch", "gsub"}) && !args.empty() && args[0].is_string)
      CheckPattern(args[0].str, line);
  }

  void CheckPattern(const std::string& pattern, int line) {
    for (size_t i = 0; i + 1 < pattern.size(); ++i) {
      if (pattern[i] != '%') continue;
      if (pattern[i + 1] == 'g' || pattern[i + 1] == 'G') {
        bool upper = pattern[i + 1] == 'G';
        rep_->Add(line, fmt::format(kPercentG, pattern[i + 1], pattern[i + 1], upper ? "[^%w%p]" : "[%w%p]"));
        return;
      }
      ++i;
    }
  }

  // -- statements
  void Block() {
    Nesting nesting(this);
    bool after_statement = false;  // Lua 5.1 allows one ';' after a statement, no empty statements
    while (!BlockFollow()) {
      if (IsOp(";")) {
        if (!after_statement)
          rep_->Add(Cur().line, "empty statement ';' is a syntax error in Lua 5.1; remove the extra ';'", true);
        after_statement = false;
        Next();
        continue;
      }
      if (IsKw("return")) {
        Next();
        if (!BlockFollow() && !IsOp(";")) ExprList();
        if (IsOp(";")) Next();
        if (!BlockFollow()) throw Expected("<eof>");
        return;
      }
      if (IsKw("break")) {
        int line = Cur().line;
        Next();
        if (IsOp(";")) Next();
        if (!BlockFollow())
          rep_->Add(line, "'break' must be the last statement of its block in Lua 5.1; write 'do break end'", true);
        after_statement = false;
        continue;
      }
      Statement();
      after_statement = true;
    }
  }

  void ScopedBlock() {
    OpenScope();
    Block();
    CloseScope();
  }

  void Statement() {
    int line = Cur().line;
    if (IsOp("::")) {
      Next();
      Token name = ExpectName();
      ExpectOp("::");
      rep_->Add(line, fmt::format("label '::{}::' is Lua 5.4 only (so is goto); Redis runs Lua 5.1: use a flag or "
                                  "an 'if' around the rest of the loop body",
                                  name.text),
                true);
    } else if (IsKw("goto")) {
      Next();
      ExpectName();
      rep_->Add(line, "'goto' is Lua 5.4 only; Redis runs Lua 5.1: use a flag or an 'if' around the rest of the "
                      "loop body",
                true);
    } else if (IsKw("do")) {
      Next();
      ScopedBlock();
      ExpectKw("end");
    } else if (IsKw("while")) {
      Next();
      Expr();
      ExpectKw("do");
      ScopedBlock();
      ExpectKw("end");
    } else if (IsKw("repeat")) {
      Next();
      OpenScope();  // the `until` condition sees the body's locals
      Block();
      ExpectKw("until");
      Expr();
      CloseScope();
    } else if (IsKw("if")) {
      Next();
      Expr();
      ExpectKw("then");
      ScopedBlock();
      while (IsKw("elseif")) {
        Next();
        Expr();
        ExpectKw("then");
        ScopedBlock();
      }
      if (IsKw("else")) {
        Next();
        ScopedBlock();
      }
      ExpectKw("end");
    } else if (IsKw("for")) {
      Next();
      std::vector<Token> names{ExpectName()};
      bool float_loop = false;  // Lua 5.4 counts with floats when the start or the step is one
      if (IsOp("=")) {
        Next();
        float_loop = Expr().num != Num::kOther;
        ExpectOp(",");
        Expr();
        if (IsOp(",")) {
          Next();
          float_loop |= Expr().num != Num::kOther;
        }
      } else {
        while (IsOp(",")) {
          Next();
          names.push_back(ExpectName());
        }
        ExpectKw("in");
        ExprList();
      }
      ExpectKw("do");
      OpenScope();
      for (const auto& n : names) Declare(n);
      if (float_loop) NoteLocalNum(names[0].text, Num::kFloat, true);
      Block();
      CloseScope();
      ExpectKw("end");
    } else if (IsKw("function")) {
      Next();
      FunctionStatement();
    } else if (IsKw("local")) {
      Next();
      if (IsKw("function")) {
        Next();
        Token name = ExpectName();
        Declare(name);  // visible inside its own body: recursion
        FuncBody(false);
      } else {
        std::vector<Token> names;
        do {
          if (!names.empty()) Next();  // the ','
          names.push_back(ExpectName());
          if (IsOp("<")) {
            int attr_line = Cur().line;
            Next();
            Token attr = ExpectName();
            ExpectOp(">");
            rep_->Add(attr_line, fmt::format("attribute '<{}>' is Lua 5.4 only; Redis runs Lua 5.1: drop it", attr.text),
                      true);
          }
        } while (IsOp(","));
        std::vector<ExprInfo> values;
        if (IsOp("=")) {
          Next();
          values = ExprList();
        }
        for (size_t i = 0; i < names.size(); ++i) {
          Declare(names[i]);  // in scope after the expressions
          NoteLocalNum(names[i].text, i < values.size() ? values[i].num : Num::kOther, true);
        }
      }
    } else {
      ExprStatement();
    }
  }

  void FunctionStatement() {
    Token first = ExpectName();
    Ref r = NameRef(first);
    std::vector<Token> path;
    bool method = false;
    while (IsOp(".")) {
      Next();
      path.push_back(ExpectName());
    }
    if (IsOp(":")) {
      Next();
      path.push_back(ExpectName());
      method = true;
    }
    for (const auto& f : path) r = Field(r, f.text, f.line);
    Write(r, /*function_statement=*/path.empty());
    FuncBody(method);
  }

  void FuncBody(bool method) {
    ExpectOp("(");
    OpenScope();
    if (method) scopes_.back().push_back("self");
    bool vararg = false;
    if (!IsOp(")")) {
      for (;;) {
        if (IsOp("...")) {
          Next();
          vararg = true;
          break;
        }
        Declare(ExpectName());
        if (!IsOp(",")) break;
        Next();
      }
    }
    ExpectOp(")");
    varargs_.push_back(vararg);
    Block();
    varargs_.pop_back();
    ExpectKw("end");
    CloseScope();
  }

  // `...` in the file's main chunk is valid Lua 5.4, but server mode runs the
  // file inside a function without parameters, where Lua 5.1 refuses it.
  void CheckVararg(int line) {
    if (varargs_.empty()) {
      rep_->Add(line, "'...' at the top level of the file: server mode runs the file inside a function without "
                      "parameters, where Lua 5.1 refuses it (and the file gets no arguments anyway); remove it",
                true);
    } else if (!varargs_.back()) {
      throw SyntaxError{line, "cannot use '...' outside a vararg function near '...'"};
    }
  }

  void ExprStatement() {
    bool call = false;
    Ref r = SuffixedExp(&call);
    if (IsOp("=") || IsOp(",")) {
      std::vector<Ref> targets{r};
      if (call) throw SyntaxError{Cur().line, fmt::format("syntax error near {}", Near(Cur()))};
      while (IsOp(",")) {
        Next();
        targets.push_back(SuffixedExp(&call));
        if (call) throw SyntaxError{Cur().line, fmt::format("syntax error near {}", Near(Cur()))};
      }
      ExpectOp("=");
      std::vector<ExprInfo> values = ExprList();
      for (size_t i = 0; i < targets.size(); ++i) {
        Write(targets[i]);
        if (targets[i].kind == Ref::kLocal && i < values.size()) NoteLocalNum(targets[i].name, values[i].num, false);
      }
    } else if (!call) {
      throw SyntaxError{Cur().line, fmt::format("syntax error near {}", Near(Cur()))};
    }
  }

  // -- expressions
  std::vector<ExprInfo> ExprList() {
    std::vector<ExprInfo> out{Expr()};
    while (IsOp(",")) {
      Next();
      out.push_back(Expr());
    }
    return out;
  }


  ExprInfo Expr() {
    size_t start = p_;
    ExprInfo info;
    info.num = SubExpr(0);
    if (p_ == start + 1 && t_[start].kind == Tok::kString) {
      info.is_string = true;
      info.str = t_[start].text;
    } else if (p_ == start + 1 && t_[start].kind == Tok::kName && !IsLocal(t_[start].text)) {
      info.is_global_name = true;
      info.name = t_[start].text;
    }
    return info;
  }

  // Lua 5.4's binary operator priorities {left, right}; {0, 0} when the
  // current token is not a binary operator.
  std::pair<int, int> BinaryPriority() const {
    if (IsKw("or")) return {1, 1};
    if (IsKw("and")) return {2, 2};
    if (Cur().kind != Tok::kOp) return {0, 0};
    const std::string& op = Cur().text;
    if (In(op, {"<", ">", "<=", ">=", "~=", "=="})) return {3, 3};
    if (op == "|") return {4, 4};
    if (op == "~") return {5, 5};
    if (op == "&") return {6, 6};
    if (op == "<<" || op == ">>") return {7, 7};
    if (op == "..") return {9, 8};  // right associative
    if (op == "+" || op == "-") return {10, 10};
    if (In(op, {"*", "/", "//", "%"})) return {11, 11};
    if (op == "^") return {14, 13};  // right associative
    return {0, 0};
  }
  static constexpr int kUnaryPriority = 12;

  void ReportBinaryOperator(const Token& t) {
    if (t.kind != Tok::kOp) return;
    if (t.text == "//") {
      rep_->Add(t.line, "integer division '//' is Lua 5.4 only; use math.floor(a / b)", true);
    } else if (In(t.text, {"&", "|", "~", "<<", ">>"})) {
      rep_->Add(t.line,
                fmt::format("bitwise operator '{}' is Lua 5.4 only; Redis runs Lua 5.1 (use arithmetic: math.floor, "
                            "%, *, /)",
                            t.text),
                true);
    }
  }

  void ReportFloatText(int line, const char* how) {
    rep_->Add(line, fmt::format("{} a number that Lua 5.4 holds as a float: it writes 5.0 where Lua 5.1 writes 5; "
                                "format it first with ks.number(x) or tostring(x)",
                                how));
  }

  Num SubExpr(int limit) {
    Nesting nesting(this);
    Num left;
    if (IsKw("not") || IsOp("-") || IsOp("#") || IsOp("~")) {
      bool minus = IsOp("-");
      if (IsOp("~"))
        rep_->Add(Cur().line, "bitwise operator '~' (unary not) is Lua 5.4 only; Redis runs Lua 5.1", true);
      Next();
      Num operand = SubExpr(kUnaryPriority);
      left = minus ? operand : Num::kOther;
    } else {
      left = SimpleExp();
    }
    for (auto prio = BinaryPriority(); prio.first > limit; prio = BinaryPriority()) {
      Token op = Cur();
      ReportBinaryOperator(op);
      Next();
      Num right = SubExpr(prio.second);
      if (op.text == "..") {
        if (left == Num::kFloat || right == Num::kFloat) ReportFloatText(op.line, "'..' turns into text");
        left = Num::kOther;
      } else if (op.text == "/" || op.text == "^") {
        left = Num::kFloat;
      } else if (In(op.text, {"+", "-", "*", "%", "//"})) {
        left = (left != Num::kOther || right != Num::kOther) ? Num::kFloat : Num::kOther;
      } else if (op.text == "and" || op.text == "or") {
        left = (left == Num::kFloat || right == Num::kFloat) ? Num::kFloat : Num::kOther;
      } else {
        left = Num::kOther;
      }
    }
    return left;
  }

  static Num LiteralNum(const std::string& text) {
    bool hex = text.size() > 1 && (text[1] == 'x' || text[1] == 'X');
    bool is_float = text.find_first_of(hex ? ".pP" : ".eE") != std::string::npos;
    if (!is_float) return Num::kOther;
    double v = std::strtod(text.c_str(), nullptr);
    if (std::isfinite(v) && v == std::floor(v)) return Num::kFloat;
    return Num::kFraction;
  }

  Num SimpleExp() {
    const Token& t = Cur();
    if (t.kind == Tok::kNumber) {
      Num n = LiteralNum(t.text);
      Next();
      return n;
    }
    if (IsOp("...")) CheckVararg(t.line);
    if (t.kind == Tok::kString || IsKw("nil") || IsKw("true") || IsKw("false") || IsOp("...")) {
      Next();
    } else if (IsOp("{")) {
      Constructor();
    } else if (IsKw("function")) {
      Next();
      FuncBody(false);
    } else {
      bool call = false;
      Num paren = Num::kOther;
      Read(SuffixedExp(&call, &paren));
      return paren;
    }
    return Num::kOther;
  }

  // `paren`: the Num of a parenthesized expression or a local, "(a / b)", "x".
  Ref PrimaryExp(Num* paren) {
    if (Cur().kind == Tok::kName) {
      Ref r = NameRef(Cur());
      if (paren && r.kind == Ref::kLocal) *paren = LocalNum(r.name);
      Next();
      return r;
    }
    if (IsOp("(")) {
      Next();
      ExprInfo inner = Expr();
      ExpectOp(")");
      if (paren) *paren = inner.num;
      return Ref{};
    }
    throw SyntaxError{Cur().line, fmt::format("unexpected symbol near {}", Near(Cur()))};
  }

  // Lua 5.4 gives a float from these whatever the argument, or (abs, max,
  // min, fmod) when an argument is one.
  static bool IsFloatMath(const Ref& r, const std::vector<ExprInfo>& args) {
    if (r.kind != Ref::kLibrary || r.name != "math") return false;
    if (In(r.field, {"sqrt", "exp", "log", "sin", "cos", "tan", "asin", "acos", "atan", "deg", "rad", "modf"}))
      return true;
    bool float_arg = false;
    for (const auto& a : args) float_arg |= a.num == Num::kFloat;
    return float_arg && In(r.field, {"abs", "max", "min", "fmod"});
  }

  Ref SuffixedExp(bool* call, Num* paren = nullptr) {
    Ref r = PrimaryExp(paren);
    *call = false;
    for (;;) {
      bool suffix = IsOp(".") || IsOp("[") || IsOp(":") || IsOp("(") || IsOp("{") || Cur().kind == Tok::kString;
      Ref callee = r;
      if (paren && suffix) *paren = Num::kOther;  // "(f)(x)" is a call, not the parenthesized value
      if (IsOp(".")) {
        Next();
        Token f = ExpectName();
        r = Field(r, f.text, f.line);
        if (paren && r.kind == Ref::kLibrary && r.name == "math" && In(r.field, {"pi", "huge"})) *paren = Num::kFloat;
        *call = false;
      } else if (IsOp("[")) {
        int line = Cur().line;
        Next();
        ExprInfo key = Expr();
        ExpectOp("]");
        r = Index(r, key, line);
        *call = false;
      } else if (IsOp(":")) {
        Next();
        Token m = ExpectName();
        Read(r);
        CheckAmbiguousCall();
        std::vector<ExprInfo> args = Args();
        CheckMethodCall(m.text, args, m.line);
        r = Ref{};
        *call = true;
      } else if (IsOp("(") || IsOp("{") || Cur().kind == Tok::kString) {
        int line = r.line ? r.line : Cur().line;
        Read(r);
        CheckAmbiguousCall();
        std::vector<ExprInfo> args = Args();
        CheckCall(r, args, line);
        r = Ref{};
        *call = true;
        if (paren && IsFloatMath(callee, args)) *paren = Num::kFloat;
      } else {
        return r;
      }
    }
  }

  // Lua 5.1 refuses a call whose '(' is on a later line than what precedes it.
  void CheckAmbiguousCall() {
    if (IsOp("(") && Cur().line != Prev().end_line)
      rep_->Add(Cur().line,
                "a '(' at the start of a line continues the expression on the line before: Lua 5.1 refuses it as "
                "ambiguous syntax; join the lines (or end the statement before it)",
                true);
  }

  std::vector<ExprInfo> Args() {
    if (Cur().kind == Tok::kString) {
      ExprInfo info;
      info.is_string = true;
      info.str = Cur().text;
      Next();
      return {info};
    }
    if (IsOp("{")) {
      Constructor();
      return {ExprInfo{}};
    }
    ExpectOp("(");
    std::vector<ExprInfo> args;
    if (!IsOp(")")) args = ExprList();
    ExpectOp(")");
    return args;
  }

  void Constructor() {
    ExpectOp("{");
    while (!IsOp("}")) {
      if (IsOp("[")) {
        Next();
        Expr();
        ExpectOp("]");
        ExpectOp("=");
        Expr();
      } else if (Cur().kind == Tok::kName && t_[p_ + 1].kind == Tok::kOp && t_[p_ + 1].text == "=") {
        Next();  // a field name, not a variable
        Next();
        Expr();
      } else {
        Expr();
      }
      if (IsOp(",") || IsOp(";")) Next();
      else break;
    }
    ExpectOp("}");
  }

  const std::vector<Token>& t_;
  Reporter* rep_;
  size_t p_ = 0;
  int nesting_ = 0;
  std::vector<bool> varargs_;  // per enclosing function: declared with '...'? (empty: the main chunk)
  std::vector<std::vector<std::string>> scopes_;
  std::vector<std::set<std::string>> float_locals_;  // per scope: locals that may hold a float
  std::vector<std::pair<std::string, int>> undefined_reads_;
  std::set<std::string> written_globals_;
};

// ---------------------------------------------------------------- luac5.1

std::optional<std::string> FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  std::string_view rest(path);
  for (;;) {
    size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    std::string candidate(dir.empty() ? std::string_view(".") : dir);
    candidate.push_back('/');
    candidate.append(program);
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    if (colon == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(colon + 1);
  }
}

struct CompileError {
  int line;
  std::string message;
};

// "luac5.1: /tmp/ks-portability-abc123.lua:3: unexpected symbol near '/'"
// -> {3, "unexpected symbol near '/'"}. The file name may be shortened ("...").
std::optional<CompileError> ParseLuacError(const std::string& output) {
  std::string first = output.substr(0, output.find('\n'));
  if (!first.empty() && first.back() == '\r') first.pop_back();
  for (size_t colon = first.find(':'); colon != std::string::npos; colon = first.find(':', colon + 1)) {
    size_t j = colon + 1, digits_start = j;
    while (j < first.size() && IsDigit(static_cast<unsigned char>(first[j]))) ++j;
    if (j == digits_start || j - digits_start > 9 || first.compare(j, 2, ": ") != 0) continue;
    std::string message = first.substr(j + 2);
    if (message.size() > 200) message = message.substr(0, 200) + "...";
    return CompileError{std::atoi(first.substr(digits_start, j - digits_start).c_str()), message};
  }
  return std::nullopt;
}

// Compiles `source` with `luac5.1 -p`, wrapped as server mode runs it (inside
// a function, after the stdlib locals: see server_mode/server_script.cc); its first
// error, with the line in `source`, if any. Nothing when luac5.1 is missing or
// its output cannot be read.
std::optional<CompileError> CompileWithLua51(const std::string& source) {
  auto luac = FindOnPath("luac5.1");
  if (!luac) return std::nullopt;
  constexpr int kWrapperLines = 3;
  std::string shadows;  // the locals server mode declares there (Lua 5.1 counts them as upvalues)
  for (const char* name : kWrappedGlobals) shadows += std::string(shadows.empty() ? "local " : ", ") + name;
  std::string wrapped = "local json, time, ks\nlocal mig = (function()\n" + shadows + "\n" + source;
  if (!source.empty() && !IsNewline(static_cast<unsigned char>(source.back()))) wrapped += "\n";
  wrapped += "end)()\nreturn mig\n";
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  if (ec) dir = "/tmp";
  std::string templ = (dir / "ks-portability-XXXXXX.lua").string();
  std::vector<char> name(templ.begin(), templ.end());
  name.push_back('\0');
  int fd = ::mkstemps(name.data(), 4);
  if (fd < 0) return std::nullopt;
  std::string file(name.data());
  bool written = true;
  for (size_t off = 0; off < wrapped.size();) {
    ssize_t n = ::write(fd, wrapped.data() + off, wrapped.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      written = false;
      break;
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  std::optional<CompileError> result;
  int pipefd[2];
  if (written && ::pipe2(pipefd, O_CLOEXEC) == 0) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDERR_FILENO);
    std::string arg0 = "luac5.1", arg1 = "-p";
    char* argv[] = {arg0.data(), arg1.data(), file.data(), nullptr};
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, luac->c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipefd[1]);
    std::string output;
    if (rc == 0) {
      char buf[4096];
      for (;;) {
        ssize_t n = ::read(pipefd[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (output.size() < 65536) output.append(buf, static_cast<size_t>(n));
      }
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
      if (failed) result = ParseLuacError(output);
      if (result) {  // back to the file's own lines; the wrapper's last lines count as the file's last
        int file_lines = 1;  // line breaks as Lua counts them: \n, \r, \r\n, \n\r
        for (size_t i = 0; i < source.size(); ++i) {
          if (!IsNewline(static_cast<unsigned char>(source[i]))) continue;
          if (i + 1 < source.size() && IsNewline(static_cast<unsigned char>(source[i + 1])) && source[i + 1] != source[i])
            ++i;
          ++file_lines;
        }
        auto to_file = [&](int line) { return std::clamp(line - kWrapperLines, 1, file_lines); };
        result->line = to_file(result->line);
        // "... (to close 'function' at line 5) ...", "function at line 5 has more than 60 upvalues"
        std::string& msg = result->message;
        for (size_t at = msg.find("at line "); at != std::string::npos; at = msg.find("at line ", at + 1)) {
          size_t start = at + 8, end = start;
          while (end < msg.size() && end - start < 9 && IsDigit(static_cast<unsigned char>(msg[end]))) ++end;
          if (end == start) continue;
          std::string mapped = std::to_string(to_file(std::atoi(msg.substr(start, end - start).c_str())));
          msg.replace(start, end - start, mapped);
        }
      }
    }
    ::close(pipefd[0]);
  }
  ::unlink(file.c_str());
  return result;
}

}  // namespace

std::vector<PortabilityIssue> CheckPortability(const std::string& source) {
  Reporter rep;
  try {
    std::vector<Token> toks = Lexer(source, &rep).Run();
    Parser(toks, &rep).Chunk();
  } catch (const SyntaxError& e) {
    rep.Add(e.line, fmt::format("syntax error: {} (Lua 5.4 cannot load this file either)", e.message), true);
  }
  if (auto err = CompileWithLua51(source); err && !rep.Explains(err->line))
    rep.Add(err->line, fmt::format("Lua 5.1 (Redis) cannot compile this: {}", err->message));
  return rep.Take();
}

std::vector<SourceToken> LexLua(const std::string& source) {
  Reporter rep;
  std::vector<SourceToken> out;
  try {
    for (const Token& t : Lexer(source, &rep).Run()) {
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
