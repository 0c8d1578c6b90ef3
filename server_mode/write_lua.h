// Lua 5.1 text shared by the engine's host-mode scripts (writer.h, journal.h,
// rollback) and server mode's per-migration script: the journal entry
// encoding and the journaled write. Here, below the engine, so server mode
// can assemble its script without depending on the engine.
#pragma once

namespace keyshift {

// Lua 5.1 source of `journal_entry(action, expire_at, post_digest, other, dump)`
// for server-side scripts: builds the same bytes as EncodeJournalEntry.
extern const char* const kJournalEntryLua;

// Lua 5.1 source shared with server mode (needs kScriptSafetyLua and
// journal_entry first): `write_value(dest, type, args, first, expire_at[, last,
// post])` stores args[first..last] (last: #args) as dest's value (zset args:
// score before member), restores the absolute expiry and returns the new
// content digest: `post` when given (the host computed it from the very
// elements written, see writer.h), else read back and computed here; ""
// when an expiry already past (a copy's) removed the key at once;
// `record_change(...)` deletes, rewrites or moves the key and journals it, in
// the caller's script, or returns an error reply with the key untouched.
extern const char* const kWriteValueLua;

}  // namespace keyshift
