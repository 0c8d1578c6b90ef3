// EVALSHA with reload on NOSCRIPT.
#include "redis/script_cache.h"

#include <iterator>

#include <fmt/format.h>

namespace keyshift {

Command ScriptCache::Evalsha(const LuaScript& script, std::vector<std::string> keys, std::vector<std::string> args) {
  scripts_[script.sha] = &script;
  Command cmd;
  cmd.reserve(3 + keys.size() + args.size());
  cmd.insert(cmd.end(), {"EVALSHA", script.sha, std::to_string(keys.size())});
  std::move(keys.begin(), keys.end(), std::back_inserter(cmd));
  std::move(args.begin(), args.end(), std::back_inserter(cmd));
  return cmd;
}

Status ScriptCache::LoadNew(const std::vector<Command>& commands) {
  std::vector<Command> loads;
  for (const auto& cmd : commands) {
    if (cmd.size() < 2 || cmd[0] != "EVALSHA" || loaded_.count(cmd[1])) continue;
    loaded_.insert(cmd[1]);
    loads.push_back({"SCRIPT", "LOAD", scripts_.at(cmd[1])->body});
  }
  if (loads.empty()) return Status::Ok();
  auto replies = conn_->Pipeline(loads);
  if (!replies.ok()) return replies.error();
  for (const auto& r : *replies)
    if (r.is_error()) return Fail(fmt::format("Redis refused a keyshift script: {}", r.str));
  return Status::Ok();
}

Result<std::vector<Reply>> ScriptCache::Run(const std::vector<Command>& commands) {
  if (Status st = LoadNew(commands); !st) return st.error();
  auto replies = conn_->Pipeline(commands);
  if (!replies.ok()) return replies;
  std::vector<size_t> retry;
  std::vector<Command> loads;
  std::map<std::string, bool> queued;
  for (size_t i = 0; i < replies->size(); ++i) {
    const Reply& r = (*replies)[i];
    if (!r.is_error() || r.str.compare(0, 8, "NOSCRIPT") != 0 || commands[i].size() < 2) continue;
    retry.push_back(i);
    auto script = scripts_.find(commands[i][1]);
    if (script == scripts_.end() || queued[script->first]) continue;
    queued[script->first] = true;
    loads.push_back({"SCRIPT", "LOAD", script->second->body});
  }
  if (retry.empty()) return replies;
  std::vector<Command> again = loads;
  for (size_t i : retry) again.push_back(commands[i]);
  auto second = conn_->Pipeline(again);
  if (!second.ok()) return second;
  for (size_t i = 0; i < loads.size(); ++i)
    if ((*second)[i].is_error()) return Fail(fmt::format("Redis refused a keyshift script: {}", (*second)[i].str));
  for (size_t j = 0; j < retry.size(); ++j) (*replies)[retry[j]] = std::move((*second)[loads.size() + j]);
  return replies;
}

namespace {

// ACL GETUSER's reply (field, value, ...): root permissions on everything.
// Selectors only ever add permissions, so the root ones decide.
bool Unrestricted(const Reply& user) {
  if (user.kind != Reply::kArray) return false;
  bool all_commands = false, all_keys = false;
  for (size_t i = 0; i + 1 < user.elements.size(); i += 2) {
    const std::string& field = user.elements[i].str;
    const Reply& value = user.elements[i + 1];
    if (field == "commands") all_commands = value.str == "+@all";
    if (field == "keys") all_keys = value.str == "~*";
  }
  return all_commands && all_keys;
}

}  // namespace

void ScriptCache::ProbeAcl() {
  if (acl_probed_) return;
  acl_probed_ = true;
  auto who = conn_->Pipeline({{"ACL", "WHOAMI"}});
  if (!who.ok() || who->front().is_error() || who->front().str.empty()) return;
  auto user = conn_->Pipeline({{"ACL", "GETUSER", who->front().str}});
  acl_unrestricted_ = user.ok() && Unrestricted(user->front());
}

namespace {

constexpr int kReplyTimeoutMs = 30000;

bool NoScript(const Reply& r) { return r.is_error() && r.str.compare(0, 8, "NOSCRIPT") == 0; }

}  // namespace

// The next reply on the wire into read_.
Status ScriptCache::ReadOne() {
  auto got = conn_->Receive(kReplyTimeoutMs);
  if (!got.ok()) return got.error();
  if (!*got) return Fail(fmt::format("no reply from {} within {} ms", conn_->Describe(), kReplyTimeoutMs));
  read_.push_back(std::move(**got));
  --on_wire_;
  return Status::Ok();
}

Status ScriptCache::Drain() {
  while (on_wire_ > 0)
    if (Status st = ReadOne(); !st) return st;
  return Status::Ok();
}

void ScriptCache::Forget() {
  (void)Drain();
  sent_.clear();
  read_.clear();
  on_wire_ = 0;
}

Status ScriptCache::Send(Command command) {
  bool unloaded = command.size() > 1 && command[0] == "EVALSHA" && !loaded_.count(command[1]);
  if (unloaded && !sent_.empty())  // SCRIPT LOAD's reply must not be taken for another's
    if (Status st = Drain(); !st) return st;
  if (Status st = LoadNew({command}); !st) return st;
  if (Status st = conn_->Send(command); !st) return st;
  sent_.push_back(std::move(command));
  ++on_wire_;
  return Status::Ok();
}

Result<Reply> ScriptCache::Next() {
  if (sent_.empty()) return Fail("internal error: no Redis call in flight");
  if (read_.empty())
    if (Status st = ReadOne(); !st) return st.error();
  Reply reply = std::move(read_.front());
  read_.pop_front();
  Command command = std::move(sent_.front());
  sent_.pop_front();
  if (!NoScript(reply)) return reply;
  if (Status st = Drain(); !st) return st.error();
  auto again = Run({command});
  if (!again.ok()) return again.error();
  return std::move(again->front());
}

}  // namespace keyshift
