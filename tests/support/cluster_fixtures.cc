// Owns the cluster end-to-end fixtures (see cluster_fixtures.h).
#include "tests/support/cluster_fixtures.h"

#include <fmt/format.h>
#include <signal.h>

#include <catch.hpp>
#include <chrono>
#include <algorithm>
#include <random>
#include <thread>

namespace keyshift::testing {
namespace {

constexpr size_t kChunk = 2000;

// GET of every key, pipelined on one node's connection.
void ReadStrings(RedisConnection& conn, const std::vector<std::string>& keys,
                 std::map<std::string, std::string>* out) {
  for (size_t i = 0; i < keys.size(); i += kChunk) {
    std::vector<Command> batch;
    for (size_t j = i; j < keys.size() && j < i + kChunk; ++j) batch.push_back({"GET", keys[j]});
    auto replies = conn.Pipeline(batch);
    if (!replies.ok()) FAIL("GET on " << conn.Describe() << ": " << replies.error().message);
    for (size_t j = 0; j < batch.size(); ++j) {
      const Reply& r = (*replies)[j];
      // A key moved off this node since the SCAN answers MOVED: another node has it.
      if (!r.is_error()) (*out)[keys[i + j]] = r.str;
    }
  }
}

// The command that reads a key of `type` whole, in a stable order (members
// of sets and hashes are sorted afterwards).
Command ReadCommand(const std::string& type, const std::string& key) {
  if (type == "string") return {"GET", key};
  if (type == "hash") return {"HGETALL", key};
  if (type == "list") return {"LRANGE", key, "0", "-1"};
  if (type == "set") return {"SMEMBERS", key};
  return {"ZRANGE", key, "0", "-1", "WITHSCORES"};
}

std::string ValueText(const std::string& type, const Reply& reply) {
  if (type == "string") return reply.str;
  std::vector<std::string> items = Strings(reply);
  if (type == "hash") {
    std::vector<std::string> pairs;
    for (size_t i = 0; i + 1 < items.size(); i += 2) pairs.push_back(items[i] + "=" + items[i + 1]);
    items = pairs;
  }
  if (type == "hash" || type == "set") std::sort(items.begin(), items.end());
  std::string text;
  for (const std::string& item : items) text += item + "\x1f";
  return text;
}

// key -> "type|absolute expiry|value" for `keys` of one node, pipelined.
void DescribeKeys(RedisConnection& conn, const std::vector<std::string>& keys, std::map<std::string, std::string>* out) {
  std::vector<Command> meta;
  for (const std::string& key : keys) {
    meta.push_back({"TYPE", key});
    meta.push_back({"PEXPIRETIME", key});
  }
  auto replies = conn.Pipeline(meta);
  if (!replies.ok()) FAIL("TYPE on " << conn.Describe() << ": " << replies.error().message);
  std::vector<Command> reads;
  for (size_t i = 0; i < keys.size(); ++i) reads.push_back(ReadCommand((*replies)[2 * i].str, keys[i]));
  auto values = conn.Pipeline(reads);
  if (!values.ok()) FAIL("read on " << conn.Describe() << ": " << values.error().message);
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& type = (*replies)[2 * i].str;
    (*out)[keys[i]] = type + "|" + std::to_string((*replies)[2 * i + 1].integer) + "|" + ValueText(type, (*values)[i]);
  }
}

}  // namespace

std::string Doc(int id, int n) { return fmt::format(R"({{"id":{},"n":{}}})", id, n); }

void SeedDocs(RedisCluster& cluster, const std::string& prefix, int n, int first) {
  std::vector<Command> commands;
  for (int i = first; i < first + n; ++i) commands.push_back({"SET", prefix + std::to_string(i), Doc(i, 0)});
  cluster.Pipeline(commands);
}

std::string BumpMigration(const std::string& match, int batch, const std::string& mode, double ms_per_key) {
  // Redis scripts have no os library: server mode gets no busy work.
  std::string spin = ms_per_key <= 0 ? "" : fmt::format(R"(
    local t = os.clock() + {}
    while os.clock() < t do end)", ms_per_key / 1000);
  return fmt::format(R"(return {{
  description = "json counter +1: not idempotent",
  mode = "{mode}",
  scan = {{ match = "{match}", type = "string", batch = {batch} }},
  transform = function(key, value){spin}
    local doc = json.decode(value)
    doc.n = doc.n + 1
    return json.encode(doc)
  end,
  verify = function(key, value)
    return json.decode(value).n == 1, "n is not 1"
  end,
}})",
                     fmt::arg("mode", mode), fmt::arg("match", match), fmt::arg("batch", batch),
                     fmt::arg("spin", spin));
}

Keyshift BumpSetup(RedisCluster& cluster, const std::string& url, const TempDir& dir, int docs, int batch,
                   const std::string& mode, double ms_per_key) {
  SeedDocs(cluster, "doc:", docs);
  dir.Write("0001_bump.lua", BumpMigration("doc:*", batch, mode, ms_per_key));
  return Keyshift(url, dir);
}

std::map<std::string, std::string> ClusterStrings(RedisCluster& cluster, const std::string& match) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < cluster.size(); ++i) ReadStrings(cluster.Connection(i), ScanKeys(cluster.Connection(i), match), &out);
  return out;
}

std::string NotBumpedOnce(RedisCluster& cluster, const std::string& prefix, int n, int first) {
  std::map<std::string, std::string> values = ClusterStrings(cluster, prefix + "*");
  int wrong = 0;
  std::string shown;
  auto note = [&](const std::string& what) {
    if (++wrong <= 5) shown += " " + what + ";";
  };
  for (int i = first; i < first + n; ++i) {
    std::string key = prefix + std::to_string(i);
    auto at = values.find(key);
    if (at == values.end()) note(key + " missing");
    else if (at->second != Doc(i, 1)) note(key + " holds " + at->second);
    if (at != values.end()) values.erase(at);
  }
  for (const auto& [key, value] : values) note("unexpected " + key);
  return wrong == 0 ? "" : fmt::format("{} keys wrong:{}", wrong, shown);
}

std::map<std::string, std::string> ClusterReadAll(RedisCluster& cluster, const std::vector<std::string>& prefixes) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < cluster.size(); ++i)
    for (const std::string& prefix : prefixes) DescribeKeys(cluster.Connection(i), ScanKeys(cluster.Connection(i), prefix + "*"), &out);
  return out;
}

nlohmann::json LedgerOf(const Keyshift& ks, const std::string& name, const std::vector<std::string>& global) {
  std::vector<std::string> args = global;
  args.insert(args.end(), {"--output", "json", "status"});
  CliResult r = ks.Run(args);
  INFO(Describe(r));
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  for (const auto& m : j.at("migrations"))
    if (m.value("name", "") == name && m.contains("ledger")) return m.at("ledger");
  FAIL("no ledger entry for " << name);
  return {};
}

bool LedgerBetween(const Keyshift& ks, long long low, long long high) {
  long long changed = LedgerOf(ks, "0001_bump").at("changed").get<long long>();
  UNSCOPED_INFO("ledger: changed " << changed << ", expected " << low << ".." << high);
  return changed >= low && changed <= high;
}

void ExpectExit(const CliResult& r, int code) {
  INFO(Describe(r));
  REQUIRE(r.exit_code == code);
}

int KillRepeatedly(const Keyshift& ks, const std::vector<std::string>& args, const TempDir& scratch, int rounds,
                   unsigned seed, int min_ms, int span_ms) {
  std::mt19937 rng(seed);
  int kills = 0;
  for (int round = 0; round < rounds; ++round) {
    Spawned run = SpawnKeyshift(ks.Args(args), scratch, "kill" + std::to_string(round), kShortLease);
    std::this_thread::sleep_for(std::chrono::milliseconds(min_ms + static_cast<int>(rng() % span_ms)));
    kill(run.pid, SIGKILL);
    CliResult r = WaitKeyshift(run);
    if (r.exit_code != 128 + SIGKILL) break;  // it finished (or failed) before the kill landed
    ++kills;
    std::this_thread::sleep_for(std::chrono::milliseconds(650));  // the dead runner's lease runs out
  }
  return kills;
}

}  // namespace keyshift::testing
