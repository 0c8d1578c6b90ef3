#include "server_mode/lua_lexer.h"

#include <cstring>

#include <fmt/format.h>

#include "server_mode/lua_chars.h"
#include "server_mode/numerals.h"

namespace keyshift::portability {

namespace {

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


class Lexer {
 public:
  Lexer(const std::string& src, Reporter* rep) : s_(src), rep_(rep) {}

  std::vector<Token> Run() {
    std::vector<Token> toks;
    for (int c = Cur(); c >= 0; c = Cur()) {
      size_t begin = i_, count = toks.size();
      NextToken(c, &toks);
      if (toks.size() > count) toks.back().begin = begin, toks.back().end = i_;
    }
    toks.push_back({Tok::kEof, "<eof>", line_, line_});
    return toks;
  }

 private:
  int Cur() const { return i_ < s_.size() ? static_cast<unsigned char>(s_[i_]) : -1; }
  int Peek(size_t k) const { return i_ + k < s_.size() ? static_cast<unsigned char>(s_[i_ + k]) : -1; }

  // Consumes what starts with `c`: a token (appended to `toks`), a comment or
  // white space.
  void NextToken(int c, std::vector<Token>* toks) {
    if (IsNewline(c)) {
      Newline();
    } else if (IsSpace(c)) {
      ++i_;
    } else if (c == '-' && Peek(1) == '-') {
      Comment();
    } else if (c == '[' && LongLevel() >= 0) {
      int line = line_;
      std::string value = LongBracket(LongLevel(), /*comment=*/false);
      toks->push_back({Tok::kString, std::move(value), line, line_});
    } else if (c == '[' && Peek(1) == '=') {
      throw SyntaxError{line_, "invalid long string delimiter near '[='"};
    } else if (c == '"' || c == '\'') {
      int line = line_;
      std::string value = ShortString();
      toks->push_back({Tok::kString, std::move(value), line, line_});
    } else if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) {
      toks->push_back({Tok::kNumber, Number(), line_, line_});
    } else if (IsAlpha(c)) {
      toks->push_back(Word());
    } else {
      toks->push_back(Operator(c));
    }
  }

  void Comment() {
    i_ += 2;
    if (Cur() == '[' && LongLevel() >= 0) {
      LongBracket(LongLevel(), /*comment=*/true);
    } else {
      while (Cur() >= 0 && !IsNewline(Cur())) ++i_;
    }
  }

  Token Word() {
    size_t start = i_;
    while (IsAlpha(Cur()) || IsDigit(Cur())) ++i_;
    std::string word = s_.substr(start, i_ - start);
    Tok kind = IsKeyword(word) ? Tok::kKeyword : Tok::kName;
    return {kind, std::move(word), line_, line_};
  }

  Token Operator(int c) {
    for (const char* op : kOperators) {
      if (s_.compare(i_, std::strlen(op), op) != 0) continue;
      i_ += std::strlen(op);
      return {Tok::kOp, op, line_, line_};
    }
    std::string shown = (c >= 0x20 && c < 0x7f) ? std::string(1, static_cast<char>(c)) : fmt::format("<\\{}>", c);
    throw SyntaxError{line_, fmt::format("unexpected symbol near '{}'", shown)};
  }

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
      Escape(&value);
    }
  }

  // After a backslash in a short string: appends what the escape stands for.
  void Escape(std::string* value) {
    int e = Cur();
    switch (e) {
      case 'a': value->push_back('\a'); ++i_; break;
      case 'b': value->push_back('\b'); ++i_; break;
      case 'f': value->push_back('\f'); ++i_; break;
      case 'n': value->push_back('\n'); ++i_; break;
      case 'r': value->push_back('\r'); ++i_; break;
      case 't': value->push_back('\t'); ++i_; break;
      case 'v': value->push_back('\v'); ++i_; break;
      case '\\': case '"': case '\'': value->push_back(static_cast<char>(e)); ++i_; break;
      case '\n': case '\r':
        Newline();
        value->push_back('\n');
        break;
      case 'x': HexEscape(value); break;
      case 'z': SkipSpaceEscape(); break;
      case 'u': UnicodeEscape(value); break;
      default: DecimalEscape(e, value);
    }
  }

  void HexEscape(std::string* value) {
    rep_->Add(line_,
              "'\\x' escape reads differently in Lua 5.1 (there it is the letter 'x' and the digits "
              "as text); write the byte as '\\ddd'");
    ++i_;
    if (!IsXDigit(Cur()) || !IsXDigit(Peek(1))) throw SyntaxError{line_, "hexadecimal digit expected"};
    value->push_back(static_cast<char>(HexValue(Cur()) * 16 + HexValue(Peek(1))));
    i_ += 2;
  }

  void SkipSpaceEscape() {
    rep_->Add(line_,
              "'\\z' escape is Lua 5.4 only (Lua 5.1 keeps the 'z' and the line break and spaces "
              "after it); join the pieces with '..' instead");
    ++i_;
    while (IsSpace(Cur())) {
      if (IsNewline(Cur())) Newline();
      else ++i_;
    }
  }

  void UnicodeEscape(std::string* value) {
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
    AppendUtf8(value, cp);
  }

  void DecimalEscape(int e, std::string* value) {
    if (e < 0) throw SyntaxError{line_, "unfinished string"};
    if (!IsDigit(e)) throw SyntaxError{line_, fmt::format("invalid escape sequence '\\{}'", static_cast<char>(e))};
    int v = 0;
    for (int k = 0; k < 3 && IsDigit(Cur()); ++k) {
      v = v * 10 + (Cur() - '0');
      ++i_;
    }
    if (v > 255) throw SyntaxError{line_, "decimal escape too large"};
    value->push_back(static_cast<char>(v));
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
    CheckNumeral(text, line_, rep_);
    return text;
  }

  const std::string& s_;
  Reporter* rep_;
  size_t i_ = 0;
  int line_ = 1;
};

}  // namespace

std::vector<Token> Lex(const std::string& src, Reporter* rep) { return Lexer(src, rep).Run(); }

}  // namespace keyshift::portability
