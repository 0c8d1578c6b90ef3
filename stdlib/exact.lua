-- keyshift stdlib: exact -- numbers whose text a double cannot hold.
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
--     and table.concat give its text (globals.lua); json.encode, ks.number
--     and the values a transform returns write its text exactly;
--   * == < <= between two boxes compare exact decimal values; a box never
--     equals a plain number; < and <= against a plain number are errors in
--     both engines (Lua 5.1 never calls a metamethod for them): use
--     ks.compare(a, b), exact for any mix;
--   * arithmetic (+ - * / % ^, unary -, math.*, string.format("%d")) raises
--     "number <text> cannot be used in arithmetic exactly": never rounds;
--   * indexing it is an error; its metatable is protected;
--   * the same text gives the same box, so it works as a table key (but
--     "1e400" and "1E400" are two keys: use tostring(x) to be sure).
-- canon.box_texts maps every box to its text: canon.number writes it.
--
-- API (for json, globals and ks):
--   exact.from_text(s, x)   -> x or a box; s a decimal numeral (JSON), x = tonumber(s)
--   exact.from_string(s, x) -> the same for any string tonumber(s) reads as x
--                              (spaces, '+', "inf" -> nil); the box keeps
--                              JSON-valid text ("  +007.50e3 " -> "7.50e3")
--   exact.is(v), exact.text(v), exact.compare(a, b) -> -1 | 0 | 1
local modules = ...
local canon, globals = modules and modules.canon, modules and modules.globals
if not (canon and globals) then error("exact: needs the canon and globals modules", 0) end

local M = {}

local raw_type, raw_tonumber, error, pairs, setmetatable = type, tonumber, error, pairs, setmetatable
local find, sub, match, gsub, rep = string.find, string.sub, string.match, string.gsub, string.rep
local huge = math.huge
local less = canon.less
local number_text, refuse, shorten = globals.number_text, globals.refuse, globals.shorten

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

-- "  +007.50e3 " -> "7.50e3": the text a box read by tonumber keeps.
local function clean(s)
  s = match(s, "^%s*%+?(.-)%s*$")
  s = gsub(s, "^(-?)0+(%d)", "%1%2")
  s = gsub(s, "^(-?)%.", "%10.")
  s = gsub(s, "%.([eE])", "%1")
  return (gsub(s, "%.$", ""))
end

function M.from_string(s, x)
  if find(s, "[nN]") then return nil end  -- "inf", "nan": only Lua 5.1 reads them
  if find(s, "[xX]") then return x end
  if plain(s, x) then return x end
  return box(clean(s))
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

return M
