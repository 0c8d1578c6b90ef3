// The command line: global options, the table of subcommands, and the one
// place where an Error becomes a message and an exit code (SPEC 4).
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/json_stream.h"
#include "core/result.h"
#include "core/run_mode.h"
#include "engine/catalog.h"
#include "engine/copy.h"
#include "engine/lock.h"
#include "engine/run_options.h"
#include "engine/state_keys.h"
#include "engine/transform_pool.h"
#include "redis/redis_client.h"
#include "redis/topology.h"

namespace keyshift {

enum class OutputFormat { kText, kJson };  // --output text|json

// Every option of every command; each command reads the ones it declared.
struct CliOptions {
  // global
  std::string url, dir, prefix;
  OutputFormat output = OutputFormat::kText;
  std::string password_file;
  std::string password;  // from --password-file, KEYSHIFT_PASSWORD or REDISCLI_AUTH; the URL's wins
  TlsSettings tls;              // --cacert --cert --key --sni --insecure; on with rediss://
  bool tls_flags_given = false;  // any of those on the command line (not from the environment)
  // new
  std::string slug;
  // up
  std::optional<long long> to;
  bool dry_run = false;
  std::optional<RunMode> mode;  // --mode; unset: each file's own
  std::optional<int> batch;
  OnError on_error = OnError::kAbort;
  long long max_errors = 0;
  std::optional<int> workers;  // up, catchup: host-mode transform workers; unset: from the core count
  bool allow_drift = false;
  bool out_of_order = false;  // up: apply a pending migration older than the newest applied one
  std::string journal_budget;  // up: accept a journal this big even past maxmemory
  std::optional<long long> diff_limit;  // up, down --dry-run --limit: diffs shown
  bool summary = false;                 // up, down --dry-run --summary: counts only
  std::string memory_headroom;  // up: memory kept free under maxmemory (memory_guard.h)
  bool allow_eviction = false;  // up, down, prune: run under an allkeys-* policy (server_check.h)
  // status
  bool check = false;  // --check: the exit code says whether all is applied and clean
  // plan
  long long sample = 2000;
  // down
  std::optional<int> steps;
  std::optional<long long> only;  // down --only V
  bool force = false;
  // catchup
  bool follow = false;
  std::string follow_for;  // --for: how long to follow ("" = until Ctrl-C)
  // verify, prune, catchup
  std::optional<long long> version;
  int limit = 20;
  bool yes = false;
  // copy, compare: the target (--to URL and its own TLS options, password
  // from the URL or KEYSHIFT_TO_PASSWORD)
  std::string to_url;
  std::string to_password;
  TlsSettings to_tls;
  bool to_tls_flags_given = false;
  std::string match = "*";
  OnConflict on_conflict = OnConflict::kFail;
  long long compare_sample = 0;  // compare --sample (0: every key)
  bool full = false;             // compare --full
  // copy, compare: the migrations run on the way (engine/copy_transform.h)
  bool apply = false;                      // --apply: the source's pending ones
  std::optional<long long> to_version;     // --to-version V: pending ones up to V
  bool revert = false;                     // --revert: reverts of those the target lacks
  std::vector<long long> without_revert;   // --without-revert V: copied in the new shape
};

// --workers, or the default for this machine's cores.
inline int Workers(const CliOptions& o) {
  return o.workers.value_or(DefaultWorkers(std::thread::hardware_concurrency()));
}

// What a command handler gets: its options, output streams, and a lazily
// opened Redis connection.
class Context {
 public:
  explicit Context(CliOptions options);
  const CliOptions& options() const { return options_; }
  bool json() const { return options_.output == OutputFormat::kJson; }
  bool stdout_tty() const { return stdout_tty_; }
  bool stderr_tty() const { return stderr_tty_; }
  const StateKeys& state() const { return state_; }
  // The --output json document on stdout, streamed by the commands whose
  // output grows with the keys; ReportError ends it when a run fails part-way.
  JsonStream& json_out() const { return *json_out_; }
  // The server or cluster --url names, connected on first use.
  Result<Topology*> Redis();
  // Opens further connections to the same Redis (the lock's renewal thread,
  // the script watchdog, a subscriber): each a topology of its own.
  TopologyFactory ConnectionFactory() const;
  std::string RedisDescription() const;
  // --url parsed, its TLS options applied.
  Result<RedisUrl> Url() const;
  // The server or cluster --to names (copy, compare), connected on first use;
  // its errors say it is the target.
  Result<Topology*> Target();
  TopologyFactory TargetFactory() const;
  // Reads the migration directory (its warnings to stderr unless JSON),
  // connects, and loads the catalog.
  Result<std::unique_ptr<Workspace>> Open();
  // Takes the lock for `command`, then reloads `ws`'s catalog under it: what
  // a writing command decides must not come from before another runner's
  // changes (two `up`s each applying the same migration).
  Result<std::unique_ptr<Lock>> LockAndReload(Workspace& ws, const std::string& command);

 private:
  CliOptions options_;
  StateKeys state_;
  bool stdout_tty_, stderr_tty_;
  std::unique_ptr<Topology> conn_;
  std::unique_ptr<Topology> target_;
  std::unique_ptr<JsonStream> json_out_ = std::make_unique<JsonStream>(stdout);
};

using CommandHandler = int (*)(Context&);

// Runs the command line; returns the process exit code.
int RunCli(int argc, char** argv);

// Prints `error` once, in the chosen output format; returns its exit code.
// A JSON document already started on stdout is ended with it (one document).
int ReportError(const Context& ctx, const Error& error);

}  // namespace keyshift
