// The portability check's findings while it reads a file: issues with their
// lines, which of them make Lua 5.1's own parser stop, and the syntax error
// that ends the reading.
#pragma once

#include <string>
#include <vector>

#include "server_mode/portability.h"

namespace keyshift::portability {

// Thrown where the file is not Lua at all: nothing after it can be checked.
struct SyntaxError {
  int line;
  std::string message;
};

class Reporter {
 public:
  // `blocks_51`: Lua 5.1's parser refuses the construct, so luac5.1's first
  // error at or after this line is a consequence of it, not a new finding.
  void Add(int line, std::string message, bool blocks_51 = false);
  bool Explains(int line) const;
  // Every issue, in line order, without repeats.
  std::vector<PortabilityIssue> Take();

 private:
  std::vector<PortabilityIssue> issues_;
  std::vector<int> blocking_lines_;
};

}  // namespace keyshift::portability
