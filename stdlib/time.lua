-- keyshift stdlib: time -- ISO-8601 / RFC 3339 datetimes <-> Unix epoch.
--
-- Runs unchanged in the host's Lua 5.4 and in Redis's Lua 5.1 (which has no
-- os.time): pure calendar arithmetic, proleptic Gregorian calendar, years
-- 0000-9999.
--
-- time.to_epoch(s) -> seconds since 1970-01-01T00:00:00Z (negative before).
--   Accepted forms:
--     YYYY-MM-DD                       midnight UTC
--     YYYY-MM-DD<sep>HH:MM[<zone>]     seconds 0
--     YYYY-MM-DD<sep>HH:MM:SS[.f+][<zone>]
--   <sep> is "T", "t" or one space; .f+ is any number of fraction digits;
--   <zone> is "Z", "z", "+HH:MM", "-HH:MM", "+HHMM", "-HHMM", "+HH" or "-HH".
--   NO ZONE MEANS UTC (not the machine's local time: there is none in Redis).
--   Ranges are checked: month 1-12, day within the month (leap years
--   included), hour 0-23, minute 0-59, second 0-60 (a leap second 60 counts
--   as the first second of the next minute), zone hours 0-23, minutes 0-59.
--   The result is integral when there is no fraction (or it is all zeros),
--   else the nearest double to the exact value: "…00.5Z" -> 1704067200.5.
--   Anything else: error "time.to_epoch: cannot read '<s>' as an ISO-8601
--   datetime".
-- time.to_epoch_ms(s) -> integral milliseconds since the epoch, computed
--   exactly from the text; fraction digits past the third are dropped
--   (rounded towards the past, like floor(epoch * 1000)).
-- time.is_iso8601(s) -> true if to_epoch(s) would succeed, else false.
-- time.to_iso8601(epoch [, digits]) -> "2024-01-01T00:00:00Z" (always UTC,
--   "Z"). An integral epoch has no fraction; otherwise the fraction is rounded
--   to `digits` decimals (default 3, 0-9; trailing zeros kept: ".500Z";
--   digits 0 rounds to the nearest second). Errors outside years 0000-9999.
-- time.from_epoch_ms(ms) -> "2024-01-01T00:00:00.123Z": integral
--   milliseconds, always with 3 fraction digits (as JavaScript's
--   Date.prototype.toISOString writes them).
-- time.days_from_civil(y, m, d) -> days since 1970-01-01 (no range checks).
local modules = ...  -- modules loaded before this one (none needed here)

local M = {}

local type, tonumber, error, tostring = type, tonumber, error, tostring
local match, format, sub, gsub, byte, char =
  string.match, string.format, string.sub, string.gsub, string.byte, string.char
local concat = table.concat
local floor, huge = math.floor, math.huge

local MIN_EPOCH = -62167219200   -- 0000-01-01T00:00:00Z
local MAX_EPOCH = 253402300800   -- 10000-01-01T00:00:00Z (exclusive)

local function is_leap(y)
  return y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)
end

local MONTH_DAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

local function days_in_month(y, m)
  if m == 2 and is_leap(y) then return 29 end
  return MONTH_DAYS[m]
end

-- Howard Hinnant's days_from_civil.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end
M.days_from_civil = days_from_civil

-- Howard Hinnant's civil_from_days.
local function civil_from_days(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- Returns whole seconds (integral) and the fraction digits (nil when absent
-- or all zeros), or nil when s is not an accepted datetime.
local function parse(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, rest = match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  local h, mi, sec, frac, off = 0, 0, 0, nil, 0
  if rest ~= "" then
    local hh, mm, tail = match(rest, "^[Tt ](%d%d):(%d%d)(.*)$")
    if not hh then return nil end
    h, mi = tonumber(hh), tonumber(mm)
    local ss, tail2 = match(tail, "^:(%d%d)(.*)$")
    if ss then
      sec, tail = tonumber(ss), tail2
      local f, tail3 = match(tail, "^%.(%d+)(.*)$")
      if f then
        f = gsub(f, "0+$", "")
        if f ~= "" then frac = f end
        tail = tail3
      end
    end
    if tail ~= "" and tail ~= "Z" and tail ~= "z" then
      local sign, oh, om = match(tail, "^([+-])(%d%d):?(%d%d)$")
      if not sign then
        sign, oh = match(tail, "^([+-])(%d%d)$")
        om = "00"
      end
      if not sign then return nil end
      oh, om = tonumber(oh), tonumber(om)
      if oh > 23 or om > 59 then return nil end
      off = oh * 3600 + om * 60
      if sign == "-" then off = -off end
    end
  end
  if mo < 1 or mo > 12 or d < 1 or d > days_in_month(y, mo) or h > 23 or mi > 59 or sec > 60 then
    return nil
  end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off, frac
end

local function bad(fn, s)
  error("time." .. fn .. ": cannot read '" .. tostring(s) .. "' as an ISO-8601 datetime", 0)
end

-- "123" -> "877": the digits of 1 - 0.123 (frac has no trailing zeros).
local function complement(frac)
  local n = #frac
  local out = {}
  for i = 1, n - 1 do out[i] = char(57 - byte(frac, i) + 48) end
  out[n] = char(58 - byte(frac, n) + 48)
  return concat(out)
end

function M.to_epoch(s)
  local secs, frac = parse(s)
  if not secs then bad("to_epoch", s) end
  if not frac then return secs end
  -- Read the exact decimal text so the result is correctly rounded.
  if secs >= 0 then return tonumber(format("%d", secs) .. "." .. frac) end
  -- secs + 0.frac == -((-secs - 1) + (1 - 0.frac))
  return tonumber(format("-%d.%s", -secs - 1, complement(frac)))
end

function M.to_epoch_ms(s)
  local secs, frac = parse(s)
  if not secs then bad("to_epoch_ms", s) end
  local ms = 0
  if frac then ms = tonumber(sub(frac .. "00", 1, 3)) end
  return secs * 1000 + ms
end

function M.is_iso8601(s)
  return parse(s) ~= nil
end

local function check_epoch(fn, x)
  if type(x) ~= "number" then
    error("time." .. fn .. ": expected a number, got " .. type(x), 0)
  end
  if x ~= x or x == huge or x == -huge then
    error("time." .. fn .. ": cannot convert nan/inf", 0)
  end
end

local function format_utc(fn, secs, fraction)
  if secs < MIN_EPOCH or secs >= MAX_EPOCH then
    error("time." .. fn .. ": epoch out of range (years 0000-9999)", 0)
  end
  local days = floor(secs / 86400)
  local sod = secs - days * 86400
  local y, m, d = civil_from_days(days)
  local h = floor(sod / 3600)
  local mi = floor((sod - h * 3600) / 60)
  local sec = sod - h * 3600 - mi * 60
  return format("%04d-%02d-%02dT%02d:%02d:%02d%sZ", y, m, d, h, mi, sec, fraction)
end

function M.to_iso8601(epoch, digits)
  check_epoch("to_iso8601", epoch)
  if digits == nil then digits = 3 end
  if type(digits) ~= "number" or digits ~= floor(digits) or digits < 0 or digits > 9 then
    error("time.to_iso8601: digits must be an integer from 0 to 9", 0)
  end
  local secs = floor(epoch)
  local fraction = ""
  if epoch ~= secs then
    if digits == 0 then
      secs = floor(epoch + 0.5)
    else
      local scale = 10 ^ digits
      local f = floor((epoch - secs) * scale + 0.5)
      if f >= scale then
        secs = secs + 1
        f = 0
      end
      fraction = format(".%0" .. digits .. "d", f)
    end
  end
  return format_utc("to_iso8601", secs, fraction)
end

function M.from_epoch_ms(ms)
  check_epoch("from_epoch_ms", ms)
  if ms ~= floor(ms) then
    error("time.from_epoch_ms: expected integral milliseconds", 0)
  end
  local secs = floor(ms / 1000)
  return format_utc("from_epoch_ms", secs, format(".%03d", ms - secs * 1000))
end

return M
