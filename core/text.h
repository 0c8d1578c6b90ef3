// Text that reaches a terminal (SPEC 9: bytes from the data reach a terminal
// escaped). Keys, values and Lua error messages carry arbitrary bytes: an ESC
// or a C1 control would let data recolor, move or retitle the user's terminal.
#pragma once

#include <string>
#include <string_view>

namespace keyshift {

// The printed form of the bytes at s[i]: themselves when harmless (printable
// ASCII, tab, well-formed UTF-8 above U+009F), else \xNN for one byte.
// *used receives how many input bytes it stands for.
std::string EscapeUnit(std::string_view s, size_t i, size_t* used);

// `text` with every unsafe byte escaped as \xNN; newlines are kept, since
// messages may span lines.
std::string TerminalSafe(std::string_view text);

}  // namespace keyshift
