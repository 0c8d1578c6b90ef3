-- keyshift stdlib: exact -- numbers whose text a double cannot hold, and the
-- text of numbers as Lua 5.1 writes it.
--
-- Runs unchanged in the host's Lua 5.4 and in Redis's Lua 5.1, with the same
-- results in both. Redis's Lua 5.1 holds every number as a double, so
-- 9007199254740993 would read as 9007199254740992 and be written back wrong.
-- A number read from data (json.decode, tonumber of a string) becomes an
-- "exact number" -- a box holding its decimal text -- when, in either engine:
--   * its text is an integer (no '.', no exponent) beyond +-2^53: Lua 5.4
--     would hold it as a 64-bit integer and compute on it exactly where Lua
--     5.1 rounds, so the two engines would write different results; or
--   * its value as a double, written back, is not its decimal value
--     (1.000000000000000000001, 1e400, 1e-400, 18446744073709551617.5).
-- Every other number stays a plain Lua number (0.1, 1.50, 1e20, 2^53).
--
-- A box behaves as a number that cannot be computed with:
--   * type(box) == "number"; tostring(box), box .. "x", string.format("%s")
--     and table.concat give its text; json.encode, ks.number and the values
--     a transform returns write its text exactly;
--   * == < <= between two boxes compare exact decimal values; a box never
--     equals a plain number; < and <= against a plain number are errors in
--     both engines (Lua 5.1 never calls a metamethod for them): use
--     ks.compare(a, b), exact for any mix;
--   * arithmetic (+ - * / % ^, unary -, math.*, string.format("%d")) raises
--     "number <text> cannot be used in arithmetic exactly": never rounds;
--   * indexing it is an error; its metatable is protected;
--   * the same text gives the same box, so it works as a table key (but
--     "1e400" and "1E400" are two keys: use tostring(x) to be sure).
--
-- exact.wrap(name, original) gives what a migration sees as the global
-- `name` (the host sandbox and the server-mode script both use it, so the
-- two engines agree):
--   type      box -> "number"
--   tonumber  a decimal string -> a box when needed (above); a box -> itself;
--             "inf"/"nan" -> nil (Lua 5.1 would read them, 5.4 does not)
--   tostring  numbers as Lua 5.1 writes them ("%.14g": 5, 1e+15), boxes as
--             their text
--   string    the string library; numbers and boxes passed where a function
--             takes text (string.rep(5.0, 2), string.format("%s", n/2),
--             gsub's replacement...) become Lua 5.1's text
--   table     table.concat writes numbers as Lua 5.1 does, boxes as text
--   math      refuses boxes with the arithmetic error
--   methods   the string metatable's __index for the host: like `string`
--             but leaving boxes alone, exactly as Lua 5.1's methods do
--   arith     the host's string arithmetic metamethods ("10" + 1): strings
--             are read with the tonumber above, so "9007199254740993" + 1
--             fails instead of computing with a number Lua 5.1 would round.
--             (Lua 5.1 coerces inside its VM: server mode cannot see it.)
--
-- Other API (for json, canon, runner and ks):
--   exact.from_text(s, x) -> x or a box; s a decimal numeral, x = tonumber(s)
--   exact.is(v), exact.text(v), exact.compare(a, b) -> -1 | 0 | 1
--   exact.number_text(v)  -> Lua 5.1's text of a number, a box's text
local modules = ...
local canon = modules and modules.canon
if not canon then error("exact: needs the canon module", 0) end

local M = {}

local raw_type, raw_tonumber, error, select, pairs, setmetatable, getmetatable =
  type, tonumber, error, select, pairs, setmetatable, getmetatable
local format, find, sub, match, gsub, rep =
  string.format, string.find, string.sub, string.match, string.gsub, string.rep
local huge, floor = math.huge, math.floor
local unpack = table.unpack or unpack
local less = canon.less

local texts = canon.box_texts  -- box -> its decimal text (weak keys)

local TWO53 = "9007199254740992"
local DBL_MIN = 2.2250738585072014e-308

-- The decimal value of a numeral as sign ("-" or ""), significant digits
-- (no leading or trailing zeros; "" for zero) and e: value = 0.DIGITS * 10^e.
local function decimal(s)
  local sign, int, frac, exp = match(s, "^%s*([-+]?)(%d*)%.?(%d*)[eE]?([-+]?%d*)%s*$")
  if not sign then return nil end
  local digits = int .. frac
  local lead = find(digits, "[1-9]")
  if not lead then return "", "", 0 end
  local trail = find(digits, "0*$")
  local e = (raw_tonumber((gsub(exp, "^%+", ""))) or 0) + #int - (lead - 1)
  return sign == "-" and "-" or "", sub(digits, lead, trail - 1), e
end

-- -1, 0, 1 comparing two decimals given as decimal() parts.
local function compare_parts(s1, d1, e1, s2, d2, e2)
  local z1, z2 = d1 == "", d2 == ""
  if z1 and z2 then return 0 end
  local neg1, neg2 = not z1 and s1 == "-", not z2 and s2 == "-"
  if neg1 ~= neg2 then return neg1 and -1 or 1 end
  local m
  if z1 then m = -1
  elseif z2 then m = 1
  elseif e1 ~= e2 then m = e1 < e2 and -1 or 1
  elseif d1 == d2 then m = 0
  else m = less(d1, d2) and -1 or 1 end
  return neg1 and -m or m
end

local function shorten(text)
  if #text <= 40 then return text end
  return sub(text, 1, 37) .. "...(" .. #text .. " digits)"
end

local function refuse(v, level)
  error("number " .. shorten(texts[v]) .. " cannot be used in arithmetic exactly (a double cannot hold it; " ..
        "it can be copied, moved and compared, or handled as text)", level + 1)
end

local MT = { __metatable = "exact number" }

-- One box per text, so that equal texts are also equal table keys.
local interned = setmetatable({}, { __mode = "v" })

local function box(text)
  local b = interned[text]
  if b then return b end
  b = setmetatable({}, MT)
  texts[b] = text
  interned[text] = b
  return b
end

function M.is(v) return texts[v] ~= nil end
function M.text(v) return texts[v] end

-- Is the double x (tonumber of the numeral s) the number s denotes, and is
-- arithmetic on it the same in both engines?
local function plain(s, x)
  -- Fast paths: at most 15 digits, well inside a double's normal range.
  local e_at = find(s, "[eE]")
  if not e_at then
    if #s <= 15 or (#s == 16 and find(s, "[.-]")) then return true end
  elseif e_at <= 16 then
    local exp = raw_tonumber(sub(s, e_at + 1))
    if exp and exp > -280 and exp < 280 then return true end
  end
  local sign, digits, e = decimal(s)
  if not sign then return true end  -- not a decimal numeral (hex): as Lua reads it
  if not find(s, "[.eE]") then  -- integer text
    if e < 16 then return true end
    if e > 16 then return false end
    local int = digits .. rep("0", 16 - #digits)
    return not less(TWO53, int)
  end
  if digits == "" then return true end
  if x ~= x or x == huge or x == -huge then return false end
  -- up to 15 significant digits survive a normal double (DBL_DIG)
  if #digits <= 15 and (x >= DBL_MIN or x <= -DBL_MIN) then return true end
  local cs, cd, ce = decimal(canon.number(x))
  return compare_parts(sign, digits, e, cs, cd, ce) == 0
end

function M.from_text(s, x)
  if plain(s, x) then return x end
  return box(s)
end

-- Parts of a number or box for comparing; infinities compare beyond all.
local function parts(v)
  local t = texts[v]
  if t then return decimal(t) end
  if raw_type(v) ~= "number" or v ~= v then
    error("ks.compare: expected two numbers, got " .. (v ~= v and "nan" or raw_type(v)), 3)
  end
  if v == huge then return "", "1", huge end
  if v == -huge then return "-", "1", huge end
  return decimal(canon.number(v))
end

function M.compare(a, b)
  local s1, d1, e1 = parts(a)
  local s2, d2, e2 = parts(b)
  return compare_parts(s1, d1, e1, s2, d2, e2)
end

-- Lua 5.1's text of a number; a box's text; anything else unchanged.
local function number_text(v)
  if raw_type(v) == "number" then return format("%.14g", v) end
  return texts[v] or v
end
M.number_text = number_text

---------------------------------------------------------------------------
-- The box's metatable
---------------------------------------------------------------------------

local function arith(a, b)
  refuse(texts[a] and a or b, 2)
end
for _, event in pairs({ "__add", "__sub", "__mul", "__div", "__mod", "__pow", "__unm", "__idiv",
                        "__band", "__bor", "__bxor", "__shl", "__shr", "__bnot" }) do
  MT[event] = arith
end

MT.__eq = function(a, b)
  if texts[a] == nil or texts[b] == nil then return false end
  return M.compare(a, b) == 0
end

local function ordered(a, b)
  if texts[a] == nil or texts[b] == nil then
    local other = texts[a] and b or a
    error("cannot compare the exact number " .. shorten(texts[texts[a] and a or b]) .. " with a " ..
          (raw_type(other) == "number" and "plain number" or raw_type(other)) ..
          " (Lua 5.1, which server mode runs, cannot); use ks.compare(a, b)", 3)
  end
  return M.compare(a, b)
end
MT.__lt = function(a, b) return ordered(a, b) < 0 end
MT.__le = function(a, b) return ordered(a, b) <= 0 end

MT.__concat = function(a, b)
  local ta, tb = number_text(a), number_text(b)
  if raw_type(ta) ~= "string" or raw_type(tb) ~= "string" then
    error("attempt to concatenate a " .. raw_type(raw_type(ta) ~= "string" and ta or tb) .. " value", 2)
  end
  return ta .. tb
end
MT.__tostring = function(b) return texts[b] end
MT.__index = function(b) error("attempt to index a number value (" .. shorten(texts[b]) .. ")", 2) end
MT.__newindex = MT.__index
MT.__call = function(b) error("attempt to call a number value (" .. shorten(texts[b]) .. ")", 2) end

---------------------------------------------------------------------------
-- What migrations see
---------------------------------------------------------------------------

local function wants_text(v, boxes)
  return raw_type(v) == "number" or (boxes and texts[v] ~= nil)
end

-- f with the arguments at `positions` turned into text when they are numbers
-- (and boxes, when `boxes`).
local function text_args(f, positions, boxes)
  return function(...)
    local args
    for i = 1, #positions do
      local p = positions[i]
      local v = (select(p, ...))
      if wants_text(v, boxes) then
        args = args or { n = select("#", ...), ... }
        args[p] = number_text(v)
      end
    end
    if not args then return f(...) end
    return f(unpack(args, 1, args.n))
  end
end

local TEXT_POSITIONS = {
  byte = { 1 }, find = { 1, 2 }, gmatch = { 1, 2 }, gsub = { 1, 2, 3 }, len = { 1 }, lower = { 1 },
  match = { 1, 2 }, rep = { 1, 3 }, reverse = { 1 }, sub = { 1 }, upper = { 1 },
}

local NUMERIC_CONVERSIONS = "[cdiouxXeEfFgGaA]"

-- string.format: %s and %q arguments as text; a box where a number is
-- formatted is refused rather than rounded.
local function format_args(raw_format, boxes)
  return function(fmt, ...)
    local n, any = select("#", ...), wants_text(fmt, true)
    for i = 1, n do
      if any then break end
      any = wants_text((select(i, ...)), true)
    end
    if not any then return raw_format(fmt, ...) end
    local args = { ... }
    fmt = number_text(fmt)
    if raw_type(fmt) == "string" then
      local pos, i = 1, 0
      while true do
        local _, e, conv = find(fmt, "%%[-+ #0]*%d*%.?%d*(.?)", pos)
        if not e then break end
        pos = e + 1
        if conv ~= "%" then
          i = i + 1
          local v = args[i]
          if (conv == "s" or conv == "q") and wants_text(v, boxes) then
            args[i] = number_text(v)
          elseif texts[v] and not boxes and (conv == "s" or conv == "q") then  -- 5.4 alone calls __tostring
            error("bad argument #" .. (i + 1) .. " to 'format' (string expected, got exact number " ..
                  shorten(texts[v]) .. "; Lua 5.1 refuses it too: use string.format or tostring)", 2)
          elseif texts[v] and find(conv, NUMERIC_CONVERSIONS) then
            refuse(v, 2)
          elseif raw_type(v) == "number" and find(conv, "[cdiouxX]") and v ~= floor(v) then
            -- Lua 5.4 refuses, Lua 5.1 would truncate: refuse in both
            error("bad argument #" .. (i + 1) .. " to 'format' (number " .. number_text(v) ..
                  " has no integer representation)", 2)
          end
        end
      end
    end
    return raw_format(fmt, unpack(args, 1, n))
  end
end

local function wrap_string(orig, boxes)
  local s = {}
  for k, v in pairs(orig) do s[k] = v end
  for name, positions in pairs(TEXT_POSITIONS) do
    if orig[name] then s[name] = text_args(orig[name], positions, boxes) end
  end
  s.format = format_args(orig.format, boxes)
  return s
end

local function wrap_table(orig)
  local t = {}
  for k, v in pairs(orig) do t[k] = v end
  local raw_concat = orig.concat
  t.concat = function(list, sep, i, j)
    if wants_text(sep, true) then sep = number_text(sep) end
    if raw_type(list) ~= "table" then return raw_concat(list, sep, i, j) end
    local first, last = i or 1, j or #list
    local copy
    if raw_type(first) == "number" and raw_type(last) == "number" then
      for k = first, last do
        if wants_text(list[k], true) then copy = true; break end
      end
    end
    if not copy then return raw_concat(list, sep, i, j) end
    copy = {}
    for k = first, last do copy[k - first + 1] = number_text(list[k]) end
    return raw_concat(copy, sep, 1, last - first + 1)
  end
  return t
end

local function wrap_math(orig)
  local m = {}
  for k, f in pairs(orig) do
    if raw_type(f) == "function" then
      m[k] = function(...)
        local a, b = ...
        if texts[a] then refuse(a, 2) end
        if texts[b] then refuse(b, 2) end
        for i = 3, select("#", ...) do
          local v = (select(i, ...))
          if texts[v] then refuse(v, 2) end
        end
        return f(...)
      end
    else
      m[k] = f
    end
  end
  local mt = getmetatable(orig)
  if raw_type(mt) == "table" then setmetatable(m, mt) end
  return m
end

-- "  +007.50e3 " -> "7.50e3": what a box read by tonumber keeps (valid JSON).
local function clean(s)
  s = match(s, "^%s*%+?(.-)%s*$")
  s = gsub(s, "^(-?)0+(%d)", "%1%2")
  s = gsub(s, "^(-?)%.", "%10.")
  s = gsub(s, "%.([eE])", "%1")
  return (gsub(s, "%.$", ""))
end

local function shadow_tonumber(v, base)
  if base ~= nil then return raw_tonumber(v, base) end
  if texts[v] then return v end
  local x = raw_tonumber(v)
  if x == nil or raw_type(v) ~= "string" then return x end
  if find(v, "[nN]") then return nil end
  if find(v, "[xX]") then return x end
  if plain(v, x) then return x end
  return box(clean(v))
end

local ARITH = {
  __add = function(x, y) return x + y end, __sub = function(x, y) return x - y end,
  __mul = function(x, y) return x * y end, __div = function(x, y) return x / y end,
  __mod = function(x, y) return x % y end, __pow = function(x, y) return x ^ y end,
  __unm = function(x) return -x end,
}

local function string_arith()
  local mm = {}
  for event, op in pairs(ARITH) do
    mm[event] = function(a, b)
      local x, y = a, b
      if raw_type(a) == "string" then x = shadow_tonumber(a) or a end
      if raw_type(b) == "string" then y = shadow_tonumber(b) or b end
      if texts[x] then refuse(x, 2) end
      if texts[y] then refuse(y, 2) end
      if raw_type(x) ~= "number" or raw_type(y) ~= "number" then
        local bad = raw_type(x) ~= "number" and a or b
        error("attempt to perform arithmetic on a " .. raw_type(bad) .. " value", 2)
      end
      return op(x, y)
    end
  end
  return mm
end

local WRAPPERS = {
  type = function(orig)
    return function(v)
      local t = orig(v)
      if t == "table" and texts[v] then return "number" end
      return t
    end
  end,
  tonumber = function() return shadow_tonumber end,
  tostring = function(orig)
    return function(v)
      if raw_type(v) == "number" or texts[v] then return number_text(v) end
      return orig(v)
    end
  end,
  string = function(orig) return wrap_string(orig, true) end,
  methods = function(orig) return wrap_string(orig, false) end,
  arith = string_arith,
  table = wrap_table,
  math = wrap_math,
}

function M.wrap(name, original)
  local w = WRAPPERS[name]
  if not w then error("exact.wrap: nothing to wrap for '" .. tostring(name) .. "'", 0) end
  return w(original)
end

return M
