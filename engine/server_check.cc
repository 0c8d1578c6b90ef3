// The server suitability check (server_check.h).
#include "engine/server_check.h"

#include <cstdlib>
#include <set>

#include <fmt/format.h>

#include "bindings/migration_script.h"
#include "engine/journal.h"

namespace keyshift {

namespace {

// ARGV: for each command, its word count then its words. Answers, per
// command, ok, denied (ACL) or missing (no such command on this server).
constexpr const char* kPermissionScript = R"LUA(#!lua flags=no-writes
local out, i = {}, 1
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local ok, allowed = pcall(redis.acl_check_cmd, unpack(ARGV, i + 1, i + n))
  if not ok then out[#out + 1] = 'missing' elseif allowed then out[#out + 1] = 'ok' else out[#out + 1] = 'denied' end
  i = i + n + 1
end
return out
)LUA";

constexpr const char* kAclHint = "docs/cli.md lists the ACL keyshift needs";

// "PEXPIREAT 'user:x' '0'": arguments may be data keys, so quoted and escaped.
std::string Words(const Command& c) {
  std::string out = c.front();
  for (size_t i = 1; i < c.size(); ++i) out += " " + QuoteKey(c[i]);
  return out;
}

// "7.0.15" -> 700 (major * 100 + minor); 0 when unreadable.
long VersionNumber(const std::string& text) {
  char* end = nullptr;
  long major = std::strtol(text.c_str(), &end, 10);
  long minor = *end == '.' ? std::strtol(end + 1, nullptr, 10) : 0;
  return major * 100 + minor;
}

}  // namespace

std::vector<std::string> InfoProblems(const std::string& info, const ServerNeeds& needs) {
  std::vector<std::string> problems;
  std::string version = InfoValue(info, "redis_version");
  if (VersionNumber(version) < 700)
    problems.push_back(fmt::format("the server runs Redis {}; keyshift needs Redis 7.0 or later",
                                    version.empty() ? "of an unknown version" : version));
  if (!needs.writes) return problems;
  if (InfoValue(info, "role") == "slave")
    problems.push_back(fmt::format("the server is a replica of {}:{}; point --url at the primary",
                                    InfoValue(info, "master_host"), InfoValue(info, "master_port")));
  std::string policy = InfoValue(info, "maxmemory_policy");
  if (policy.rfind("allkeys-", 0) == 0 && !needs.allow_eviction)
    problems.push_back(fmt::format("maxmemory-policy is {}: Redis may evict keyshift's undo journal, checkpoint and "
                                    "ledger, and `down` would then silently leave keys migrated. Set a noeviction "
                                    "or volatile-* policy, or pass --allow-eviction to run anyway",
                                    policy));
  return problems;
}

namespace {

Status CheckCommands(RedisConnection* conn, const ServerNeeds& needs, const std::string& user,
                     std::vector<std::string>* problems) {
  Command eval{"EVAL", kPermissionScript, "0"};
  std::vector<Command> commands;
  std::set<Command> seen;
  for (const auto& c : needs.commands)
    if (seen.insert(c).second) commands.push_back(c);
  for (const auto& c : commands) {
    eval.push_back(std::to_string(c.size()));
    eval.insert(eval.end(), c.begin(), c.end());
  }
  auto replies = conn->Pipeline({eval});
  if (!replies.ok()) return replies.error();
  const Reply& r = replies->front();
  if (r.is_error() && !needs.writes) return Status::Ok();  // a dry-run needs no more than it will find out
  if (r.is_error()) {
    problems->push_back(fmt::format("{} cannot run the scripts keyshift needs ({}); {}", user, r.str, kAclHint));
    return Status::Ok();
  }
  std::vector<std::string> denied, missing;
  for (size_t i = 0; i < commands.size() && i < r.elements.size(); ++i) {
    if (r.elements[i].str == "denied" && needs.writes) denied.push_back(Words(commands[i]));
    if (r.elements[i].str == "missing") missing.push_back(commands[i][0]);
  }
  for (const auto& m : missing)
    problems->push_back(fmt::format("the server has no {} command, which keyshift needs (renamed or disabled?)", m));
  if (!denied.empty()) {
    std::string list;
    for (const auto& d : denied) list += "\n    " + d;
    problems->push_back(fmt::format("{} lacks permissions keyshift needs ({}):{}", user, kAclHint, list));
  }
  return Status::Ok();
}

}  // namespace

std::string InfoValue(const std::string& info, const std::string& name) {
  const std::string text = "\n" + info, needle = "\n" + name + ":";
  size_t pos = text.find(needle);
  if (pos == std::string::npos) return "";
  size_t start = pos + needle.size();
  return text.substr(start, text.find_first_of("\r\n", start) - start);
}

namespace {

// One primary's problems, each prefixed with `where` (the node, on a cluster).
Status CheckNode(RedisConnection* conn, const ServerNeeds& needs, const std::string& where,
                 std::vector<std::string>* problems) {
  auto replies = conn->Pipeline({{"INFO"}, {"ACL", "WHOAMI"}});
  if (!replies.ok()) return replies.error();
  const Reply& info = (*replies)[0];
  if (info.is_error())
    return UsageError(fmt::format("cannot check the server{}: INFO was refused ({}); keyshift needs INFO ({})", where,
                                  info.str, kAclHint));
  const Reply& whoami = (*replies)[1];
  std::string user = whoami.is_error() ? "this Redis user" : fmt::format("the Redis user '{}'", whoami.str);
  std::vector<std::string> found = InfoProblems(info.str, needs);
  if (found.empty() && !needs.commands.empty())
    if (Status st = CheckCommands(conn, needs, user, &found); !st) return st;
  for (auto& p : found) problems->push_back(where.empty() ? p : fmt::format("{}: {}", where.substr(1), p));
  return Status::Ok();
}

}  // namespace

Status CheckServer(Topology* topology, const ServerNeeds& needs) {
  auto nodes = topology->Primaries();
  if (!nodes.ok()) return nodes.error();
  std::vector<std::string> problems;
  for (const NodeRef& node : *nodes) {
    std::string where = topology->cluster() ? " " + node.address : "";
    if (Status st = CheckNode(node.conn, needs, where, &problems); !st) return st;
  }
  if (problems.empty()) return Status::Ok();
  std::string text = "this server is not fit for a run that writes; nothing was written:";
  if (!needs.writes) text = "this server cannot run keyshift:";
  for (const auto& p : problems) text += "\n  - " + p;
  return UsageError(text);
}

void AddStateCommands(std::vector<Command>* out, const StateKeys& keys, long long version) {
  const std::string lock = keys.lock(), ledger = keys.ledger();
  const std::string ckpt = keys.checkpoint(version), failed = keys.failed_keys(version);
  const std::vector<Command> commands = {
      {"PING"}, {"INFO"}, {"DBSIZE"}, {"SCAN", "0"}, {"SCRIPT", "LOAD", "<script>"},
      {"SET", lock, "<holder>"}, {"GET", lock}, {"DEL", lock}, {"PEXPIRE", lock, "1"}, {"EVAL", "<script>", "1", lock},
      {"HGETALL", ledger}, {"HSET", ledger, "<version>", "<record>"},
      {"HGETALL", ckpt}, {"HSET", ckpt, "<field>", "<value>"}, {"DEL", ckpt},
      {"SMEMBERS", failed}, {"SADD", failed, "<key>"}, {"SREM", failed, "<key>"}, {"DEL", failed},
  };
  out->insert(out->end(), commands.begin(), commands.end());
}

void AddDataCommands(std::vector<Command>* out, const StateKeys& keys, long long version, const std::string& data_key,
                     std::optional<KeyType> type, bool rewrites) {
  const std::string& k = data_key;
  const std::string j = keys.journal(version, k);
  const std::vector<Command> commands = {
      {"EVALSHA", "<sha>", "2", k, j}, {"TYPE", k}, {"DUMP", k}, {"PEXPIRETIME", k}, {"EXISTS", k}, {"DEL", k},
      {"RESTORE", k, "0", "<payload>"}, {"PEXPIREAT", k, "0"},
      {"HEXISTS", j, k}, {"HGET", j, k}, {"HMGET", j, k}, {"HSET", j, k, "<entry>"}, {"HDEL", j, k}, {"HKEYS", j},
  };
  out->insert(out->end(), commands.begin(), commands.end());
  struct Access {
    KeyType type;
    Command read, write;
  };
  const Access access[] = {
      {KeyType::kString, {"GET", k}, {"SET", k, "<value>"}},
      {KeyType::kHash, {"HGETALL", k}, {"HSET", k, "<field>", "<value>"}},
      {KeyType::kList, {"LRANGE", k, "0", "-1"}, {"RPUSH", k, "<item>"}},
      {KeyType::kSet, {"SMEMBERS", k}, {"SADD", k, "<member>"}},
      {KeyType::kZSet, {"ZRANGE", k, "0", "-1"}, {"ZADD", k, "1", "<member>"}},
  };
  for (const auto& a : access) {
    if (type && *type != a.type) continue;
    out->push_back(a.read);
    if (rewrites) out->push_back(a.write);
  }
}

Status AddUndoCommands(Topology* conn, std::vector<Command>* out, const StateKeys& keys, long long version,
                       bool prune) {
  AddStateCommands(out, keys, version);
  auto hashes = ListJournalHashes(conn, keys, version);
  if (!hashes.ok()) return hashes.error();
  if (hashes->empty()) return Status::Ok();
  if (prune) {
    out->push_back({"UNLINK", hashes->front()});
    return Status::Ok();
  }
  auto field = CallState(conn, {"HRANDFIELD", hashes->front()}, hashes->front());
  if (!field.ok()) return field.error();
  if (!field->is_nil()) AddDataCommands(out, keys, version, field->str, std::nullopt, /*rewrites=*/false);
  return Status::Ok();
}

std::string SampleKey(const std::string& glob) {
  std::string out;
  for (size_t i = 0; i < glob.size(); ++i) {
    char c = glob[i];
    if (c == '*' || c == '?') out += 'x';
    else if (c == '\\' && i + 1 < glob.size()) out += glob[++i];
    else if (c == '[') {  // the class's first member (or any byte it does not negate)
      size_t close = glob.find(']', i + 2);
      if (close == std::string::npos) {
        out += c;
        continue;
      }
      bool negated = glob[i + 1] == '^';
      out += negated ? (glob[i + 2] == 'x' ? 'y' : 'x') : glob[i + 1];
      i = close;
    } else {
      out += c;
    }
  }
  return out.empty() ? "x" : out;
}

}  // namespace keyshift
