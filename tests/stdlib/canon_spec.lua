-- stdlib/canon.lua: canonical number text (must match CanonicalNumber in
-- core/value.cc byte for byte) and bytewise ordering.
-- Run: lua5.4|lua5.1 tests/stdlib/canon_spec.lua <stdlib dir>
local here = (arg[0]:match("^(.*)[/\\]") or ".")
local S = dofile(here .. "/spec_support.lua")
local T = S.runner(arg[1])
local canon = T.canon

-- number -> text. Expected texts were produced by the C++ CanonicalNumber.
local cases = {
  { "5", 5, "5" },
  { "5.0", 5.0, "5" },
  { "-0.0", -0.0, "0" },
  { "0", 0, "0" },
  { "10/2", 10 / 2, "5" },
  { "2^31", 2 ^ 31, "2147483648" },
  { "0.1", 0.1, "0.1" },
  { "0.1+0.2", 0.1 + 0.2, "0.30000000000000004" },
  { "1/3", 1 / 3, "0.3333333333333333" },
  { "2/3", 2 / 3, "0.6666666666666666" },
  { "1e300", 1e300, "1e+300" },
  { "-1e300", -1e300, "-1e+300" },
  { "2^53", 2 ^ 53, "9007199254740992" },
  { "-2^53", -(2 ^ 53), "-9007199254740992" },
  { "2^63", 2 ^ 63, "9.223372036854776e+18" },
  { "-2^63", -(2 ^ 63), "-9.223372036854776e+18" },
  { "largest double below 2^63", 2 ^ 63 - 1024, "9223372036854774784" },
  { "1e20", 1e20, "1e+20" },
  { "1e17", 1e17, "100000000000000000" },
  { "1e15", 1e15, "1000000000000000" },
  { "100000000000000", 100000000000000, "100000000000000" },
  { "-1.5", -1.5, "-1.5" },
  { "2.5", 2.5, "2.5" },
  { "123456789.125", 123456789.125, "123456789.125" },
  { "1e-7", 1e-7, "1e-07" },
  { "0.000001", 0.000001, "1e-06" },
  { "0.0001", 0.0001, "0.0001" },
  { "5e-324", 5e-324, "4.94065645841247e-324" },
  { "max double", 1.7976931348623157e308, "1.7976931348623157e+308" },
  { "min normal", 2.2250738585072014e-308, "2.2250738585072014e-308" },
  { "-4685301.7327811327", -4685301.7327811327, "-4685301.732781133" },
  { "-914.81203912556634", -914.81203912556634, "-914.8120391255663" },
  { "1.2345678901234568e+20", 1.2345678901234568e+20, "1.2345678901234568e+20" },
  { "1704067200.123", 1704067200.123, "1704067200.123" },
  { "tonumber('1e5')", tonumber("1e5"), "100000" },
  { "tonumber('1.50')", tonumber("1.50"), "1.5" },
}
for _, c in ipairs(cases) do
  local ok, got = T:try("number(" .. c[1] .. ")", function() return canon.number(c[2]) end)
  if ok then T:eq("number(" .. c[1] .. ")", got, c[3]) end
end

-- Integer values in Lua 5.4 use %d and agree with the float path.
if math.type then
  T:eq("5.4 integer 42", canon.number(math.floor(42)), "42")
  T:eq("5.4 maxinteger", canon.number(math.maxinteger), "9223372036854775807")
else
  T:eq("5.4 integer 42", canon.number(42), "42")
  T:eq("5.4 maxinteger", canon.number(2 ^ 63 - 1024), "9223372036854774784")
end
T:eq("integer and float agree", canon.number(7), canon.number(7.0))

-- Every text reads back to the same number.
do
  local bad, x = 0, 0.7
  for i = 1, 2000 do
    x = (x * 7919.13 + i / 7) % 1e6 / (i % 13 + 1)
    local s = canon.number(x)
    if tonumber(s) ~= x or s:find("%.0*$") or s:find("^%-?0%d") then bad = bad + 1 end
  end
  T:eq("2000 generated numbers read back", bad, 0)
end

-- Errors.
T:err("nan", function() return canon.number(0 / 0) end, "canon: cannot write nan/inf as a number")
T:err("+inf", function() return canon.number(1 / 0) end, "canon: cannot write nan/inf as a number")
T:err("-inf", function() return canon.number(-1 / 0) end, "canon: cannot write nan/inf as a number")
T:err("string", function() return canon.number("5") end, "canon: expected a number, got string")
T:err("nil", function() return canon.number(nil) end, "canon: expected a number, got nil")

-- is_integral
T:eq("is_integral(5)", canon.is_integral(5), true)
T:eq("is_integral(5.0)", canon.is_integral(5.0), true)
T:eq("is_integral(1e300)", canon.is_integral(1e300), true)
T:eq("is_integral(5.5)", canon.is_integral(5.5), false)
T:eq("is_integral(inf)", canon.is_integral(1 / 0), false)
T:eq("is_integral(nan)", canon.is_integral(0 / 0), false)
T:eq("is_integral('5')", canon.is_integral("5"), false)

-- Bytewise ordering.
T:eq("less a<b", canon.less("a", "b"), true)
T:eq("less b<a", canon.less("b", "a"), false)
T:eq("less equal", canon.less("abc", "abc"), false)
T:eq("less prefix", canon.less("ab", "abc"), true)
T:eq("less prefix reversed", canon.less("abc", "ab"), false)
T:eq("less empty", canon.less("", "a"), true)
T:eq("less upper before lower", canon.less("Z", "a"), true)
T:eq("less high bytes last", canon.less("z", "\195\169"), true)
T:eq("less NUL", canon.less("a\0b", "a\0c"), true)
T:eq("less long common prefix", canon.less("0123456789abcdefX", "0123456789abcdefY"), true)
T:eq("less long vs 8-byte boundary", canon.less("01234567", "012345678"), true)
T:eq("less differ after 9", canon.less("012345678b", "012345678a"), false)
do
  local list = canon.sort({ "b", "a\0", "é", "B", "a", "", "ab", "aa" })
  T:eq("sort", table.concat(list, "|"), "|B|a|a\0|aa|ab|b|é")
  local keys = canon.sorted_keys({ zeta = 1, alpha = 2, Alpha = 3, ["10"] = 4, ["9"] = 5 })
  T:eq("sorted_keys", table.concat(keys, ","), "10,9,Alpha,alpha,zeta")
  T:err("sorted_keys number key", function() return canon.sorted_keys({ 1 }) end,
        "key must be a string, got number")
end

T:finish()
