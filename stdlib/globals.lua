-- keyshift stdlib: globals -- type, tonumber, tostring, string, table and
-- math as a migration sees them, identical in the host's Lua 5.4 and in
-- Redis's Lua 5.1: numbers become text as Lua 5.1 writes it, and exact
-- numbers (see exact.lua) behave as numbers that keep their text.
--
-- globals.wrap(name, original) -> what a migration sees as the global
-- `name`; the host sandbox (bindings/sandbox.cc) and the server-mode script
-- (server_mode/server_script.cc) both install these:
--   type      an exact number -> "number"
--   tonumber  a decimal string a double cannot hold -> an exact number
--             (exact.lua says when); an exact number -> itself;
--             "inf"/"nan" -> nil (Lua 5.1 would read them, 5.4 does not)
--   tostring  numbers as Lua 5.1 writes them ("%.14g": 5, 1e+15; Lua 5.4
--             alone writes 5.0), except zero, always "0" (Lua 5.4 integers
--             have no -0); exact numbers as their text
--   string    the string library; numbers and exact numbers passed where a
--             function takes text (string.rep(5.0, 2), gsub's replacement,
--             string.format's %s and %q) become Lua 5.1's text; an exact
--             number given to %d or %f, or a fraction given to %d (Lua 5.1
--             would truncate it), is an error
--   table     table.concat writes numbers as Lua 5.1 does, exact numbers as
--             their text
--   math      refuses exact numbers with the arithmetic error
--   methods   (host only) the string metatable's __index: like `string` but
--             leaving exact numbers alone, as Lua 5.1's methods do
--   arith     (host only) the string metatable's arithmetic ("10" + 1):
--             strings are read with the tonumber above, so
--             "9007199254740993" + 1 fails instead of computing with a number
--             Lua 5.1 would round (Lua 5.1 coerces inside its VM: server
--             mode cannot see it)
-- string, table, math and methods fill in field by field on first use
-- (server mode rebuilds them for every key): pairs() over them lists only
-- the fields used so far.
--
-- Also for exact.lua: globals.number_text(v), globals.refuse(box, level),
-- globals.shorten(text).
local modules = ...
local canon = modules and modules.canon
if not canon then error("globals: needs the canon module", 0) end

local M = {}

local raw_type, raw_tonumber, error, select, setmetatable, rawset =
  type, tonumber, error, select, setmetatable, rawset
local format, find, sub = string.format, string.find, string.sub
local floor = math.floor
local unpack = table.unpack or unpack

local texts = canon.box_texts  -- exact number -> its decimal text

-- Lua 5.1's text of a number; an exact number's text; anything else unchanged.
-- Zero is "0" whatever its sign: Lua 5.4's integers have no -0 (0 * -1 is 0
-- there, -0.0 in Lua 5.1), so the sign could not be the same in both.
local function number_text(v)
  if raw_type(v) == "number" then
    if v == 0 then return "0" end
    return format("%.14g", v)
  end
  return texts[v] or v
end
M.number_text = number_text

local function shorten(text)
  if #text <= 40 then return text end
  return sub(text, 1, 37) .. "...(" .. #text .. " digits)"
end
M.shorten = shorten

function M.refuse(v, level)
  error("number " .. shorten(texts[v]) .. " cannot be used in arithmetic exactly (a double cannot hold it; " ..
        "it can be copied, moved and compared, or handled as text)", level + 1)
end
local refuse = M.refuse

local function wants_text(v, boxes)
  return raw_type(v) == "number" or (boxes and texts[v] ~= nil)
end

-- f with the arguments at `positions` turned into text when they are numbers
-- (and exact numbers, when `boxes`).
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

-- Checks (and turns into text) argument i of string.format for conversion
-- `conv`; returns the argument to pass.
local function format_arg(v, conv, i, boxes)
  local text_conv = conv == "s" or conv == "q"
  if text_conv and wants_text(v, boxes) then return number_text(v) end
  if texts[v] then
    if not text_conv then refuse(v, 3) end
    -- (methods) Lua 5.4 alone would call __tostring
    error("bad argument #" .. (i + 1) .. " to 'format' (string expected, got exact number " ..
          shorten(texts[v]) .. "; Lua 5.1 refuses it too: use string.format or tostring)", 3)
  end
  if raw_type(v) == "number" and find(conv, "[cdiouxX]") and v ~= floor(v) then
    error("bad argument #" .. (i + 1) .. " to 'format' (number " .. number_text(v) ..
          " has no integer representation)", 3)  -- Lua 5.4 refuses, Lua 5.1 would truncate
  end
  return v
end

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
          args[i] = format_arg(args[i], conv, i, boxes)
        end
      end
    end
    return raw_format(fmt, unpack(args, 1, n))
  end
end

-- A table that fills itself from `orig` on first use of each field, through
-- make(name, original field).
local function lazy_library(orig, make)
  return setmetatable({}, {
    __index = function(t, k)
      local v = make(k, orig[k])
      if v ~= nil then rawset(t, k, v) end
      return v
    end,
    __metatable = false,
  })
end

local function wrap_string(orig, boxes)
  return lazy_library(orig, function(name, f)
    if name == "format" then return format_args(f, boxes) end
    local positions = TEXT_POSITIONS[name]
    if positions and f then return text_args(f, positions, boxes) end
    return f
  end)
end

local function concat_wrapper(raw_concat)
  return function(list, sep, i, j)
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
end

local function refusing(f)
  return function(...)
    local a, b = ...
    if texts[a] then refuse(a, 2) end
    if texts[b] then refuse(b, 2) end
    for i = 3, select("#", ...) do
      local v = (select(i, ...))
      if texts[v] then refuse(v, 2) end
    end
    return f(...)
  end
end

local function shadow_tonumber(v, base)
  if base ~= nil then return raw_tonumber(v, base) end
  if texts[v] then return v end
  local x = raw_tonumber(v)
  if x == nil or raw_type(v) ~= "string" then return x end
  if x == 0 and not find(v, "[.eEnN]") then return 0 end  -- "-0": Lua 5.4 reads integer 0, 5.1 -0.0
  if #v <= 15 and not find(v, "[eEnNxX]") then return x end  -- short decimal text: a plain number
  return modules.exact.from_string(v, x)
end

local function string_arith()
  local ops = {
    __add = function(x, y) return x + y end, __sub = function(x, y) return x - y end,
    __mul = function(x, y) return x * y end, __div = function(x, y) return x / y end,
    __mod = function(x, y) return x % y end, __pow = function(x, y) return x ^ y end,
    __unm = function(x) return -x end,
  }
  local mm = {}
  for event, op in pairs(ops) do
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
  table = function(orig)
    return lazy_library(orig, function(name, f)
      if name == "concat" then return concat_wrapper(f) end
      return f
    end)
  end,
  math = function(orig)
    return lazy_library(orig, function(_, f)
      if raw_type(f) == "function" then return refusing(f) end
      return f
    end)
  end,
}

function M.wrap(name, original)
  local w = WRAPPERS[name]
  if not w then error("globals.wrap: nothing to wrap for '" .. tostring(name) .. "'", 0) end
  return w(original)
end

return M
