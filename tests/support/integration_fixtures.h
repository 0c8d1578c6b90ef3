// Shared fixtures for the end-to-end tests in tests/integration: a temp
// migration directory per test, a runner bound to one RedisServer and one
// directory, and small helpers to look at a keyspace (change counter, DUMPs,
// SCAN) from the test's own connection.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "redis/redis_client.h"
#include "tests/support/redis_server.h"
#include "tests/support/run_cli.h"

namespace keyshift::testing {

// A fresh directory under the system temp dir, removed with everything in it
// when the object goes away.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "keyshift-it");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes (or overwrites) `name` inside the directory; returns its full path.
  std::string Write(const std::string& name, const std::string& text) const;
  std::string Read(const std::string& name) const;
  bool Exists(const std::string& name) const;
  void Remove(const std::string& name) const;

 private:
  std::string path_;
};

// Runs the keyshift binary with --url (the server's, unless overridden) and
// --dir (the TempDir) in front of `args`.
class Keyshift {
 public:
  Keyshift(const RedisServer& server, const TempDir& dir) : url_(server.url()), dir_(dir.path()) {}
  Keyshift(std::string url, const TempDir& dir) : url_(std::move(url)), dir_(dir.path()) {}
  CliResult Run(const std::vector<std::string>& args, int timeout_seconds = 60) const;
  std::vector<std::string> Args(const std::vector<std::string>& args) const;

 private:
  std::string url_;
  std::string dir_;
};

// A run started in the background (fork/exec, output to files), for tests
// that need two runners at once. Thread-free, so no Catch2 macro ever runs
// off the main thread.
struct Spawned {
  pid_t pid = -1;
  std::string out_path, err_path;
};
// `scratch` holds the captured output; `name` tells two runs apart.
// `env` is added to the child's environment (after KEYSHIFT_* is stripped).
Spawned SpawnKeyshift(const std::vector<std::string>& args, const TempDir& scratch, const std::string& name,
                      const std::map<std::string, std::string>& env = {});
// Waits for the run (killing it after timeout_seconds, which FAILs the test).
CliResult WaitKeyshift(const Spawned& run, int timeout_seconds = 60);

// A server-mode migration over r:* (strings, limits.time_ms 300) whose
// transform loops forever on r:2, only inside Redis: the host pre-flight
// passes, the server spins until keyshift's watchdog sends SCRIPT KILL.
extern const char* const kRunawayOnR2;

// A 600 ms lock lease, so tests that kill runners do not wait 10 s for it.
extern const std::map<std::string, std::string> kShortLease;
// Starts `up` up to `rounds` times and SIGKILLs each run after a random
// 20-170 ms (seeded), waiting out the dead runner's lease; stops early when a
// run finishes first. Returns how many kills landed. `up`: the command run.
int KillUpRepeatedly(const Keyshift& ks, const TempDir& scratch, int rounds, unsigned seed,
                     const std::vector<std::string>& up = {"up"});
// Runs `up` (short lease) until it does not meet a dead runner's lock.
CliResult UpUntilDone(const Keyshift& ks);
// The same for any command.
CliResult RunUntilDone(const Keyshift& ks, const std::vector<std::string>& args);

// A migration that appends `suffix` to every string key matching `match`
// (not idempotent: a second application shows), busy for `ms_per_key`
// milliseconds per key so that a run is still going when a test acts on it.
std::string AppendMigration(const std::string& match, const std::string& suffix, int batch = 500,
                            double ms_per_key = 0);

// Appends "!" to every e:* string key (batches of 50), and fails with
// "bad key KEY" (at line 5) on keys ending in 7: failing keys, for the tests
// of --on-error and --max-errors.
extern const char* const kFailsOnSeven;

// For INFO(): exit code, stdout and stderr of a run.
std::string Describe(const CliResult& r);

// One command that must succeed (REQUIREd).
Reply Cmd(RedisConnection& conn, const Command& command);
// prefix + first, ..., prefix + (first + n - 1).
std::vector<std::string> NumberedKeys(const std::string& prefix, int first, int n);
// SET every NumberedKeys(prefix, first, n) key to `value`, pipelined.
void SeedStrings(RedisConnection& conn, const std::string& prefix, int n, const std::string& value, int first = 0);
// The string values of `keys`, in order (MGET in chunks).
std::vector<std::string> Values(RedisConnection& conn, const std::vector<std::string>& keys);
// A numeric field of an INFO section ("memory", "number_of_cached_scripts").
long long InfoNumber(RedisConnection& conn, const std::string& section, const std::string& name);
// INFO persistence's rdb_changes_since_last_save: every write bumps it.
long long RdbChanges(RedisConnection& conn);
// Every key matching `pattern` (SCAN), sorted.
std::vector<std::string> ScanKeys(RedisConnection& conn, const std::string& pattern = "*");
// key -> DUMP payload + "@" + PEXPIRETIME, for every key that is not under
// `skip_prefix` (keyshift's own state): equal maps mean byte-identical data.
std::map<std::string, std::string> SnapshotData(RedisConnection& conn, const std::string& skip_prefix = "keyshift:");
// Polls `command` until its reply is `wanted` (a wait with a generous bound,
// not a timing assertion; REQUIREd).
void WaitForReply(RedisConnection& conn, const Command& command, const std::string& wanted);
// Waits likewise until one client (a --follow) has a pattern subscription.
void WaitForSubscriber(RedisConnection& conn);
// Array reply as strings; flat pair array as a map.
std::vector<std::string> Strings(const Reply& reply);
std::map<std::string, std::string> PairMap(const Reply& reply);
// True when `text` contains an ESC byte (ANSI color or cursor control).
bool HasAnsi(const std::string& text);
// Number of non-empty lines.
int CountLines(const std::string& text);

// Every key's type, absolute expiry and value (read by type, sorted where
// Redis has no order) as text, keyshift's own keys left out: two servers with
// equal maps hold the same data.
std::map<std::string, std::string> ReadAll(RedisConnection& conn);
// `check` accepts the directory (REQUIREd), then `up` runs it in host mode on
// `host_server` and in server mode on `server_server`, both REQUIREd to succeed.
void RunBothModes(const TempDir& dir, const RedisServer& host_server, const RedisServer& server_server);

}  // namespace keyshift::testing
