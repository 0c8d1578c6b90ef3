-- stdlib/pattern.lua's Lua matcher against the interpreter's own
-- string.find/match/gmatch/gsub, on a generated corpus of patterns and
-- subjects: the same results (and the same calls failing) in lua5.4 and lua5.1.
local here = (arg[0]:match("^(.*)[/\\]") or ".")
local S = dofile(here .. "/spec_support.lua")
local T = S.runner(arg[1])

local chunk = assert(loadfile(arg[1] .. "/pattern.lua"))
local P = chunk(nil)  -- no modules: nothing is installed, string.* stay native
local native = { find = string.find, match = string.match, gmatch = string.gmatch, gsub = string.gsub }
local unpack = table.unpack or unpack

-- A small deterministic generator, the same in both interpreters.
local seed = 20261129
local function rand(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n + 1
end
local function pick(list) return list[rand(#list)] end

local ITEMS = { "a", "b", "1", " ", ".", "%a", "%d", "%s", "%w", "%x", "%p", "%l", "%u", "%c", "%A", "%D", "%S",
                "[ab]", "[^a]", "[a-c]", "[%d.]", "%.", "%(", "[]]", "[^%s]", "x", "Z" }
local QUANT = { "", "", "", "*", "+", "-", "?" }

local function gen_pattern()
  local parts, open = {}, 0
  if rand(4) == 1 then parts[1] = "^" end
  for _ = 1, rand(6) do
    local r = rand(20)
    if r == 1 then parts[#parts + 1] = "("; open = open + 1
    elseif r == 2 and open > 0 then parts[#parts + 1] = ")"; open = open - 1
    elseif r == 3 then parts[#parts + 1] = "()"
    elseif r == 4 then parts[#parts + 1] = "%b()"
    elseif r == 5 then parts[#parts + 1] = pick({ "%f[%w]", "%f[%W]", "%f[a]" })
    elseif r == 6 then parts[#parts + 1] = "%1"
    else parts[#parts + 1] = pick(ITEMS) .. pick(QUANT) end
  end
  while open > 0 and rand(3) > 1 do parts[#parts + 1] = ")"; open = open - 1 end
  if rand(5) == 1 then parts[#parts + 1] = "$" end
  return table.concat(parts)
end

local ALPHABET = { "a", "b", "1", "2", " ", ".", "(", ")", "x", "Z", "]", "\0", "\n" }
local function gen_subject()
  local out = {}
  for i = 1, rand(13) - 1 do out[i] = pick(ALPHABET) end
  return table.concat(out)
end

local function pack(...) return { n = select("#", ...), ... } end

local function same(a, b)
  if a.n ~= b.n then return false end
  for i = 1, a.n do if a[i] ~= b[i] then return false end end
  return true
end

local function show(r)
  local out = {}
  for i = 1, r.n do out[i] = type(r[i]) == "string" and string.format("%q", r[i]) or tostring(r[i]) end
  return "{" .. table.concat(out, ", ") .. "}"
end

-- Runs fn with the native functions and with the Lua matcher; compares.
local function compare(case, run)
  local want = pack(pcall(run, native))
  P.NATIVE_BUDGET = -1  -- every call through the Lua matcher
  local got = pack(pcall(run, P))
  P.NATIVE_BUDGET = 2e6
  if want[1] and got[1] then
    T:ok(case, same(want, got), "native " .. show(want) .. ", Lua " .. show(got))
  else
    T:ok(case, want[1] == got[1], "native " .. show(want) .. ", Lua " .. show(got))
  end
end

local function all_matches(f, s, p)
  local out = {}
  for a, b, c in f.gmatch(s, p) do
    out[#out + 1] = tostring(a) .. "|" .. tostring(b) .. "|" .. tostring(c)
    if #out > 40 then break end
  end
  return table.concat(out, ";")
end

local REPLS = {
  "<%0>", "[%1]", "%%", "-",
  { a = "A", ["1"] = 7, b = false },
  function(x, y) if x == "a" then return nil end return "(" .. tostring(x) .. tostring(y) .. ")" end,
}

for n = 1, 3000 do
  local p, s = gen_pattern(), gen_subject()
  local init = pick({ nil, 1, 2, -2, 0, 20 })
  local case = string.format("#%d pattern %q subject %q", n, p, s)
  compare(case .. " find", function(f) return f.find(s, p, init) end)
  compare(case .. " match", function(f) return f.match(s, p, init) end)
  compare(case .. " gmatch", function(f) return all_matches(f, s, p) end)
  local repl, max_n = pick(REPLS), pick({ nil, 1, 2 })
  compare(case .. " gsub", function(f) return f.gsub(s, p, repl, max_n) end)
end

-- Hand-picked corners.
local corners = {
  { "hello world", "(o)(.-)%1" }, { "key=val; k2=v2", "(%w+)=(%w+)" }, { "THE (quick) fox", "%f[%a]%a+" },
  { "((a)(b))", "%b()" }, { "aaa", "a-" }, { "abc", "" }, { "", "^$" }, { "a.b", "%." }, { "x", "[%" },
  { "x", "%" }, { "x", "(x" }, { "x", "x)" }, { "2024-01-02T03:04:05Z", "^(%d+)-(%d+)-(%d+)T" },
  { "a,b,,c", "([^,]*)" }, { "abc", "()" }, { "abab", "(ab)%1" }, { "x]", "[]]" }, { "a\0b", "%z" },
}
for i, c in ipairs(corners) do
  local s, p = c[1], c[2]
  local case = string.format("corner %d %q %q", i, s, p)
  compare(case .. " find", function(f) return f.find(s, p) end)
  compare(case .. " match", function(f) return f.match(s, p) end)
  compare(case .. " gmatch", function(f) return all_matches(f, s, p) end)
  compare(case .. " gsub", function(f) return f.gsub(s, p, "<%0>") end)
end

-- The cost estimate sends the classic bomb to the Lua matcher, and simple
-- calls to the native functions.
T:ok("a bomb is expensive", P.cost(".-.-.-.-b", 3000, false) > P.NATIVE_BUDGET)
T:ok("an anchored date pattern is cheap", P.cost("^(%d+)-(%d+)-(%d+)T", 30, true) <= P.NATIVE_BUDGET)
T:eq("the Lua matcher still answers a moderate bomb", P.find(("a"):rep(40), ".-.-b"), nil)

T:finish()
