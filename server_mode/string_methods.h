// Server mode: Redis's string metatable is read-only, so a migration's
// `s:find(p)` would always reach Redis's C matcher, which SCRIPT KILL cannot
// stop. GuardStringMethods rewrites each method call of find, match, gmatch
// and gsub, `R:find(args)`, into `KS_METHOD(R, 'find')(args)`: the receiver
// is evaluated once, before the arguments, as Lua does, and KS_METHOD (defined
// by the server script) sends strings to stdlib/pattern.lua. Line breaks are
// kept, so error lines still match the file.
#pragma once

#include <string>

namespace keyshift {

inline constexpr const char* kMethodHelper = "__keyshift_method";

std::string GuardStringMethods(const std::string& source);

}  // namespace keyshift
