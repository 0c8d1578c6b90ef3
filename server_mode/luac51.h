// The portability check's last safety net: compiles a migration with the
// real Lua 5.1 parser (`luac5.1 -p`, when it is on PATH), wrapped as server
// mode runs it, and maps its first error back to the file's own lines.
#pragma once

#include <optional>
#include <string>

namespace keyshift::portability {

struct CompileError {
  int line;
  std::string message;
};

// The first error of `luac5.1 -p` on `source`, with the line in `source`, if
// any. Nothing when luac5.1 is missing or its output cannot be read.
std::optional<CompileError> CompileWithLua51(const std::string& source);

}  // namespace keyshift::portability
