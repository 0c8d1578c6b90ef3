// GuardStringMethods (server_mode/string_methods.h): which method calls become
// helper calls, and that nothing else in the source changes.
#include "server_mode/string_methods.h"

#include <catch.hpp>
#include <string>

using keyshift::GuardStringMethods;

TEST_CASE("pattern method calls are rewritten with their receiver", "[string_methods]") {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"return v:find('x')", "return __keyshift_method(v, 'find')('x')"},
      {"return a.b.c:match'%d+'", "return __keyshift_method(a.b.c, 'match')'%d+'"},
      {"x = t[k]:gsub('a', 'b')", "x = __keyshift_method(t[k], 'gsub')('a', 'b')"},
      {"x = (s .. 'y'):gmatch('.')", "x = __keyshift_method((s .. 'y'), 'gmatch')('.')"},
      {"x = f(a)['k']:find(p)", "x = __keyshift_method(f(a)['k'], 'find')(p)"},
      {"x = s:gsub('a', 'b'):find('c')",
       "x = __keyshift_method(__keyshift_method(s, 'gsub')('a', 'b'), 'find')('c')"},
      {"x = s:upper():match(p)", "x = __keyshift_method(s:upper(), 'match')(p)"},
      {"x = a:find(b:match(c))", "x = __keyshift_method(a, 'find')(__keyshift_method(b, 'match')(c))"},
      // Untouched: other methods, field access, strings and comments.
      {"x = s:upper() .. t.find .. string.find(s, p)", "x = s:upper() .. t.find .. string.find(s, p)"},
      {"x = 's:find(p)' -- v:match(q)\n", "x = 's:find(p)' -- v:match(q)\n"},
      {"x = [[a:gsub(b)]]", "x = [[a:gsub(b)]]"},
  };
  for (const Case& c : cases) {
    INFO(c.in);
    CHECK(GuardStringMethods(c.in) == c.out);
  }
}

TEST_CASE("the rewrite keeps every line where it was", "[string_methods]") {
  std::string src = "local a = v\n  :find(\n'x')\nreturn a\n";
  std::string out = GuardStringMethods(src);
  CHECK(out == "local a = __keyshift_method(v\n  , 'find')(\n'x')\nreturn a\n");
  CHECK(GuardStringMethods("this is not Lua (") == "this is not Lua (");
}
