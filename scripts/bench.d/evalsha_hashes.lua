-- The per-key EVALSHA peer for the "hashes" workload: created_at ISO-8601
-- ("2024-03-17T05:42:11Z", UTC) -> epoch seconds, in one atomic script per
-- key; no journal, no checkpoint. Like the migration and the pipelined peer
-- it reads the whole hash and writes it back.
local floor = math.floor
local flat = redis.call("HGETALL", KEYS[1])
local h = {}
for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
local created = h.created_at
if not created or created:match("^%d+$") then return 0 end
local y, m, d, hh, mm, ss = created:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)Z$")
y, m, d = tonumber(y), tonumber(m), tonumber(d)
-- days since 1970-01-01 (H. Hinnant's days_from_civil)
if m <= 2 then y = y - 1 end
local era = floor(y / 400)
local yoe = y - era * 400
local doy = floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
local days = era * 146097 + yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy - 719468
h.created_at = string.format("%d", days * 86400 + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss))
local args = {}
for field, value in pairs(h) do args[#args + 1] = field; args[#args + 1] = value end
redis.call("HSET", KEYS[1], unpack(args))
return 1
