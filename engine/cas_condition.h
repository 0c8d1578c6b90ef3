// The precondition of a compare-and-set write (writer.h): the key must still
// be what keyshift read, by type, content digest (script_safety.h) and
// absolute expiry. Taken once from the read (KeySnapshot::cas()), so a write
// depends on nothing else of the snapshot: not its value, nor its size.
#pragma once

#include <string>

namespace keyshift {

struct CasCondition {
  std::string type_name;     // as TYPE answered: "string", "hash", ...
  std::string digest;        // content digest
  long long expire_at = -1;  // absolute ms; -1 = no expiry
};

}  // namespace keyshift
