// Ledger records as JSON in one Redis hash; who and when.
#include "engine/ledger.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/enum_words.h"

namespace keyshift {

using nlohmann::json;

std::string LedgerRecord::ToJson() const {
  json j = {{"version", version},   {"name", name},
            {"sha256", sha256},     {"status", LedgerStatusName(status)},
            {"applied_at", applied_at}, {"duration_ms", duration_ms},
            {"scanned", counters.scanned}, {"changed", counters.changed},
            {"deleted", counters.deleted}, {"renamed", counters.renamed},
            {"failed", counters.failed},   {"mode", RunModeName(mode)},
            {"by", by}};
  if (!error.empty()) j["error"] = error;
  if (!failed_key.empty()) j["failed_key"] = failed_key;
  if (!rolled_back_at.empty()) j["rolled_back_at"] = rolled_back_at;
  if (!rolled_back_at.empty()) j["conflicts"] = conflicts;
  if (!pruned_at.empty()) j["pruned_at"] = pruned_at;
  if (!caught_at.empty()) j["caught"] = caught;
  if (!caught_at.empty()) j["caught_at"] = caught_at;
  if (!copied_from.empty()) j["copied_from"] = copied_from;
  json extra = json::parse(unknown, nullptr, false);
  if (extra.is_object())
    for (auto& [name, value] : extra.items()) j.emplace(name, value);  // never over a known member
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

// Reads typed fields of one JSON object; the first mismatch is remembered,
// so a record of the wrong shape is an error instead of a type_error abort.
class FieldReader {
 public:
  explicit FieldReader(const json& j) : j_(j) {}
  void Str(const char* name, std::string* out) {
    const json* v = Find(name);
    if (!v) return;
    if (v->is_string()) *out = v->get<std::string>();
    else Mismatch(name, *v, "a string");
  }
  void Int(const char* name, long long* out) {
    const json* v = Find(name);
    if (!v) return;
    if (v->is_number_integer() && (!v->is_number_unsigned() || v->get<unsigned long long>() <= kMaxInt))
      *out = v->get<long long>();
    else Mismatch(name, *v, "an integer");
  }
  const std::optional<std::string>& problem() const { return problem_; }

 private:
  static constexpr unsigned long long kMaxInt = 9223372036854775807ULL;
  const json* Find(const char* name) const {
    auto it = j_.find(name);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  void Mismatch(const char* name, const json& v, const char* expected) {
    if (problem_) return;
    std::string shown = v.dump(-1, ' ', false, json::error_handler_t::replace);
    if (shown.size() > 40) shown = shown.substr(0, 40) + "...";
    problem_ = fmt::format("field \"{}\" is {}, not {}", name, shown, expected);
  }
  const json& j_;
  std::optional<std::string> problem_;
};

constexpr EnumWord<LedgerStatus> kStatusNames[] = {
    {LedgerStatus::kApplied, "applied"}, {LedgerStatus::kFailed, "failed"}, {LedgerStatus::kRolledBack, "rolled_back"}};

// Every member ToJson may write; the rest of a record is kept in `unknown`.
constexpr const char* kKnownMembers[] = {
    "version", "name",   "sha256", "status",    "applied_at", "duration_ms", "scanned",        "changed",
    "deleted", "renamed", "failed", "mode",      "by",         "error",       "failed_key",     "rolled_back_at",
    "conflicts", "pruned_at", "caught", "caught_at", "copied_from"};

std::string UnknownMembers(const json& j) {
  json extra = json::object();
  for (auto& [name, value] : j.items())
    if (std::none_of(std::begin(kKnownMembers), std::end(kKnownMembers), [&](const char* k) { return name == k; }))
      extra[name] = value;
  return extra.empty() ? "" : extra.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

const char* LedgerStatusName(LedgerStatus status) { return WordOf(kStatusNames, status); }

Result<LedgerStatus> ParseLedgerStatus(std::string_view word) { return ParseWord(kStatusNames, word, "status"); }

Result<LedgerRecord> LedgerRecord::FromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Fail("not a JSON object");
  LedgerRecord r;
  std::string status = LedgerStatusName(r.status), mode = RunModeName(r.mode);
  FieldReader f(j);
  f.Int("version", &r.version);
  for (auto [name, out] : {std::pair{"name", &r.name}, {"sha256", &r.sha256}, {"status", &status},
                           {"applied_at", &r.applied_at}, {"mode", &mode}, {"by", &r.by}, {"error", &r.error},
                           {"failed_key", &r.failed_key}, {"rolled_back_at", &r.rolled_back_at},
                           {"pruned_at", &r.pruned_at}, {"caught_at", &r.caught_at},
                           {"copied_from", &r.copied_from}})
    f.Str(name, out);
  for (auto [name, out] : {std::pair{"duration_ms", &r.duration_ms}, {"scanned", &r.counters.scanned},
                           {"changed", &r.counters.changed}, {"deleted", &r.counters.deleted},
                           {"renamed", &r.counters.renamed}, {"failed", &r.counters.failed},
                           {"conflicts", &r.conflicts}, {"caught", &r.caught}})
    f.Int(name, out);
  if (f.problem()) return Fail(*f.problem());
  auto parsed_status = ParseLedgerStatus(status);
  if (!parsed_status.ok()) return parsed_status.error();
  auto parsed_mode = ParseRunMode(mode);
  if (!parsed_mode.ok()) return parsed_mode.error();
  r.status = *parsed_status;
  r.mode = *parsed_mode;
  r.unknown = UnknownMembers(j);
  return r;
}

Result<std::map<long long, LedgerRecord>> Ledger::LoadAll() {
  auto reply = CallState(conn_, {"HGETALL", keys_.ledger()}, keys_.ledger());
  if (!reply.ok()) return reply.error();
  std::map<long long, LedgerRecord> out;
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    const std::string& field = reply->elements[i].str;
    auto version = ParseStateInt(field);
    if (!version || *version < 0) return CorruptState(keys_.ledger(), fmt::format("has a field '{}' that is not a version number", field));
    auto rec = LedgerRecord::FromJson(reply->elements[i + 1].str);
    if (!rec.ok())
      return CorruptState(keys_.ledger(), fmt::format("field {} is not a ledger record: {}", field, rec.error().message));
    rec->version = *version;
    out[*version] = std::move(rec.value());
  }
  return out;
}

Status Ledger::Put(const LedgerRecord& record) {
  auto r = CallState(conn_, {"HSET", keys_.ledger(), std::to_string(record.version), record.ToJson()}, keys_.ledger());
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
