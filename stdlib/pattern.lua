-- pattern: string.find/match/gmatch/gsub that the sandbox's limits can stop.
-- The native functions are C: no hook runs inside them, so a backtracking
-- bomb such as ("a"):rep(3000):find(".-.-.-.-b") would run for hours past
-- every limit. Each call estimates its worst case from the pattern (items
-- that repeat or scan: * + - ? %b %1-9) and the subject's length; a cheap
-- call goes to the native function, an expensive one to the matcher below,
-- plain Lua with the same semantics, which the count hook can interrupt.
-- Runs unchanged in Lua 5.4 and 5.1; install() replaces the functions in the
-- string table (and so in the string metatable's __index).
local modules = ...

local M = {}

local native = { find = string.find, match = string.match, gmatch = string.gmatch, gsub = string.gsub }
local byte, sub, char, format = string.byte, string.sub, string.char, string.format
local tostring, type, error, select = tostring, type, error, select
local LUA51 = _VERSION == "Lua 5.1"
local unpack = table.unpack or unpack

-- Native calls whose worst case stays below this many steps run in C.
M.NATIVE_BUDGET = 2e6

-- Index just past the set starting at p[i] == '[' (or past the end).
local function set_end(p, i, m)
  i = i + 1
  if byte(p, i) == 94 then i = i + 1 end
  repeat
    if i > m then return m + 1 end
    if byte(p, i) == 37 then i = i + 1 end
    i = i + 1
  until byte(p, i) == 93
  return i + 1
end

-- Worst-case steps of matching pattern `p` against `n` bytes: every item
-- that can take a variable length (x* x+ x- %b %1-9) may be retried at each
-- of n places for every choice made by the items before it.
function M.cost(p, n, anchored)
  local m = #p
  local cost = (anchored and 1 or (n + 1)) * (m + 1)
  local i = anchored and 2 or 1
  while i <= m and cost <= M.NATIVE_BUDGET do
    local c, d = byte(p, i), byte(p, i + 1)
    local item_end
    if c == 40 or c == 41 then                       -- ( )
      i = i + 1
    elseif c == 37 and d == 98 then                  -- %bxy
      cost, i = cost * (n + 1), i + 4
    elseif c == 37 and d == 102 then                 -- %f[set]
      i = set_end(p, i + 2, m)
    elseif c == 37 and d and d >= 48 and d <= 57 then  -- %1-9
      cost, i = cost * (n + 1), i + 2
    else
      item_end = c == 37 and i + 2 or c == 91 and set_end(p, i, m) or i + 1
      local q = byte(p, item_end)
      if q == 42 or q == 43 or q == 45 then
        cost, i = cost * (n + 1), item_end + 1
      elseif q == 63 then
        cost, i = cost * 2, item_end + 1
      else
        i = item_end
      end
    end
  end
  return cost
end

local function cheap(p, n, anchored)
  return M.cost(p, n, anchored) <= M.NATIVE_BUDGET
end

-- ---------------------------------------------------------------------------
-- The matcher: the algorithm of Lua's lstrlib, one step at a time in Lua.

local CAP_UNFINISHED, CAP_POSITION = -1, -2

-- Index just past the single-character class starting at p[i].
local function class_end(ms, i)
  local p = ms.p
  local c = byte(p, i)
  i = i + 1
  if c == 37 then
    if i > ms.plen then error("malformed pattern (ends with '%')", 0) end
    return i + 1
  end
  if c == 91 then
    if byte(p, i) == 94 then i = i + 1 end
    repeat
      if i > ms.plen then error("malformed pattern (missing ']')", 0) end
      local cc = byte(p, i)
      i = i + 1
      if cc == 37 then i = i + 1 end
    until byte(p, i) == 93
    return i + 1
  end
  return i
end

-- Does byte c match the class p[i .. ep-1]? Classes and sets are checked by
-- the native matcher on a one-byte subject: the same semantics, bounded cost.
local function single_match(ms, s, i, ep)
  if s > ms.slen then return false end
  local c = byte(ms.s, s)
  local pc = byte(ms.p, i)
  if pc == 46 then return true end
  if pc ~= 37 and pc ~= 91 then return pc == c end
  local known = ms.cache[i]
  if not known then
    known = {}
    ms.cache[i] = known
  end
  local hit = known[c]
  if hit == nil then
    hit = native.find(char(c), "^" .. sub(ms.p, i, ep - 1)) ~= nil
    known[c] = hit
  end
  return hit
end

local match  -- forward

local function check_capture(ms, l)
  l = l - 48
  if l < 1 or l > ms.level or ms.capture_len[l] == CAP_UNFINISHED then
    error(LUA51 and "invalid capture index" or format("invalid capture index %%%d in pattern", l), 0)
  end
  return l
end

local function capture_to_close(ms)
  for level = ms.level, 1, -1 do
    if ms.capture_len[level] == CAP_UNFINISHED then return level end
  end
  error("invalid pattern capture", 0)
end

local function max_expand(ms, s, i, ep)
  local n = 0
  while single_match(ms, s + n, i, ep) do n = n + 1 end
  while n >= 0 do
    local r = match(ms, s + n, ep + 1)
    if r then return r end
    n = n - 1
  end
  return nil
end

local function min_expand(ms, s, i, ep)
  while true do
    local r = match(ms, s, ep + 1)
    if r then return r end
    if not single_match(ms, s, i, ep) then return nil end
    s = s + 1
  end
end

local function start_capture(ms, s, i, what)
  local level = ms.level + 1
  ms.capture_init[level], ms.capture_len[level] = s, what
  ms.level = level
  local r = match(ms, s, i)
  if not r then ms.level = ms.level - 1 end
  return r
end

local function end_capture(ms, s, i)
  local l = capture_to_close(ms)
  ms.capture_len[l] = s - ms.capture_init[l]
  local r = match(ms, s, i)
  if not r then ms.capture_len[l] = CAP_UNFINISHED end
  return r
end

local function match_balance(ms, s, i)
  if i + 1 > ms.plen then
    error(LUA51 and "unbalanced pattern" or "malformed pattern (missing arguments to '%b')", 0)
  end
  if s > ms.slen or byte(ms.s, s) ~= byte(ms.p, i) then return nil end
  local b, e, cont = byte(ms.p, i), byte(ms.p, i + 1), 1
  s = s + 1
  while s <= ms.slen do
    local c = byte(ms.s, s)
    if c == e then
      cont = cont - 1
      if cont == 0 then return s + 1 end
    elseif c == b then
      cont = cont + 1
    end
    s = s + 1
  end
  return nil
end

local function match_capture(ms, s, l)
  l = check_capture(ms, l)
  local len = ms.capture_len[l]
  local init = ms.capture_init[l]
  if len < 0 then return nil end  -- a position capture matches nothing, as in C
  if ms.slen - s + 1 >= len and sub(ms.s, init, init + len - 1) == sub(ms.s, s, s + len - 1) then
    return s + len
  end
  return nil
end

-- Returns the index just past the match of p[i..] at s[s..], or nil.
match = function(ms, s, i)
  while true do
    if i > ms.plen then return s end
    local pc = byte(ms.p, i)
    if pc == 40 then                                     -- (
      if byte(ms.p, i + 1) == 41 then return start_capture(ms, s, i + 2, CAP_POSITION) end
      return start_capture(ms, s, i + 1, CAP_UNFINISHED)
    elseif pc == 41 then                                 -- )
      return end_capture(ms, s, i + 1)
    elseif pc == 36 and i == ms.plen then                -- $ at the end
      return s == ms.slen + 1 and s or nil
    end
    local d = pc == 37 and byte(ms.p, i + 1) or nil
    if d == 98 then                                      -- %b
      s = match_balance(ms, s, i + 2)
      if not s then return nil end
      i = i + 4
    elseif d == 102 then                                 -- %f
      i = i + 2
      if byte(ms.p, i) ~= 91 then error("missing '[' after '%f' in pattern", 0) end
      local ep = class_end(ms, i)
      local prev = s == 1 and "\0" or sub(ms.s, s - 1, s - 1)
      local cur = s <= ms.slen and sub(ms.s, s, s) or "\0"
      local set = sub(ms.p, i, ep - 1)
      if native.find(prev, "^" .. set) or not native.find(cur, "^" .. set) then return nil end
      i = ep
    elseif d and d >= 48 and d <= 57 then                -- %0-9
      s = match_capture(ms, s, d)
      if not s then return nil end
      i = i + 2
    else
      local ep = class_end(ms, i)
      local q = byte(ms.p, ep)
      if not single_match(ms, s, i, ep) then
        if q == 42 or q == 63 or q == 45 then            -- * ? -: zero repetitions
          i = ep + 1
        else
          return nil
        end
      elseif q == 63 then                                -- ?
        local r = match(ms, s + 1, ep + 1)
        if r then return r end
        i = ep + 1
      elseif q == 43 then return max_expand(ms, s + 1, i, ep)
      elseif q == 42 then return max_expand(ms, s, i, ep)
      elseif q == 45 then return min_expand(ms, s, i, ep)
      else
        s, i = s + 1, ep
      end
    end
  end
end

local function new_state(s, p)
  return { s = s, slen = #s, p = p, plen = #p, level = 0, capture_init = {}, capture_len = {}, cache = {} }
end

local function get_capture(ms, l, s, e)
  if l > ms.level then
    if l ~= 1 then error(LUA51 and "invalid capture index" or format("invalid capture index %%%d", l), 0) end
    return sub(ms.s, s, e - 1)
  end
  local len = ms.capture_len[l]
  if len == CAP_UNFINISHED then error("unfinished capture", 0) end
  if len == CAP_POSITION then return ms.capture_init[l] end
  return sub(ms.s, ms.capture_init[l], ms.capture_init[l] + len - 1)
end

-- The captures (or the whole match) as a list and its length.
local function captures(ms, s, e, whole_if_none)
  local n = (ms.level == 0 and whole_if_none) and 1 or ms.level
  local out = {}
  for l = 1, n do out[l] = get_capture(ms, l, s, e) end
  return out, n
end

-- Tries every start from init; returns start, end (exclusive) or nil.
local function scan(ms, init, anchored, from)
  local s = init
  repeat
    ms.level = 0
    local e = match(ms, s, from)
    if e then return s, e end
    s = s + 1
  until anchored or s > ms.slen + 1
  return nil
end

local function text(x) return type(x) == "string" or type(x) == "number" end
local function integer(x) return x == nil or (type(x) == "number" and x == math.floor(x)) end
local function no_specials(p) return native.find(p, "[%^%$%*%+%?%.%(%[%%%-]") == nil end

local function find_aux(is_find, s, p, init, plain)
  local f = is_find and native.find or native.match
  if not (text(s) and text(p) and integer(init)) then return f(s, p, init, plain) end
  s, p = tostring(s), tostring(p)
  local ls = #s
  init = init or 1
  if init < 0 then init = ls + init + 1 elseif init == 0 then init = 1 end
  if init < 1 then init = 1 end
  local anchored = byte(p, 1) == 94
  if init > ls + 1 or (is_find and (plain or no_specials(p))) or cheap(p, ls - init + 1, anchored) then
    return f(s, p, init, plain)
  end
  local ms = new_state(s, p)
  local start, e = scan(ms, init, anchored, anchored and 2 or 1)
  if not start then return nil end
  local caps, n = captures(ms, start, e, not is_find)
  if is_find then return start, e - 1, unpack(caps, 1, n) end
  return unpack(caps, 1, n)
end

function M.find(s, p, init, plain) return find_aux(true, s, p, init, plain) end

function M.match(s, p, init) return find_aux(false, s, p, init) end

function M.gmatch(s, p, init)
  if not (text(s) and text(p) and integer(init)) then return native.gmatch(s, p, init) end
  s, p = tostring(s), tostring(p)
  if LUA51 then init = 1 end
  local ls = #s
  init = init or 1
  if init < 0 then init = ls + init + 1 end
  if init < 1 then init = 1 end
  if cheap(p, ls, false) then return native.gmatch(s, p, not LUA51 and init or nil) end
  local ms = new_state(s, p)
  local src, lastmatch = init, nil
  return function()
    while src <= ls + 1 do
      ms.level = 0
      local start = src
      local e = match(ms, start, 1)
      if e and (LUA51 or e ~= lastmatch) then
        src, lastmatch = e, e
        if LUA51 and e == start then src = src + 1 end
        local caps, n = captures(ms, start, e, true)
        return unpack(caps, 1, n)
      end
      src = src + 1
    end
    return nil
  end
end

local function replacement(ms, s, e, repl, kind)
  if kind == "string" then
    local out, i, n = {}, 1, #repl
    while i <= n do
      local c = byte(repl, i)
      if c == 37 then
        i = i + 1
        local d = byte(repl, i)
        if d == 48 then out[#out + 1] = sub(ms.s, s, e - 1)
        elseif d and d >= 49 and d <= 57 then out[#out + 1] = tostring(get_capture(ms, d - 48, s, e))
        elseif d == 37 or LUA51 then out[#out + 1] = char(d or 0)  -- 5.1 copies the byte after '%' 
        else error("invalid use of '%' in replacement string", 0) end
      else
        out[#out + 1] = char(c)
      end
      i = i + 1
    end
    return table.concat(out)
  end
  local key = get_capture(ms, 1, s, e)
  local v
  if kind == "table" then v = repl[key] else v = repl(unpack((captures(ms, s, e, true)))) end
  if v == nil or v == false then return sub(ms.s, s, e - 1) end
  if type(v) ~= "string" and type(v) ~= "number" then error("invalid replacement value (a " .. type(v) .. ")", 0) end
  return tostring(v)
end

function M.gsub(s, p, repl, max_n)
  local kind = type(repl)
  if kind == "number" then repl, kind = tostring(repl), "string" end
  local ls = text(s) and #tostring(s) or 0
  local anchored = text(p) and byte(tostring(p), 1) == 94
  if (kind ~= "string" and kind ~= "table" and kind ~= "function") or not (text(s) and text(p) and integer(max_n))
     or cheap(tostring(p), ls, anchored) then
    return native.gsub(s, p, repl, max_n)
  end
  s = tostring(s)
  local ms = new_state(s, p)
  local from = anchored and 2 or 1
  max_n = max_n or ls + 1
  local src, n, out, lastmatch = 1, 0, {}, nil
  while n < max_n do
    ms.level = 0
    local e = match(ms, src, from)
    local counted = e and (LUA51 or e ~= lastmatch)
    if counted then
      n = n + 1
      out[#out + 1] = replacement(ms, src, e, repl, kind)
    end
    -- 5.4 moves past every counted match (empty ones too, then refuses an
    -- empty match there); 5.1 only past non-empty ones.
    if counted and (not LUA51 or e > src) then
      src, lastmatch = e, e
    elseif src <= ls then
      out[#out + 1] = sub(s, src, src)
      src = src + 1
    else
      break
    end
    if anchored then break end
  end
  out[#out + 1] = sub(s, src)
  return table.concat(out), n
end

-- Replaces string.find/match/gmatch/gsub in the table `string_table`.
function M.install(string_table)
  for name in pairs(native) do string_table[name] = M[name] end
end

-- In the host sandbox the string table belongs to this migration's own Lua
-- state. Inside Redis it is shared by every script: leave it alone there.
if rawget(_G, "redis") == nil and modules and modules.host then M.install(string) end

return M
