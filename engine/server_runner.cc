// Pipelined server-mode calls and their replies.
#include "engine/server_runner.h"

#include "engine/reader.h"

#include <chrono>
#include <cstdlib>

#include <fmt/format.h>

namespace keyshift {

namespace {

ServerKeyResult Make(ServerKeyResult::Kind kind, const std::string& key) {
  ServerKeyResult r;
  r.kind = kind;
  r.key = key;
  return r;
}

}  // namespace

ServerRunner::ServerRunner(ScriptCache& scripts, const StateKeys& keys, const MigrationFile& file,
                           const MigrationInfo& info, ConnectionFactory watchdog_connection, bool cluster)
    : scripts_(scripts),
      cluster_(cluster),
      keys_(keys),
      file_(file),
      info_(info) {
  std::string scan_type = info.scan.type ? KeyTypeName(*info.scan.type) : "";
  script_ = BuildServerScript(file, scan_type, keys.journal_prefix(file.version), keys.prefix());
  if (watchdog_connection)
    watchdog_ = std::make_unique<ScriptWatchdog>(std::move(watchdog_connection), info.limits.wall_ms);
}

ServerKeyResult ServerRunner::Change(const std::string& key, const Reply& reply, KeyAction action) const {
  const auto& el = reply.elements;
  ServerKeyResult r = Make(ServerKeyResult::kChange, key);
  r.action = action;
  KeyType type = KeyTypeFromName(el[3].str);
  long long expire_at = std::atoll(el[4].str.c_str());
  r.journal_bytes = std::atoll(el[5].str.c_str());
  size_t n_before = std::strtoull(el[6].str.c_str(), nullptr, 10);
  size_t first = 7, split = std::min(el.size(), first + n_before);
  r.change.key = key;
  r.change.before = ValueFromReplies(type, el, first, split);
  r.change.after = ValueFromReplies(type, el, split, el.size());
  r.change.before_pttl_ms = PttlFromExpireAt(expire_at);
  r.change.action = action;
  r.change.new_key = el[2].str;
  if (action == KeyAction::kRename && split == el.size()) r.change.after = r.change.before;
  return r;
}

ServerKeyResult ServerRunner::Interpret(const std::string& key, const Reply& reply, bool dry_run) const {
  auto failed = [&](const std::string& message) {
    ServerKeyResult r = Make(ServerKeyResult::kFailed, key);
    r.error = Fail(fmt::format("{} (key {}, server mode)", message, QuoteKey(key)));
    return r;
  };
  if (reply.is_error()) {
    if (reply.str.find("SCRIPT KILL") != std::string::npos)
      return failed(fmt::format("{}: the server-side transform ran past its time limit ({} ms) and was stopped "
                                "with SCRIPT KILL; the key is unchanged",
                                file_.path, info_.limits.wall_ms));
    return failed(script_.MapError(reply.str, file_.path, dry_run));
  }
  const auto& el = reply.elements;
  const std::string head = el.empty() ? "" : el[0].str;
  if (head == "done") return Make(ServerKeyResult::kDone, key);
  if (head == "none" || head == "skip" || head == "keep") return Make(ServerKeyResult::kUntouched, key);
  if (head == "unsupported")
    return failed(fmt::format("{}: key is a {}; keyshift migrates string, hash, list, set and zset keys", file_.path,
                              el.size() > 1 ? el[1].str : "?"));
  if (head == "error")
    return failed(script_.MapError(el.size() > 1 ? el[1].str : "transform failed", file_.path, dry_run));
  if (head == "target_exists")
    return failed(fmt::format("{}: ks.rename target {} already exists", file_.path,
                              QuoteKey(el.size() > 1 ? el[1].str : "")));
  // "change" and "ok" carry the key's action code (W, D or R) second.
  auto action = ParseKeyActionCode(el.size() > 1 ? el[1].str : "");
  bool changed = action.ok() && *action != KeyAction::kKeep && *action != KeyAction::kCreate;
  if (head == "change" && el.size() >= 7 && changed) return Change(key, reply, *action);
  if (head == "ok" && el.size() >= 3 && changed) {
    ServerKeyResult r = Make(ServerKeyResult::kWritten, key);
    r.action = *action;
    r.journal_bytes = std::atoll(el[2].str.c_str());
    return r;
  }
  return failed("unexpected reply from the server-mode script");
}

Result<std::vector<ServerKeyResult>> ServerRunner::Run(const std::vector<std::string>& keys, bool dry_run,
                                                       const Lock* lock) {
  std::vector<Command> commands;
  commands.reserve(keys.size());
  const LuaScript& body = dry_run ? script_.dry_body : script_.body;
  for (const auto& key : keys) {
    std::vector<std::string> ks{key, keys_.journal(file_.version, key)};
    std::vector<std::string> args{std::string(dry_run ? "1" : "0") + (cluster_ ? "c" : "")};
    // On a cluster the lock lives in another slot than almost every key: the
    // lock is then checked once per batch (Lock::Renew) instead of per key.
    if (lock && !dry_run && !cluster_) {
      ks.push_back(lock->key());
      args.insert(args.end(), {lock->value(), std::to_string(lock->lease_ms())});
    }
    commands.push_back(scripts_.Evalsha(body, ks, args));
  }
  if (watchdog_) watchdog_->Arm();
  auto replies = scripts_.Run(commands);
  if (watchdog_) watchdog_->Disarm();
  if (!replies.ok()) return replies.error();
  std::vector<ServerKeyResult> out;
  out.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const Reply& r = (*replies)[i];
    if (!r.is_error() && !r.elements.empty() && r.elements[0].str == "lost")
      return Fail(fmt::format("lost the lock: another runner took it while key {} waited; stopped before writing "
                              "more (keys written before are journaled; `up` resumes)",
                              QuoteKey(keys[i])));
    out.push_back(Interpret(keys[i], r, dry_run));
  }
  return out;
}

}  // namespace keyshift
