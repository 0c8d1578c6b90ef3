// Owns the shared end-to-end fixtures (see integration_fixtures.h).
#include "tests/support/integration_fixtures.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#ifndef KEYSHIFT_BINARY
#error "KEYSHIFT_BINARY must be defined (path of the keyshift executable)"
#endif

extern char** environ;

namespace keyshift::testing {

namespace fs = std::filesystem;

TempDir::TempDir(const std::string& tag) {
  std::string pattern = (fs::temp_directory_path() / (tag + "-XXXXXX")).string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name, const std::string& text) const {
  std::string full = (fs::path(path_) / name).string();
  std::ofstream out(full, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  REQUIRE(out.good());
  return full;
}

std::string TempDir::Read(const std::string& name) const {
  std::ifstream in(fs::path(path_) / name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool TempDir::Exists(const std::string& name) const { return fs::exists(fs::path(path_) / name); }

void TempDir::Remove(const std::string& name) const {
  std::error_code ec;
  fs::remove(fs::path(path_) / name, ec);
}

std::vector<std::string> Keyshift::Args(const std::vector<std::string>& args) const {
  std::vector<std::string> all = {"--url", url_, "--dir", dir_};
  all.insert(all.end(), args.begin(), args.end());
  return all;
}

CliResult Keyshift::Run(const std::vector<std::string>& args, int timeout_seconds) const {
  return RunKeyshift(Args(args), "", {}, timeout_seconds);
}

Spawned SpawnKeyshift(const std::vector<std::string>& args, const TempDir& scratch, const std::string& name,
                      const std::map<std::string, std::string>& env) {
  Spawned run;
  run.out_path = (fs::path(scratch.path()) / (name + ".out")).string();
  run.err_path = (fs::path(scratch.path()) / (name + ".err")).string();
  // Everything the child needs is prepared before fork.
  std::vector<std::string> argv_s = {KEYSHIFT_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string(*e).rfind("KEYSHIFT_", 0) != 0) env_s.push_back(*e);
  for (const auto& [name_, value] : env) env_s.push_back(name_ + "=" + value);
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  for (auto& s : env_s) envp.push_back(s.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  int out_fd = open(run.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err_fd = open(run.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(out_fd >= 0);
  REQUIRE(err_fd >= 0);
  REQUIRE(in_fd >= 0);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out_fd);
  close(err_fd);
  close(in_fd);
  REQUIRE(pid > 0);
  run.pid = pid;
  return run;
}

CliResult WaitKeyshift(const Spawned& run, int timeout_seconds) {
  CliResult r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  int status = 0;
  bool timed_out = false;
  while (true) {
    pid_t done = waitpid(run.pid, &status, WNOHANG);
    if (done == run.pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(run.pid, SIGKILL);
      waitpid(run.pid, &status, 0);
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  };
  r.out = slurp(run.out_path);
  r.err = slurp(run.err_path);
  if (timed_out) FAIL("keyshift did not finish within " << timeout_seconds << " s\n" << Describe(r));
  return r;
}

std::string AppendMigration(const std::string& match, const std::string& suffix, int batch, double ms_per_key) {
  return fmt::format(R"(return {{
  description = "append {suffix}",
  scan = {{ match = "{match}", type = "string", batch = {batch} }},
  transform = function(key, value)
    local t = os.clock() + {seconds}
    while os.clock() < t do end
    return value .. "{suffix}"
  end,
}})",
                     fmt::arg("suffix", suffix), fmt::arg("match", match), fmt::arg("batch", batch),
                     fmt::arg("seconds", ms_per_key / 1000));
}

const char* const kFailsOnSeven = R"(return {
  description = "fails on every key ending in 7",
  scan = { match = "e:*", type = "string", batch = 50 },
  transform = function(key, value)
    if key:match("7$") then error("bad key " .. key) end
    return value .. "!"
  end,
})";

std::string Describe(const CliResult& r) {
  return "exit code " + std::to_string(r.exit_code) + "\n--- stdout ---\n" + r.out + "--- stderr ---\n" + r.err;
}

Reply Cmd(RedisConnection& conn, const Command& command) {
  auto reply = conn.Call(command);
  if (!reply.ok()) FAIL(command[0] << ": " << reply.error().message);
  return reply.value();
}

const char* const kRunawayOnR2 = R"(return {
  description = "spins forever inside Redis",
  mode = "server",
  scan = { match = "r:*", type = "string" },
  limits = { time_ms = 300 },
  transform = function(key, value)
    if key == "r:2" and rawget(_G, "redis") then
      while true do end
    end
    return value .. "!"
  end,
})";

const std::map<std::string, std::string> kShortLease = {{"KEYSHIFT_LOCK_LEASE_MS", "600"}};

int KillUpRepeatedly(const Keyshift& ks, const TempDir& scratch, int rounds, unsigned seed,
                     const std::vector<std::string>& up) {
  std::mt19937 rng(seed);
  int kills = 0;
  for (int round = 0; round < rounds; ++round) {
    Spawned run = SpawnKeyshift(ks.Args(up), scratch, "run" + std::to_string(round), kShortLease);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 150));
    if (kill(run.pid, SIGKILL) == 0) ++kills;
    if (WaitKeyshift(run).exit_code == 0) break;  // it finished before the kill landed
    std::this_thread::sleep_for(std::chrono::milliseconds(650));  // the dead runner's lease runs out
  }
  return kills;
}

CliResult RunUntilDone(const Keyshift& ks, const std::vector<std::string>& args) {
  CliResult r;
  for (int attempt = 0; attempt < 20; ++attempt) {
    r = RunKeyshift(ks.Args(args), "", kShortLease, 120);
    if (r.exit_code != 3) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return r;
}

CliResult UpUntilDone(const Keyshift& ks) { return RunUntilDone(ks, {"up"}); }

std::vector<std::string> NumberedKeys(const std::string& prefix, int first, int n) {
  std::vector<std::string> keys;
  for (int i = first; i < first + n; ++i) keys.push_back(prefix + std::to_string(i));
  return keys;
}

void WaitForReply(RedisConnection& conn, const Command& command, const std::string& wanted) {
  for (int i = 0; i < 1000 && Cmd(conn, command).str != wanted; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(Cmd(conn, command).str == wanted);
}

void WaitForSubscriber(RedisConnection& conn) {
  for (int i = 0; i < 1000 && Cmd(conn, {"PUBSUB", "NUMPAT"}).integer == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(Cmd(conn, {"PUBSUB", "NUMPAT"}).integer == 1);
}

void SeedStrings(RedisConnection& conn, const std::string& prefix, int n, const std::string& value, int first) {
  auto keys = NumberedKeys(prefix, first, n);
  for (size_t i = 0; i < keys.size(); i += 1000) {
    std::vector<Command> batch;
    for (size_t j = i; j < keys.size() && j < i + 1000; ++j) batch.push_back({"SET", keys[j], value});
    REQUIRE(conn.Pipeline(batch).ok());
  }
}

std::vector<std::string> Values(RedisConnection& conn, const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  for (size_t i = 0; i < keys.size(); i += 1000) {
    Command mget{"MGET"};
    for (size_t j = i; j < keys.size() && j < i + 1000; ++j) mget.push_back(keys[j]);
    for (auto& e : Cmd(conn, mget).elements) out.push_back(e.str);
  }
  return out;
}

long long InfoNumber(RedisConnection& conn, const std::string& section, const std::string& name) {
  std::string info = Cmd(conn, {"INFO", section}).str;
  const std::string field = "\n" + name + ":";
  auto at = info.find(field);
  REQUIRE(at != std::string::npos);
  return std::stoll(info.substr(at + field.size()));
}

long long RdbChanges(RedisConnection& conn) { return InfoNumber(conn, "persistence", "rdb_changes_since_last_save"); }

std::vector<std::string> ScanKeys(RedisConnection& conn, const std::string& pattern) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    Reply r = Cmd(conn, {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    REQUIRE(r.elements.size() == 2);
    cursor = r.elements[0].str;
    for (const auto& k : r.elements[1].elements) keys.push_back(k.str);
  } while (cursor != "0");
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::map<std::string, std::string> SnapshotData(RedisConnection& conn, const std::string& skip_prefix) {
  std::map<std::string, std::string> out;
  std::vector<std::string> keys;
  for (auto& k : ScanKeys(conn))
    if (skip_prefix.empty() || k.rfind(skip_prefix, 0) != 0) keys.push_back(k);
  std::vector<Command> commands;
  for (const auto& k : keys) {
    commands.push_back({"DUMP", k});
    commands.push_back({"PEXPIRETIME", k});
  }
  if (commands.empty()) return out;
  auto replies = conn.Pipeline(commands);
  if (!replies.ok()) FAIL("DUMP: " << replies.error().message);
  for (size_t i = 0; i < keys.size(); ++i)
    out[keys[i]] = (*replies)[2 * i].str + "@" + std::to_string((*replies)[2 * i + 1].integer);
  return out;
}

std::vector<std::string> Strings(const Reply& reply) {
  std::vector<std::string> out;
  for (const auto& e : reply.elements) out.push_back(e.str);
  return out;
}

std::map<std::string, std::string> PairMap(const Reply& reply) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) out[reply.elements[i].str] = reply.elements[i + 1].str;
  return out;
}

bool HasAnsi(const std::string& text) { return text.find('\x1b') != std::string::npos; }

int CountLines(const std::string& text) {
  int n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

// Every key's type, value (read by type, sorted where Redis has no order) and
// absolute expiry, as text. Two servers with equal snapshots hold the same data.
std::map<std::string, std::string> ReadAll(RedisConnection& conn) {
  std::map<std::string, std::string> out;
  for (const auto& key : ScanKeys(conn)) {
    if (key.rfind("keyshift:", 0) == 0) continue;
    std::string type = Cmd(conn, {"TYPE", key}).str;
    std::string text = type + "|" + std::to_string(Cmd(conn, {"PEXPIRETIME", key}).integer) + "|";
    Reply r;
    if (type == "string") text += Cmd(conn, {"GET", key}).str;
    else {
      Command c = type == "hash"   ? Command{"HGETALL", key}
                  : type == "list" ? Command{"LRANGE", key, "0", "-1"}
                  : type == "set"  ? Command{"SMEMBERS", key}
                                   : Command{"ZRANGE", key, "0", "-1", "WITHSCORES"};
      auto items = Strings(Cmd(conn, c));
      if (type == "hash" || type == "set") {
        std::vector<std::string> pairs;
        for (size_t i = 0; i < items.size(); i += (type == "hash" ? 2 : 1))
          pairs.push_back(type == "hash" ? items[i] + "=" + items[i + 1] : items[i]);
        std::sort(pairs.begin(), pairs.end());
        items = pairs;
      }
      for (const auto& it : items) text += it + "\x1f";
    }
    out[key] = text;
  }
  return out;
}


// `check` accepts the directory, then `up` runs it in host mode on one server
// and in server mode on the other.
void RunBothModes(const TempDir& dir, const RedisServer& host_server, const RedisServer& server_server) {
  CliResult check = RunKeyshift({"--dir", dir.path(), "check"});
  INFO(Describe(check));
  REQUIRE(check.exit_code == 0);
  CliResult host = RunKeyshift({"--url", host_server.url(), "--dir", dir.path(), "up", "--mode", "host"});
  INFO(Describe(host));
  REQUIRE(host.exit_code == 0);
  CliResult server = RunKeyshift({"--url", server_server.url(), "--dir", dir.path(), "up", "--mode", "server"});
  INFO(Describe(server));
  REQUIRE(server.exit_code == 0);
}

}  // namespace keyshift::testing
