// The options of copy and compare: the target, its TLS, and the
// migrations run on the way.
#include <CLI/CLI.hpp>

#include "cli/option_helpers.h"
#include "core/enum_words.h"
#include "engine/copy.h"

namespace keyshift {
namespace {

constexpr EnumWord<OnConflict> kOnConflictWords[] = {
    {OnConflict::kFail, "fail"}, {OnConflict::kSkip, "skip"}, {OnConflict::kOverwrite, "overwrite"}};

// The target of copy and compare, and its own TLS options (the source's are
// --cacert...): two managed services rarely share a CA.
void AddTarget(CLI::App& app, CliOptions& o) {
  o.to_password = EnvOr("KEYSHIFT_TO_PASSWORD", "");
  app.add_option("--to", o.to_url, "The target: redis[s]://[user:pass@]host:port[/db] (password also from env "
                                   "KEYSHIFT_TO_PASSWORD)")->required();
  app.add_option("--to-cacert", o.to_tls.ca_file, "rediss:// target: CA certificate file (or directory)");
  app.add_option("--to-cert", o.to_tls.cert_file, "rediss:// target: client certificate");
  app.add_option("--to-key", o.to_tls.key_file, "rediss:// target: the client certificate's private key");
  app.add_option("--to-sni", o.to_tls.sni, "rediss:// target: server name to send and verify");
  app.add_flag("--to-insecure", o.to_tls.insecure, "rediss:// target: do not verify its certificate (tests only)");
  app.add_option("--match", o.match, "Only keys matching this SCAN pattern (default: all; keyshift's own never)");
  app.add_option("--batch", o.batch, "Keys per SCAN batch and pipeline (default 500)")->check(IntIn(1, 100000));
}

// --apply and --revert, shared by copy and compare.
void AddTransforms(CLI::App& app, CliOptions& o) {
  app.add_flag("--apply", o.apply,
               "Run the migrations pending on the source (per its ledger, from --dir) on every key on the way: "
               "the target gets the new shape, the source keeps the old one");
  app.add_option("--to-version", o.to_version, "With --apply: only the pending migrations up to version V")
      ->check(IntIn(0, kMaxCount));
  app.add_flag("--revert", o.revert,
               "Run the `revert` of every migration applied on the source and not on the target, newest first "
               "(the way back from green to blue)");
  app.add_option("--without-revert", o.without_revert,
                 "With --revert: copy this migration's keys in its new shape instead (repeatable)")
      ->check(IntIn(0, kMaxCount));
}

}  // namespace

void AddCopy(CLI::App& app, CliOptions& o) {
  AddTarget(app, o);
  AddTransforms(app, o);
  AddWordOption(app, "--on-conflict", &o.on_conflict, Words(kOnConflictWords),
                [](std::string_view w) { return ParseWord(kOnConflictWords, w, "--on-conflict"); },
                "A key that already exists on the target: fail (default: stop, naming it), skip (leave it), "
                "overwrite (replace it)");
  app.add_flag("--dry-run", o.dry_run, "Count what would be copied and the conflicts; write nothing anywhere");
  app.add_flag("--follow", o.follow,
               "After the snapshot, keep the target in step with the source's writes, deletes and expiries "
               "(keyspace notifications) until Ctrl-C or --for ends");
  app.add_option("--for", o.follow_for, "With --follow: stop after this long (e.g. 30s, 5m, 2h)");
  app.description(app.get_description() + "\n\n"
                  "Copies value, type and absolute expiry of every matching key (DUMP/RESTORE; both servers\n"
                  "must share the RDB format, e.g. Redis 7.0 to 7.0). Checkpointed on the target after every\n"
                  "batch: run the same command again after an interruption to resume. --follow needs\n"
                  "notify-keyspace-events to include Kg$lshzxe on the source: set with CONFIG SET and restored at\n"
                  "the end; where CONFIG is refused it exits 2 naming the setting. --apply transforms on the way\n"
                  "(blue/green), --revert reverts on the way back; the target's ledger records the result.\n"
                  "Docs: docs/copy.md");
}

void AddCompare(CLI::App& app, CliOptions& o) {
  AddTarget(app, o);
  AddTransforms(app, o);
  app.add_option("--sample", o.compare_sample, "Check only the first N keys the scan returns on each side")
      ->check(IntIn(1, kMaxCount));
  app.add_flag("--full", o.full, "Also compare values (by content, not encoding); default: type and TTL only");
  app.add_option("--limit", o.limit, "Name at most this many keys per kind of difference (default 20)")
      ->check(IntIn(1, 1'000'000));
}

}  // namespace keyshift
