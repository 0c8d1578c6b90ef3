// Which global names and library fields a migration may use in both Lua 5.4
// (the host) and Redis's Lua 5.1, and which library calls 5.1 reads
// differently (string.rep with a separator, math.log with a base, the %g
// pattern class ...). Each problem comes back as the one-line message.
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace keyshift::portability {

inline bool In(std::string_view s, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

// Globals both environments have (the stdlib modules json, time, ks included).
bool IsPortableGlobal(std::string_view name);
// string, math, table: read-only in Redis.
bool IsLibrary(std::string_view name);
// json, time, ks: keyshift's own modules, the same in both.
bool IsModule(std::string_view name);

// What is wrong with reading global `name` (shown as `shown`, e.g. "os.time"),
// or nothing when it is portable or simply unknown.
std::optional<std::string> GlobalProblem(std::string_view name, const std::string& shown);

// What is wrong with reading `lib.field`, or nothing when it is portable.
std::optional<std::string> LibraryFieldProblem(const std::string& lib, const std::string& field);

// What 5.1 does differently with `lib.field` called with `nargs` arguments.
std::optional<std::string> LibraryCallProblem(const std::string& lib, const std::string& field, size_t nargs);

// What 5.1 does differently with `s:method(...)` called with `nargs` arguments.
std::optional<std::string> MethodCallProblem(const std::string& method, size_t nargs);

// The first pattern item of `pattern` that 5.1 reads differently.
std::optional<std::string> PatternProblem(const std::string& pattern);

}  // namespace keyshift::portability
