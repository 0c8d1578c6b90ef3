// Where a migration's transform runs (SPEC 2 `mode`, docs/server-mode.md):
// in keyshift's own sandbox, or inside Redis as a server-side script. The
// words "host" and "server" are what a migration file, `up --mode` and the
// ledger's "mode" field (engine/ledger.h) hold.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace keyshift {

enum class RunMode { kHost, kServer };

const char* RunModeName(RunMode mode);
// An unknown word is an error naming it: `mode "x" is none of host, server`.
Result<RunMode> ParseRunMode(std::string_view word);
std::vector<std::string> RunModeNames();  // every word, for option checks

}  // namespace keyshift
