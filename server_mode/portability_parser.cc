#include "server_mode/portability_parser.h"

#include <fmt/format.h>

#include "server_mode/float_text.h"
#include "server_mode/library_names.h"
#include "server_mode/name_access.h"

namespace keyshift::portability {

namespace {

class Parser {
 public:
  Parser(const std::vector<Token>& toks, Reporter* rep) : t_(toks), rep_(rep) {}

  void Chunk() {
    names_.OpenScope();
    Block();
    if (Cur().kind != Tok::kEof) throw Expected("<eof>");
    names_.CloseScope();
    names_.ReportUndefinedReads();
  }

 private:
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
    names_.OpenScope();
    Block();
    names_.CloseScope();
  }

  void Statement() {
    int line = Cur().line;
    if (IsOp("::")) {
      Label(line);
    } else if (IsKw("goto")) {
      Goto(line);
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
      Repeat();
    } else if (IsKw("if")) {
      If();
    } else if (IsKw("for")) {
      For();
    } else if (IsKw("function")) {
      Next();
      FunctionStatement();
    } else if (IsKw("local")) {
      Local();
    } else {
      ExprStatement();
    }
  }

  void Label(int line) {
    Next();
    Token name = ExpectName();
    ExpectOp("::");
    rep_->Add(line, fmt::format("label '::{}::' is Lua 5.4 only (so is goto); Redis runs Lua 5.1: use a flag or "
                                "an 'if' around the rest of the loop body",
                                name.text),
              true);
  }

  void Goto(int line) {
    Next();
    ExpectName();
    rep_->Add(line, "'goto' is Lua 5.4 only; Redis runs Lua 5.1: use a flag or an 'if' around the rest of the "
                    "loop body",
              true);
  }

  void Repeat() {
    Next();
    names_.OpenScope();  // the `until` condition sees the body's locals
    Block();
    ExpectKw("until");
    Expr();
    names_.CloseScope();
  }

  void If() {
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
  }

  void For() {
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
    names_.OpenScope();
    for (const auto& n : names) names_.Declare(n);
    if (float_loop) names_.NoteLocalNum(names[0].text, Num::kFloat, true);
    Block();
    names_.CloseScope();
    ExpectKw("end");
  }

  void Local() {
    Next();
    if (IsKw("function")) {
      Next();
      Token name = ExpectName();
      names_.Declare(name);  // visible inside its own body: recursion
      FuncBody(false);
      return;
    }
    std::vector<Token> names;
    do {
      if (!names.empty()) Next();  // the ','
      names.push_back(ExpectName());
      if (IsOp("<")) Attribute();
    } while (IsOp(","));
    std::vector<ExprInfo> values;
    if (IsOp("=")) {
      Next();
      values = ExprList();
    }
    for (size_t i = 0; i < names.size(); ++i) {
      names_.Declare(names[i]);  // in scope after the expressions
      names_.NoteLocalNum(names[i].text, i < values.size() ? values[i].num : Num::kOther, true);
    }
  }

  void Attribute() {
    int attr_line = Cur().line;
    Next();
    Token attr = ExpectName();
    ExpectOp(">");
    rep_->Add(attr_line, fmt::format("attribute '<{}>' is Lua 5.4 only; Redis runs Lua 5.1: drop it", attr.text),
              true);
  }
  void FunctionStatement() {
    Token first = ExpectName();
    Ref r = names_.NameRef(first);
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
    for (const auto& f : path) r = names_.Field(r, f.text, f.line);
    names_.Write(r, /*function_statement=*/path.empty());
    FuncBody(method);
  }

  void FuncBody(bool method) {
    ExpectOp("(");
    names_.OpenScope();
    if (method) names_.DeclareSelf();
    bool vararg = false;
    if (!IsOp(")")) {
      for (;;) {
        if (IsOp("...")) {
          Next();
          vararg = true;
          break;
        }
        names_.Declare(ExpectName());
        if (!IsOp(",")) break;
        Next();
      }
    }
    ExpectOp(")");
    varargs_.push_back(vararg);
    Block();
    varargs_.pop_back();
    ExpectKw("end");
    names_.CloseScope();
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
        names_.Write(targets[i]);
        if (targets[i].kind == Ref::kLocal && i < values.size()) names_.NoteLocalNum(targets[i].name, values[i].num, false);
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
    } else if (p_ == start + 1 && t_[start].kind == Tok::kName && !names_.IsLocal(t_[start].text)) {
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
        if (left == Num::kFloat || right == Num::kFloat) rep_->Add(op.line, FloatTextMessage("'..' turns into text"));
        left = Num::kOther;
      } else {
        left = BinaryNum(op.text, left, right);
      }
    }
    return left;
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
      names_.Read(SuffixedExp(&call, &paren));
      return paren;
    }
    return Num::kOther;
  }

  // `paren`: the Num of a parenthesized expression or a local, "(a / b)", "x".
  Ref PrimaryExp(Num* paren) {
    if (Cur().kind == Tok::kName) {
      Ref r = names_.NameRef(Cur());
      if (paren && r.kind == Ref::kLocal) *paren = names_.LocalNum(r.name);
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

  static bool IsMathFloat(const Ref& callee, const std::vector<ExprInfo>& args) {
    if (callee.kind != Ref::kLibrary || callee.name != "math") return false;
    std::vector<Num> nums;
    for (const auto& a : args) nums.push_back(a.num);
    return IsFloatMath(callee.field, nums);
  }

  Ref SuffixedExp(bool* call, Num* paren = nullptr) {
    Ref r = PrimaryExp(paren);
    *call = false;
    for (;;) {
      bool suffix = IsOp(".") || IsOp("[") || IsOp(":") || IsOp("(") || IsOp("{") || Cur().kind == Tok::kString;
      if (!suffix) return r;
      if (paren) *paren = Num::kOther;  // "(f)(x)" is a call, not the parenthesized value
      *call = IsOp(":") || IsOp("(") || IsOp("{") || Cur().kind == Tok::kString;
      if (IsOp(".")) {
        r = FieldSuffix(r, paren);
      } else if (IsOp("[")) {
        r = IndexSuffix(r);
      } else if (IsOp(":")) {
        r = MethodCallSuffix(r);
      } else {
        r = CallSuffix(r, paren);
      }
    }
  }

  // .name
  Ref FieldSuffix(const Ref& base, Num* paren) {
    Next();
    Token f = ExpectName();
    Ref r = names_.Field(base, f.text, f.line);
    if (paren && r.kind == Ref::kLibrary && r.name == "math" && IsFloatConstant(r.field)) *paren = Num::kFloat;
    return r;
  }

  // [key]
  Ref IndexSuffix(const Ref& base) {
    int line = Cur().line;
    Next();
    ExprInfo key = Expr();
    ExpectOp("]");
    return names_.Index(base, key, line);
  }

  // :name(args)
  Ref MethodCallSuffix(const Ref& base) {
    Next();
    Token m = ExpectName();
    names_.Read(base);
    CheckAmbiguousCall();
    std::vector<ExprInfo> args = Args();
    names_.CheckMethodCall(m.text, args, m.line);
    return Ref{};
  }

  // (args), {table} or "string"
  Ref CallSuffix(const Ref& callee, Num* paren) {
    int line = callee.line ? callee.line : Cur().line;
    names_.Read(callee);
    CheckAmbiguousCall();
    std::vector<ExprInfo> args = Args();
    names_.CheckCall(callee, args, line);
    if (paren && IsMathFloat(callee, args)) *paren = Num::kFloat;
    return Ref{};
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
  Names names_{rep_};
  std::vector<bool> varargs_;  // per enclosing function: declared with '...'? (empty: the main chunk)
};

}  // namespace

void ParseChunk(const std::vector<Token>& toks, Reporter* rep) { Parser(toks, rep).Chunk(); }

}  // namespace keyshift::portability
