// KeyType names, Value ordering and canonical number text.
#include "core/value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace keyshift {

namespace {
struct TypeName {
  KeyType type;
  const char* name;
};
constexpr TypeName kTypeNames[] = {
    {KeyType::kNone, "none"}, {KeyType::kString, "string"}, {KeyType::kHash, "hash"},
    {KeyType::kList, "list"}, {KeyType::kSet, "set"},       {KeyType::kZSet, "zset"},
};
}  // namespace

KeyType KeyTypeFromName(const std::string& name) {
  for (const auto& t : kTypeNames)
    if (name == t.name) return t.type;
  return KeyType::kOther;
}

const char* KeyTypeName(KeyType type) {
  for (const auto& t : kTypeNames)
    if (type == t.type) return t.name;
  return "other";
}

void Value::Normalize() {
  std::sort(pairs.begin(), pairs.end());
  if (type == KeyType::kSet) {
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
  }
}

bool Value::operator==(const Value& o) const {
  return type == o.type && str == o.str && pairs == o.pairs && items == o.items;
}

std::optional<std::string> CanonicalNumber(double x) {
  if (std::isnan(x) || std::isinf(x)) return std::nullopt;
  char buf[64];
  if (x == std::floor(x) && std::fabs(x) < 9223372036854775808.0) {
    if (x == 0) return std::string("0");  // also folds -0
    std::snprintf(buf, sizeof buf, "%.0f", x);
    return std::string(buf);
  }
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  return std::string(buf);
}

}  // namespace keyshift
