// Redis's glob patterns (SCAN MATCH, KEYS), matched without asking Redis:
// `copy --apply` must know which migration's scan selects a key it already
// holds, and a renamed key's new name was never scanned.
#pragma once

#include <string_view>

namespace keyshift {

// * any run of bytes, ? one byte, [abc] [a-z] [^x] a class, \x the byte x;
// everything byte for byte, case-sensitive, as Redis matches.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace keyshift
