// Reading keys whole on a copy's source, for the snapshot (copy.cc) and for
// --follow (copy_follow.cc), and the temporary key a big key moves through.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "engine/copy.h"
#include "engine/copy_transform.h"
#include "engine/state_keys.h"
#include "redis/script_cache.h"

namespace keyshift {

struct SourceKey {
  std::string key;
  std::string payload;      // DUMP; "" for a chunked key
  long long expire_ms = 0;  // absolute, 0 = no expiry
  std::string chunked;      // a big key's type: copied in chunks
  long long bytes = 0;      // payload bytes, or a chunked key's element bytes once moved
  std::optional<Shaped> shaped;  // copy --apply/--revert: what the migrations made of it, when they touched it
};

// The progress hash holding `key`'s mark (format in copy.h); all of them
// start with MarksPrefix.
std::string MarksPrefix(const StateKeys& state, const std::string& id);
std::string MarksOf(const StateKeys& state, const std::string& id, const std::string& key);

// A chunked key's temporary key on the target, in its slot; all of them
// start with ChunksPrefix.
std::string ChunksPrefix(const StateKeys& state, const std::string& id);
std::string ChunksOf(const StateKeys& state, const std::string& id, const std::string& key);

// The present keys among `keys`, read whole (DUMP and absolute expiry at one
// moment, or a big key's type); the rest count as vanished. Keys `whole`
// names are DUMPed whatever their size (a transform needs the value).
Result<std::vector<SourceKey>> ReadSource(ScriptCache& source, const std::vector<std::string>& keys,
                                          CopyCounters& counters,
                                          const std::function<bool(const std::string&)>& whole = nullptr);

}  // namespace keyshift
