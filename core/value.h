// The value of one Redis key as keyshift sees it, independent of Lua and of
// hiredis. Strings are raw bytes; aggregate elements are kept in a canonical
// order so that two Values compare equal exactly when Redis would hold the same data.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace keyshift {

enum class KeyType { kNone, kString, kHash, kList, kSet, kZSet, kOther };

// Redis's TYPE reply ("string", "hash", ...) <-> KeyType. Unknown types
// (stream, module types) map to kOther.
KeyType KeyTypeFromName(const std::string& name);
const char* KeyTypeName(KeyType type);

struct Value {
  KeyType type = KeyType::kNone;
  std::string str;                                         // kString
  std::vector<std::pair<std::string, std::string>> pairs;  // kHash: field->value; kZSet: member->score text. Sorted by first.
  std::vector<std::string> items;                          // kList: in order; kSet: sorted bytewise, unique

  // Puts pairs and set items into canonical (bytewise sorted) order.
  void Normalize();
  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }
};

// Canonical text for a number written into Redis (SPEC 2): integral values
// within +-2^63 without a decimal point ("5"), others in the shortest form that
// reads back to the same double ("0.1"). NaN and infinities have no text: nullopt.
std::optional<std::string> CanonicalNumber(double x);

}  // namespace keyshift
