// Output that survives a closed pipe (SPEC 5 guarantee 9): `keyshift up |
// head` stops the run at a batch boundary instead of dying mid-write.
#pragma once

#include <cstdio>
#include <string_view>

namespace keyshift {

// Writes `text` to `out` and flushes. A closed pipe (EPIPE) is noted as an
// interrupt instead of ending the process, and later writes are dropped.
void Emit(std::FILE* out, std::string_view text);

}  // namespace keyshift
