-- keyshift stdlib: canon -- canonical text for numbers, and bytewise ordering.
--
-- Runs unchanged in the host's Lua 5.4 and in Redis's Lua 5.1 and gives the
-- same bytes in both. canon.number must agree with CanonicalNumber() in
-- core/value.cc:
--   * integral values with |x| < 2^63: no decimal point ("5", never "5.0");
--     -0 -> "0". A Lua 5.4 math integer is written with "%d", an integral
--     float with "%.0f".
--   * any other finite number: the shortest of %.15g, %.16g, %.17g that reads
--     back to exactly the same number ("0.1", "1e+300", "0.30000000000000004").
--   * nan and +-inf: error.
--   * an exact number (a box made by the exact module, see exact.lua): its
--     text, unchanged.
--
-- API:
--   canon.number(x)          -> string (errors on nan/inf and non-numbers)
--   canon.is_integral(x)     -> true if x is a finite number with no fraction
--   canon.less(a, b)         -> bytewise a < b for strings (independent of
--                               the C locale, which Redis sets from the
--                               environment and Lua's `<` on strings obeys)
--   canon.sort(list)         -> sorts a list of strings bytewise in place,
--                               returns it
--   canon.sorted_keys(t)     -> the string keys of t sorted bytewise (errors
--                               on a non-string key, naming its type)
local modules = ...  -- modules loaded before this one (the host's primitives, in the host)

local M = {}

local type, tonumber, error, next, setmetatable = type, tonumber, error, next, setmetatable
local format, byte = string.format, string.byte
local floor, huge = math.floor, math.huge
local sort = table.sort
local math_type = math.type  -- nil in Lua 5.1

local TWO63 = 9223372036854775808.0  -- 2^63

-- Exact numbers (exact.lua) -> their decimal text. Kept here so that every
-- module that writes numbers knows them; only exact.lua adds to it.
local box_texts = setmetatable({}, { __mode = "k" })
M.box_texts = box_texts

local function is_integral(x)
  return type(x) == "number" and x == x and x ~= huge and x ~= -huge and x == floor(x)
end
M.is_integral = is_integral

function M.number(x)
  if type(x) ~= "number" then
    local text = box_texts[x]
    if text then return text end
    error("canon: expected a number, got " .. type(x), 0)
  end
  if math_type and math_type(x) == "integer" then
    return format("%d", x)
  end
  if x ~= x or x == huge or x == -huge then
    error("canon: cannot write nan/inf as a number", 0)
  end
  if x == floor(x) and x < TWO63 and x > -TWO63 then
    if x == 0 then return "0" end  -- also folds -0
    return format("%.0f", x)
  end
  local s = format("%.15g", x)
  if tonumber(s) == x then return s end
  s = format("%.16g", x)
  if tonumber(s) == x then return s end
  return format("%.17g", x)
end

-- Bytewise comparison of two strings (like memcmp, shorter prefix first).
local function less(a, b)
  local la, lb = #a, #b
  local n = la < lb and la or lb
  local i = 1
  -- compare 8 bytes at a time while they are equal
  while i + 7 <= n do
    local a1, a2, a3, a4, a5, a6, a7, a8 = byte(a, i, i + 7)
    local b1, b2, b3, b4, b5, b6, b7, b8 = byte(b, i, i + 7)
    if a1 ~= b1 then return a1 < b1 end
    if a2 ~= b2 then return a2 < b2 end
    if a3 ~= b3 then return a3 < b3 end
    if a4 ~= b4 then return a4 < b4 end
    if a5 ~= b5 then return a5 < b5 end
    if a6 ~= b6 then return a6 < b6 end
    if a7 ~= b7 then return a7 < b7 end
    if a8 ~= b8 then return a8 < b8 end
    i = i + 8
  end
  while i <= n do
    local x, y = byte(a, i), byte(b, i)
    if x ~= y then return x < y end
    i = i + 1
  end
  return la < lb
end
M.less = less

-- In the host, a native sort of the same order (bindings/ks_host.cc); it
-- declines (false) any list with a non-string, which sorts here as before.
local host = type(modules) == "table" and modules.host or nil
local native_sort = host and host.sort_strings

function M.sort(list)
  if native_sort and native_sort(list) then return list end
  sort(list, less)
  return list
end

function M.sorted_keys(t)
  local keys, n = {}, 0
  for k in next, t do
    if type(k) ~= "string" then
      error("canon: key must be a string, got " .. type(k), 0)
    end
    n = n + 1
    keys[n] = k
  end
  return M.sort(keys)
end

return M
