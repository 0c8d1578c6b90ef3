// Ledger records as JSON in one Redis hash; who and when.
#include "runtime/ledger.h"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace keyshift {

using nlohmann::json;

std::string LedgerRecord::ToJson() const {
  json j = {{"version", version},   {"name", name},
            {"sha256", sha256},     {"status", status},
            {"applied_at", applied_at}, {"duration_ms", duration_ms},
            {"scanned", counters.scanned}, {"changed", counters.changed},
            {"deleted", counters.deleted}, {"renamed", counters.renamed},
            {"failed", counters.failed},   {"mode", mode},
            {"by", by}};
  if (!error.empty()) j["error"] = error;
  if (!failed_key.empty()) j["failed_key"] = failed_key;
  if (!rolled_back_at.empty()) j["rolled_back_at"] = rolled_back_at;
  if (!rolled_back_at.empty()) j["conflicts"] = conflicts;
  if (!pruned_at.empty()) j["pruned_at"] = pruned_at;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<LedgerRecord> LedgerRecord::FromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Fail("corrupt ledger record: not a JSON object");
  LedgerRecord r;
  r.version = j.value("version", 0LL);
  r.name = j.value("name", "");
  r.sha256 = j.value("sha256", "");
  r.status = j.value("status", "applied");
  r.applied_at = j.value("applied_at", "");
  r.duration_ms = j.value("duration_ms", 0LL);
  r.counters.scanned = j.value("scanned", 0LL);
  r.counters.changed = j.value("changed", 0LL);
  r.counters.deleted = j.value("deleted", 0LL);
  r.counters.renamed = j.value("renamed", 0LL);
  r.counters.failed = j.value("failed", 0LL);
  r.mode = j.value("mode", "host");
  r.by = j.value("by", "");
  r.error = j.value("error", "");
  r.failed_key = j.value("failed_key", "");
  r.rolled_back_at = j.value("rolled_back_at", "");
  r.conflicts = j.value("conflicts", 0LL);
  r.pruned_at = j.value("pruned_at", "");
  return r;
}

Result<std::map<long long, LedgerRecord>> Ledger::LoadAll() {
  auto reply = conn_->Call({"HGETALL", keys_.ledger()});
  if (!reply.ok()) return reply.error();
  std::map<long long, LedgerRecord> out;
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    auto rec = LedgerRecord::FromJson(reply->elements[i + 1].str);
    if (!rec.ok()) return Fail(fmt::format("ledger entry {}: {}", reply->elements[i].str, rec.error().message));
    rec->version = std::strtoll(reply->elements[i].str.c_str(), nullptr, 10);
    out[rec->version] = rec.value();
  }
  return out;
}

Status Ledger::Put(const LedgerRecord& record) {
  auto r = conn_->Call({"HSET", keys_.ledger(), std::to_string(record.version), record.ToJson()});
  if (!r.ok()) return r.error();
  return Status::Ok();
}

std::string CurrentUserAtHost() {
  const char* user = std::getenv("USER");
  std::string u = user && *user ? user : "";
  if (u.empty()) {
    struct passwd* pw = getpwuid(getuid());
    u = pw ? pw->pw_name : std::to_string(getuid());
  }
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  return u + "@" + host;
}

std::string Iso8601FromMs(long long ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string NowIso8601() {
  using namespace std::chrono;
  return Iso8601FromMs(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace keyshift
