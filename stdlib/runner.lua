-- runner: calls a migration's transform or verify on one key and checks and
-- normalises what comes back, so the host (or the server-side script) only
-- ever writes flat arrays of strings. Runs unchanged in Lua 5.4 and 5.1.
local modules = ...
local ks, canon = modules.ks, modules.canon
local box_texts = canon.box_texts  -- exact numbers (exact.lua) -> their text
-- Taken now, before any migration runs: a transform that replaces
-- ks.is_rename or ks.DELETE must not change what the runner accepts.
local is_rename, DELETE = ks.is_rename, ks.DELETE

local M = {}

local EXPECTED = {
  string = "a string or a number",
  hash = "a table of field -> string",
  list = "an array of strings",
  set = "an array of strings",
  zset = "a table of member -> score",
}

-- type(), with exact numbers as "number".
local function kind(v)
  if box_texts[v] then return "number" end
  return type(v)
end

local function scalar(v, what)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" or box_texts[v] then return canon.number(v) end
  return nil, what .. " that is a " .. t .. " (expected a string or a number)"
end

local function score(v, what)
  if box_texts[v] then
    return nil, what .. " with score " .. box_texts[v] .. ", which a zset cannot hold exactly (scores are doubles)"
  end
  if type(v) ~= "number" then return nil, what .. " with a " .. type(v) .. " score (expected a number)" end
  if v ~= v then return nil, what .. " with a nan score" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  return canon.number(v)
end

local function array_items(t, kind)
  local n, count = #t, 0
  for _ in pairs(t) do count = count + 1 end
  if count ~= n then return nil, "a " .. kind .. " value that is not an array (it has non-integer keys or holes)" end
  local out = {}
  for i = 1, n do
    local s, err = scalar(t[i], "a " .. kind .. " element " .. i)
    if not s then return nil, err end
    out[i] = s
  end
  return out
end

-- typ: "hash" (field -> value) or "zset" (member -> score).
local function pairs_flat(t, typ, convert)
  local label = typ == "hash" and "field" or "member"
  local byname, names = {}, {}
  for k, v in pairs(t) do
    local name, err = scalar(k, "a " .. typ .. " " .. label .. " name")
    if not name then return nil, err end
    local text
    text, err = convert(v, "a " .. typ .. " " .. label .. " '" .. name .. "'")
    if not text then return nil, err end
    if byname[name] == nil then names[#names + 1] = name end
    byname[name] = text
  end
  if #names == 0 then return nil, "an empty " .. typ .. ", which Redis cannot store (return ks.DELETE to delete the key)" end
  canon.sort(names)  -- bytewise in both interpreters (Redis sorts by locale)
  local out = {}
  for i, name in ipairs(names) do
    out[2 * i - 1], out[2 * i] = name, byname[name]
  end
  return out
end

local function unique_sorted(items)
  canon.sort(items)
  local out = {}
  for i = 1, #items do
    if items[i] ~= out[#out] then out[#out + 1] = items[i] end
  end
  return out
end

-- Normalises a returned value of Redis type `typ`: string -> { text };
-- hash -> { f1, v1, ... } sorted; list -> items; set -> sorted unique items;
-- zset -> { m1, s1, ... } sorted by member. nil, message on a wrong shape.
function M.normalize(typ, v)
  if typ == "string" then
    local s, err = scalar(v, "the value")
    if not s then return nil, "a " .. type(v) .. " for a string key; expected " .. EXPECTED.string end
    return { s }
  end
  if kind(v) ~= "table" or rawequal(v, DELETE) then
    return nil, "a " .. kind(v) .. " for a " .. typ .. " key; expected " .. (EXPECTED[typ] or "a value")
  end
  if typ == "hash" then return pairs_flat(v, "hash", scalar) end
  if typ == "zset" then return pairs_flat(v, "zset", score) end
  local items, err = array_items(v, typ)
  if not items then return nil, err end
  if #items == 0 then return nil, "an empty " .. typ .. ", which Redis cannot store (return ks.DELETE to delete the key)" end
  if typ == "set" then return unique_sorted(items) end
  return items
end

-- apply(transform, key, typ, value) -> action [, flat_value] [, new_key]
-- action: "keep" | "write" | "delete" | "rename" | "error" (then the message).
-- A rename without a value returns no flat value: the key moves unchanged.
function M.apply(transform, key, typ, value)
  local out = transform(key, value)
  if out == nil then return "keep" end
  if rawequal(out, DELETE) then return "delete" end
  local action, new_key = "write", nil
  if is_rename(out) then
    action, new_key, out = "rename", rawget(out, "key"), rawget(out, "value")
    if type(new_key) ~= "string" or new_key == "" then
      return "error", "ks.rename: the new key must be a non-empty string, got " .. kind(new_key)
    end
    if out == nil then return action, nil, new_key end
  end
  local flat, err = M.normalize(typ, out)
  if not flat then return "error", "transform returned " .. err end
  return action, flat, new_key
end

-- verify(fn, key, value) -> true | false, reason
function M.verify(fn, key, value)
  local ok, reason = fn(key, value)
  if ok then return true end
  if reason == nil then reason = "verify returned " .. tostring(ok) end
  return false, tostring(reason)
end

return M
