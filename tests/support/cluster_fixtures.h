// Fixtures for keyshift's end-to-end tests on a Redis Cluster: documents
// seeded through the harness, a non-idempotent migration (a JSON counter +1,
// so a second application shows as n = 2), and reads of the whole keyspace
// node by node through the harness's own connections, never through
// keyshift's routing.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/integration_fixtures.h"
#include "tests/support/redis_cluster.h"

namespace keyshift::testing {

// `prefix` + i holds {"id":i,"n":0} for i in [first, first + n).
void SeedDocs(RedisCluster& cluster, const std::string& prefix, int n, int first = 0);
// The document SeedDocs wrote for `id`, with its counter at `n`.
std::string Doc(int id, int n);

// A migration over the string keys matching `match` that decodes each value
// as JSON and adds 1 to its field n (not idempotent); `verify` wants n == 1.
// `ms_per_key` of busy work (CPU time, host mode only) per key keeps a run
// going while a test acts.
std::string BumpMigration(const std::string& match, int batch, const std::string& mode = "host",
                          double ms_per_key = 0);

// Seeds doc:0..docs-1 (SeedDocs), writes BumpMigration("doc:*", ...) as
// 0001_bump.lua into `dir`, and returns a runner for `url` and `dir`.
Keyshift BumpSetup(RedisCluster& cluster, const std::string& url, const TempDir& dir, int docs, int batch,
                   const std::string& mode = "host", double ms_per_key = 0);

// key -> value of every string key matching `match`, read from every node
// (SCAN, then pipelined GETs on the same node).
std::map<std::string, std::string> ClusterStrings(RedisCluster& cluster, const std::string& match);
// "" when `prefix` + i holds Doc(i, 1) for every i in [first, first + n) and
// no other key matches `prefix*`; otherwise the count and the first keys that
// are missing, doubled or untouched.
std::string NotBumpedOnce(RedisCluster& cluster, const std::string& prefix, int n, int first = 0);

// key -> "type|absolute expiry|value" (sets and hashes sorted) for every
// key starting with one of `prefixes`, read node by node and pipelined: two
// equal maps mean the same data, types and TTLs.
std::map<std::string, std::string> ClusterReadAll(RedisCluster& cluster, const std::vector<std::string>& prefixes);

// The ledger entry of migration `name` from `status --output json` (with
// `global` options such as --prefix in front), REQUIREd to exist.
nlohmann::json LedgerOf(const Keyshift& ks, const std::string& name, const std::vector<std::string>& global = {});

// Whether 0001_bump's ledger counts between `low` and `high` keys changed
// (shown on failure).
bool LedgerBetween(const Keyshift& ks, long long low, long long high);

// REQUIREs exit code `code`, showing the run's output if not.
void ExpectExit(const CliResult& r, int code);

// Spawns `args` up to `rounds` times, SIGKILLing each run after a random
// delay in [min_ms, min_ms + span_ms) and waiting out its short lease.
// Returns how many runs the kill ended (runs that finished first do not count).
int KillRepeatedly(const Keyshift& ks, const std::vector<std::string>& args, const TempDir& scratch, int rounds,
                   unsigned seed, int min_ms, int span_ms);

}  // namespace keyshift::testing
