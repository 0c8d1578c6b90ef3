#include "core/run_mode.h"

#include "core/enum_words.h"

namespace keyshift {

namespace {

constexpr EnumWord<RunMode> kNames[] = {{RunMode::kHost, "host"}, {RunMode::kServer, "server"}};

}  // namespace

const char* RunModeName(RunMode mode) { return WordOf(kNames, mode); }

Result<RunMode> ParseRunMode(std::string_view word) { return ParseWord(kNames, word, "mode"); }

std::vector<std::string> RunModeNames() { return Words(kNames); }

}  // namespace keyshift
