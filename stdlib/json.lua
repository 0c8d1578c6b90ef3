-- keyshift stdlib: json -- order- and number-preserving JSON.
--
-- Runs unchanged in the host's Lua 5.4 and in Redis's Lua 5.1, with the same
-- results in both.
--
--   json.decode(text)   -> value. Objects and arrays become plain Lua tables,
--                          JSON null becomes json.null, numbers become Lua
--                          numbers (tonumber of their text), except those a
--                          double cannot hold exactly or that Lua 5.1 and 5.4
--                          would compute on differently (integers beyond
--                          2^53, 1e400, 1.000000000000000000001): these
--                          become exact numbers (see exact.lua) that keep
--                          their text when copied or moved, compare exactly
--                          and refuse arithmetic.
--   json.encode(value)  -> compact JSON text.
--   json.null           -> the sentinel standing for JSON null.
--   json.array([t])     -> marks t (or a new table) as an array, so an empty
--                          one encodes as []; returns it.
--   json.object([t])    -> marks t (or a new table) as an object; returns it.
--   json.is_array(t)    -> true if encode would write t as an array.
--   json.keys(obj)      -> the keys in the order encode writes them: keys of
--                          the decoded document in document order (a
--                          duplicated key once, where its last occurrence
--                          is), then keys added since, sorted bytewise. For
--                          an array: 1..n.
--
-- Round trip: json.encode(json.decode(s)) == s byte for byte for any compact
-- document (no insignificant whitespace). To do this, decode remembers in a
-- weak-keyed side table (never in the decoded tables themselves) each
-- container's kind, each object's key order, and the original text of every
-- number (except integers of up to 15 digits, whose text is already
-- canonical) and of every string or key written with escapes. Encode re-emits an
-- original text where the current value still equals the decoded one
-- (rawequal); a changed scalar is written canonically: numbers as
-- canon.number, strings with only `"`, `\` and control characters escaped
-- (\n \r \t \b \f, else \u00xx; `/` and bytes >= 0x7f are written as is).
-- Numbers a double cannot hold are exact numbers, written with their text
-- wherever they are copied or moved.
--
-- Encoding rules:
--   * a decoded object: its original keys in document order (keys set to nil
--     are left out; a key removed and set again keeps its old place), then
--     new keys sorted bytewise. Keys must be strings.
--   * a decoded (or json.array-marked) array: elements 1..n; its keys must be
--     exactly 1..n (a hole is an error). After table.insert/remove the
--     original text of an element is used only where the value at that index
--     still equals the decoded value at that index.
--   * any other table: an array if its keys are exactly 1..n with n > 0,
--     otherwise an object with its keys sorted bytewise (non-string key: an
--     error naming its type). An unmarked empty table encodes as {}.
--   * nan and +-inf, functions, userdata, threads: an error. Nesting deeper
--     than 500 (or a cycle) is an error.
--   * metatables are ignored (raw access throughout).
--   * a top-level scalar document ("1.50", "\u00e9") has no table to keep its
--     text in: encode of a scalar equal to the scalar returned by the most
--     recent decode reuses that decode's text.
--
-- Decoding is strict RFC 8259, except that whitespace may surround the
-- document and strings are not checked for valid UTF-8 (bytes pass through).
-- Raw control characters in strings, leading zeros, trailing commas, trailing
-- garbage and nesting deeper than 500 are errors: "json: <reason> at byte N".
-- A \u escape of a lone surrogate is decoded to its 3-byte form.
--
-- Duplicate member names ({"a":1,"a":2}): every occurrence is kept, in
-- place. The table holds the last value; the earlier occurrences keep their
-- original text (name and value) and are written again as they were, at
-- their positions, as long as the key is present in the table. Deleting the
-- key (t.a = nil) removes every occurrence; setting it changes the last
-- occurrence only.
local modules = ...
local canon, exact = modules and modules.canon, modules and modules.exact
if not (canon and exact) then error("json: needs the canon and exact modules", 0) end

local M = {}

local type, tonumber, error, next = type, tonumber, error, next
local rawget, rawequal, setmetatable = rawget, rawequal, setmetatable
local byte, sub, find, gsub, format, char =
  string.byte, string.sub, string.find, string.gsub, string.format, string.char
local concat, sort = table.concat, table.sort
local floor, huge = math.floor, math.huge
local canon_number, less = canon.number, canon.less
local box_texts, from_text = canon.box_texts, exact.from_text

local MAX_DEPTH = 500

-- JSON null.
local null = setmetatable({}, {
  __tostring = function() return "json.null" end,
  __newindex = function() error("json: json.null is read-only", 2) end,
  __metatable = "json.null",
})
M.null = null

-- Side table: decoded or marked table -> metadata.
--   object: { [1..n] = original keys in document order (an earlier
--               occurrence of a duplicated key: { key = k, text = "..." }),
--             raw = {key -> original value text}, orig = {key -> decoded value},
--             kraw = {key -> original key text (with quotes)} }
--   array:  { array = true, raw = {index -> text}, orig = {index -> value} }
-- raw/orig/kraw exist only when needed: numbers whose text is not canonical
-- by construction, strings and keys written with escapes.
local meta = setmetatable({}, { __mode = "k" })

-- The host's native decoder and encoder (bindings/json_native*.cc), in host
-- mode only: for common documents they build and write exactly what this
-- file's parser and encoder do, side tables included, and return nil for
-- anything else (errors included), which this file then handles itself.
-- Absent in Redis: everything is done here.
local host = modules.host
local native_decode = host and host.json_decoder
  and host.json_decoder(meta, null, from_text, box_texts)
local native_encode = host and host.json_encoder
  and host.json_encoder(meta, null, box_texts)

-- The most recent decode's value and text, when it was a scalar with a text.
local top_value, top_raw = nil, nil

-- Speed only, never output: strings decode met without escapes (encode
-- writes them without looking for bytes to escape) and the text of numbers
-- encode wrote. Emptied when full and holding short strings only, so they
-- stay small (the host keeps this module for a whole run: at most ~1 MiB).
local CACHE_MAX, PLAIN_MAX_LEN = 4096, 256
local MIN_INTEGER = -9223372036854775808.0  -- -2^63
local plain, nplain = {}, 0
local numtext, nnumtext = {}, 0

local function mark_plain(s)
  if #s > PLAIN_MAX_LEN then return end
  if nplain >= CACHE_MAX then plain, nplain = {}, 0 end
  if not plain[s] then
    plain[s] = true
    nplain = nplain + 1
  end
end

---------------------------------------------------------------------------
-- Decoding
---------------------------------------------------------------------------

-- Bytes that end the plain run of a string: quote, backslash, controls.
local STR_SPECIAL = "[\"\\%z\1-\31]"

-- A whole key without escapes and its ':' (compact documents).
local KEY_PLAIN = "^\"([^\"\\%z\1-\31]*)\":"
-- The rest of a string without escapes, and its closing quote.
local STR_REST = "^([^\"\\%z\1-\31]*)\""

local SIMPLE_ESCAPES = {
  [34] = "\"", [92] = "\\", [47] = "/", [98] = "\b",
  [102] = "\f", [110] = "\n", [114] = "\r", [116] = "\t",
}

local function fail(reason, pos)
  error(format("json: %s at byte %d", reason, pos), 0)
end

local function unexpected(text, i)
  local c = byte(text, i)
  if c == nil then fail("unexpected end of input", i) end
  if c > 32 and c < 127 then fail("unexpected character '" .. char(c) .. "'", i) end
  fail(format("unexpected byte 0x%02x", c), i)
end

local function utf8_char(cp)
  if cp < 128 then return char(cp) end
  if cp < 2048 then return char(192 + floor(cp / 64), 128 + cp % 64) end
  if cp < 65536 then
    return char(224 + floor(cp / 4096), 128 + floor(cp / 64) % 64, 128 + cp % 64)
  end
  return char(240 + floor(cp / 262144), 128 + floor(cp / 4096) % 64,
              128 + floor(cp / 64) % 64, 128 + cp % 64)
end

local function hex4(text, p)
  local h = sub(text, p, p + 3)
  if not find(h, "^%x%x%x%x$") then return nil end
  return tonumber(h, 16)
end

-- text:byte(i) is '"'. Returns value, next index, original text (only when
-- the string has escapes; a plain string re-encodes to the same text).
local function scan_string(text, i)
  local _, e, rest = find(text, STR_REST, i + 1)
  if e then
    mark_plain(rest)
    return rest, e + 1, nil
  end
  local j = find(text, STR_SPECIAL, i + 1)
  if not j then fail("unterminated string", i) end
  local c = byte(text, j)
  if c == 34 then return sub(text, i + 1, j - 1), j + 1, nil end
  local parts, np, k = {}, 0, i + 1
  while true do
    if c == 34 then
      np = np + 1
      parts[np] = sub(text, k, j - 1)
      return concat(parts), j + 1, sub(text, i, j)
    elseif c == 92 then
      if j > k then
        np = np + 1
        parts[np] = sub(text, k, j - 1)
      end
      local e = byte(text, j + 1)
      if e == 117 then  -- \uXXXX
        local cp = hex4(text, j + 2)
        if not cp then fail("invalid \\u escape", j) end
        k = j + 6
        if cp >= 55296 and cp <= 56319 and byte(text, k) == 92 and byte(text, k + 1) == 117 then
          local lo = hex4(text, k + 2)
          if lo and lo >= 56320 and lo <= 57343 then
            cp = 65536 + (cp - 55296) * 1024 + (lo - 56320)
            k = k + 6
          end
        end
        np = np + 1
        parts[np] = utf8_char(cp)
      else
        local r = SIMPLE_ESCAPES[e]
        if not r then
          if e == nil then fail("unterminated string", i) end
          fail("invalid escape", j)
        end
        np = np + 1
        parts[np] = r
        k = j + 2
      end
    else
      fail("control character in string", j)
    end
    j = find(text, STR_SPECIAL, k)
    if not j then fail("unterminated string", i) end
    c = byte(text, j)
  end
end

-- Returns value, next index, original text.
local function scan_number(text, i)
  local _, e = find(text, "^-?%d+", i)
  if not e then fail("invalid number", i) end
  local d = byte(text, i) == 45 and i + 1 or i
  if e > d and byte(text, d) == 48 then fail("leading zero in number", d) end
  local c = byte(text, e + 1)
  local integer = c ~= 46 and c ~= 101 and c ~= 69
  if integer and e - d < 15 and (e > d or byte(text, d) ~= 48 or d == i) then
    -- an integer of at most 15 digits (not "-0"): canonical text already
    return tonumber(sub(text, i, e)), e + 1, nil
  end
  if c == 46 then  -- .
    local _, e2 = find(text, "^%d+", e + 2)
    if not e2 then fail("expected a digit after '.'", e + 2) end
    e = e2
    c = byte(text, e + 1)
  end
  if c == 101 or c == 69 then  -- e E
    local _, e2 = find(text, "^[+-]?%d+", e + 2)
    if not e2 then fail("expected a digit in exponent", e + 2) end
    e = e2
  end
  local raw = sub(text, i, e)
  local v = tonumber(raw)
  if integer and v == 0 then  -- "-0": Lua 5.4 reads integer 0, Lua 5.1 -0.0
    v = 0
  else
    v = from_text(raw, v)
  end
  if box_texts[v] then return v, e + 1, nil end  -- a box writes its own text
  return v, e + 1, raw
end

local function skip(text, i)
  local c = byte(text, i)
  if c == 32 or c == 10 or c == 13 or c == 9 then
    local _, e = find(text, "^[ \n\r\t]*", i)
    return e + 1
  end
  return i
end

local parse_object, parse_array
local member_text  -- defined with the encoder

-- Object t (metadata m, n entries) met key k again: its live occurrence
-- becomes frozen text at its position and the new one is appended.
local function freeze_duplicate(t, m, n, k)
  local slot = n
  while m[slot] ~= k do slot = slot - 1 end
  m[slot] = { key = k, text = member_text(t, m, k) }
  m.dups = true
  n = n + 1
  m[n] = k
  return n
end

-- c: the byte at i, when the caller has read it already.
local function parse_value(text, i, depth, c)
  c = c or byte(text, i)
  if c == 34 then return scan_string(text, i) end
  if c == 123 then return parse_object(text, i, depth + 1) end
  if c == 91 then return parse_array(text, i, depth + 1) end
  if c == 45 or (c and c >= 48 and c <= 57) then return scan_number(text, i) end
  if c == 116 then
    if sub(text, i, i + 3) == "true" then return true, i + 4 end
  elseif c == 102 then
    if sub(text, i, i + 4) == "false" then return false, i + 5 end
  elseif c == 110 then
    if sub(text, i, i + 3) == "null" then return null, i + 4 end
  end
  unexpected(text, i)
end

-- The byte at i, or at the first non-blank byte from i, and its index.
-- (Compact documents have no blanks: one byte read.)
local function next_byte(text, i)
  local c = byte(text, i)
  if c == 32 or c == 10 or c == 13 or c == 9 then
    i = skip(text, i)
    c = byte(text, i)
  end
  return c, i
end

parse_object = function(text, i, depth)
  if depth > MAX_DEPTH then fail("nesting deeper than " .. MAX_DEPTH, i) end
  local t, m, n = {}, {}, 0
  meta[t] = m
  i = skip(text, i + 1)
  if byte(text, i) == 125 then return t, i + 1 end
  local raw, orig, kraw
  while true do
    local k, kr, v, vr, c
    -- fast path: a key without escapes directly followed by ':'
    local _, e, key = find(text, KEY_PLAIN, i)
    if e then
      k, i = key, e + 1
    else
      i = skip(text, i)
      if byte(text, i) ~= 34 then
        if byte(text, i) == nil then unexpected(text, i) end
        fail("expected a string key", i)
      end
      k, i, kr = scan_string(text, i)
      i = skip(text, i)
      if byte(text, i) ~= 58 then
        if byte(text, i) == nil then unexpected(text, i) end
        fail("expected ':'", i)
      end
      i = i + 1
    end
    c = byte(text, i)
    if c == 34 then  -- a string without escapes, inline (the common case)
      local _, e2, rest = find(text, STR_REST, i + 1)
      if e2 then
        mark_plain(rest)
        v, i = rest, e2 + 1
      else
        v, i, vr = scan_string(text, i)
      end
    else
      if c == 32 or c == 10 or c == 13 or c == 9 then c, i = next_byte(text, i) end
      v, i, vr = parse_value(text, i, depth, c)
    end
    if t[k] == nil then
      n = n + 1
      m[n] = k
    else
      n = freeze_duplicate(t, m, n, k)
      if kraw then kraw[k] = nil end
    end
    if kr then
      if not kraw then kraw = {}; m.kraw = kraw end
      kraw[k] = kr
    end
    t[k] = v
    if vr then
      if not raw then raw = {}; orig = {}; m.raw = raw; m.orig = orig end
      raw[k] = vr
      orig[k] = v
    elseif raw and raw[k] then
      raw[k] = nil
      orig[k] = nil
    end
    c = byte(text, i)
    if c == 32 or c == 10 or c == 13 or c == 9 then c, i = next_byte(text, i) end
    if c == 44 then
      i = i + 1  -- blanks before the next key: its slow path skips them
    elseif c == 125 then
      return t, i + 1
    elseif c == nil then
      unexpected(text, i)
    else
      fail("expected ',' or '}'", i)
    end
  end
end

parse_array = function(text, i, depth)
  if depth > MAX_DEPTH then fail("nesting deeper than " .. MAX_DEPTH, i) end
  local t, m, n = {}, { array = true }, 0
  meta[t] = m
  local c
  c, i = next_byte(text, i + 1)
  if c == 93 then return t, i + 1 end
  local raw, orig
  while true do
    local v, vr
    v, i, vr = parse_value(text, i, depth, c)
    n = n + 1
    t[n] = v
    if vr then
      if not raw then raw = {}; orig = {}; m.raw = raw; m.orig = orig end
      raw[n] = vr
      orig[n] = v
    end
    c, i = next_byte(text, i)
    if c == 44 then
      c, i = next_byte(text, i + 1)
    elseif c == 93 then
      return t, i + 1
    elseif c == nil then
      unexpected(text, i)
    else
      fail("expected ',' or ']'", i)
    end
  end
end

function M.decode(text)
  if type(text) ~= "string" then
    error("json: expected a string to decode, got " .. type(text), 0)
  end
  top_value, top_raw = nil, nil
  if native_decode then
    local v = native_decode(text)
    if v ~= nil then return v end
  end
  local v, j, raw = parse_value(text, skip(text, 1), 0)
  j = skip(text, j)
  if j <= #text then fail("trailing characters after the document", j) end
  if raw then top_value, top_raw = v, raw end
  return v
end

---------------------------------------------------------------------------
-- Encoding
---------------------------------------------------------------------------

local ESCAPES = {}
for c = 0, 31 do ESCAPES[char(c)] = format("\\u%04x", c) end
ESCAPES["\b"] = "\\b"
ESCAPES["\f"] = "\\f"
ESCAPES["\n"] = "\\n"
ESCAPES["\r"] = "\\r"
ESCAPES["\t"] = "\\t"
ESCAPES["\""] = "\\\""
ESCAPES["\\"] = "\\\\"

-- Keys exactly 1..n -> n (0 for an empty table); otherwise nil.
local function seq_length(t)
  local count, max = 0, 0
  for k in next, t do
    if type(k) ~= "number" or k < 1 or k ~= floor(k) then return nil end
    count = count + 1
    if k > max then max = k end
  end
  if max ~= count then return nil end
  return count
end

-- Keys of t not among the original keys of m, checked to be strings and
-- sorted bytewise.
local function added_keys(t, m)
  local set
  if m and m[1] ~= nil then
    set = {}
    for idx = 1, #m do set[m[idx]] = true end  -- frozen duplicates too: harmless
  end
  local extra, ne = {}, 0
  for k in next, t do
    if not (set and set[k]) then
      if type(k) ~= "string" then
        error("json: object key must be a string, got " .. type(k), 0)
      end
      ne = ne + 1
      extra[ne] = k
    end
  end
  sort(extra, less)
  return extra, ne
end

local encode_table

local function encode_value(v, buf, n, depth)
  local tv = type(v)
  if tv == "string" then
    if not plain[v] and find(v, STR_SPECIAL) then v = gsub(v, STR_SPECIAL, ESCAPES) end
    buf[n + 1] = "\""
    buf[n + 2] = v
    buf[n + 3] = "\""
    return n + 3
  elseif tv == "number" then
    local text = numtext[v]  -- (nan is never a key: it misses)
    if not text then
      if v ~= v or v == huge or v == -huge then
        error("json: cannot encode nan or inf", 0)
      end
      text = canon_number(v)
      -- Lua 5.4: the float -2^63 and math.mininteger are one table key with
      -- two texts ("-9.223372036854776e+18", "-9223372036854775808").
      if v ~= MIN_INTEGER then
        if nnumtext >= CACHE_MAX then numtext, nnumtext = {}, 0 end
        numtext[v], nnumtext = text, nnumtext + 1
      end
    end
    buf[n + 1] = text
    return n + 1
  elseif tv == "boolean" then
    buf[n + 1] = v and "true" or "false"
    return n + 1
  elseif tv == "table" then
    if rawequal(v, null) then
      buf[n + 1] = "null"
      return n + 1
    end
    local text = box_texts[v]
    if text then
      buf[n + 1] = text
      return n + 1
    end
    return encode_table(v, buf, n, depth + 1)
  elseif tv == "nil" then
    error("json: cannot encode nil (use json.null)", 0)
  end
  error("json: cannot encode a " .. tv, 0)
end

local function encode_array(t, m, buf, n, depth, len)
  len = len or seq_length(t)
  if not len then error("json: array has a hole or a non-index key", 0) end
  if len == 0 then
    buf[n + 1] = "[]"
    return n + 1
  end
  local raw, orig
  if m then raw, orig = m.raw, m.orig end
  n = n + 1
  buf[n] = "["
  for i = 1, len do
    if i > 1 then
      n = n + 1
      buf[n] = ","
    end
    local v = rawget(t, i)
    local r = raw and raw[i]
    if r and rawequal(orig[i], v) then
      n = n + 1
      buf[n] = r
    else
      n = encode_value(v, buf, n, depth)
    end
  end
  n = n + 1
  buf[n] = "]"
  return n
end

-- One member of decoded object t as it is now ("key":value), v = t[k].
local function encode_member(t, m, k, v, buf, n, depth)
  local kr = m.kraw and m.kraw[k]
  if kr then
    buf[n + 1] = kr
    buf[n + 2] = ":"
    n = n + 2
  else  -- a key without escapes in the document needs none now
    buf[n + 1] = "\""
    buf[n + 2] = k
    buf[n + 3] = "\":"
    n = n + 3
  end
  local r = m.raw and m.raw[k]
  if r and rawequal(m.orig[k], v) then
    n = n + 1
    buf[n] = r
    return n
  end
  return encode_value(v, buf, n, depth)
end

member_text = function(t, m, k)
  local buf = {}
  return concat(buf, "", 1, encode_member(t, m, k, rawget(t, k), buf, 0, 0))
end

local function encode_object(t, m, buf, n, depth)
  n = n + 1
  buf[n] = "{"
  local start, present = n, 0
  if m then
    -- Members with an escaped key or a kept text go through encode_member;
    -- the others (most) are written here.
    local dups, kraw, raw = m.dups, m.kraw, m.raw
    for idx = 1, #m do
      local k = m[idx]
      local dup = dups and type(k) == "table"
      local v = rawget(t, dup and k.key or k)
      if v ~= nil then
        if n > start then
          n = n + 1
          buf[n] = ","
        end
        if dup then
          n = n + 1
          buf[n] = k.text
        else
          present = present + 1
          if (kraw and kraw[k]) or (raw and raw[k]) then
            n = encode_member(t, m, k, v, buf, n, depth)
          else
            buf[n + 1] = "\""
            buf[n + 2] = k
            buf[n + 3] = "\":"
            n = encode_value(v, buf, n + 3, depth)
          end
        end
      end
    end
  end
  local total = 0
  for _ in next, t do total = total + 1 end
  if total > present then
    local extra, ne = added_keys(t, m)
    for idx = 1, ne do
      local k = extra[idx]
      if n > start then
        n = n + 1
        buf[n] = ","
      end
      n = encode_value(k, buf, n, depth)
      n = n + 1
      buf[n] = ":"
      n = encode_value(rawget(t, k), buf, n, depth)
    end
  end
  n = n + 1
  buf[n] = "}"
  return n
end

encode_table = function(t, buf, n, depth)
  if depth > MAX_DEPTH then
    error("json: nesting deeper than " .. MAX_DEPTH .. " (or a cycle) while encoding", 0)
  end
  local m = meta[t]
  if m then
    if m.array then return encode_array(t, m, buf, n, depth) end
    return encode_object(t, m, buf, n, depth)
  end
  local len = seq_length(t)
  if len and len > 0 then return encode_array(t, nil, buf, n, depth, len) end
  return encode_object(t, nil, buf, n, depth)
end

function M.encode(v)
  if top_raw ~= nil and type(v) ~= "table" and rawequal(v, top_value) then
    return top_raw
  end
  if native_encode and type(v) == "table" then
    local text = native_encode(v)
    if text then return text end
  end
  local buf = {}
  local n = encode_value(v, buf, 0, 0)
  return concat(buf, "", 1, n)
end

---------------------------------------------------------------------------
-- Marking and inspecting tables
---------------------------------------------------------------------------

-- What json.fn calls `t` when it is not a table it takes (nil when it is).
local function not_a_table(t)
  if rawequal(t, null) then return "json.null" end
  if box_texts[t] then return "number" end
  if type(t) ~= "table" then return type(t) end
end

local function check_table(fn, t)
  if t == nil then return {} end
  local got = not_a_table(t)
  if got then error("json." .. fn .. ": expected a table, got " .. got, 0) end
  return t
end

function M.array(t)
  t = check_table("array", t)
  local m = meta[t]
  if not (m and m.array) then meta[t] = { array = true } end
  return t
end

function M.object(t)
  t = check_table("object", t)
  local m = meta[t]
  if not m or m.array then meta[t] = {} end
  return t
end

function M.is_array(t)
  if not_a_table(t) then return false end
  local m = meta[t]
  if m then return m.array == true end
  local len = seq_length(t)
  return len ~= nil and len > 0
end

function M.keys(t)
  local got = not_a_table(t)
  if got then error("json.keys: expected a table, got " .. got, 0) end
  local m = meta[t]
  local len
  if m then
    if m.array then
      len = seq_length(t)
      if not len then error("json: array has a hole or a non-index key", 0) end
    end
  else
    len = seq_length(t)
    if len == 0 then len = nil end
  end
  local keys, nk = {}, 0
  if len then
    for i = 1, len do keys[i] = i end
    return keys
  end
  if m then
    for idx = 1, #m do
      local k = m[idx]
      if type(k) ~= "table" and rawget(t, k) ~= nil then
        nk = nk + 1
        keys[nk] = k
      end
    end
  end
  local total = 0
  for _ in next, t do total = total + 1 end
  if total > nk then
    local extra, ne = added_keys(t, m)
    for idx = 1, ne do keys[nk + idx] = extra[idx] end
  end
  return keys
end

return M
