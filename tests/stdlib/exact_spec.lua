-- stdlib/exact.lua and globals.lua: numbers a double cannot hold, and Lua 5.1's number text,
-- identical in Lua 5.4 and 5.1 (SPEC section 2, issue 7).
-- Run: lua5.4|lua5.1 tests/stdlib/exact_spec.lua <stdlib dir>
local here = (arg[0]:match("^(.*)[/\\]") or ".")
local S = dofile(here .. "/spec_support.lua")
local T = S.runner(arg[1])
local json, exact, canon, globals = T.json, T.exact, T.canon, T.modules.globals

-- What a migration sees (the sandbox and the server script wrap the same way).
local G = {}
for _, name in ipairs({ "type", "tonumber", "tostring", "string", "table", "math" }) do
  G[name] = globals.wrap(name, _G[name])
end
local S_ = globals.wrap("methods", string)

---------------------------------------------------------------------------
-- 1. Which numbers are boxed: the same in both engines.
---------------------------------------------------------------------------
local boxed = {
  "9007199254740993", "-9007199254740993", "9007199254740994", "12345678901234567890",
  "18446744073709551615", "18446744073709551616", "-9223372036854775809", "1e400", "-1e400", "1e-400",
  "1.000000000000000000001", "0.1000000000000000055511151231257827", "123456789012345678901234567890.5",
}
for _, s in ipairs(boxed) do
  local v = json.decode(s)
  T:ok("boxed " .. s, exact.is(v), "not boxed")
  T:eq("box text " .. s, canon.number(v), s)
  T:eq("box type " .. s, G.type(v), "number")
  T:ok("tonumber boxes " .. s, exact.is(G.tonumber(s)), "not boxed")
end
local plain = { "0", "-0", "1.50", "0.1", "1e5", "1E+2", "9007199254740992", "-9007199254740992",
                "100000000000000", "1e20", "0.30000000000000004", "2.5e-3", "123456789012345.6", "1e-300" }
for _, s in ipairs(plain) do
  T:ok("plain " .. s, type(json.decode(s)) == "number", "boxed")
  T:ok("tonumber plain " .. s, type(G.tonumber(s)) == "number", "boxed")
end
T:eq("tonumber trims and cleans a box", tostring(G.tonumber("  +0009007199254740993.0 ")), "9007199254740993.0")
T:eq("tonumber box text is JSON", json.encode({ G.tonumber("-.10000000000000000001e5") }), "[-0.10000000000000000001e5]")
T:eq("tonumber inf", G.tonumber("inf"), nil)
T:eq("tonumber nan", G.tonumber("nan"), nil)
T:eq("tonumber hex", G.tonumber("0x10"), 16)
T:eq("tonumber base", G.tonumber("ff", 16), 255)
T:eq("tonumber of a box", tostring(G.tonumber(json.decode("9007199254740993"))), "9007199254740993")
T:eq("tonumber junk", G.tonumber("12abc"), nil)

---------------------------------------------------------------------------
-- 2. Copy, move, remove, compare.
---------------------------------------------------------------------------
local function roundtrip(case, doc, edit, want)
  local ok, out = T:try(case, function()
    local d = json.decode(doc)
    edit(d)
    return json.encode(d)
  end)
  if ok then T:eq(case, out, want) end
end
roundtrip("copy", '{"id":9007199254740993}', function(d) d.copy = d.id end,
          '{"id":9007199254740993,"copy":9007199254740993}')
roundtrip("move", '{"a":1,"b":18446744073709551617}', function(d) d.a = d.b; d.b = nil end,
          '{"a":18446744073709551617}')
roundtrip("table.remove", '{"ids":[9007199254740993,9007199254740992,9007199254740995]}',
          function(d) table.remove(d.ids, 1) end, '{"ids":[9007199254740992,9007199254740995]}')
roundtrip("new array", '{"ids":[9007199254740993,1e400,2]}', function(d)
  local out = {}
  for i = #d.ids, 1, -1 do out[#out + 1] = d.ids[i] end
  d.rev = out
end, '{"ids":[9007199254740993,1e400,2],"rev":[2,1e400,9007199254740993]}')
roundtrip("swap", '[9007199254740993,9007199254740995]', function(d) d[1], d[2] = d[2], d[1] end,
          '[9007199254740995,9007199254740993]')

local a, b, c = json.decode("9007199254740993"), json.decode("9007199254740993"), json.decode("9007199254740995")
T:ok("equal boxes", a == b)
T:ok("unequal boxes", a ~= c)
T:ok("box < box", a < c and not (c < a))
T:ok("box <= box", a <= b and a <= c and not (c <= a))
T:ok("negative order", json.decode("-9007199254740995") < json.decode("-9007199254740993"))
T:ok("box never equals a plain number", a ~= 9007199254740992)
T:ok("equal texts are one table key", ({ [a] = true })[b] == true and ({ [a] = true })[c] == nil)
T:err("box < number", function() return a < 5 end, "")
T:eq("compare box number", exact.compare(a, 9007199254740992), 1)
T:eq("compare number box", exact.compare(1e400 == math.huge and 1 or 1, json.decode("1e400")), -1)
T:eq("compare equal", exact.compare(a, b), 0)
T:eq("compare plain", exact.compare(1.5, 2), -1)
T:eq("compare zero signs", exact.compare(json.decode("-0.0"), 0), 0)

---------------------------------------------------------------------------
-- 3. Arithmetic refuses, never rounds.
---------------------------------------------------------------------------
local ARITH = "cannot be used in arithmetic exactly"
T:err("add", function() return a + 1 end, "number 9007199254740993 " .. ARITH)
T:err("radd", function() return 1 + a end, ARITH)
T:err("sub", function() return a - a end, ARITH)
T:err("mul", function() return a * 1 end, ARITH)
T:err("div", function() return a / 2 end, ARITH)
T:err("mod", function() return a % 2 end, ARITH)
T:err("pow", function() return a ^ 1 end, ARITH)
T:err("unm", function() return -a end, ARITH)
T:err("math.floor", function() return G.math.floor(a) end, ARITH)
T:err("math.max", function() return G.math.max(1, 2, a) end, ARITH)
T:err("format %d", function() return G.string.format("%d", a) end, ARITH)
T:err("huge text is shortened", function() return json.decode(string.rep("9", 200)) + 1 end, "...(200 digits)")
T:err("index", function() return a.x end, "attempt to index a number value")
T:err("newindex", function() a.x = 1 end, "attempt to index a number value")
T:eq("math still works", G.math.floor(2.5), 2)

---------------------------------------------------------------------------
-- 4. Text: Lua 5.1's in both engines; boxes as their text.
---------------------------------------------------------------------------
local n = 10
T:eq("tostring float", G.tostring(n / 2), "5")
T:eq("tostring 1e15", G.tostring(1e15), "1e+15")
T:eq("tostring int 1e15", G.tostring(10 ^ 15), "1e+15")
T:eq("tostring fraction", G.tostring(0.1), "0.1")
T:eq("tostring box", G.tostring(a), "9007199254740993")
T:eq("tostring string", G.tostring("x"), "x")
T:eq("tostring nil", G.tostring(nil), "nil")
T:eq("tostring -0 from data", G.tostring(json.decode("-0") / 2) .. G.tostring(G.tonumber("-0") * 1), "00")
T:eq("tostring negative zero", G.tostring(0 * -1) .. G.tostring(-0.0), "00")
T:eq("concat box", a .. "!", "9007199254740993!")
T:eq("concat box right", "#" .. a, "#9007199254740993")
T:eq("concat number box", (n / 2) .. "" == "5" and (n / 2) .. a or "5" .. a, "59007199254740993")
T:eq("table.concat", G.table.concat({ n / 2, "x", a, 1.5 }, ","), "5,x,9007199254740993,1.5")
T:eq("table.concat range", G.table.concat({ 1, n / 2, 3 }, n / 5, 2, 3), "523")
T:eq("table.concat strings", G.table.concat({ "a", "b" }), "ab")
T:eq("format %s", G.string.format("%s|%s|%s", n / 2, a, "x"), "5|9007199254740993|x")
T:eq("format %q", G.string.format("%q", n / 2), '"5"')
T:eq("format %d %5.1f %%", G.string.format("%d %5.1f %%%s", n / 2, 2.25, 1e15), "5   2.2 %1e+15")
T:eq("rep", G.string.rep(n / 2, 2), "55")
T:err("format %d of a fraction fails in both", function() return G.string.format("%d", 3.5) end,
      "number 3.5 has no integer representation")
T:eq("gsub repl", (G.string.gsub("a-b", "-", n / 2)), "a5b")
T:eq("sub", G.string.sub(n / 2, 1), "5")
T:eq("len", G.string.len(a), 16)
T:eq("upper box", G.string.upper(a), "9007199254740993")
T:eq("find", G.string.find(1e15, "e", 1, true), 2)
T:eq("methods: gsub repl", (S_.gsub("a-b", "-", n / 2)), "a5b")
T:err("methods leave boxes to Lua", function() return S_.rep(a, 2) end, "")
T:err("methods: %s of a box fails as in Lua 5.1", function() return S_.format("%s", a) end, "got exact number")
T:eq("methods: %s of a number", S_.format("%s|%s", n / 2, "x"), "5|x")

---------------------------------------------------------------------------
-- 5. The host's string arithmetic ("10" + 1) reads numbers as tonumber does.
---------------------------------------------------------------------------
local mm = globals.wrap("arith")
T:eq("string add", mm.__add("10", 1), 11)
T:eq("string div", mm.__div(7, "2"), 3.5)
T:eq("string unm", mm.__unm("2", "2"), -2)
T:err("string big add", function() return mm.__add("9007199254740993", 1) end, "number 9007199254740993 " .. ARITH)
T:err("string junk", function() return mm.__mul("x", 1) end, "attempt to perform arithmetic on a string value")

T:finish()
