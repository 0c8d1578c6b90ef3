// SCAN cursor iteration.
#include "engine/scanner.h"

#include <fmt/format.h>

namespace keyshift {

Scanner::Scanner(RedisConnection* conn, std::string match, std::optional<KeyType> type, int count,
                 const StateKeys* state, std::string cursor)
    : conn_(conn), match_(std::move(match)), type_(type), count_(count), state_(state), cursor_(std::move(cursor)) {}

Result<std::vector<std::string>> Scanner::Next() {
  if (done_) return std::vector<std::string>();
  Command cmd{"SCAN", cursor_, "MATCH", match_, "COUNT", std::to_string(count_)};
  if (type_) cmd.insert(cmd.end(), {"TYPE", KeyTypeName(*type_)});
  auto reply = conn_->Call(cmd);
  if (!reply.ok()) return reply.error();
  if (reply->elements.size() != 2) return Fail("unexpected SCAN reply");
  cursor_ = reply->elements[0].str;
  done_ = cursor_ == "0";
  std::vector<std::string> keys;
  keys.reserve(reply->elements[1].elements.size());
  for (auto& k : reply->elements[1].elements)
    if (!state_ || !state_->Owns(k.str)) keys.push_back(std::move(k.str));
  return keys;
}

}  // namespace keyshift
