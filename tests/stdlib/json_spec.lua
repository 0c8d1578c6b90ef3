-- stdlib/json.lua: order- and number-preserving JSON (SPEC section 2).
-- Run: lua5.4|lua5.1 tests/stdlib/json_spec.lua <stdlib dir>
local here = (arg[0]:match("^(.*)[/\\]") or ".")
local S = dofile(here .. "/spec_support.lua")
local T = S.runner(arg[1])
local json = T.json

local function count_keys(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

---------------------------------------------------------------------------
-- 1. Round trip: encode(decode(s)) == s for compact documents.
---------------------------------------------------------------------------
local corpus = {
  [=[{}]=],
  [=[[]]=],
  [=[null]=],
  [=[true]=],
  [=[false]=],
  [=[0]=],
  [=[-0]=],
  [=[1.50]=],
  [=[1e5]=],
  [=[1E+2]=],
  [=[-1.5e-7]=],
  [=[12345678901234567890123]=],
  [=["hello"]=],
  [=[""]=],
  [=["\u00e9"]=],
  [=["\u00E9"]=],
  [=["a\/b"]=],
  [=[{"a":1,"b":2}]=],
  [=[{"b":1,"a":2}]=],
  [=[{"z":1,"y":{"x":[],"w":{}},"a":null}]=],
  [=[[1,2,3]]=],
  [=[[[],[[]],{},[{}]]]=],
  [=[{"n":9007199254740993}]=],
  [=[{"n":12345678901234567890}]=],
  [=[[9007199254740993,9007199254740992,-9007199254740993]]=],
  [=[{"id":18446744073709551615,"ts":1704067200123,"neg":-9223372036854775809}]=],
  [=[{"price":1.50,"qty":1e5,"neg":-0,"big":1E+2,"small":1e-5,"frac":0.10}]=],
  [=[{"s":"line\nbreak\ttab\"quote\\back\rcr\bbs\fff"}]=],
  [=[{"u":"\u00e9\u4e2d\ud83d\ude00"}]=],
  [=[{"\u00e9":"escaped key","plain":"x"}]=],
  [=[{"url":"http:\/\/example.com\/a?b=1&c=2"}]=],
  "{\"raw\":\"\195\169\228\184\173\240\159\152\128\"}",
  [=[{"a":[1,"two",true,false,null,{"b":[]}]}]=],
  [=[{"":""}]=],
  [=[{"ctl":"\u0000\u001f\u0001"}]=],
  [=[{"x":0.1,"y":0.30000000000000004,"z":1e300}]=],
  [=[{"x":1.0,"y":100,"z":-0.0,"w":1.000}]=],
  [=[[1e400,-1e400]]=],
  [=[{"deep":{"deeper":{"deepest":[[[{"k":"v"}]]]}}}]=],
  [=[[" ","","  "]]=],
  [=[{"k1":1,"k10":2,"k2":3,"K":4,"_":5}]=],
  [=[[0,-1,123456789,-123456789.125]]=],
  [=[{"exp":[1e-5,1E5,1e+05,2.5E-3,0e0,-0E-0]}]=],
  -- JSONTestSuite-style numbers and duplicate members
  [=[[1E22]]=], [=[[123e65]]=], [=[[0e+1]]=], [=[[1.5e+9999]]=], [=[[-1e-400]]=],
  [=[[100000000000000000000]]=], [=[[-9223372036854775808]]=], [=[[9223372036854775807]]=],
  [=[[-0.000000000000000000000000000000000000000000000000000000000000000000000000000001]]=],
  [=[[1.000000000000000000001,0.1000000000000000055511151231257827]]=],
  [=[{"a":[],"a":{}}]=], [=[{"a":"b","a":"b"}]=], [=[{"a":1,"b":{"c":2,"c":[3]},"a":null,"a":4}]=],
  [=[{"\u0061":1,"a":2}]=], [=[[{"":1,"":2}]]=],
  "{\"del\":\"\127\",\"esc\":\"\\u007f\"}",
  [=[["\"","\\","\/","\u005c"]]=],
  [=[{"nested":[{"a":1},{"b":[{"c":{}}]}]}]=],
  [=[{"emoji":"\ud83d\ude00","lone":"\ud800"}]=],
  [=[{"a":{"a":{"a":{}}},"b":[[],{}]}]=],
  [=[{"t":true,"f":false,"n":null}]=],
  [=[{"user":{"id":42,"name":"Ann","created_at":"2024-01-01T00:00:00Z","tags":["a","b"],"settings":{}}}]=],
  [=["\u0041\u0042"]=],
  [=[-12.5e+10]=],
  [=[[999999999999999,-999999999999999,1000000000000000,-1000000000000000,-0,0,7]]=],
  [=[{"a":-0,"b":0,"c":-0.0,"d":10,"e":100000000000000000000}]=],
}
for i, s in ipairs(corpus) do
  local case = "round trip #" .. i .. " " .. s:sub(1, 40)
  local ok, v = T:try(case, function() return json.decode(s) end)
  if ok then
    local ok2, out = T:try(case, function() return json.encode(v) end)
    if ok2 then T:eq(case, out, s) end
  end
end

-- The float -2^63 and (Lua 5.4) the integer -2^63 are one table key but
-- two texts: encoding one must not change how the other is written.
do
  T:eq("-2^63 float", json.encode({ -2 ^ 63 }), "[-9.223372036854776e+18]")
  if math.type then
    T:eq("-2^63 integer after the float", json.encode({ math.mininteger }), "[-9223372036854775808]")
    T:eq("-2^63 float after the integer", json.encode({ -2 ^ 63 }), "[-9.223372036854776e+18]")
  end
end

-- A second encode gives the same text (metadata is not consumed).
do
  local s = [=[{"b":1.50,"a":[1e5,"\u00e9"]}]=]
  local v = json.decode(s)
  json.encode(v)
  T:eq("encode twice", json.encode(v), s)
end

-- Generated documents: 100 KB, and nesting at the limit of 500.
do
  local parts = {}
  for i = 1, 1500 do
    parts[#parts + 1] = string.format(
      '{"id":%d,"name":"user\\u00e9%d","score":%d.%02d0,"big":9007199254740%03d,"tags":["x","y\\/z"],"on":%s,"none":null}',
      i, i, i * 3, i % 100, i % 1000, (i % 2 == 0) and "true" or "false")
  end
  local s = "[" .. table.concat(parts, ",") .. "]"
  T:ok("100 KB document is big", #s > 100000, "only " .. #s .. " bytes")
  local ok, v = T:try("100 KB round trip", function() return json.decode(s) end)
  if ok then T:eq("100 KB round trip", json.encode(v), s) end

  local deep = string.rep("[", 500) .. string.rep("]", 500)
  ok, v = T:try("depth 500 arrays", function() return json.decode(deep) end)
  if ok then T:eq("depth 500 arrays", json.encode(v), deep) end
  local deepo = string.rep('{"a":', 499) .. "{}" .. string.rep("}", 499)
  ok, v = T:try("depth 500 objects", function() return json.decode(deepo) end)
  if ok then T:eq("depth 500 objects", json.encode(v), deepo) end
end

---------------------------------------------------------------------------
-- 2. Decoded values.
---------------------------------------------------------------------------
do
  local v = json.decode([=[{"a":1.5,"b":"x","c":[1,2],"d":null,"e":true,"f":false,"g":-0}]=])
  T:eq("value number", v.a, 1.5)
  T:eq("value string", v.b, "x")
  T:eq("value array length", #v.c, 2)
  T:eq("value array element", v.c[2], 2)
  T:eq("value null is json.null", v.d, json.null)
  T:eq("value true", v.e, true)
  T:eq("value false", v.f, false)
  T:eq("value -0 is zero", v.g == 0, true)
  T:eq("only real keys visible", count_keys(v), 7)
  T:eq("array has only indices", count_keys(v.c), 2)
  T:eq("no metatable on decoded object", getmetatable(v), nil)
  T:eq("no metatable on decoded array", getmetatable(v.c), nil)
  T:eq("decode null", json.decode("null"), json.null)
  T:eq("null in array", json.decode("[null]")[1], json.null)
  T:eq("\\u00e9 decodes to UTF-8", json.decode([=["\u00e9"]=]), "\195\169")
  T:eq("\\u4e2d decodes to UTF-8", json.decode([=["\u4e2d"]=]), "\228\184\173")
  T:eq("surrogate pair decodes to 4 bytes", json.decode([=["\ud83d\ude00"]=]), "\240\159\152\128")
  T:eq("lone surrogate decodes to 3 bytes", json.decode([=["\ud800x"]=]), "\237\160\128x")
  T:eq("\\u0000 decodes to NUL", json.decode([=["a\u0000b"]=]), "a\0b")
  T:eq("simple escapes", json.decode([=["\"\\\/\b\f\n\r\t"]=]), "\"\\/\b\f\n\r\t")
  T:eq("big integer text", tostring(json.decode("12345678901234567890")), "12345678901234567890")
  T:eq("1e5 value", json.decode("1e5"), 100000)
  T:eq("1E+2 value", json.decode("1E+2"), 100)
  T:eq("non-ASCII bytes pass through", json.decode("\"\255\254\""), "\255\254")
end

-- Whitespace around and inside is accepted; output is compact.
do
  local v = json.decode(' \n\t{ "a" : [ 1 , 2.50 ] ,\r\n "b" : { } , "c" : [ ] } \n')
  T:eq("whitespace accepted, compact output", json.encode(v), '{"a":[1,2.50],"b":{},"c":[]}')
end

-- Duplicate keys: every occurrence kept in place; the table holds the last.
do
  local v = json.decode('{"a":1,"b":2,"a":3}')
  T:eq("duplicate value", v.a, 3)
  T:eq("duplicate encode", json.encode(v), '{"a":1,"b":2,"a":3}')
  T:eq("duplicate listed once by keys", table.concat(json.keys(v), ","), "b,a")
  v.a = 4
  T:eq("duplicate: set changes the last occurrence", json.encode(v), '{"a":1,"b":2,"a":4}')
  v.a = nil
  T:eq("duplicate: delete removes every occurrence", json.encode(v), '{"b":2}')
  v = json.decode('{"a":1.50,"b":2,"a":"x"}')
  T:eq("duplicate raw kept", json.encode(v), '{"a":1.50,"b":2,"a":"x"}')
  v = json.decode('{"\\u0061":{"x":[1.0,"\\u00e9"]},"a":2,"a":3e0,"c":[{"k":1,"k":1}]}')
  T:eq("duplicate with escapes and nesting", json.encode(v),
       '{"\\u0061":{"x":[1.0,"\\u00e9"]},"a":2,"a":3e0,"c":[{"k":1,"k":1}]}')
  v.a = "z"
  v.c[1].k = nil
  T:eq("duplicate edits", json.encode(v), '{"\\u0061":{"x":[1.0,"\\u00e9"]},"a":2,"a":"z","c":[{}]}')
end

---------------------------------------------------------------------------
-- 3. Modifications.
---------------------------------------------------------------------------
local function edit(case, s, fn, want)
  local ok, v = T:try(case, function() return json.decode(s) end)
  if not ok then return end
  local ok2, out = T:try(case, function()
    local r = fn(v)
    if r ~= nil then v = r end
    return json.encode(v)
  end)
  if ok2 then T:eq(case, out, want) end
end

local base = [=[{"b":1,"a":"x","c":1.50,"e":"\u00e9","n":9007199254740993}]=]
edit("change a string", base, function(d) d.a = "y" end,
     [=[{"b":1,"a":"y","c":1.50,"e":"\u00e9","n":9007199254740993}]=])
edit("change a number", base, function(d) d.c = 2 end,
     [=[{"b":1,"a":"x","c":2,"e":"\u00e9","n":9007199254740993}]=])
edit("number set to equal value keeps text", base, function(d) d.c = 1.5 end, base)
edit("number to fraction", base, function(d) d.c = d.c + 0.75 end,
     [=[{"b":1,"a":"x","c":2.25,"e":"\u00e9","n":9007199254740993}]=])
edit("number arithmetic canonical", base, function(d) d.b = d.b * 10 / 2 end,
     [=[{"b":5,"a":"x","c":1.50,"e":"\u00e9","n":9007199254740993}]=])
edit("number to string of same text", base, function(d) d.c = "1.50" end,
     [=[{"b":1,"a":"x","c":"1.50","e":"\u00e9","n":9007199254740993}]=])
edit("escaped string unchanged keeps escapes", base, function(d) d.e = "\195\169" end, base)
edit("escaped string changed", base, function(d) d.e = d.e .. "!" end,
     "{\"b\":1,\"a\":\"x\",\"c\":1.50,\"e\":\"\195\169!\",\"n\":9007199254740993}")
edit("big int kept when other field changes", base, function(d) d.a = 1 end,
     [=[{"b":1,"a":1,"c":1.50,"e":"\u00e9","n":9007199254740993}]=])
edit("add keys: after, sorted", base, function(d) d.zeta = 1; d.alpha = true; d.Beta = json.null end,
     [=[{"b":1,"a":"x","c":1.50,"e":"\u00e9","n":9007199254740993,"Beta":null,"alpha":true,"zeta":1}]=])
edit("delete a key", base, function(d) d.a = nil end,
     [=[{"b":1,"c":1.50,"e":"\u00e9","n":9007199254740993}]=])
edit("delete first and last", base, function(d) d.b = nil; d.n = nil end,
     [=[{"a":"x","c":1.50,"e":"\u00e9"}]=])
edit("delete all", base, function(d) for k in pairs(d) do d[k] = nil end end, "{}")
edit("delete and re-add keeps position", base, function(d) d.a = nil; d.a = "z" end,
     [=[{"b":1,"a":"z","c":1.50,"e":"\u00e9","n":9007199254740993}]=])
edit("delete, add, change together", base,
     function(d) d.b = nil; d.theme = "dark"; d.c = 3; d.old = nil end,
     [=[{"a":"x","c":3,"e":"\u00e9","n":9007199254740993,"theme":"dark"}]=])
edit("set to null", base, function(d) d.a = json.null end,
     [=[{"b":1,"a":null,"c":1.50,"e":"\u00e9","n":9007199254740993}]=])
edit("set to boolean", base, function(d) d.c = false end,
     [=[{"b":1,"a":"x","c":false,"e":"\u00e9","n":9007199254740993}]=])
edit("string needing escapes", '{"s":"a"}', function(d) d.s = 'say "hi"\n\\ /path\t\1\31' end,
     [=[{"s":"say \"hi\"\n\\ /path\t\u0001\u001f"}]=])
edit("string with control chars b f r", '{"s":"a"}', function(d) d.s = "\b\f\r\0\127" end,
     "{\"s\":\"\\b\\f\\r\\u0000\127\"}")
edit("escaped key kept when value changes", [=[{"\u00e9":1,"a":2}]=], function(d) d["\195\169"] = 5 end,
     [=[{"\u00e9":5,"a":2}]=])
edit("added key with escapes", "{}", function(d) d['k"\n'] = 1 end, [=[{"k\"\n":1}]=])
edit("nested change", [=[{"y":{"x":[1.0,2],"w":{"v":1e3}},"z":0}]=],
     function(d) d.y.w.v = 1001; d.y.x[2] = 20 end,
     [=[{"y":{"x":[1.0,20],"w":{"v":1001}},"z":0}]=])
edit("nested add", [=[{"y":{"b":1},"z":0}]=], function(d) d.y.a = 2 end,
     [=[{"y":{"b":1,"a":2},"z":0}]=])
edit("replace object by fresh table", [=[{"y":{"b":1},"z":0}]=], function(d) d.y = { c = 1, a = 2 } end,
     [=[{"y":{"a":2,"c":1},"z":0}]=])
edit("replace by fresh array", [=[{"y":{"b":1}}]=], function(d) d.y = { 3, 2, 1 } end, [=[{"y":[3,2,1]}]=])
edit("replace by empty table", [=[{"y":[1]}]=], function(d) d.y = {} end, [=[{"y":{}}]=])
edit("replace by json.array()", [=[{"y":{"b":1}}]=], function(d) d.y = json.array() end, [=[{"y":[]}]=])
edit("decoded [] stays [] when emptied", "[1,2]", function(d) d[1] = nil; d[2] = nil end, "[]")
edit("decoded [] filled", [=[{"l":[]}]=], function(d) d.l[1] = "a" end, [=[{"l":["a"]}]=])
edit("decoded {} filled", [=[{"o":{}}]=], function(d) d.o.k = "a" end, [=[{"o":{"k":"a"}}]=])
edit("array insert at front", [=[[1.0,2.50,"\u0041"]]=], function(a) table.insert(a, 1, 0) end,
     [=[[0,1,2.5,"A"]]=])
edit("array insert then remove restores text", [=[[1.0,2.50,"\u0041"]]=],
     function(a) table.insert(a, 1, 0); table.remove(a, 1) end, [=[[1.0,2.50,"\u0041"]]=])
edit("array append", [=[[1.0,2.50]]=], function(a) a[#a + 1] = 3 end, [=[[1.0,2.50,3]]=])
edit("array remove last", [=[[1.0,2.50,3e0]]=], function(a) table.remove(a) end, [=[[1.0,2.50]]=])
edit("array remove first", [=[[1.0,2.50,3e0]]=], function(a) table.remove(a, 1) end, "[2.5,3]")
edit("array remove middle, equal values keep text", [=[[1.0,1.0,1.00]]=], function(a) table.remove(a, 2) end,
     "[1.0,1.0]")
edit("array element to null", "[1,2]", function(a) a[2] = json.null end, "[1,null]")
edit("array of objects, change one", [=[[{"id":1,"v":"a"},{"id":2,"v":"b"}]]=], function(a) a[2].v = "B" end,
     [=[[{"id":1,"v":"a"},{"id":2,"v":"B"}]]=])
edit("top-level scalar replaced", "1.50", function() return 2 end, "2")
edit("top-level string replaced", [=["\u00e9"]=], function() return "x" end, [=["x"]=])

-- pairs sees only real keys after modification; keys() order.
do
  local d = json.decode('{"b":1,"a":2,"c":3}')
  d.theme = "dark"
  d.a = nil
  d.Z = 0
  T:eq("pairs after edit", count_keys(d), 4)
  T:eq("keys order", table.concat(json.keys(d), ","), "b,c,Z,theme")
  T:eq("keys fresh table", table.concat(json.keys({ b = 1, a = 2, ["\195\169"] = 1, B = 3 }), ","),
       "B,a,b,\195\169")
  T:eq("keys decoded array", table.concat(json.keys(json.decode("[5,6,7]")), ","), "1,2,3")
  T:eq("keys fresh array", table.concat(json.keys({ "x", "y" }), ","), "1,2")
  T:eq("keys empty", #json.keys({}), 0)
  T:err("keys of a string", function() return json.keys("x") end, "json.keys: expected a table, got string")
  T:err("keys of an exact number", function() return json.keys(json.decode("9007199254740993")) end,
        "json.keys: expected a table, got number")
  T:eq("is_array of an exact number", json.is_array(json.decode("9007199254740993")), false)
end

-- is_array / array / object marks.
do
  T:eq("is_array decoded []", json.is_array(json.decode("[]")), true)
  T:eq("is_array decoded {}", json.is_array(json.decode("{}")), false)
  T:eq("is_array fresh {1,2}", json.is_array({ 1, 2 }), true)
  T:eq("is_array fresh {}", json.is_array({}), false)
  T:eq("is_array string", json.is_array("x"), false)
  local t = {}
  T:eq("array returns its table", json.array(t), t)
  T:eq("object returns its table", json.object(t), t)
  T:eq("array(t) encodes []", json.encode(json.array({})), "[]")
  T:eq("object(t) encodes {}", json.encode(json.object({})), "{}")
  T:eq("object(decoded []) encodes {}", json.encode(json.object(json.decode("[]"))), "{}")
  T:eq("array(decoded {}) encodes []", json.encode(json.array(json.decode("{}"))), "[]")
  T:eq("array() makes a new table", json.encode(json.array()), "[]")
  T:eq("marked array with elements", json.encode(json.array({ 1, "a" })), '[1,"a"]')
  T:err("array(json.null)", function() return json.array(json.null) end, "json.array: expected a table, got json.null")
  T:err("object(5)", function() return json.object(5) end, "json.object: expected a table, got number")
  T:err("json.null is read-only", function() json.null.x = 1 end, "read-only")
  T:eq("tostring(json.null)", tostring(json.null), "json.null")
end

---------------------------------------------------------------------------
-- 4. Encoding tables not produced by decode.
---------------------------------------------------------------------------
local fresh = {
  { "empty table", {}, "{}" },
  { "sequence", { 1, 2, 3 }, "[1,2,3]" },
  { "object sorted", { b = 1, a = 2 }, '{"a":2,"b":1}' },
  { "object bytewise", { ["\195\169"] = 1, z = 2, Z = 3, a = 4, ab = 5, [""] = 6 },
    '{"":6,"Z":3,"a":4,"ab":5,"z":2,"\195\169":1}' },
  { "nested", { list = { { id = 1 }, { id = 2, tags = { "x" } } }, ok = true },
    '{"list":[{"id":1},{"id":2,"tags":["x"]}],"ok":true}' },
  { "numbers canonical", { 5.0, -0.0, 0.1, 1 / 3, 1e300, 2 ^ 53, 1e20, -1.5, 123456789.125 },
    "[5,0,0.1,0.3333333333333333,1e+300,9007199254740992,1e+20,-1.5,123456789.125]" },
  { "null and booleans", { json.null, true, false }, "[null,true,false]" },
  { "strings", { "é/", "\127", "a\"b", "tab\t" }, '["\195\169/","\127","a\\"b","tab\\t"]' },
  { "numeric string keys", { ["1"] = "a", ["2"] = "b" }, '{"1":"a","2":"b"}' },
}
for _, c in ipairs(fresh) do
  local ok, out = T:try("encode " .. c[1], function() return json.encode(c[2]) end)
  if ok then T:eq("encode " .. c[1], out, c[3]) end
end
T:eq("encode scalar number", json.encode(5.0), "5")
T:eq("encode scalar 0.1", json.encode(0.1), "0.1")
T:eq("encode scalar string", json.encode("a/b"), '"a/b"')
T:eq("encode json.null", json.encode(json.null), "null")
T:eq("encode true", json.encode(true), "true")
do
  json.decode("1.50")
  T:eq("top-level scalar text reused", json.encode(1.5), "1.50")
  json.decode("{}")
  T:eq("top-level scalar text cleared by next decode", json.encode(1.5), "1.5")
end

-- Encode errors.
T:err("encode nan", function() return json.encode({ a = 0 / 0 }) end, "json: cannot encode nan or inf")
T:err("encode inf", function() return json.encode({ 1 / 0 }) end, "json: cannot encode nan or inf")
T:err("encode -inf", function() return json.encode(-1 / 0) end, "json: cannot encode nan or inf")
T:err("encode function", function() return json.encode({ f = print }) end, "json: cannot encode a function")
T:err("encode nil", function() return json.encode(nil) end, "json: cannot encode nil")
T:err("encode number key in object", function() return json.encode({ [1] = 1, [3] = 3 }) end,
      "json: object key must be a string, got number")
T:err("encode mixed table", function() return json.encode({ 1, 2, x = 1 }) end,
      "json: object key must be a string, got number")
T:err("encode boolean key", function() return json.encode({ [true] = 1 }) end,
      "json: object key must be a string, got boolean")
T:err("encode number key added to decoded object", function()
  local d = json.decode('{"a":1}'); d[1] = 2; return json.encode(d)
end, "json: object key must be a string, got number")
T:err("encode hole in decoded array", function()
  local a = json.decode("[1,2]"); a[5] = 1; return json.encode(a)
end, "json: array has a hole or a non-index key")
T:err("encode string key in decoded array", function()
  local a = json.decode("[1,2]"); a.x = 1; return json.encode(a)
end, "json: array has a hole or a non-index key")
T:err("encode cycle", function()
  local t = {}; t.self = t; return json.encode(t)
end, "json: nesting deeper than 500")
do
  local t = {}
  local cur = t
  for _ = 1, 500 do cur[1] = {}; cur = cur[1] end
  T:err("encode depth 501", function() return json.encode(t) end, "json: nesting deeper than 500")
  T:eq("encode depth 500", #json.encode(t[1]), 1000)
end

---------------------------------------------------------------------------
-- 5. Decode errors, with positions.
---------------------------------------------------------------------------
local bad = {
  { "", "json: unexpected end of input at byte 1" },
  { "   ", "json: unexpected end of input at byte 4" },
  { "{", "json: unexpected end of input at byte 2" },
  { "[", "json: unexpected end of input at byte 2" },
  { "[1,2", "json: unexpected end of input at byte 5" },
  { '{"a":1', "json: unexpected end of input at byte 7" },
  { '{"a"', "json: unexpected end of input at byte 5" },
  { '{"a":', "json: unexpected end of input at byte 6" },
  { '{"a":1,}', "json: expected a string key at byte 8" },
  { "{1:2}", "json: expected a string key at byte 2" },
  { "{'a':1}", "json: expected a string key at byte 2" },
  { "[1,]", "json: unexpected character ']' at byte 4" },
  { "[,1]", "json: unexpected character ',' at byte 2" },
  { "[1 2]", "json: expected ',' or ']' at byte 4" },
  { '{"a":1 "b":2}', "json: expected ',' or '}' at byte 8" },
  { '{"a" 1}', "json: expected ':' at byte 6" },
  { '{"a":1}x', "json: trailing characters after the document at byte 8" },
  { "[] []", "json: trailing characters after the document at byte 4" },
  { "01", "json: leading zero in number at byte 1" },
  { "-01", "json: leading zero in number at byte 2" },
  { "-", "json: invalid number at byte 1" },
  { "-a", "json: invalid number at byte 1" },
  { "1.", "json: expected a digit after '.' at byte 3" },
  { "1.e5", "json: expected a digit after '.' at byte 3" },
  { "1e", "json: expected a digit in exponent at byte 3" },
  { "1e+", "json: expected a digit in exponent at byte 3" },
  { ".5", "json: unexpected character '.' at byte 1" },
  { "+1", "json: unexpected character '+' at byte 1" },
  { "0x10", "json: trailing characters after the document at byte 2" },
  { "NaN", "json: unexpected character 'N' at byte 1" },
  { "Infinity", "json: unexpected character 'I' at byte 1" },
  { "-Infinity", "json: invalid number at byte 1" },
  { "tru", "json: unexpected character 't' at byte 1" },
  { "nul", "json: unexpected character 'n' at byte 1" },
  { "True", "json: unexpected character 'T' at byte 1" },
  { '"abc', "json: unterminated string at byte 1" },
  { '["abc', "json: unterminated string at byte 2" },
  { '"abc\\', "json: unterminated string at byte 1" },
  { '"a\\qb"', "json: invalid escape at byte 3" },
  { '"a\\x41"', "json: invalid escape at byte 3" },
  { '"\\u12G4"', "json: invalid \\u escape at byte 2" },
  { '"\\u12"', "json: invalid \\u escape at byte 2" },
  { '"a\tb"', "json: control character in string at byte 3" },
  { '"a\nb"', "json: control character in string at byte 3" },
  { '"a\0b"', "json: control character in string at byte 3" },
  { '{"a\1":1}', "json: control character in string at byte 4" },
  { '{"a\0":1}', "json: control character in string at byte 4" },
  { '{"a"1}', "json: expected ':' at byte 5" },
  { "\255", "json: unexpected byte 0xff at byte 1" },
  { "[1,2]]", "json: trailing characters after the document at byte 6" },
  { '{"a":[1,{"b":}]}', "json: unexpected character '}' at byte 14" },
}
for i, c in ipairs(bad) do
  T:err("decode error #" .. i .. " " .. c[1], function() return json.decode(c[1]) end, c[2])
end
T:err("decode nil", function() return json.decode(nil) end, "json: expected a string to decode, got nil")
T:err("decode table", function() return json.decode({}) end, "json: expected a string to decode, got table")
T:err("depth 501 arrays", function()
  return json.decode(string.rep("[", 501) .. string.rep("]", 501))
end, "json: nesting deeper than 500 at byte 501")
T:err("depth 501 objects", function()
  return json.decode(string.rep('{"a":', 501) .. "1" .. string.rep("}", 501))
end, "json: nesting deeper than 500 at byte 2501")
T:err("depth bomb 100000", function() return json.decode(string.rep("[", 100000)) end,
      "json: nesting deeper than 500")
T:err("depth bomb mixed", function() return json.decode(string.rep('[{"a":', 50000)) end,
      "json: nesting deeper than 500")
-- A failed decode leaves the module usable.
T:eq("usable after error", json.encode(json.decode('{"b":[1.50]}')), '{"b":[1.50]}')

-- What encode writes depends on the value alone, not on what was decoded or
-- encoded before (encode caches texts for speed, and empties its caches
-- when full).
do
  local seen = {}
  for i = 1, 5000 do seen[i] = json.decode('{"s":"v' .. i .. '","n":' .. i .. '.25}') end
  for i = 1, 5000, 499 do
    T:eq("after many decodes #" .. i, json.encode(seen[i]), '{"s":"v' .. i .. '","n":' .. i .. '.25}')
  end
  local escaped = json.decode('["q\\"x","t\\tab"]')
  T:eq("escaped strings read back", escaped[1] .. escaped[2], 'q"xt\tab')
  T:eq("escaped strings written again", json.encode({ b = escaped[1], c = escaped[2] }), '{"b":"q\\"x","c":"t\\tab"}')
  local long = string.rep("abc ", 300)
  T:eq("long plain string round trip", json.encode(json.decode('["' .. long .. '"]')), '["' .. long .. '"]')
  T:eq("long string with a quote", json.encode({ long .. '"' }), '["' .. long .. '\\""]')
  for i = 1, 5000 do json.encode({ i + 0.5, "w" .. i }) end
  T:eq("numbers after many encodes", json.encode({ 0.1, 5, -0.0, 2 ^ 53, 1 / 3, 1e300 }),
       "[0.1,5,0,9007199254740992,0.3333333333333333,1e+300]")
  T:err("nan after many encodes", function() return json.encode({ 0 / 0 }) end, "json: cannot encode nan or inf")
  T:err("inf after many encodes", function() return json.encode({ math.huge }) end, "json: cannot encode nan or inf")
end

T:finish()
