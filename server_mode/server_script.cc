// Generating the server-mode script from the stdlib and the migration file.
#include "server_mode/server_script.h"

#include <algorithm>
#include <regex>

#include <fmt/format.h>

#include "bindings/boundary.h"
#include "bindings/stdlib_sources.h"
#include "core/slot.h"
#include "redis/script_safety.h"
#include "server_mode/string_methods.h"
#include "server_mode/write_lua.h"

namespace keyshift {

namespace {

// Runs after the modules and the migration are defined. `mig`, `modules`
// and `journal_entry` are locals of the enclosing script.
const char* const kServerMain = R"LUA(
local runner, canon = modules.runner, modules.canon
-- ARGV[1]: '1' dry-run, '0' write; then 'c' on Redis Cluster, else '-';
-- then 'u' when the user is unrestricted (no permission checks: script_safety.h).
local dry = string.sub(ARGV[1], 1, 1) == '1'
local cluster = string.sub(ARGV[1], 2, 2) == 'c'
acl_unrestricted = string.sub(ARGV[1], 3, 3) == 'u'
-- KEYS: data key, journal hash, for each key of the call; an odd last one:
-- the runner's lock, with ARGV[2..3] its value and lease. Another runner's
-- lock stops the call; a lease that lapsed while Redis was blocked is retaken
-- with the first write (not before: a killable script must not have written).
-- (Redis freezes time for the script: the lock read here stays current.)
local nkeys = #KEYS - #KEYS % 2
local lock_key, lock_value = KEYS[nkeys + 1], ARGV[2]
local holder = lock_key and redis.call('GET', lock_key)
if holder and holder ~= lock_value then return {'lost'} end
local function read_value(key, t)
  if t == 'string' then return redis.call('GET', key) end
  if t == 'list' then return redis.call('LRANGE', key, 0, -1) end
  if t == 'set' then return canon.sort(redis.call('SMEMBERS', key)) end
  local flat, v
  if t == 'hash' then flat = redis.call('HGETALL', key) else flat = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES') end
  v = {}
  for i = 1, #flat, 2 do
    if t == 'zset' then v[flat[i]] = tonumber(flat[i + 1]) else v[flat[i]] = flat[i + 1] end
  end
  return v, flat
end
local function same(a, b)
  if a == nil or #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end
-- A hash's HGETALL reply (which the transform cannot edit) as a map.
local function pairs_map(raw)
  local m = {}
  for i = 1, #raw, 2 do m[raw[i]] = raw[i + 1] end
  return m
end
-- Whether the runner's flat hash `a` holds exactly the pairs of the HGETALL
-- reply `raw`: same() without normalising (sorting) the hash as it was.
local function same_pairs(a, raw)
  if a == nil or #a ~= #raw then return false end
  local m = pairs_map(raw)
  for i = 1, #a, 2 do if m[a[i]] ~= a[i + 1] then return false end end
  return true
end
local function size_of(flat)
  local n = 0
  if not flat then return 0 end
  for i = 1, #flat do n = n + #flat[i] end
  return n
end
-- One key, reads only: its reply, or nil and the change to write; then the
-- bytes it read (the call's budget).
local function compute(key, jkey)
  if redis.call('HEXISTS', jkey, key) == 1 then return {'done'}, nil, 0 end
  local t = redis.call('TYPE', key).ok
  if t == 'none' then return {'none'}, nil, 0 end
  if SCAN_TYPE ~= '' and t ~= SCAN_TYPE then return {'skip'}, nil, 0 end
  if t ~= 'string' and t ~= 'hash' and t ~= 'list' and t ~= 'set' and t ~= 'zset' then
    return {'unsupported', t}, nil, 0
  end
  local mig = load_migration()  -- afresh for every key, as when each key had its own call
  local value, raw = read_value(key, t)
  -- The value as it was, normalised (a copy: the transform may edit value in
  -- place); for a hash only where needed, from its reply.
  local before = t ~= 'hash' and runner.normalize(t, value)
  local function before_flat()
    if t == 'hash' and not before then before = runner.normalize(t, pairs_map(raw)) end
    return before
  end
  local size = size_of(t == 'hash' and raw or before)
  local ok, action, flat, new_key = pcall(runner.apply, mig.transform, key, t, value)
  if not ok then return {'error', tostring(action)}, nil, size end
  if action == 'error' then return {'error', flat}, nil, size end
  if action == 'keep' then return {'keep'}, nil, size end
  if action == 'rename' and flat == nil then flat = before_flat() end
  if action == 'rename' and new_key == key then action = 'write' end
  if action == 'rename' and string.sub(new_key, 1, #STATE_PREFIX) == STATE_PREFIX then
    return {'error', 'ks.rename target ' .. new_key .. " is inside keyshift's prefix '" .. STATE_PREFIX .. "'"}, nil, size
  end
  -- One script writes the new name and both journal entries: on a cluster
  -- that needs one slot (host mode refuses the same way, migrator.cc).
  if action == 'rename' and cluster then
    local from, to = redis.call('CLUSTER', 'KEYSLOT', key), redis.call('CLUSTER', 'KEYSLOT', new_key)
    if from ~= to then
      return {'error', 'ks.rename of ' .. key .. ' to ' .. new_key .. ' crosses hash slots (' .. from .. ' -> ' .. to ..
        '): server mode renames a key only within its slot on Redis Cluster, since the key, its new name and both ' ..
        'journal entries change in one atomic script. Give both names the same hash tag (e.g. user:{42}:profile -> ' ..
        'profile:{42}); the key was left as it was'}, nil, size
    end
  end
  if action == 'write' and (t == 'hash' and same_pairs(flat, raw) or t ~= 'hash' and same(flat, before)) then
    return {'keep'}, nil, size
  end
  local code = ({write = 'W', delete = 'D', rename = 'R'})[action]
  local expire_at = string.format('%d', redis.call('PEXPIRETIME', key))
  if dry then
    before_flat()
    local out = {'change', code, new_key or '', t, expire_at, tostring(#redis.call('DUMP', key)), tostring(#before)}
    for i = 1, #before do out[#out + 1] = before[i] end
    if flat then for i = 1, #flat do out[#out + 1] = flat[i] end end
    return out, nil, size
  end
  return nil, {key = key, jkey = jkey, code = code, t = t, flat = flat, new_key = new_key, expire_at = expire_at}, size
end
-- One computed change, written and journaled; its reply.
local function apply_change(c)
  local key, t, flat, expire_at = c.key, c.t, c.flat, c.expire_at
  if c.code == 'R' and redis.call('EXISTS', c.new_key) == 1 then return {'target_exists', c.new_key} end
  local dump = redis.call('DUMP', key)
  local function write(dest)
    local args = flat
    if t == 'zset' then  -- the runner gives member, score; ZADD wants score, member
      args = {}
      for i = 1, #flat, 2 do args[i], args[i + 1] = flat[i + 1], flat[i] end
    end
    -- Redis stores what runner.normalize gives (a hash's fields and a set's
    -- members unique) exactly as written, but for zset scores: no read-back.
    local post = t ~= 'zset' and content_digest(t, flat) or nil
    return write_value(dest, t, args, 1, expire_at, nil, post)
  end
  local refusal = record_change(key, c.jkey, c.code, t, c.new_key, c.code == 'R' and journal_of(c.new_key),
                                expire_at, dump, write)
  if refusal then return refusal end
  return {'ok', c.code, tostring(#dump)}
end
-- Every key's transform runs before the first write, so SCRIPT KILL can
-- still stop the call with nothing written. A key whose value an earlier key
-- of this call is about to write (a rename target, a repeated key), and every
-- key once BYTE_BUDGET bytes were read or are to be written, answer 'retry':
-- the client sends them
-- again in a later call, where they see those writes.
local replies, changes, touched, read = {}, {}, {}, 0
for i = 1, nkeys, 2 do
  local key, jkey, n = KEYS[i], KEYS[i + 1], (i + 1) / 2
  if touched[key] or read > BYTE_BUDGET then
    for j = n, nkeys / 2 do replies[j] = {'retry'} end
    break
  end
  local ok, reply, change, size = pcall(compute, key, jkey)
  if not ok then reply, change, size = {'error', error_text(reply)}, nil, 0 end
  if change and change.new_key and touched[change.new_key] then
    for j = n, nkeys / 2 do replies[j] = {'retry'} end
    break
  end
  replies[n], read = reply, read + size
  if change then  -- what it will write counts too: the writes cannot be killed
    read = read + size_of(change.flat)
    changes[#changes + 1], touched[key] = n, true
    if change.new_key then touched[change.new_key] = true end
    replies[n] = change
  end
end
-- Everything is computed: from here on the script writes.
if changes[1] and lock_key and not holder then
  redis.call('SET', lock_key, lock_value, 'PX', ARGV[3])
end
for _, n in ipairs(changes) do
  local ok, reply = pcall(apply_change, replies[n])
  replies[n] = ok and reply or {'error', error_text(reply)}
end
return replies
)LUA";

// string and xpcall for the migration. xpcall: the message handler runs after
// the failed call has unwound, as ordinary code: Redis runs a handler in place
// with hooks off, where a loop ignores SCRIPT KILL. A kill still propagates:
// once killed, Redis raises again on every line.
const char* const kSafeCallsLua = R"LUA(
-- Redis's string table is read-only and shared: the migration gets its own,
-- whose pattern functions run expensive calls in Lua (stdlib/pattern.lua),
-- where SCRIPT KILL reaches them.
local pattern = lazy('pattern')
local string = setmetatable({
  find = function(...) return pattern.find(...) end, match = function(...) return pattern.match(...) end,
  gmatch = function(...) return pattern.gmatch(...) end, gsub = function(...) return pattern.gsub(...) end,
}, { __index = string })
-- s:find(...) and friends, rewritten by GuardStringMethods (string_methods.h).
local function __keyshift_method(recv, name)
  if type(recv) == 'string' then return function(...) return pattern[name](recv, ...) end end
  if type(recv) ~= 'table' then error('attempt to index a ' .. type(recv) .. ' value', 2) end
  local f = recv[name]
  return function(...) return f(recv, ...) end
end
local xpcall = function(f, handler, ...)
  if type(handler) ~= 'function' then error("bad argument #2 to 'xpcall' (function expected)", 2) end
  local r = { n = 0 }
  local function keep(...) r.n = select('#', ...); for i = 1, r.n do r[i] = (select(i, ...)) end end
  keep(pcall(f, ...))
  if r[1] then return unpack(r, 1, r.n) end
  local ok, msg = pcall(handler, r[2])
  if not ok then return false, 'error in error handling' end
  return false, msg
end
-- An error's text, without calling anything on the error object: Redis
-- panics when an error object with metamethods escapes a killed script.
local function error_text(e)
  if type(e) == 'table' and type(rawget(e, 'err')) == 'string' then return rawget(e, 'err') end
  if type(e) == 'number' then return tostring(e) end
  if type(e) ~= 'string' then return '(error object is a ' .. type(e) .. ' value)' end
  return e
end
)LUA";

// Every error is caught here, never by Redis's own handler: Redis panics when
// an error object with metamethods escapes a killed script.
const char* const kServerTailLua = R"LUA(
end
local ok, res = pcall(keyshift_main)
if ok then return res end
return {'error', error_text(res)}
)LUA";

// journal_of(key): the journal hash StateKeys::journal names for `key`:
// JOURNAL_PREFIX .. '{' .. tag of the key's cluster slot .. '}'. SLOT_TAGS
// holds every slot's tag in 4-byte cells padded with '.'.
const char* const kJournalOfLua = R"LUA(
local function key_slot(k)
  local open = string.find(k, '{', 1, true)
  if open then
    local close = string.find(k, '}', open + 1, true)
    if close and close > open + 1 then k = string.sub(k, open + 1, close - 1) end
  end
  local crc = 0
  for i = 1, #k do
    crc = bit.bxor(crc, bit.lshift(string.byte(k, i), 8))
    for _ = 1, 8 do
      crc = bit.lshift(crc, 1)
      if bit.band(crc, 0x10000) ~= 0 then crc = bit.bxor(crc, 0x1021) end
      crc = bit.band(crc, 0xffff)
    end
  end
  return bit.band(crc, 16383)
end
local function journal_of(k)
  local slot = key_slot(k)
  local tag = string.gsub(string.sub(SLOT_TAGS, slot * 4 + 1, slot * 4 + 4), '%.', '')
  return JOURNAL_PREFIX .. '{' .. tag .. '}'
end
)LUA";

// A Lua string literal holding `text` exactly (decimal escapes: portable).
std::string LuaQuote(const std::string& text) {
  std::string out = "'";
  for (unsigned char c : text) {
    if (c == '\\' || c == '\'' || c < 0x20 || c >= 0x7f) out += fmt::format("\\{:03d}", static_cast<int>(c));
    else out += static_cast<char>(c);
  }
  return out + "'";
}

std::string SlotTagsLiteral() {
  std::string cells;
  cells.reserve(kSlotCount * 4);
  for (int slot = 0; slot < kSlotCount; ++slot) {
    std::string tag = SlotTag(slot);
    cells += tag + std::string(4 - tag.size(), '.');
  }
  return "'" + cells + "'";
}

const std::string* FindStdlib(const std::string& name) {
  for (const auto& s : StdlibSources())
    if (s.name == name) return &s.text;
  return nullptr;
}

// One line of locals shadowing kWrappedGlobals inside the migration's
// function (the host sandbox wraps the same globals: see sandbox.cc).
std::string WrappedGlobalsLua() {
  std::string names, values;
  for (const char* name : kWrappedGlobals) {
    names += std::string(names.empty() ? "" : ", ") + name;
    values += fmt::format("{}modules.globals.wrap('{}', {})", values.empty() ? "" : ", ", name, name);
  }
  return "local " + names + " = " + values + "\n";
}

int CountLines(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

}  // namespace

ServerScript BuildServerScript(const MigrationFile& file, const std::string& scan_type,
                               const std::string& journal_prefix, const std::string& state_prefix) {
  std::string s = fmt::format("-- keyshift server-mode script for {} (sha256 {})\n", file.filename, file.sha256);
  s += "local modules = { host = { log = function(text) redis.log(redis.LOG_NOTICE, 'keyshift: ' .. text) end } }\n";
  // Redis runs the whole script on every call: exact, json, time and pattern are only
  // built when first used (modules.<name> defines them; json and time reach
  // the migration as proxies), the rest always.
  s += "local lazy_modules = {}\n"
       "setmetatable(modules, { __index = function(t, name)\n"
       "  local define = lazy_modules[name]\n"
       "  if not define then return nil end\n"
       "  local m = define(t)\n"
       "  rawset(t, name, m)\n"
       "  return m\n"
       "end })\n"
       "local function lazy(name)\n"
       "  return setmetatable({}, { __index = function(_, k) return modules[name][k] end })\n"
       "end\n";
  for (const char* name : kStdlibLoadOrder) {
    std::string n = name;
    if (n == "exact" || n == "json" || n == "time" || n == "pattern")
      s += fmt::format("lazy_modules.{} = function(...)\n{}\nend\n", name, *FindStdlib(name));
    else
      s += fmt::format("modules.{} = (function(...)\n{}\nend)(modules)\n", name, *FindStdlib(name));
  }
  s += "local json, time, ks = lazy('json'), lazy('time'), modules.ks\n";
  s += fmt::format("local SCAN_TYPE = '{}'\n", scan_type);
  s += kScriptSafetyLua;
  s += kJournalEntryLua;
  s += kWriteValueLua;
  s += fmt::format("local JOURNAL_PREFIX = {}\n", LuaQuote(journal_prefix));
  s += fmt::format("local STATE_PREFIX = {}\n", LuaQuote(state_prefix));
  s += "local SLOT_TAGS = " + SlotTagsLiteral() + "\n";
  s += kJournalOfLua;
  s += kSafeCallsLua;
  s += fmt::format("local BYTE_BUDGET = {}\n", kServerCallByteBudget);
  s += "local function keyshift_main()\n";
  // The wrapped globals once per call, seen by the migration only: the
  // main part below works with Redis's own.
  s += "local load_migration\ndo\n";
  s += WrappedGlobalsLua();
  s += "load_migration = function()\n";
  ServerScript out;
  out.first_line = CountLines(s) + 1;
  s += GuardStringMethods(file.text);
  if (!file.text.empty() && file.text.back() != '\n') s += "\n";
  s += "end\nend\n";
  s += kServerMain;
  s += kServerTailLua;
  out.body = LuaScript(s);
  out.dry_body = LuaScript("#!lua flags=no-writes\n" + s);
  return out;
}

std::string ServerScript::MapError(const std::string& message, const std::string& path, bool dry) const {
  static const std::regex kPos(R"(user_script:(\d+):)");
  std::string out;
  std::smatch m;
  std::string rest = message;
  while (std::regex_search(rest, m, kPos)) {
    int line = std::stoi(m[1].str()) - (dry ? 1 : 0);
    int file_line = line - first_line + 1;
    out += m.prefix().str();
    out += file_line >= 1 ? fmt::format("{}:{}:", path, file_line) : "(keyshift stdlib):";
    rest = m.suffix().str();
  }
  return out + rest;
}

}  // namespace keyshift
