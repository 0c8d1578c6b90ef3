// What the names of a migration refer to, and whether each use ports: the
// local scopes (and which locals may hold a float), reads of globals and
// library fields, writes to globals and into libraries (Redis refuses both),
// and library calls 5.1 reads differently. The parser drives it; it keeps
// the findings until the end of the file, where undefined reads are known.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server_mode/float_text.h"
#include "server_mode/lua_lexer.h"
#include "server_mode/portability_report.h"

namespace keyshift::portability {

// What an expression names, kept until we know whether it is read or written.
struct Ref {
  enum Kind { kNone, kLocal, kGlobal, kGlobalDynamic, kLibrary } kind = kNone;
  std::string name;   // kGlobal: the global; kLibrary: the library or module
  std::string field;  // kLibrary: the field ("" for a computed index)
  int line = 0;
};

// What the parser knows of an expression's value.
struct ExprInfo {
  Num num{};
  bool is_string = false;  // exactly one string literal
  std::string str;
  bool is_global_name = false;  // exactly one name that is not a local
  std::string name;
};

class Names {
 public:
  explicit Names(Reporter* rep) : rep_(rep) {}

  // -- scopes
  void OpenScope();
  void CloseScope();
  void Declare(const Token& name);
  void DeclareSelf() { scopes_.back().push_back("self"); }
  bool IsLocal(const std::string& name) const { return ScopeOf(name) >= 0; }
  // Whether local `name` may hold a float. A declaration sets it; any later
  // assignment of a float makes it stick (the checker does not follow branches).
  void NoteLocalNum(const std::string& name, Num num, bool declaration);
  Num LocalNum(const std::string& name) const;

  // -- reads and writes
  Ref NameRef(const Token& t) const;
  Ref Field(const Ref& base, const std::string& field, int line);  // base.field
  Ref Index(const Ref& base, const ExprInfo& key, int line);       // base[key]
  void Read(const Ref& r);
  void Write(const Ref& r, bool function_statement = false);
  void CheckCall(const Ref& callee, const std::vector<ExprInfo>& args, int line);
  void CheckMethodCall(const std::string& method, const std::vector<ExprInfo>& args, int line);
  // At the end of the file: reads of globals that nothing wrote.
  void ReportUndefinedReads();

 private:
  int ScopeOf(const std::string& name) const;  // innermost scope declaring `name`, or -1
  void CheckGlobalRead(const std::string& name, int line, const std::string& shown);
  void CheckRawset(const ExprInfo& target, int line);
  void CheckPattern(const std::string& pattern, int line);
  void WriteLibrary(const Ref& r);

  Reporter* rep_;
  std::vector<std::vector<std::string>> scopes_;
  std::vector<std::set<std::string>> float_locals_;  // per scope: locals that may hold a float
  std::vector<std::pair<std::string, int>> undefined_reads_;
  std::set<std::string> written_globals_;
};

}  // namespace keyshift::portability
