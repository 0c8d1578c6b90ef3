// Terminal-safe text (core/text.h): data bytes never reach a terminal raw.
#include "core/text.h"

#include <catch.hpp>
#include <string>

using keyshift::TerminalSafe;

TEST_CASE("control bytes, DEL, C1 controls and invalid UTF-8 are escaped; text and newlines are kept", "[terminal]") {
  CHECK(TerminalSafe("plain text: 42") == "plain text: 42");
  CHECK(TerminalSafe("two\nlines\tand a tab") == "two\nlines\tand a tab");
  CHECK(TerminalSafe("\x1b[31mred\x07") == "\\x1b[31mred\\x07");
  CHECK(TerminalSafe(std::string("nul\0byte", 8)) == "nul\\x00byte");
  CHECK(TerminalSafe("cr\rdel\x7f") == "cr\\x0ddel\\x7f");
  CHECK(TerminalSafe("\xc2\x9b" "2J") == "\\xc2\\x9b2J");  // U+009B: CSI on some terminals
  CHECK(TerminalSafe("\x9b" "2J") == "\\x9b2J");           // a lone 8-bit CSI byte
  CHECK(TerminalSafe("\xff\xfe") == "\\xff\\xfe");
  CHECK(TerminalSafe("caf\xc3\xa9 \xe2\x9c\x93") == "caf\xc3\xa9 \xe2\x9c\x93");  // é ✓ stay readable
}
