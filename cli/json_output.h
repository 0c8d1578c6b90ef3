// The shapes `--output json` shares between commands (docs/cli.md): an error
// that ends the run, and a key that failed (or conflicted) on its own.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace keyshift {

// {"ok":false,"error":{"code":N,"message":"..."}}
nlohmann::json ErrorJson(int code, const std::string& message);

// {"key","file","line","message"}: `line` is the first "file:LINE:" the
// message names (a Lua error's position), null when it names none.
nlohmann::json KeyErrorJson(const std::string& key, const std::string& file, const std::string& message);

// One JSON document on one line, invalid UTF-8 from the data replaced.
std::string DumpJson(const nlohmann::json& j, int indent = -1);

}  // namespace keyshift
