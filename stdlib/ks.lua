-- ks: the markers a transform returns besides a plain value (ks.DELETE,
-- ks.rename) and logging. Runs unchanged in Lua 5.4 (host) and 5.1 (Redis).
local modules = ...
local host, canon = modules.host, modules.canon

local M = {}

-- Marks tables made by ks.rename without a visible field the value could clash with.
local renames = setmetatable({}, { __mode = "k" })

M.DELETE = setmetatable({}, {
  __tostring = function() return "ks.DELETE" end,
  __newindex = function() error("ks.DELETE is read-only", 2) end,
  __metatable = false,
})

-- ks.rename(new_key [, value]): move the key to new_key (TTL kept). Without a
-- value the key's current value moves unchanged.
function M.rename(new_key, value)
  if type(new_key) ~= "string" or new_key == "" then
    -- Level 0: `return ks.rename(...)` is a tail call, so level 2 would name
    -- the stdlib; the host adds the migration's file:line itself.
    error("ks.rename: the new key must be a non-empty string, got " .. type(new_key), 0)
  end
  local r = { key = new_key, value = value }
  renames[r] = true
  return r
end

function M.is_rename(x)
  return renames[x] == true
end

-- ks.log(...): one line in keyshift's output, arguments joined by spaces.
function M.log(...)
  local parts = {}
  for i = 1, select("#", ...) do
    parts[i] = tostring((select(i, ...)))
  end
  host.log(table.concat(parts, " "))
end

-- The exact text keyshift writes for a number ("5", "0.1", an exact
-- number's own text).
M.number = canon.number

-- ks.compare(a, b) -> -1, 0 or 1: compares numbers exactly, exact numbers
-- (see exact.lua) included, in any mix; `<` cannot mix them in Lua 5.1.
function M.compare(a, b)
  return modules.exact.compare(a, b)  -- looked up late: server mode loads exact on first use
end

return M
