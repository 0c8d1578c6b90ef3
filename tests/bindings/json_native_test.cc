// Differential test of the native JSON decoder (bindings/json_native.cc)
// against json.lua's own parser: two sandboxes, one with the native decoder
// and one without, run the same probe on every document of a corpus (every
// string literal of the stdlib json spec, hand-written edge cases, thousands
// of generated documents and broken variants of them) and must report the
// same bytes: decoded structure and number kinds, key order, encode output,
// encode after edits, error messages.
#include <catch.hpp>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bindings/sandbox.h"
#include "lauxlib.h"
#include "lua.h"
#include "tests/bindings/json_corpus.h"

namespace {

using keyshift::NativeJson;
using keyshift::Sandbox;

// probe(doc) -> one line per fact about decoding doc, editing and encoding it.
// Runs with the stdlib's (unwrapped) globals.
const char* const kProbe = R"LUA(
local null = json.null
local function is_box(v) return type(v) == "table" and getmetatable(v) == "exact number" end

local function dump(v, out)
  if rawequal(v, null) then out[#out + 1] = "null"; return end
  local t = type(v)
  if is_box(v) then out[#out + 1] = "exact " .. json.encode(v)
  elseif t == "number" then out[#out + 1] = math.type(v) .. " " .. string.format("%.17g", v)
  elseif t == "string" then out[#out + 1] = string.format("%q", v)
  elseif t == "table" then
    local keys, n = json.keys(v), 0
    for _ in next, v do n = n + 1 end
    out[#out + 1] = (json.is_array(v) and "array " or "object ") .. #keys .. "/" .. n .. " #" .. #v
    for _, k in ipairs(keys) do
      out[#out + 1] = "key " .. string.format("%q", k)
      dump(rawget(v, k), out)
    end
  else out[#out + 1] = t .. " " .. tostring(v) end
end

-- Containers of v, depth first, at most `max`.
local function containers(v, list, max)
  if type(v) ~= "table" or rawequal(v, null) or is_box(v) or #list >= max then return list end
  list[#list + 1] = v
  for _, k in ipairs(json.keys(v)) do containers(rawget(v, k), list, max) end
  return list
end

local function edits(t)
  local keys = json.keys(t)
  if json.is_array(t) then
    return {
      function() table.insert(t, 1, "new") end,
      function() t[#t + 1] = 0.1 end,
      function() table.remove(t, 1) end,
      function() t[1] = t[1] end,
      function() if #t > 1 then t[1], t[#t] = t[#t], t[1] end end,
    }
  end
  local first, last = keys[1], keys[#keys]
  return {
    function() if first then t[first] = "x" end end,
    function() t.zz_added = 1.5; t[""] = json.null end,
    function() if first then t[first] = nil end end,
    function() if last then local v = t[last]; t[last] = nil; t.a_new = 2; t[last] = v end end,
    function() for _, k in ipairs(keys) do t[k] = t[k] end end,
  }
end

local function try(out, label, f, ...)
  local ok, r = pcall(f, ...)
  out[#out + 1] = label .. (ok and " " or " error ") .. tostring(r)
end

local function decode_probe(doc)
  local out = {}
  json.decode("1.50")
  local ok, v = pcall(json.decode, doc)
  if not ok then return "error " .. tostring(v) end
  try(out, "scalar", json.encode, 1.5)  -- decode forgot the text of 1.50
  dump(v, out)
  try(out, "encode", json.encode, v)
  local n = #containers(v, {}, 8)
  for c = 1, n do
    for e = 1, 5 do
      local fresh = json.decode(doc)
      local target = containers(fresh, {}, 8)[c]
      try(out, "edit " .. c .. "." .. e, function()
        edits(target)[e]()
        return json.encode(fresh)
      end)
    end
  end
  return table.concat(out, "\n")
end

-- src: Lua code building a value; json.encode's text or error.
local function encode_probe(src)
  local ok, v = pcall(load(src))
  if not ok then return "build error " .. tostring(v) end
  local out = {}
  try(out, "encode", json.encode, v)
  try(out, "again", json.encode, v)
  return table.concat(out, "\n")
end

return function(kind, arg)
  if kind == "decode" then return decode_probe(arg) end
  return encode_probe(arg)
end
)LUA";

class Probe {
 public:
  explicit Probe(NativeJson native) {
    auto sb = Sandbox::Create(keyshift::SandboxLimits{}, native);
    REQUIRE(sb.ok());
    sb_ = std::move(sb.value());
    lua_State* L = sb_->L();
    REQUIRE(sb_->LoadChunk(kProbe, "@stdlib/json_probe.lua"));
    REQUIRE(sb_->ProtectedCall(0, 1));
    ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  }

  std::string Run(const char* kind, const std::string& arg) {
    lua_State* L = sb_->L();
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref_);
    lua_pushstring(L, kind);
    lua_pushlstring(L, arg.data(), arg.size());
    auto st = sb_->ProtectedCall(2, 1);
    if (!st) return "probe failed: " + st.error().message;
    size_t len;
    const char* s = lua_tolstring(L, -1, &len);
    std::string out(s, len);
    lua_pop(L, 1);
    return out;
  }

  size_t native_decodes() const { return sb_->native_json_decodes(); }

 private:
  std::unique_ptr<Sandbox> sb_;
  int ref_ = LUA_NOREF;
};

// Runs every document through both parsers; returns how many the native
// decoder handled (json.lua's parser did all of them in the other sandbox).
// kind "encode": each document is Lua code building a value to encode.
size_t ExpectSameResults(const std::vector<std::string>& docs, const char* kind = "decode") {
  Probe native(NativeJson::kOn), pure(NativeJson::kOff);
  size_t before = native.native_decodes();
  for (const auto& doc : docs) {
    std::string want = pure.Run(kind, doc);
    std::string got = native.Run(kind, doc);
    INFO(kind << ": " << doc.substr(0, 400));
    REQUIRE(got == want);
  }
  REQUIRE(pure.native_decodes() == 0);
  return native.native_decodes() - before;
}

}  // namespace

TEST_CASE("native json decode: every string of the stdlib json spec decodes, edits and encodes as json.lua does",
          "[unit][json]") {
  std::ifstream in(std::string(KEYSHIFT_SOURCE_DIR) + "/tests/stdlib/json_spec.lua");
  std::stringstream text;
  text << in.rdbuf();
  auto docs = json_corpus::LuaStringLiterals(text.str());
  REQUIRE(docs.size() > 200);
  CHECK(ExpectSameResults(docs) > 50);
}

TEST_CASE("native json decode: hand-written edge cases match json.lua", "[unit][json]") {
  auto docs = json_corpus::EdgeCases();
  CHECK(ExpectSameResults(docs) > docs.size() / 4);
}

TEST_CASE("native json decode: generated documents and broken variants match json.lua", "[unit][json]") {
  auto docs = json_corpus::Generated(20261129, 2000);
  CHECK(ExpectSameResults(docs) > 700);
}

TEST_CASE("native json encode: values built in Lua encode (or fail) as json.lua encodes them", "[unit][json]") {
  ExpectSameResults(json_corpus::EncodeCases(), "encode");
}

TEST_CASE("native json: migrations see the same json module and cannot reach the host primitives", "[unit][json]") {
  const std::string chunk = R"LUA(
    local names = {}
    for k in pairs(json) do names[#names + 1] = k end
    table.sort(names)
    local ok = pcall(function() return host end)
    return table.concat(names, ",") .. " host reachable: " .. tostring(ok)
  )LUA";
  std::string seen[2];
  NativeJson modes[2] = {NativeJson::kOn, NativeJson::kOff};
  for (int i = 0; i < 2; ++i) {
    auto sb = Sandbox::Create(keyshift::SandboxLimits{}, modes[i]);
    REQUIRE(sb.ok());
    lua_State* L = (*sb)->L();
    REQUIRE((*sb)->LoadChunk(chunk, "@migrations/0001_x.lua"));
    REQUIRE((*sb)->ProtectedCall(0, 1));
    seen[i] = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  CHECK(seen[0] == seen[1]);
  CHECK(seen[0].find("host reachable: false") != std::string::npos);
  CHECK(seen[0].find("json_") == std::string::npos);
}
