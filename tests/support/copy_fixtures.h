// Shared by the copy and compare tests (tests/integration/copy*_test.cc):
// seeding every type, running `copy` and `compare` with JSON output, two
// servers, and the names of the copy's state keys on the target.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {

bool Contains(const std::string& text, const std::string& part);

// A binary key name and value (NUL and 0xff bytes).
extern const std::string kBinKey;
extern const std::string kBinValue;

// Every type, with and without expiry, binary names and values, a hash big
// enough for the hashtable encoding and one small enough for a listpack, and
// one key under keyshift's prefix (not data). Returns how many data keys it wrote.
int SeedEveryType(RedisConnection& conn);

// The JSON object a run printed (REQUIREd).
nlohmann::json Json(const CliResult& r);

// `--output json copy --to TO MORE...` and the same for compare.
CliResult Copy(const Keyshift& ks, const std::string& to, std::vector<std::string> more = {});
CliResult Compare(const Keyshift& ks, const std::string& to, std::vector<std::string> more = {});

// `compare --to TO MORE...` CHECKed to exit 0 with no difference.
void ExpectNoDifference(const Keyshift& ks, const std::string& to, std::vector<std::string> more);

// A source and a target server, a connection to each, and keyshift on the source.
struct TwoServers {
  RedisServer source, target;
  TempDir dir;
  std::unique_ptr<Topology> src = source.Connect();
  std::unique_ptr<Topology> dst = target.Connect();
  Keyshift ks{source, dir};
};

// keyshift's own keys on a target (the copy's checkpoint and marks).
std::vector<std::string> StateKeysOn(RedisConnection& conn);

// On the target: the checkpoint of a copy from `source`, and the progress
// hash or the temporary big key of `key` (engine/copy.h).
std::string CheckpointOf(const RedisServer& source);
std::string MarksOf(const RedisServer& source, const std::string& key);
std::string ChunksOf(const RedisServer& source, const std::string& key);

}  // namespace keyshift::testing
