-- stdlib/time.lua: ISO-8601 / RFC 3339 <-> Unix epoch, pure arithmetic.
-- Run: lua5.4|lua5.1 tests/stdlib/time_spec.lua <stdlib dir>
local here = (arg[0]:match("^(.*)[/\\]") or ".")
local S = dofile(here .. "/spec_support.lua")
local T = S.runner(arg[1])
local time, canon = T.time, T.canon

-- to_epoch: expected values checked with Python's datetime.
local good = {
  { "2024-01-01T00:00:00Z", 1704067200 },
  { "1970-01-01T00:00:00Z", 0 },
  { "2024-03-10T12:00:00+05:30", 1710052200 },
  { "2024-03-10T12:00:00+0530", 1710052200 },
  { "2024-03-10T12:00:00+05", 1710054000 },
  { "2024-03-10T12:00:00-08:00", 1710100800 },
  { "2024-03-10T12:00:00-0800", 1710100800 },
  { "2024-03-10T12:00:00-08", 1710100800 },
  { "2024-03-10T12:00:00+00:00", 1710072000 },
  { "2024-03-10T12:00:00-00:00", 1710072000 },
  { "2024-03-10T12:00:00", 1710072000 },          -- no zone: UTC
  { "2024-03-10t12:00:00z", 1710072000 },
  { "2024-03-10 12:00:00Z", 1710072000 },
  { "2024-03-10 12:00:00", 1710072000 },
  { "2024-01-01", 1704067200 },
  { "2024-01-01T10:30", 1704105000 },
  { "2024-01-01T10:30Z", 1704105000 },
  { "2024-01-01T10:30+01:00", 1704101400 },
  { "2024-01-01T00:00:00.5Z", 1704067200.5 },
  { "2024-01-01T00:00:00.500Z", 1704067200.5 },
  { "2024-01-01T00:00:00.000Z", 1704067200 },
  { "2024-01-01T00:00:00.123Z", 1704067200123 / 1000 },
  { "2024-01-01T00:00:00.123456789Z", tonumber("1704067200.123456789") },
  { "2024-01-01T00:00:00.25+01:00", 1704063600.25 },
  { "2024-02-29T12:34:56Z", 1709210096 },
  { "2000-02-29T00:00:00Z", 951782400 },
  { "2038-01-19T03:14:08Z", 2147483648 },
  { "1969-12-31T23:59:59Z", -1 },
  { "1969-12-31T23:59:59.5Z", -0.5 },
  { "1969-12-31T23:59:59.123Z", -877 / 1000 },
  { "1969-07-20T20:17:40Z", -14182940 },
  { "1900-01-01T00:00:00Z", -2208988800 },
  { "1900-01-01", -2208988800 },
  { "0000-01-01T00:00:00Z", -62167219200 },
  { "9999-12-31T23:59:59Z", 253402300799 },
  { "2016-12-31T23:59:60Z", 1483228800 },       -- leap second = next minute
  { "2024-01-01T00:00:00+23:59", 1704067200 - 86340 },
  { "1970-01-01T00:00:00+01:00", -3600 },
}
for _, c in ipairs(good) do
  local ok, got = T:try("to_epoch " .. c[1], function() return time.to_epoch(c[1]) end)
  if ok then T:eq("to_epoch " .. c[1], got, c[2]) end
end

-- Integral results print without a decimal point; fractions are kept.
T:eq("canon of whole seconds", canon.number(time.to_epoch("2024-01-01T00:00:00Z")), "1704067200")
T:eq("canon of .000", canon.number(time.to_epoch("2024-01-01T00:00:00.000Z")), "1704067200")
T:eq("canon of .5", canon.number(time.to_epoch("2024-01-01T00:00:00.5Z")), "1704067200.5")
T:eq("canon of .123", canon.number(time.to_epoch("2024-01-01T00:00:00.123Z")), "1704067200.123")
T:eq("canon of pre-1970 fraction", canon.number(time.to_epoch("1969-12-31T23:59:58.75Z")), "-1.25")
T:eq("tostring of whole seconds", tostring(time.to_epoch("2024-01-01T00:00:00Z")), "1704067200")

-- Malformed or out of range.
local badtexts = {
  "2024-13-01", "2024-00-10", "2024-01-00", "2024-01-32", "2024-04-31", "2023-02-29",
  "1900-02-29", "2024-01-01T24:00:00Z", "2024-01-01T23:60:00Z", "2024-01-01T23:59:61Z",
  "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+05:60", "2024-1-1", "20240101",
  "", "2024-01-01T", "2024-01-01T00", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00ZZ",
  " 2024-01-01", "2024-01-01 ", "2024-01-01x", "2024-01-01Z", "2024-01-01T00:00:0Z",
  "2024-01-01T00:00:00+5:30", "2024-01-01T00:00:00+05:3", "2024-01-01T00:00:00 +05:00",
  "2024-01-01T00:00:00UTC", "2024-01-01X00:00:00Z", "2024-01-01T00:00.5Z",
  "12024-01-01T00:00:00Z", "2024-01-01T00:00:00,5Z", "yesterday", "1704067200",
}
for _, s in ipairs(badtexts) do
  T:err("to_epoch rejects '" .. s .. "'", function() return time.to_epoch(s) end,
        "time.to_epoch: cannot read '" .. s .. "' as an ISO-8601 datetime")
  T:eq("is_iso8601 false '" .. s .. "'", time.is_iso8601(s), false)
end
T:err("to_epoch number", function() return time.to_epoch(5) end, "time.to_epoch: cannot read '5'")
T:err("to_epoch nil", function() return time.to_epoch(nil) end, "time.to_epoch: cannot read 'nil'")
T:eq("is_iso8601 number", time.is_iso8601(1704067200), false)
T:eq("is_iso8601 nil", time.is_iso8601(nil), false)
T:eq("is_iso8601 true", time.is_iso8601("2024-03-10T12:00:00+05:30"), true)
T:eq("is_iso8601 date", time.is_iso8601("2024-02-29"), true)

-- to_iso8601
local iso = {
  { 1704067200, nil, "2024-01-01T00:00:00Z" },
  { 0, nil, "1970-01-01T00:00:00Z" },
  { -1, nil, "1969-12-31T23:59:59Z" },
  { 1704067200.5, nil, "2024-01-01T00:00:00.500Z" },
  { 1704067200.5, 1, "2024-01-01T00:00:00.5Z" },
  { 1704067200.5, 6, "2024-01-01T00:00:00.500000Z" },
  { 1704067200123 / 1000, nil, "2024-01-01T00:00:00.123Z" },
  { tonumber("1704067200.123456"), 6, "2024-01-01T00:00:00.123456Z" },
  { 1704067200.9996, nil, "2024-01-01T00:00:01.000Z" },
  { 1704067200.4, 0, "2024-01-01T00:00:00Z" },
  { 1704067200.6, 0, "2024-01-01T00:00:01Z" },
  { -0.5, nil, "1969-12-31T23:59:59.500Z" },
  { -877 / 1000, nil, "1969-12-31T23:59:59.123Z" },
  { 951782400, nil, "2000-02-29T00:00:00Z" },
  { 1709210096, nil, "2024-02-29T12:34:56Z" },
  { 2147483648, nil, "2038-01-19T03:14:08Z" },
  { -2208988800, nil, "1900-01-01T00:00:00Z" },
  { -62167219200, nil, "0000-01-01T00:00:00Z" },
  { 253402300799, nil, "9999-12-31T23:59:59Z" },
  { 1710072000.0, nil, "2024-03-10T12:00:00Z" },
}
for _, c in ipairs(iso) do
  local case = "to_iso8601(" .. S.show(c[1]) .. ", " .. tostring(c[2]) .. ")"
  local ok, got = T:try(case, function() return time.to_iso8601(c[1], c[2]) end)
  if ok then T:eq(case, got, c[3]) end
end
T:err("to_iso8601 past 9999", function() return time.to_iso8601(253402300800) end, "epoch out of range")
T:err("to_iso8601 before 0000", function() return time.to_iso8601(-62167219201) end, "epoch out of range")
T:err("to_iso8601 nan", function() return time.to_iso8601(0 / 0) end, "time.to_iso8601: cannot convert nan/inf")
T:err("to_iso8601 inf", function() return time.to_iso8601(1 / 0) end, "time.to_iso8601: cannot convert nan/inf")
T:err("to_iso8601 string", function() return time.to_iso8601("1") end, "time.to_iso8601: expected a number, got string")
T:err("to_iso8601 digits 10", function() return time.to_iso8601(1.5, 10) end, "digits must be an integer from 0 to 9")
T:err("to_iso8601 digits 1.5", function() return time.to_iso8601(1.5, 1.5) end, "digits must be an integer from 0 to 9")

-- Round trips over a spread of whole seconds and milliseconds.
do
  local bad_s, bad_ms, bad_text = 0, 0, 0
  local x = 12345
  for _ = 1, 3000 do
    x = (x * 16807) % 2147483647  -- stays exact in doubles (Lua 5.1)
    local secs = -62167219200 + (x * 7919) % (253402300799 + 62167219200)
    if time.to_epoch(time.to_iso8601(secs)) ~= secs then bad_s = bad_s + 1 end
    local ms = secs * 1000 + x % 1000
    if ms < 253402300800000 then
      local e = ms / 1000
      local text = time.to_iso8601(e)
      if time.to_epoch(text) ~= e then bad_ms = bad_ms + 1 end
      local text3 = text:find("%.") and text or text:gsub("Z$", ".000Z")
      if time.to_epoch_ms(text) ~= ms or time.from_epoch_ms(ms) ~= text3 then
        bad_text = bad_text + 1
      end
    end
  end
  T:eq("round trip whole seconds", bad_s, 0)
  T:eq("round trip milliseconds", bad_ms, 0)
  T:eq("round trip to_epoch_ms/from_epoch_ms", bad_text, 0)
end

-- Every day of 1600-2400 against a day counter.
do
  local bad, days = 0, time.days_from_civil(1600, 1, 1)
  local mdays = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
  for y = 1600, 2400 do
    local leap = (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
    for m = 1, 12 do
      local n = mdays[m]
      if m == 2 and leap then n = 29 end
      for d = 1, n do
        local s = string.format("%04d-%02d-%02d", y, m, d)
        if time.days_from_civil(y, m, d) ~= days
          or time.to_epoch(s) ~= days * 86400
          or time.to_iso8601(days * 86400) ~= s .. "T00:00:00Z" then
          bad = bad + 1
        end
        days = days + 1
      end
    end
  end
  T:eq("every day 1600-2400", bad, 0)
  T:eq("days_from_civil epoch", time.days_from_civil(1970, 1, 1), 0)
end

-- Milliseconds.
T:eq("to_epoch_ms", time.to_epoch_ms("2024-01-01T00:00:00.123Z"), 1704067200123)
T:eq("to_epoch_ms whole", time.to_epoch_ms("2024-01-01T00:00:00Z"), 1704067200000)
T:eq("to_epoch_ms .5", time.to_epoch_ms("2024-01-01T00:00:00.5Z"), 1704067200500)
T:eq("to_epoch_ms .05", time.to_epoch_ms("2024-01-01T00:00:00.05Z"), 1704067200050)
T:eq("to_epoch_ms drops extra digits", time.to_epoch_ms("2024-01-01T00:00:00.1239Z"), 1704067200123)
T:eq("to_epoch_ms pre-1970", time.to_epoch_ms("1969-12-31T23:59:59.999Z"), -1)
T:eq("to_epoch_ms offset", time.to_epoch_ms("2024-03-10T12:00:00.250+05:30"), 1710052200250)
T:eq("canon of to_epoch_ms", canon.number(time.to_epoch_ms("2024-01-01T00:00:00.123Z")), "1704067200123")
T:err("to_epoch_ms bad", function() return time.to_epoch_ms("x") end,
      "time.to_epoch_ms: cannot read 'x' as an ISO-8601 datetime")
T:eq("from_epoch_ms", time.from_epoch_ms(1704067200123), "2024-01-01T00:00:00.123Z")
T:eq("from_epoch_ms whole", time.from_epoch_ms(1704067200000), "2024-01-01T00:00:00.000Z")
T:eq("from_epoch_ms -1", time.from_epoch_ms(-1), "1969-12-31T23:59:59.999Z")
T:err("from_epoch_ms fraction", function() return time.from_epoch_ms(1.5) end, "expected integral milliseconds")

T:finish()
