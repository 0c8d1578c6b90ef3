#include "server_mode/name_access.h"

#include <algorithm>

#include <fmt/format.h>

#include "server_mode/library_names.h"

namespace keyshift::portability {

// ---------------------------------------------------------------- scopes

void Names::OpenScope() {
  scopes_.emplace_back();
  float_locals_.emplace_back();
}

void Names::CloseScope() {
  scopes_.pop_back();
  float_locals_.pop_back();
}

void Names::Declare(const Token& name) {
  if (name.text == "_ENV")
    rep_->Add(name.line, "a local named '_ENV' is Lua 5.4 only (it redirects globals); rename it", true);
  scopes_.back().push_back(name.text);
}

int Names::ScopeOf(const std::string& name) const {
  for (int i = static_cast<int>(scopes_.size()) - 1; i >= 0; --i)
    if (std::find(scopes_[i].begin(), scopes_[i].end(), name) != scopes_[i].end()) return i;
  return -1;
}

void Names::NoteLocalNum(const std::string& name, Num num, bool declaration) {
  int scope = ScopeOf(name);
  if (scope < 0) return;
  if (num == Num::kFloat) float_locals_[scope].insert(name);
  else if (declaration) float_locals_[scope].erase(name);
}

Num Names::LocalNum(const std::string& name) const {
  int scope = ScopeOf(name);
  return scope >= 0 && float_locals_[scope].count(name) ? Num::kFloat : Num::kOther;
}

// ---------------------------------------------------------------- reads and writes

Ref Names::NameRef(const Token& t) const {
  Ref r;
  r.kind = IsLocal(t.text) ? Ref::kLocal : Ref::kGlobal;
  r.name = t.text;
  r.line = t.line;
  return r;
}

void Names::CheckGlobalRead(const std::string& name, int line, const std::string& shown) {
  if (IsPortableGlobal(name)) return;
  if (auto problem = GlobalProblem(name, shown)) {
    rep_->Add(line, *problem);
    return;
  }
  undefined_reads_.emplace_back(name, line);
}

void Names::Read(const Ref& r) {
  if (r.kind == Ref::kGlobal) {
    CheckGlobalRead(r.name, r.line, r.name);
  } else if (r.kind == Ref::kLibrary && !r.field.empty()) {
    if (auto problem = LibraryFieldProblem(r.name, r.field)) rep_->Add(r.line, *problem);
  }
}

void Names::Write(const Ref& r, bool function_statement) {
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
    case Ref::kLibrary:
      WriteLibrary(r);
      break;
    default:
      break;
  }
}

void Names::WriteLibrary(const Ref& r) {
  // json, time and ks are locals of the server-mode script, rebuilt on
  // every call before the file runs: adding to them works in both modes.
  if (IsModule(r.name)) return;
  std::string shown = r.field.empty() ? r.name + "[...]" : r.name + "." + r.field;
  rep_->Add(r.line, fmt::format("write into the '{}' library ('{}'): Redis refuses it (library tables are "
                                "read-only); keep helpers in a local table",
                                r.name, shown));
}

Ref Names::Field(const Ref& base, const std::string& field, int line) {
  Ref r;
  if (base.kind == Ref::kGlobal) {
    if (base.name == "_G") {
      r.kind = Ref::kGlobal;
      r.name = field;
      r.line = line;
      return r;
    }
    if (IsLibrary(base.name) || IsModule(base.name)) {
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

Ref Names::Index(const Ref& base, const ExprInfo& key, int line) {
  if (key.is_string) return Field(base, key.str, line);
  Ref r;
  if (base.kind == Ref::kGlobal && base.name == "_G") {
    r.kind = Ref::kGlobalDynamic;
    r.line = base.line;
    return r;
  }
  if (base.kind == Ref::kGlobal && (IsLibrary(base.name) || IsModule(base.name))) {
    r.kind = Ref::kLibrary;
    r.name = base.name;
    r.line = base.line;
    return r;
  }
  Read(base);
  return r;
}

void Names::ReportUndefinedReads() {
  for (const auto& [name, line] : undefined_reads_)
    if (!written_globals_.count(name))
      rep_->Add(line, fmt::format("reads undefined global '{}' (Redis scripts error on undefined globals)", name));
}

// ---------------------------------------------------------------- calls whose meaning differs in 5.1

void Names::CheckCall(const Ref& callee, const std::vector<ExprInfo>& args, int line) {
  if (callee.kind == Ref::kLibrary) {
    const std::string& f = callee.field;
    if (auto problem = LibraryCallProblem(callee.name, f, args.size())) rep_->Add(line, *problem);
    if (callee.name == "string" && In(f, {"find", "match", "gmatch", "gsub"}) && args.size() >= 2 &&
        args[1].is_string)
      CheckPattern(args[1].str, line);
  } else if (callee.kind == Ref::kGlobal && callee.name == "xpcall" && args.size() >= 3) {
    rep_->Add(line, "xpcall(f, handler, ...): Lua 5.1 passes no arguments to f; call it through a closure");
  } else if (callee.kind == Ref::kGlobal && callee.name == "rawset" && !args.empty() && args[0].is_global_name) {
    CheckRawset(args[0], line);
  }
}

// rawset(_G, ...) and rawset(string, ...) write as an assignment would.
void Names::CheckRawset(const ExprInfo& target_table, int line) {
  Ref target;
  target.line = line;
  if (target_table.name == "_G") {
    target.kind = Ref::kGlobalDynamic;
    Write(target);
  } else if (IsLibrary(target_table.name) || IsModule(target_table.name)) {
    target.kind = Ref::kLibrary;
    target.name = target_table.name;
    Write(target);
  }
}

void Names::CheckMethodCall(const std::string& method, const std::vector<ExprInfo>& args, int line) {
  if (auto problem = MethodCallProblem(method, args.size())) rep_->Add(line, *problem);
  if (In(method, {"find", "match", "gmatch", "gsub"}) && !args.empty() && args[0].is_string)
    CheckPattern(args[0].str, line);
}

void Names::CheckPattern(const std::string& pattern, int line) {
  if (auto problem = PatternProblem(pattern)) rep_->Add(line, *problem);
}

}  // namespace keyshift::portability
