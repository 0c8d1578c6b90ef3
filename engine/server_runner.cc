// Pipelined server-mode calls and their replies.
#include "engine/server_runner.h"

#include "core/slot.h"
#include "engine/reader.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>

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

std::vector<ServerRunner::Call> ServerRunner::Calls(const std::vector<std::string>& keys,
                                                    const std::vector<size_t>& todo,
                                                    const std::vector<bool>& alone) const {
  std::vector<Call> calls;
  std::map<int, size_t> open;  // slot (-1 off a cluster) -> its call still taking keys
  for (size_t i : todo) {
    if (alone[i]) {
      calls.push_back({{i}});
      continue;
    }
    int slot = cluster_ ? KeySlot(keys[i]) : -1;
    auto it = open.find(slot);
    if (it == open.end() || calls[it->second].keys.size() >= kServerKeysPerCall) {
      open[slot] = calls.size();
      calls.push_back({});
    }
    calls[open[slot]].keys.push_back(i);
  }
  return calls;
}

Command ServerRunner::CallCommand(const std::vector<std::string>& keys, const Call& call, bool dry_run,
                                  const Lock* lock) {
  std::vector<std::string> ks;
  for (size_t i : call.keys) {
    ks.push_back(keys[i]);
    ks.push_back(keys_.journal(file_.version, keys[i]));
  }
  std::vector<std::string> args{std::string(dry_run ? "1" : "0") + (cluster_ ? "c" : "-") +
                                (scripts_.acl_unrestricted() ? "u" : "")};
  // On a cluster the lock lives in another slot than almost every key: the
  // lock is then checked once per batch (Lock::Renew) instead of per call.
  if (lock && !dry_run && !cluster_) {
    ks.push_back(lock->key());
    args.insert(args.end(), {lock->value(), std::to_string(lock->lease_ms())});
  }
  return scripts_.Evalsha(dry_run ? script_.dry_body : script_.body, ks, args);
}

namespace {

// A reply for the whole call ({"lost"}, {"error", ...}, a killed script)
// rather than one per key.
bool WholeCall(const Reply& r) {
  return r.kind != Reply::kArray || (!r.elements.empty() && r.elements[0].kind != Reply::kArray &&
                                     r.elements[0].kind != Reply::kError);
}

bool Killed(const Reply& r) { return r.is_error() && r.str.find("SCRIPT KILL") != std::string::npos; }

}  // namespace

// Rounds of pipelined calls until every key has its result: a key answered
// "retry" goes into the next round, and so do the keys of a multi-key call
// the watchdog killed, one call each (the call wrote nothing, and only the
// runaway key among them should fail).
Result<std::vector<ServerKeyResult>> ServerRunner::Run(const std::vector<std::string>& keys, bool dry_run,
                                                       const Lock* lock) {
  std::vector<std::optional<ServerKeyResult>> results(keys.size());
  std::vector<bool> alone(keys.size(), false);
  std::vector<size_t> todo(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) todo[i] = i;
  while (!todo.empty()) {
    std::vector<Call> calls = Calls(keys, todo, alone);
    std::vector<Command> commands;
    for (const Call& call : calls) commands.push_back(CallCommand(keys, call, dry_run, lock));
    if (watchdog_) watchdog_->Arm();
    auto replies = scripts_.Run(commands);
    if (watchdog_) watchdog_->Disarm();
    if (!replies.ok()) return replies.error();
    todo.clear();
    for (size_t c = 0; c < calls.size(); ++c) {
      const Reply& r = (*replies)[c];
      const std::vector<size_t>& idx = calls[c].keys;
      if (WholeCall(r) && !r.is_error() && !r.elements.empty() && r.elements[0].str == "lost")
        return Fail(fmt::format("lost the lock: another runner took it while key {} waited; stopped before "
                                "writing more (keys written before are journaled; `up` resumes)",
                                QuoteKey(keys[idx[0]])));
      if (Killed(r) && idx.size() > 1) {
        for (size_t i : idx) alone[i] = true;
        todo.insert(todo.end(), idx.begin(), idx.end());
        continue;
      }
      for (size_t k = 0; k < idx.size(); ++k) {
        static const Reply kMissing;
        const Reply& one = WholeCall(r) ? r : k < r.elements.size() ? r.elements[k] : kMissing;
        if (!WholeCall(r) && one.kind == Reply::kArray && !one.elements.empty() && one.elements[0].str == "retry")
          todo.push_back(idx[k]);
        else
          results[idx[k]] = Interpret(keys[idx[k]], one, dry_run);
      }
    }
    std::sort(todo.begin(), todo.end());
  }
  std::vector<ServerKeyResult> out;
  out.reserve(keys.size());
  for (auto& r : results) out.push_back(std::move(*r));
  return out;
}

}  // namespace keyshift
