// Building Values in tests: hash and zset pairs, list and set items, strings.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/value.h"

namespace keyshift::testing {

inline Value Pairs(KeyType type, std::vector<std::pair<std::string, std::string>> pairs) {
  Value v;
  v.type = type;
  v.pairs = std::move(pairs);
  v.Normalize();
  return v;
}

inline Value Items(KeyType type, std::vector<std::string> items) {
  Value v;
  v.type = type;
  v.items = std::move(items);
  v.Normalize();
  return v;
}

inline Value Text(std::string s) {
  Value v;
  v.type = KeyType::kString;
  v.str = std::move(s);
  return v;
}

}  // namespace keyshift::testing
