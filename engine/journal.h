// The undo journal (SPEC 3): the state of every key a migration changed, as
// it was before, so `down` can restore it exactly; and the marker that makes
// each key's transform happen exactly once (SPEC 5, guarantee 3).
//
// Layout. Migration V keeps one Redis hash per cluster slot it touched:
//   <prefix>j:<V>:{<tag>}   field: the data key   value: an entry (below)
// <tag> hashes to the data key's slot (slot.h), so a key and its entry always
// live on one node and the write script can update both atomically.
//
// Entry format (binary safe; the DUMP payload is last so it needs no escaping):
//   FORMAT "|" ACTION "|" EXPIREAT "|" POSTDIGEST "|" OTHERLEN "|" OTHER DUMP
//   FORMAT     2 (current): POSTDIGEST is a content digest (script_safety.h);
//              1 (written before): POSTDIGEST is sha1 of the DUMP payload.
//              `down` reads both.
//   ACTION     W rewritten, D deleted, R renamed away to OTHER,
//              C created by a rename from OTHER (DUMP empty: it did not exist)
//              (core/key_action.h: KeyActionCode)
//   EXPIREAT   the key's absolute expiry in ms before the change, -1 for none
//   POSTDIGEST digest of what keyshift wrote (W, R: of the new key; C: of
//              this key), empty for D; `down` compares it with the current
//              value to tell whether the application changed the key since
//   OTHER      the rename target (R) or source (C), OTHERLEN bytes
//   DUMP       the DUMP payload of the key before the change
//
// Exactly once. The entry is written in the same atomic script as the change
// it records (writer.h), and a key that already has an entry in V's journal
// is never transformed again by V: the read script reports it "done" and the
// write script refuses it. So a rerun after kill -9 at any instant, or SCAN
// returning a key twice, cannot apply the transform a second time, whether
// or not the transform is idempotent; and a rename target that matches the
// scan pattern carries a C entry, so the migration skips its own output.
// Keys the transform left unchanged have no entry; transforms are
// deterministic, so seeing them again changes nothing.
#pragma once

#include <string>
#include <vector>

#include "core/key_action.h"
#include "core/result.h"
#include "engine/state_keys.h"
#include "redis/redis_client.h"
#include "redis/topology.h"
#include "server_mode/write_lua.h"

namespace keyshift {

struct JournalEntry {
  int format = 2;             // 1: POSTDIGEST is sha1 of DUMP; 2: content digest
  KeyAction action = KeyAction::kRewrite;  // kRewrite, kDelete, kRename or kCreate (ACTION above)
  long long expire_at = -1;   // ms since epoch, -1 = no expiry
  std::string post_digest;
  std::string other_key;
  std::string dump;           // DUMP payload before the change ("" for C of a new key)
};

std::string EncodeJournalEntry(const JournalEntry& entry);
Result<JournalEntry> DecodeJournalEntry(const std::string& text);

// Memory one entry takes in Redis: the DUMP payload, the key as the field
// name, the header (~47 bytes) and the hash table's per-field overhead (~100
// bytes, measured on Redis 7.0). `plan`, the dry-run summary and `up`'s
// journal check all estimate with this.
inline long long JournalEntryBytes(long long dump_bytes, size_t key_bytes) {
  return dump_bytes + static_cast<long long>(key_bytes) + 150;
}

// Names of migration V's journal hashes (at most one per slot), via SCAN. Keys
// of another type under the journal prefix are listed too: reading them then
// fails naming the key, where skipping them would silently leave keys undone.
// Deletes journal hashes (prune), one UNLINK each: on a cluster they live
// in every slot, and a multi-key UNLINK must stay within one.
Status DropJournalHashes(Topology* conn, const std::vector<std::string>& hashes);

Result<std::vector<std::string>> ListJournalHashes(Topology* conn, const StateKeys& keys, long long version);

// Lua 5.1 source of `caught_up(jkey, key)` (needs kScriptSafetyLua first):
// catch-up's "done" (catchup.h). True when V's entry for key is C (keyshift
// created the key by a rename: it is in the new shape's keyspace, and an
// application write there is a new-shape write), or W and the key still has
// the content keyshift wrote (POSTDIGEST: content digest, or for format 1
// the sha1 of its DUMP). Anything else is an application write since: no
// entry (a new key), a W key rewritten, or the key of a D or R entry that
// reappeared (a new old-style key). Also `replaceable_target(tjkey, target,
// key)`: target has a C entry whose source is key and still holds what
// keyshift wrote, so a catch-up rename of a reappeared key may replace it.
extern const char* const kCatchupDoneLua;

}  // namespace keyshift
