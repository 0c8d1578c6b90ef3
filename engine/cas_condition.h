// The precondition of a compare-and-set write (writer.h): the key must still
// be what keyshift read, by type, content and absolute expiry. Taken once
// from the read (KeySnapshot::cas()), so a write depends on nothing else of
// the snapshot.
//
// The content is compared one of two ways. Up to kCasByValueMax bytes, the
// value as read travels with the write and Redis compares the elements: a
// string compare costs Redis far less than hashing the value (a sha1 per hash
// field), and Redis is the shared resource. Larger values send their content
// digest (script_safety.h) instead, so that a write does not carry a big key
// twice and a batch does not hold a second copy of it.
#pragma once

#include <optional>
#include <string>

#include "core/value.h"

namespace keyshift {

inline constexpr size_t kCasByValueMax = 16 * 1024;

struct CasCondition {
  std::string type_name;        // as TYPE answered: "string", "hash", ...
  std::string digest;           // content digest, when `content` is not sent
  std::optional<Value> content;  // the value as read (at most kCasByValueMax bytes)
  long long expire_at = -1;     // absolute ms; -1 = no expiry
};

}  // namespace keyshift
