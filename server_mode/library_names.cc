#include "server_mode/library_names.h"

#include <set>
#include <vector>

#include <fmt/format.h>

namespace keyshift::portability {

namespace {

const std::set<std::string, std::less<>> kPortableGlobals = {
    "string", "table",  "math",     "pairs",    "ipairs",       "next",         "type",   "tostring",
    "tonumber", "error", "assert",  "select",   "rawget",       "rawset",       "rawequal",
    "setmetatable", "getmetatable", "pcall", "xpcall", "_G", "json", "time", "ks"};
const std::set<std::string, std::less<>> kLibraries = {"string", "math", "table"};
const std::set<std::string, std::less<>> kModules = {"json", "time", "ks"};

// Names that share one message; in the message {0} is the name as shown
// ("os.time"), {1} the global itself ("os").
struct NameRule {
  std::vector<std::string_view> names;
  const char* message;
};

const NameRule kGlobalRules[] = {
    {{"utf8"}, "'{0}' is Lua 5.4 only: Redis runs Lua 5.1, which has no utf8 library"},
    {{"os"}, "'{0}': Redis scripts have no 'os' library; take times from the data (time.to_epoch reads ISO-8601)"},
    {{"io", "debug", "package"}, "'{0}': there is no '{1}' library in Redis scripts (nor in the sandbox)"},
    {{"print"}, "'{0}' does not exist in Redis scripts; use ks.log(...)"},
    {{"require", "dofile", "loadfile"},
     "'{0}' does not exist in Redis scripts; json, time and ks are already there as globals"},
    {{"load"},
     "'{0}' is not portable: Lua 5.1's load takes a function, not a string; do not load code in a migration"},
    {{"loadstring"}, "'{0}' exists only in Lua 5.1 (the sandbox does not offer it); do not load code in a migration"},
    {{"collectgarbage"}, "'{0}' is not offered to migrations"},
    {{"coroutine"}, "'{0}': coroutines are not offered to migrations (the sandbox has none)"},
    {{"unpack"},
     "'{0}' exists only in Lua 5.1 (the host's Lua 5.4 has table.unpack instead, Redis's 5.1 does not); avoid "
     "it: index the table or loop with ipairs"},
    {{"rawlen"}, "'{0}' is Lua 5.4 only; use #t"},
    {{"_ENV"}, "'{0}' is Lua 5.4 only; Redis runs Lua 5.1"},
    {{"warn"}, "'{0}' is Lua 5.4 only; use ks.log(...)"},
    {{"setfenv", "getfenv", "gcinfo", "module", "newproxy"},
     "'{0}' exists only in Lua 5.1 (the host's Lua 5.4 has no such function)"},
    {{"cjson"},
     "'{0}' exists only inside Redis (nil in the host); use json (cjson also reorders keys and rounds numbers "
     "beyond 2^53)"},
    {{"bit"}, "'{0}' exists only inside Redis (nil in the host); use arithmetic instead"},
    {{"cmsgpack", "struct"}, "'{0}' exists only inside Redis (nil in the host)"},
    {{"redis"}, "'{0}' exists only inside Redis; a transform returns the new value and keyshift writes it"},
    {{"_VERSION"}, "'{0}' differs: \"Lua 5.4\" in the host, \"Lua 5.1\" in Redis"},
};

// Fields of one library; a null message marks the portable ones. {0} is
// "lib.field".
struct FieldRule {
  const char* lib;
  std::vector<std::string_view> fields;
  const char* message;
};

const FieldRule kFieldRules[] = {
    {"string",
     {"byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "rep", "reverse", "sub", "upper"},
     nullptr},
    {"string", {"pack", "unpack", "packsize"}, "'{0}' is Lua 5.4 only; Redis runs Lua 5.1"},
    {"string", {"gfind"}, "'{0}' exists only in Lua 5.1; use string.gmatch"},
    {"string", {"dump"}, "'{0}' is not portable: bytecode differs between Lua 5.1 and 5.4"},
    {"math",
     {"abs", "acos", "asin", "atan", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log", "max", "min",
      "modf", "pi", "rad", "sin", "sqrt", "tan"},
     nullptr},
    {"math", {"tointeger"}, "'{0}' is Lua 5.4 only; use math.floor(x) (after checking x == math.floor(x))"},
    {"math",
     {"type"},
     "'{0}' is Lua 5.4 only (Lua 5.1 has no integer subtype); use type(x) == \"number\" and x == math.floor(x)"},
    {"math", {"ult"}, "'{0}' is Lua 5.4 only; Redis runs Lua 5.1"},
    {"math", {"maxinteger", "mininteger"}, "'{0}' is Lua 5.4 only (Lua 5.1 numbers are doubles, exact up to 2^53)"},
    {"math", {"random", "randomseed"}, "'{0}' is not offered to migrations: transforms must be deterministic"},
    {"math", {"pow"}, "'{0}' exists only in Lua 5.1 (nil in the host); use x ^ y"},
    {"math", {"log10"}, "'{0}' exists only in Lua 5.1 (nil in the host); use math.log(x) / math.log(10)"},
    {"math", {"mod"}, "'{0}' exists only in Lua 5.1 (nil in the host); use math.fmod"},
    {"math", {"atan2", "cosh", "sinh", "tanh", "frexp", "ldexp"}, "'{0}' exists only in Lua 5.1 (nil in the host)"},
    {"table", {"concat", "insert", "remove", "sort"}, nullptr},
    {"table",
     {"unpack"},
     "'{0}' is Lua 5.4 only (Redis's Lua 5.1 has the global unpack, the host does not); avoid it: index the "
     "table or loop with ipairs"},
    {"table", {"move"}, "'{0}' is Lua 5.4 only; copy with a for loop"},
    {"table", {"pack"}, "'{0}' is Lua 5.4 only; use {{ ... }} and select(\"#\", ...)"},
    {"table", {"getn"}, "'{0}' exists only in Lua 5.1 (nil in the host); use #t"},
    {"table", {"setn", "maxn", "foreach", "foreachi"}, "'{0}' exists only in Lua 5.1 (nil in the host)"},
};

bool Lists(const std::vector<std::string_view>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The %g class (printable characters) is Lua 5.2+: 5.1 reads it as a literal 'g'.
constexpr const char* kPercentG =
    "pattern class '%{}' is Lua 5.2+ only: Lua 5.1 reads it as a literal '{}'; use '{}' instead";

}  // namespace

bool IsPortableGlobal(std::string_view name) { return kPortableGlobals.count(name) > 0; }
bool IsLibrary(std::string_view name) { return kLibraries.count(name) > 0; }
bool IsModule(std::string_view name) { return kModules.count(name) > 0; }

std::optional<std::string> GlobalProblem(std::string_view name, const std::string& shown) {
  for (const auto& rule : kGlobalRules)
    if (Lists(rule.names, name)) return fmt::format(fmt::runtime(rule.message), shown, name);
  return std::nullopt;
}

std::optional<std::string> LibraryFieldProblem(const std::string& lib, const std::string& field) {
  if (!IsLibrary(lib)) return std::nullopt;  // json, time, ks: the same stdlib in both
  std::string shown = lib + "." + field;
  for (const auto& rule : kFieldRules) {
    if (lib != rule.lib || !Lists(rule.fields, field)) continue;
    if (!rule.message) return std::nullopt;
    return fmt::format(fmt::runtime(rule.message), shown);
  }
  return fmt::format("'{}' does not exist in Lua 5.1 or 5.4", shown);
}

std::optional<std::string> LibraryCallProblem(const std::string& lib, const std::string& field, size_t nargs) {
  if (lib == "string" && field == "rep" && nargs >= 3)
    return "string.rep(s, n, sep): Lua 5.1 ignores the separator; build the string with table.concat";
  if (lib == "math" && field == "log" && nargs >= 2)
    return "math.log(x, base): Lua 5.1 ignores the base; use math.log(x) / math.log(base)";
  if (lib == "math" && field == "atan" && nargs >= 2)
    return "math.atan(y, x): Lua 5.1 ignores x (and so the quadrant); use math.atan(y / x) and fix the quadrant "
           "yourself";
  return std::nullopt;
}

std::optional<std::string> MethodCallProblem(const std::string& method, size_t nargs) {
  if (method == "rep" && nargs >= 2)
    return "s:rep(n, sep): Lua 5.1 ignores the separator; build the string with table.concat";
  return std::nullopt;
}

std::optional<std::string> PatternProblem(const std::string& pattern) {
  for (size_t i = 0; i + 1 < pattern.size(); ++i) {
    if (pattern[i] != '%') continue;
    if (pattern[i + 1] == 'g' || pattern[i + 1] == 'G') {
      bool upper = pattern[i + 1] == 'G';
      return fmt::format(kPercentG, pattern[i + 1], pattern[i + 1], upper ? "[^%w%p]" : "[%w%p]");
    }
    ++i;
  }
  return std::nullopt;
}

}  // namespace keyshift::portability
