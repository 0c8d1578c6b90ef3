// Command-line parsing (CLI11), the command table, environment defaults and
// the error edge.
#include "cli/cli.h"

#include <unistd.h>

#include <charconv>
#include <csignal>
#include <cstdlib>
#include <system_error>
#include <mutex>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/option_helpers.h"
#include "cli/commands.h"
#include "cli/emit.h"
#include "cli/json_output.h"
#include "cli/secrets.h"
#include "cli/version.h"
#include "core/enum_words.h"
#include "core/text.h"
#include "engine/interrupt.h"

namespace keyshift {

namespace {

constexpr EnumWord<OnError> kOnErrorWords[] = {{OnError::kAbort, "abort"}, {OnError::kSkip, "skip"}};
constexpr EnumWord<OutputFormat> kOutputWords[] = {{OutputFormat::kText, "text"}, {OutputFormat::kJson, "json"}};


// TLS: rediss:// turns it on, these say how. The environment names are
// redis-cli's; --sni and --insecure have none, so that an environment can
// never quietly turn verification off.
void AddTlsOptions(CLI::App& app, CliOptions& o) {
  o.tls.ca_file = EnvOr("KEYSHIFT_CACERT", "");
  o.tls.cert_file = EnvOr("KEYSHIFT_CERT", "");
  o.tls.key_file = EnvOr("KEYSHIFT_KEY", "");
  app.add_option("--cacert", o.tls.ca_file,
                 "rediss://: CA certificate file (or directory) to verify the server with (env KEYSHIFT_CACERT; "
                 "default: the system's CAs)");
  app.add_option("--cert", o.tls.cert_file, "rediss://: client certificate, for servers that require one (env KEYSHIFT_CERT)");
  app.add_option("--key", o.tls.key_file, "rediss://: the client certificate's private key (env KEYSHIFT_KEY)");
  app.add_option("--sni", o.tls.sni, "rediss://: server name to send and to verify the certificate against (default: the URL's host)");
  app.add_flag("--insecure", o.tls.insecure, "rediss://: do not verify the server's certificate (still encrypted; for tests only)");
}

// Whether any TLS option (its names after `dashes`: "--" or "--to-") was
// given on the command line of `app`.
bool TlsFlagsGiven(const CLI::App& app, const std::string& dashes = "--") {
  for (const char* name : {"cacert", "cert", "key", "sni", "insecure"}) {
    const CLI::Option* opt = app.get_option_no_throw(dashes + name);
    if (opt && opt->count() > 0) return true;
  }
  return false;
}

// A URL (`option`'s value) with its TLS options applied. TLS flags on a
// plaintext URL are an error rather than ignored: the user meant TLS, and
// the password would otherwise cross the network in the clear.
// A URL (`option`'s value) with its TLS options applied. TLS flags on a
// plaintext URL are an error rather than ignored: the user meant TLS, and
// the password would otherwise cross the network in the clear. The
// --insecure warning is printed once per `warned`.
Result<RedisUrl> UrlWithTls(const std::string& text, const std::string& password, const TlsSettings& tls,
                            bool flags_given, const std::string& option, const std::string& dashes,
                            std::once_flag& warned) {
  auto url = ParseRedisUrl(text, password);
  if (!url.ok()) return url.error();
  if (!url->tls.enabled) {
    if (!flags_given) return url;
    return UsageError(fmt::format("{0}cacert, {0}cert, {0}key, {0}sni and {0}insecure are for TLS, but {1} '{2}' is "
                                  "plaintext: use rediss://", dashes, option, url->Redacted()));
  }
  url->tls = tls;
  url->tls.enabled = true;
  if (tls.insecure) {
    std::call_once(warned, [&dashes] {
      fmt::print(stderr, "keyshift: warning: {}insecure: the server's certificate is not verified; anyone on the "
                         "network path can pose as the server\n", dashes);
    });
  }
  return url;
}

Result<RedisUrl> MainUrl(const CliOptions& o) {
  static std::once_flag warned;
  return UrlWithTls(o.url, o.password, o.tls, o.tls_flags_given, "--url", "--", warned);
}

// copy's and compare's target: its password from the URL or KEYSHIFT_TO_PASSWORD.
Result<RedisUrl> ToUrl(const CliOptions& o) {
  static std::once_flag warned;
  if (o.to_url.empty()) return UsageError("--to URL is required: the Redis to copy to or compare with");
  return UrlWithTls(o.to_url, o.to_password, o.to_tls, o.to_tls_flags_given, "--to", "--to-", warned);
}

void AddNew(CLI::App& app, CliOptions& o) {
  app.add_option("slug", o.slug, "Short name for the migration, e.g. iso_dates (letters, digits, _ and -)")
      ->required();
}

void AddAllowEviction(CLI::App& app, CliOptions& o) {
  app.add_flag("--allow-eviction", o.allow_eviction,
               "Write even though maxmemory-policy is allkeys-*, which may evict keyshift's journal and state");
}

void AddDryRunBounds(CLI::App& app, CliOptions& o) {
  app.add_option("--limit", o.diff_limit, "With --dry-run: print at most this many diffs, then how many more")
      ->check(IntIn(0, kMaxCount));
  app.add_flag("--summary", o.summary, "With --dry-run: print the counts only, no diffs");
}

void AddWorkers(CLI::App& app, CliOptions& o) {
  app.add_option("--workers", o.workers,
                 fmt::format("Host mode: Lua states transforming keys in parallel; transforms must keep no state "
                             "between keys (default: 1 on 2 cores or fewer, else half the cores, at most {})",
                             kMaxDefaultWorkers))
      ->check(IntIn(1, kMaxWorkers));
}

void AddUp(CLI::App& app, CliOptions& o) {
  app.add_option("--to", o.to, "Apply pending migrations up to and including this version")
      ->check(IntIn(0, kMaxVersion));
  app.add_flag("--dry-run", o.dry_run, "Print a diff for every key that would change; write nothing at all");
  AddWordOption(app, "--mode", &o.mode, RunModeNames(), ParseRunMode, "Override the files' mode: host or server");
  app.add_option("--batch", o.batch, "Keys per SCAN batch and write pipeline (default: the file's scan.batch, or 500)")
      ->check(IntIn(1, 100000));
  AddWordOption(app, "--on-error", &o.on_error, Words(kOnErrorWords),
                [](std::string_view w) { return ParseWord(kOnErrorWords, w, "--on-error"); },
                "abort: stop at the first failing key (default); skip: log it, leave it as it was, go on");
  app.add_option("--max-errors", o.max_errors, "With --on-error skip: stop once this many keys have failed")
      ->check(IntIn(0, kMaxCount));
  AddWorkers(app, o);
  app.add_flag("--allow-drift", o.allow_drift, "Run even though an applied migration's file has changed since");
  app.add_flag("--out-of-order", o.out_of_order,
               "Apply a pending migration even though a later one is already applied (refused otherwise)");
  app.add_option("--journal-budget", o.journal_budget,
                 "Run even if the undo journal would not fit under maxmemory, as long as it stays under this size "
                 "(e.g. 2GB)");
  AddDryRunBounds(app, o);
  app.add_option("--memory-headroom", o.memory_headroom,
                 "Memory to keep free under maxmemory: the run stops cleanly (resumable) before using it; a share "
                 "of maxmemory or a size (default 5%)");
  AddAllowEviction(app, o);
}

void AddVerify(CLI::App& app, CliOptions& o) {
  app.add_option("version", o.version, "Migration to verify (default: every applied migration with a verify function)")
      ->check(IntIn(0, kMaxVersion));
  app.add_option("--limit", o.limit, "Print at most this many failing keys per migration (default 20)")
      ->check(IntIn(1, 1'000'000'000));
}

void AddDown(CLI::App& app, CliOptions& o) {
  app.add_option("--to", o.to, "Undo every applied migration above this version (--to 0: all of them, 0000 included)")
      ->check(IntIn(0, kMaxVersion));
  app.add_option("--steps", o.steps, "Undo this many of the most recent migrations (default 1)")
      ->check(IntIn(1, 1'000'000'000));
  app.add_option("--only", o.only, "Undo this one migration alone; refused when a later applied migration changed "
                                    "any of its keys")
      ->check(IntIn(0, kMaxVersion));
  app.add_flag("--dry-run", o.dry_run, "Print the diff each key would get; write nothing at all");
  app.add_flag("--force", o.force, "Also restore keys the application changed since the migration (overwrites them; revert is not used)");
  AddDryRunBounds(app, o);
  app.add_option("--batch", o.batch, "Journal entries per pipeline (default 500)")->check(IntIn(1, 100000));
  AddAllowEviction(app, o);
}

void AddPrune(CLI::App& app, CliOptions& o) {
  app.add_option("version", o.version, "The applied migration whose journal to drop")
      ->required()
      ->check(IntIn(0, kMaxVersion));
  app.add_flag("--yes", o.yes, "Do not ask for confirmation");
  AddAllowEviction(app, o);
}

void AddPlan(CLI::App& app, CliOptions& o) {
  app.add_option("--to", o.to, "Plan pending migrations up to and including this version")
      ->check(IntIn(0, kMaxVersion));
  app.add_option("--sample", o.sample, "Keys to examine per migration (default 2000)")
      ->check(IntIn(1, 1'000'000'000));
}

void AddCatchup(CLI::App& app, CliOptions& o) {
  app.add_option("version", o.version, "The applied migration to catch up")->required()->check(IntIn(0, kMaxVersion));
  app.add_flag("--dry-run", o.dry_run, "Print a diff for every key catch-up would change; write nothing at all");
  app.add_flag("--follow", o.follow,
               "After the rescan, keep transforming keys as the application writes them (keyspace notifications), "
               "until Ctrl-C or --for ends");
  app.add_option("--for", o.follow_for, "With --follow: stop after this long (e.g. 30s, 5m, 2h)");
  app.add_option("--batch", o.batch, "Keys per SCAN batch and write pipeline (default: the file's scan.batch)")
      ->check(IntIn(1, 100000));
  AddWorkers(app, o);
  AddAllowEviction(app, o);
  app.description(
      app.get_description() + "\n\n"
      "Transforms the keys of applied migration V whose value is not the one keyshift wrote: keys created\n"
      "since, and keys the application rewrote since (old instances of a rolling deploy). Each application\n"
      "write is transformed once; the journal then holds the application's last write before keyshift\n"
      "changed it, which is what `down` restores.\n"
      "SAFE ONLY IF THE TRANSFORM RECOGNISES A VALUE ALREADY IN THE NEW SHAPE AND RETURNS nil for it: a key\n"
      "the new application version wrote is transformed too. Preview with --dry-run first.\n"
      "--follow needs notify-keyspace-events to include Kg$lshz: keyshift sets it with CONFIG SET and\n"
      "restores it at the end; where CONFIG is refused it exits 2 naming the setting to ask for.\n"
      "Docs: docs/live.md");
}

void AddStatus(CLI::App& app, CliOptions& o) {
  app.add_flag("--check", o.check,
               "For CI: exit 0 when every migration is applied and clean, 1 when one failed, drifted or was "
               "interrupted, 4 when only pending migrations remain");
}

void AddNothing(CLI::App&, CliOptions&) {}

struct CommandSpec {
  const char* name;
  const char* help;
  void (*add_options)(CLI::App&, CliOptions&);
  CommandHandler run;
  const char* exits = nullptr;  // the exit codes it uses, for its --help (null: the usual ones)
};

constexpr const char* kWritingExits =
    "0 ok, 1 a migration or key failed, 2 usage or configuration error, 3 another run holds the lock, "
    "130/143 interrupted by Ctrl-C/SIGTERM and 141 output closed (resumable: run again)";

const CommandSpec kCommands[] = {
    {"new", "Write the next migration file from a commented template", AddNew, CmdNew,
     "0 written, 2 usage error (bad slug, unwritable directory)"},
    {"status", "Show every migration: pending, applied, running, failed or drifted", AddStatus, CmdStatus,
     "0 shown (with --check: everything applied and clean), 1 with --check: a migration failed, left failed keys, "
     "drifted or was interrupted, 2 usage or configuration error, 4 with --check: only pending migrations remain"},
    {"up", "Apply pending migrations in order (--dry-run to preview the diffs)", AddUp, CmdUp, kWritingExits},
    {"down", "Undo applied migrations from their journals (newest first)", AddDown, CmdDown, kWritingExits},
    {"verify", "Run the migrations' verify functions over their keys; exit 1 if any key fails", AddVerify, CmdVerify,
     "0 every key passes, 1 a key fails verify, 2 usage or configuration error"},
    {"check", "Lint the migration directory: syntax, fields, sandbox, numbering, drift", AddNothing, CmdCheck,
     "0 clean, 1 a file has an error or drifted, 2 usage error (no such directory)"},
    {"plan", "Estimate what `up` would do: keys matched, journal size, time", AddPlan, CmdPlan,
     "0 planned, 1 a migration file does not load, 2 usage or configuration error"},
    {"prune", "Drop an applied migration's undo journal, making it final", AddPrune, CmdPrune,
     "0 pruned, 1 refused (not applied, not confirmed), 2 usage or configuration error, 3 another run holds the lock"},
    {"catchup", "Transform an applied migration's keys the application wrote in the old shape since (--follow: as "
                "it writes them)", AddCatchup, CmdCatchup,
     "0 done (also --follow ended by --for or Ctrl-C after the rescan), 1 a key failed, 2 usage, configuration "
     "or server refusal, 3 another run holds the lock, 130/143 interrupted during the rescan (run again to resume)"},
    {"copy", "Copy every matching key to another Redis (--to URL): value, type and expiry; resumable", AddCopy,
     CmdCopy,
     "0 copied (or counted, with --dry-run), 1 a key conflicts (--on-conflict fail), was refused, or a migration "
     "failed on it (--apply/--revert: run again to retry), 2 usage or configuration error (bad or unreachable --url "
     "or --to, a migration unfinished on the source or without revert), 3 another copy holds the target's lock, "
     "130/143 interrupted (run again to resume)"},
    {"compare", "Compare the keys of --url and --to: missing, extra, type, TTL (and with --full, value)",
     AddCompare, CmdCompare, "0 no difference, 1 a difference, 2 usage or configuration error"},
};

constexpr const char* kFooter = R"(Environment:
  KEYSHIFT_URL     default for --url (else redis://127.0.0.1:6379/0)
  KEYSHIFT_DIR     default for --dir (else ./migrations)
  KEYSHIFT_PREFIX  default for --prefix (else keyshift:)
  KEYSHIFT_PASSWORD  the Redis password when the URL has none (also REDISCLI_AUTH)
  KEYSHIFT_CACERT  default for --cacert (else the system's CAs)
  KEYSHIFT_CERT    default for --cert
  KEYSHIFT_KEY     default for --key

Exit codes: 0 ok, 1 a migration, a key or verify failed, 2 usage or
configuration error, 3 another run holds the lock, 4 only pending migrations
remain (status --check), 130/143 interrupted by Ctrl-C/SIGTERM, 141 output
closed (both resumable: run again). `keyshift CMD --help` lists each
command's own.

Examples:
  keyshift new iso_dates            write migrations/0001_iso_dates.lua
  keyshift up --dry-run             see what every pending migration would change
  keyshift up                       apply them
  keyshift status                   see what is applied where
Docs: docs/getting-started.md, docs/migrations.md, docs/cli.md)";

// A subcommand's --help footer: the global options (read from `app` when
// shown, so every global option is listed) and the exit codes it uses.
std::string SubcommandFooter(const CLI::App& app, const CommandSpec& spec) {
  std::string text = "Global options (before or after the command):\n";
  for (const CLI::Option* opt : app.get_options()) {
    std::string name = opt->get_name();
    if (name.rfind("--", 0) != 0 || name == "--help" || name == "--help-all") continue;
    text += fmt::format("  {:<27} {}\n", name + (opt->get_type_size() != 0 ? " " + opt->get_type_name() : ""),
                        opt->get_description());
  }
  text += fmt::format("\nExit codes: {}.", spec.exits ? spec.exits : kWritingExits);
  return text;
}

// --output json as the command line has it, before (or without) a
// successful parse: parse errors must be JSON too.
bool JsonRequested(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--output=json" || (a == "--output" && i + 1 < argc && std::string(argv[i + 1]) == "json")) return true;
  }
  return false;
}

// A usage error before any command ran: one line on stderr, and the JSON
// error object on stdout when JSON was asked for.
int UsageFailure(int argc, char** argv, const std::string& message) {
  if (JsonRequested(argc, argv)) fmt::print("{}\n", DumpJson(ErrorJson(kExitUsage, message)));
  fmt::print(stderr, "keyshift: {}\n", TerminalSafe(message));
  return kExitUsage;
}

// The first word that is neither an option, an option's value nor a command.
// The global options that take a value are read from `app`.
std::string UnknownCommand(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (const CLI::Option* opt = app.get_option_no_throw(a); opt && opt->get_items_expected_min() > 0) {
      ++i;
      continue;
    }
    if (a.empty() || a[0] == '-') continue;
    for (const auto& spec : kCommands)
      if (a == spec.name) return "";
    return a;
  }
  return "";
}

}  // namespace

Context::Context(CliOptions options)
    : options_(std::move(options)), state_(options_.prefix), stdout_tty_(isatty(1)), stderr_tty_(isatty(2)) {}

Result<Topology*> Context::Redis() {
  if (conn_) return conn_.get();
  auto url = MainUrl(options_);
  if (!url.ok()) return url.error();
  auto conn = OpenTopology(*url);
  if (!conn.ok()) return conn.error();
  conn_ = std::move(conn.value());
  return conn_.get();
}

namespace {

// Fresh topologies to the Redis `url_of` names in `options`.
TopologyFactory FactoryOf(const CliOptions& options, Result<RedisUrl> (*url_of)(const CliOptions&)) {
  return [options, url_of]() -> Result<std::unique_ptr<Topology>> {
    auto url = url_of(options);
    if (!url.ok()) return url.error();
    return OpenTopology(*url);
  };
}

}  // namespace

TopologyFactory Context::ConnectionFactory() const { return FactoryOf(options_, MainUrl); }

Result<std::unique_ptr<Workspace>> Context::Open() {
  auto ws = std::make_unique<Workspace>();
  auto dir = ReadMigrationDir(options_.dir);
  if (!dir.ok()) return dir.error();
  ws->dir = std::move(dir.value());
  if (!json())
    for (const auto& w : ws->dir.warnings) fmt::print(stderr, "warning: {}\n", TerminalSafe(w));
  auto conn = Redis();
  if (!conn.ok()) return conn.error();
  ws->conn = *conn;
  auto cat = LoadCatalog(ws->conn, state_, ws->dir);
  if (!cat.ok()) return cat.error();
  ws->catalog = std::move(cat.value());
  return ws;
}

Result<std::unique_ptr<Lock>> Context::LockAndReload(Workspace& ws, const std::string& command) {
  auto lock = Lock::Acquire(ws.conn, state_, command, ConnectionFactory());
  if (!lock.ok()) return lock.error();
  auto cat = LoadCatalog(ws.conn, state_, ws.dir);
  if (!cat.ok()) return cat.error();
  ws.catalog = std::move(cat.value());
  return std::move(lock.value());
}

Result<RedisUrl> Context::Url() const { return MainUrl(options_); }

Result<Topology*> Context::Target() {
  if (target_) return target_.get();
  auto url = ToUrl(options_);
  if (!url.ok()) return Error{url.error().exit_code, "--to: " + url.error().message};
  auto conn = OpenTopology(*url);
  if (!conn.ok()) return Error{conn.error().exit_code, "the target (--to): " + conn.error().message};
  target_ = std::move(conn.value());
  return target_.get();
}

TopologyFactory Context::TargetFactory() const { return FactoryOf(options_, ToUrl); }

std::string Context::RedisDescription() const {
  auto url = ParseRedisUrl(options_.url, options_.password);
  return url.ok() ? url->Redacted() : "(invalid url)";
}

int ReportError(const Context& ctx, const Error& error) {
  if (ctx.json()) {
    JsonStream& doc = ctx.json_out();
    if (!doc.started()) fmt::print("{}\n", DumpJson(ErrorJson(error.exit_code, error.message)));
    else doc.FinishWithError(ErrorJson(error.exit_code, error.message));
  }
  Emit(stderr, fmt::format("keyshift: {}\n", TerminalSafe(error.message)));
  return error.exit_code;
}

namespace {

// Parses the command line into `o` and picks the command; an exit code when
// there is nothing to run (help, usage error).
std::optional<int> Parse(int argc, char** argv, CliOptions& o, const CommandSpec** chosen) {
  CLI::App app{"keyshift: data migrations for Redis keyspaces.\n"
               "Migrations are Lua files (NNNN_slug.lua) in a directory kept in git; keyshift applies them\n"
               "in order, journals every change so `down` can undo it, and resumes interrupted runs.",
               "keyshift"};
  app.require_subcommand(1);
  app.fallthrough();
  o.url = EnvOr("KEYSHIFT_URL", "redis://127.0.0.1:6379/0");
  o.dir = EnvOr("KEYSHIFT_DIR", "migrations");
  o.prefix = EnvOr("KEYSHIFT_PREFIX", "keyshift:");
  app.add_option("--url", o.url, "redis[s]://[user:pass@]host:port[/db] (env KEYSHIFT_URL; rediss:// for TLS)");
  app.add_option("--dir", o.dir, "Migration directory (env KEYSHIFT_DIR, default ./migrations)");
  app.add_option("--prefix", o.prefix, "Prefix of keyshift's own keys in Redis (env KEYSHIFT_PREFIX, default keyshift:)");
  AddWordOption(app, "--output", &o.output, Words(kOutputWords),
                [](std::string_view w) { return ParseWord(kOutputWords, w, "--output"); },
                "text (default) or json, for CI");
  app.add_option("--password-file", o.password_file,
                 "Read the Redis password from this file (else env KEYSHIFT_PASSWORD or REDISCLI_AUTH)");
  AddTlsOptions(app, o);
  app.set_version_flag("--version", [] { return VersionText(CurrentVersion()); },
                       "Print keyshift's version, git commit, and its Lua and hiredis versions");
  for (const auto& spec : kCommands) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.help);
    spec.add_options(*sub, o);
    sub->callback([chosen, &spec] { *chosen = &spec; });
    sub->footer([&app, &spec] { return SubcommandFooter(app, spec); });
  }
  app.footer(kFooter);  // after the subcommands: they would inherit it
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForVersion& e) {
    if (JsonRequested(argc, argv)) fmt::print("{}\n", VersionJson(CurrentVersion()));
    else fmt::print("{}", e.what());
    return kExitOk;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (std::string unknown = UnknownCommand(app, argc, argv); !unknown.empty()) {
      std::string commands;
      for (const auto& spec : kCommands) commands += std::string(commands.empty() ? "" : " ") + spec.name;
      return UsageFailure(argc, argv, fmt::format("unknown command '{}' (commands: {}; see keyshift --help)",
                                                  unknown, commands));
    }
    if (!JsonRequested(argc, argv)) {
      app.exit(e);
      return kExitUsage;
    }
    return UsageFailure(argc, argv, e.what());
  }
  o.tls_flags_given = TlsFlagsGiven(app);
  o.to_tls_flags_given = TlsFlagsGiven(*app.get_subcommand((*chosen)->name), "--to-");
  return std::nullopt;
}

int Run(int argc, char** argv) {
  CliOptions o;
  const CommandSpec* chosen = nullptr;
  if (auto code = Parse(argc, argv, o, &chosen)) return *code;
  ScrubUrlArguments(argc, argv);
  auto password = ResolvePassword(o.password_file);
  if (password.ok()) o.password = *password;
  Context ctx(o);
  if (!password.ok()) return ReportError(ctx, password.error());
  if (Status st = StateKeys::Validate(o.prefix); !st) return ReportError(ctx, st.error());
  return chosen->run(ctx);
}

}  // namespace

int RunCli(int argc, char** argv) {
  InstallInterruptHandlers();
  try {
    return Run(argc, argv);
  } catch (const std::system_error& e) {
    // stdout or stderr went away (`keyshift ... | head`): stop quietly.
    if (e.code() == std::errc::broken_pipe) return 128 + SIGPIPE;
    std::fprintf(stderr, "keyshift: internal error: %s\n", TerminalSafe(e.what()).c_str());
    return kExitFailed;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "keyshift: internal error: %s\n", TerminalSafe(e.what()).c_str());
    return kExitFailed;
  }
}

}  // namespace keyshift
