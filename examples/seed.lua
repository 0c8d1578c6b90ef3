-- examples/seed.lua: fills an empty Redis with the data that the migrations in
-- examples/migrations/ expect, the way an application would have written it.
--
-- It runs inside Redis as one script (Redis 7 scripts are Lua 5.1: every
-- variable is local, there is no os library), so it needs nothing but
-- redis-cli:
--
--   redis-cli -u redis://127.0.0.1:6390/0 --eval examples/seed.lua , 1
--   examples/seed.sh redis://127.0.0.1:6390/0 1        (the same, shorter)
--
-- ARGV[1]  scale factor, a whole number from 1 to 1000 (default 1)
-- ARGV[2]  "force" to seed a database that already holds keys; without it the
--          script refuses, so it cannot overwrite real data by accident
--
-- At scale 1 it writes (every count is multiplied by the scale):
--   user:<id>       2000 hashes written by an ORM: created_at / updated_at are
--                   ISO-8601 strings in several styles; every 25th user was
--                   written by newer code and already holds epoch seconds
--                   (migration 0001)
--   settings:<id>    500 strings holding compact JSON, schema v1; every 20th is
--                   already v2 (migration 0002)
--   sess:<id>        300 session hashes, most with a TTL, about one in six
--                   revoked (migration 0003)
--   queue:emails, user:admins, leaderboard:weekly
--                   a list, a set and a zset that no migration touches
--                   (user:admins matches user:* but is not a hash)
--
-- The data is the same on every run: the "random" choices come from a
-- fixed-seed Park-Miller generator, and no clock is read.

local scale = tonumber(ARGV[1] or "1")
if not scale or scale < 1 or scale > 1000 or scale ~= math.floor(scale) then
  return redis.error_reply("seed: the scale must be a whole number from 1 to 1000")
end
if redis.call("DBSIZE") ~= 0 and ARGV[2] ~= "force" then
  return redis.error_reply("seed: this database already holds keys; seed an empty one, or pass 'force' after the scale")
end

local floor, format = math.floor, string.format

-- Park-Miller "minimal standard" generator: exact in doubles, so the same
-- sequence in any Lua.
local state = 20240611
local function rand(n)
  state = (state * 16807) % 2147483647
  return state % n
end
local function pick(list) return list[rand(#list) + 1] end

-- Days since 1970-01-01 -> year, month, day (H. Hinnant's civil_from_days).
local function civil(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- Epoch seconds shown as local time at `offset` seconds east of UTC.
local function wall(epoch, offset)
  local t = epoch + offset
  local days = floor(t / 86400)
  local sod = t - days * 86400
  local y, m, d = civil(days)
  return format("%04d-%02d-%02dT%02d:%02d:%02d", y, m, d, floor(sod / 3600), floor(sod % 3600 / 60), sod % 60)
end

-- The styles different clients used to write a datetime.
local function iso(epoch, style)
  if style == 0 then return wall(epoch, 0) .. "Z" end                                    -- plain UTC
  if style == 1 then return wall(epoch, 7200) .. "+02:00" end                             -- a Berlin server
  if style == 2 then return wall(epoch, 0) .. format(".%03dZ", rand(1000)) end            -- JavaScript toISOString
  if style == 3 then return wall(epoch, 0) .. format(".%06d+00:00", rand(1000000)) end   -- Python isoformat
  return wall(epoch, -18000) .. "-05:00"                                                  -- a New York laptop
end

local first_names = { "Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Niklaus" }
local last_names = { "Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Wirth" }
local plans = { "free", "free", "free", "pro", "pro", "team" }

local YEAR_2020 = 1577836800  -- 2020-01-01T00:00:00Z
local JUNE_2024 = 1717200000  -- 2024-06-01T00:00:00Z

-- user:<id>: hashes as an ORM (redis-om style) stores them.
local users = 2000 * scale
for i = 1, users do
  local key = "user:" .. i
  local created = YEAR_2020 + rand(4 * 365 * 86400)
  local updated = created + rand(300 * 86400)
  local first, last = pick(first_names), pick(last_names)
  local fields = {
    "pk", format("01HX%08d", i),
    "email", format("%s.%s%d@example.com", first:lower(), last:lower(), i),
    "name", first .. " " .. last,
    "plan", pick(plans),
    "login_count", tostring(rand(500)),
  }
  if i % 25 == 0 then
    -- written by the new code, which already stores epoch seconds
    fields[#fields + 1], fields[#fields + 2] = "created_at", tostring(created)
    fields[#fields + 1], fields[#fields + 2] = "updated_at", tostring(updated)
  else
    fields[#fields + 1], fields[#fields + 2] = "created_at", iso(created, i % 5)
    if i % 7 ~= 3 then  -- some users were never updated
      fields[#fields + 1], fields[#fields + 2] = "updated_at", iso(updated, (i + 2) % 5)
    end
  end
  redis.call("DEL", key)
  redis.call("HSET", key, unpack(fields))
end

-- settings:<id>: compact JSON documents, schema v1:
--   {"user_id":..,"theme":..,"font_size":..,"notify_email":..,"legacy_flag":..,
--    "locale":..,"account_id":<beyond 2^53>,"seat_price":1.50,...}
local themes = { "light", "dark", "dark", "solarized" }
local font_sizes = { "12", "14", "14", "16", "13.5" }
local locales = { "en-GB", "en-US", "de-DE", "fr-FR", "ja-JP" }
local prices = { "1.50", "12.00", "0.99", "7.25", "100" }
local settings = 500 * scale
for i = 1, settings do
  local account = "9007199254" .. format("%06d", 740993 + 2 * i)  -- odd and > 2^53: a double cannot hold it
  local price, locale = pick(prices), pick(locales)
  local theme, size = pick(themes), pick(font_sizes)
  local notify = rand(2)
  local doc
  if i % 20 == 0 then
    -- already saved by the new settings page (schema v2)
    doc = format('{"user_id":%d,"locale":"%s","account_id":%s,"seat_price":%s,' ..
                 '"notifications":{"email":%s},"ui":{"font_size":%s,"theme":"%s"}}',
                 i, locale, account, price, notify == 1 and "true" or "false", size, theme)
  else
    -- old clients wrote 0/1, newer ones true/false
    local notify_text = (i % 3 == 0) and (notify == 1 and "true" or "false") or tostring(notify)
    local parts = {
      format('"user_id":%d', i),
      format('"theme":"%s"', theme),
      format('"font_size":%s', size),
      format('"notify_email":%s', notify_text),
    }
    if i % 4 ~= 0 then parts[#parts + 1] = format('"legacy_flag":%s', rand(2) == 1 and "true" or "false") end
    parts[#parts + 1] = format('"locale":"%s"', locale)
    parts[#parts + 1] = format('"account_id":%s', account)
    parts[#parts + 1] = format('"seat_price":%s', price)
    if i % 7 == 0 then parts[#parts + 1] = '"signature":"Caf\\u00e9 \\"Zo\\u00eb\\""' end
    if i % 5 == 0 then parts[#parts + 1] = '"beta":["search","export"]' end
    doc = "{" .. table.concat(parts, ",") .. "}"
  end
  redis.call("SET", "settings:" .. i, doc)
end

-- sess:<id>: login sessions. Most expire; one in ten is a "remember me"
-- session without a TTL.
local agents = { "Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4)",
                 "okhttp/4.12.0", "curl/8.5.0" }
local sessions, revoked = 300 * scale, 0
for i = 1, sessions do
  local key = format("sess:%07x%05x", rand(268435456), i)
  local is_revoked = rand(6) == 0
  if is_revoked then revoked = revoked + 1 end
  redis.call("DEL", key)
  redis.call("HSET", key,
    "user_id", tostring(rand(users) + 1),
    "ip", format("10.%d.%d.%d", rand(256), rand(256), rand(256)),
    "user_agent", pick(agents),
    "created_at", iso(JUNE_2024 + rand(86400), 0),
    "revoked", is_revoked and "1" or "0")
  if i % 10 ~= 0 then redis.call("EXPIRE", key, 3600 + rand(7 * 86400)) end
end

-- Keys no migration touches.
redis.call("DEL", "queue:emails", "user:admins", "leaderboard:weekly")
redis.call("RPUSH", "queue:emails", '{"to":"user:1","template":"welcome"}', '{"to":"user:2","template":"digest"}',
           '{"to":"user:3","template":"reset_password"}')
redis.call("SADD", "user:admins", "1", "2", "17")
redis.call("ZADD", "leaderboard:weekly", 4200, "user:17", 3100.5, "user:2", 990, "user:1")

return format("seeded %d user:* hashes, %d settings:* strings, %d sess:* hashes (%d revoked) and 3 other keys",
              users, settings, sessions, revoked)
