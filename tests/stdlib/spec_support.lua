-- Tiny loader and assertion helpers for the stdlib specs. Runs in lua5.1 and
-- lua5.4. A spec loads it with:
--   local here = (arg[0]:match("^(.*)[/\\]") or ".")
--   local S = dofile(here .. "/spec_support.lua")
--   local T = S.runner(arg[1])   -- arg[1]: the stdlib directory
--
-- T.canon, T.json, T.time: the modules, loaded as the host loads them (each
-- chunk called with the table of modules, as the host does).
-- T:eq(case, got, want)         passes when got == want (rawequal for tables).
-- T:ok(case, cond [, detail])   passes when cond is truthy.
-- T:err(case, fn, want)         passes when fn() raises an error whose message
--                               contains `want` (plain text; nil: any error).
-- T:try(case, fn)               ok, result of fn(); an error is a failure.
-- T:finish()                    prints "N passed, M failed", exits non-zero
--                               on any failure.
-- Every failure prints one line "FAIL <case>: <detail>".
local S = {}

local ORDER = { "canon", "globals", "exact", "json", "time" }

function S.load(dir)
  local modules = {}
  for _, name in ipairs(ORDER) do
    local chunk, msg = loadfile(dir .. "/" .. name .. ".lua")
    if not chunk then error("cannot load " .. name .. ": " .. tostring(msg)) end
    -- each module gets the table of modules, as the host passes it: the
    -- ones loaded before it, and later ones as they are added
    modules[name] = chunk(modules)
  end
  return modules
end

local function show(v)
  if type(v) == "string" then
    local s = v:gsub("[%z\1-\31\127-\255\"\\]", function(c)
      if c == "\"" or c == "\\" then return "\\" .. c end
      return "\\" .. c:byte()
    end)
    if #s > 300 then s = s:sub(1, 300) .. "...(" .. #v .. " bytes)" end
    return "\"" .. s .. "\""
  end
  if type(v) == "number" then
    return string.format("%.17g", v)
  end
  return tostring(v)
end
S.show = show

local Runner = {}
Runner.__index = Runner

function S.runner(dir)
  if not dir then
    io.stderr:write("usage: lua <spec> <stdlib dir>\n")
    os.exit(2)
  end
  local r = setmetatable({ passed = 0, failed = 0 }, Runner)
  local modules = S.load(dir)
  r.canon, r.exact, r.json, r.time = modules.canon, modules.exact, modules.json, modules.time
  r.modules = modules
  return r
end

function Runner:pass()
  self.passed = self.passed + 1
end

function Runner:fail(case, detail)
  self.failed = self.failed + 1
  print("FAIL " .. case .. ": " .. detail)
end

function Runner:ok(case, cond, detail)
  if cond then self:pass() else self:fail(case, detail or "condition is false") end
end

function Runner:eq(case, got, want)
  local same
  if type(got) == "table" or type(want) == "table" then
    same = rawequal(got, want)
  else
    same = (got == want) and type(got) == type(want)
  end
  if same then
    self:pass()
  else
    self:fail(case, "got " .. show(got) .. ", want " .. show(want))
  end
end

-- Runs fn() under pcall. On an error records a failure and returns false;
-- otherwise returns true and fn's first result (the call itself is not
-- counted as a case).
function Runner:try(case, fn)
  local ok, v = pcall(fn)
  if not ok then
    self:fail(case, "unexpected error: " .. tostring(v))
    return false
  end
  return true, v
end

function Runner:err(case, fn, want)
  local ok, msg = pcall(fn)
  if ok then
    self:fail(case, "expected an error" .. (want and (" containing " .. show(want)) or ""))
  elseif want and not string.find(tostring(msg), want, 1, true) then
    self:fail(case, "error " .. show(tostring(msg)) .. " does not contain " .. show(want))
  else
    self:pass()
  end
end

function Runner:finish()
  print(self.passed .. " passed, " .. self.failed .. " failed")
  os.exit(self.failed == 0 and 0 or 1)
end

return S
