// KeyAction: what happens to one key. The one vocabulary of the sandbox's
// result (bindings/migration_script.h TransformOutcome), the CAS writer
// (engine/writer.h WriteOp), previews (key_change.h KeyChange), server mode
// and the journal.
//   kKeep     nothing: the transform left the value as it was (never journaled)
//   kRewrite  the key gets a new value of its type, its TTL kept
//   kDelete   the key is deleted
//   kRename   the key moves to a new name, with its value or a new one
//   kCreate   a key that does not exist is created: the journal entry of a
//             rename's target, and `down`'s preview of undoing a delete
// Persisted as the one-letter ACTION of a journal entry (engine/journal.h:
// W D R C), which is also the code the write scripts take and server mode
// replies with; K (keep) only the revert script takes, never the journal.
// KeyActionCode / ParseKeyActionCode are that mapping's one place. Text
// output renders actions in cli/diff.cc.
#pragma once

#include <string_view>

#include "core/result.h"

namespace keyshift {

enum class KeyAction { kKeep, kRewrite, kDelete, kRename, kCreate };

const char* KeyActionCode(KeyAction action);
// An unknown code is an error naming it.
Result<KeyAction> ParseKeyActionCode(std::string_view code);

}  // namespace keyshift
