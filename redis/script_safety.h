// Lua 5.1 snippets every keyshift script that reads or writes data keys
// shares (the read, CAS write, undo and server-mode scripts).
//
// Content digest. The change detector (CAS precondition, the journal's
// POSTDIGEST, conflicts in `down`) must depend on a value's content only. The
// DUMP bytes of a hashtable-encoded hash or set change when the application
// merely reads it (incremental rehashing) or after a restart, so they would
// report false conflicts. `content_digest(type, flat)` is sha1 over a
// canonical form instead:
//   string, list, zset  "TYPE" then "|LEN:BYTES" per element, in Redis order
//                        (a zset's order is by score, then member bytes;
//                        scores as ZRANGE prints them)
//   hash, set           "TYPE|" then the sha1 hex of every member (hash: of
//                        "LEN:FIELD" .. VALUE) sorted bytewise, concatenated
// `flat` is the reply of READ_COMMAND[type] (GET wrapped in a table).
//
// Permissions. Redis does not roll back a script that fails part-way, so a
// script lists every command it may run after its first write and checks
// them with redis.acl_check_cmd (keys included) before writing anything:
// `refused(checks)` returns an error reply to return, or nil. A script whose
// caller found the user unrestricted (`+@all` on `~*`: ScriptCache::ProbeAcl)
// sets `acl_unrestricted = true` first: every check would pass, and at ~0.5
// us each (six or more per written key) they were a sixth of a write's cost.
#pragma once

namespace keyshift {

// Defines READ_COMMAND, read_flat(key, type), content_digest(type, flat),
// digest_of(key, type), content_is(key, type, cas, args, at, m) and refused(checks).
extern const char* const kScriptSafetyLua;

}  // namespace keyshift
