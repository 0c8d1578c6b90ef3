// The shapes `--output json` shares between commands (docs/cli.md): an error
// that ends the run, and a key that failed (or conflicted) on its own.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/json_stream.h"
#include "engine/interrupt.h"

namespace keyshift {

// {"ok":false,"error":{"code":N,"message":"..."}}
nlohmann::json ErrorJson(int code, const std::string& message);

// {"key","file","line","message"}: `line` is the first "file:LINE:" the
// message names (a Lua error's position), null when it names none.
nlohmann::json KeyErrorJson(const std::string& key, const std::string& file, const std::string& message);

// `up` and `down`, streamed: opens {"dry_run": D, "migrations": [; each
// migration's object goes into the array; the End closes both, `members`
// (ok, ...) last, when they are known.
void BeginMigrationsJson(JsonStream& doc, bool dry_run);
void EndMigrationsJson(JsonStream& doc, const nlohmann::json& members);

// For a JSON dry-run (`json`), a scope deferring Ctrl-C and SIGTERM to a
// batch boundary, as a writing run always does: its streamed document is
// then ended, not cut off. Null otherwise.
std::unique_ptr<InterruptScope> EndJsonOnSignal(bool json);

// One JSON document on one line, invalid UTF-8 from the data replaced.
std::string DumpJson(const nlohmann::json& j, int indent = -1);

}  // namespace keyshift
