-- The benchmark's data, inside Redis: seeds it, and checks a sample of it
-- after a measured run. Run by scripts/bench with redis-cli --eval; one EVAL
-- per chunk, since seeding is not what is measured and must be cheap.
--
-- ARGV[1]  "seed", "check", "dumpsize" or "digest"
-- ARGV[2]  workload: "strings" (doc:<i>, compact JSON, ~170 bytes) or
--          "hashes" (user:<i>, 5 fields)
-- ARGV[3]  first index, ARGV[4] last index
-- ARGV[5]  seed: pad each string document to about this many bytes (0: none);
--          otherwise: how many keys to sample between first and last
-- ARGV[6]  optional, on a cluster node: its slot ranges ("0-5460 ..."); keys
--          of other slots are skipped, so every node can take the same call
--
-- seed returns the total bytes of the values written (for the mean value
-- size); check returns "ok N" or "bad: KEY VALUE" for the first key that was
-- not transformed as the workload's transform says; dumpsize the mean DUMP
-- size of the sample (what the undo journal keeps per key); digest a SHA1 of
-- the sample's values, to compare a copy with its source.
--
-- Values depend on the index only, so check can recompute what every tool,
-- keyshift or peer, must have written.
local action, workload = ARGV[1], ARGV[2]
local first, last, extra = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5] or "0")
local format, floor = string.format, math.floor

local spans
if ARGV[6] and ARGV[6] ~= "" then
  spans = {}
  for a, b in string.gmatch(ARGV[6], "(%d+)%-(%d+)") do spans[#spans + 1] = { tonumber(a), tonumber(b) } end
end
local function mine(key)
  if not spans then return true end
  local slot = redis.call("CLUSTER", "KEYSLOT", key)
  for _, s in ipairs(spans) do
    if slot >= s[1] and slot <= s[2] then return true end
  end
  return false
end

local function iso(i)
  return format("2024-%02d-%02dT%02d:%02d:%02dZ", i % 12 + 1, i % 28 + 1, i % 24, i % 60, (i * 7) % 60)
end

-- The epoch seconds of iso(i), computed from i rather than parsed: every
-- seeded date is in 2024 (a leap year), which starts at 1704067200.
local DAYS_BEFORE_MONTH_2024 = { 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335 }
local function epoch(i)
  local days = DAYS_BEFORE_MONTH_2024[i % 12 + 1] + i % 28
  return 1704067200 + days * 86400 + (i % 24) * 3600 + (i % 60) * 60 + (i * 7) % 60
end

-- Padding for the value-size runs: an array of small objects, so that a
-- bigger document costs a JSON parser more work, not just a longer copy.
local function items(bytes)
  if bytes <= 0 then return "" end
  local parts, n, size = {}, 0, 0
  while size < bytes do
    n = n + 1
    parts[n] = format('{"n":%d,"s":"item-%06d"}', n, n)
    size = size + #parts[n] + 1
  end
  return ',"items":[' .. table.concat(parts, ",") .. "]"
end

local function seed_strings()
  local pad, total = items(extra - 170), 0
  for i = first, last do
    local key = "doc:" .. i
    if mine(key) then
      local doc = format('{"id":%d,"name":"user %d","email":"u%d@example.com","plan":"%s",'
        .. '"created_at":"%s","tags":["alpha","beta"],"limits":{"seats":%d,"storage_mb":1024}%s,"v":1}',
        i, i, i, i % 3 == 0 and "pro" or "free", iso(i), i % 50 + 1, pad)
      redis.call("SET", key, doc)
      total = total + #doc
    end
  end
  return total
end

local function seed_hashes()
  local total = 0
  for i = first, last do
    local key = "user:" .. i
    if mine(key) then
      local f = { "name", "user " .. i, "email", "u" .. i .. "@example.com", "plan", i % 3 == 0 and "pro" or "free",
        "created_at", iso(i), "logins", tostring(i % 997) }
      redis.call("HSET", key, unpack(f))
      for _, s in ipairs(f) do total = total + #s end
    end
  end
  return total
end

-- The transforms every tool runs. strings: v 1 -> 2 and a new email_domain;
-- hashes: created_at ISO-8601 -> epoch seconds. Returns nil when right.
local function wrong_string(i, text)
  local ok, doc = pcall(cjson.decode, text)
  if ok and doc.id == i and doc.v == 2 and doc.email_domain == "example.com" then return nil end
  return text
end

local function wrong_hash(i, key)
  local created = redis.call("HGET", key, "created_at")
  if created == format("%d", epoch(i)) then return nil end
  return tostring(created)
end

-- Calls fn(i, key) for every sampled key of this node; stops at and returns
-- the first non-nil result.
local function each_sample(fn)
  local step = math.max(1, floor((last - first + 1) / math.max(1, extra)))
  local prefix = workload == "strings" and "doc:" or "user:"
  for i = first, last, step do
    local key = prefix .. i
    if mine(key) then
      local r = fn(i, key)
      if r ~= nil then return r end
    end
  end
end

local function check()
  local checked = 0
  local bad = each_sample(function(i, key)
    checked = checked + 1
    if redis.call("EXISTS", key) == 0 then return key .. " (missing)" end
    local wrong
    if workload == "strings" then wrong = wrong_string(i, redis.call("GET", key)) else wrong = wrong_hash(i, key) end
    if wrong then return key .. " " .. wrong:sub(1, 300) end
  end)
  if bad then return "bad: " .. bad end
  return "ok " .. checked
end

local function dumpsize()
  local total, n = 0, 0
  each_sample(function(_, key)
    local d = redis.call("DUMP", key)
    if d then total, n = total + #d, n + 1 end
  end)
  return floor(total / math.max(n, 1))
end

local function digest()
  local parts = {}
  each_sample(function(_, key) parts[#parts + 1] = key .. "=" .. tostring(redis.call("GET", key)) end)
  return #parts .. " " .. redis.sha1hex(table.concat(parts, "\n"))
end

if action == "check" then return check() end
if action == "dumpsize" then return dumpsize() end
if action == "digest" then return digest() end
if action == "seed" and workload == "strings" then return seed_strings() end
if action == "seed" and workload == "hashes" then return seed_hashes() end
return redis.error_reply("workload.lua: unknown action or workload: " .. tostring(action) .. " " .. tostring(workload))
