// Checkpoint load/save as one Redis hash per migration.
#include "engine/checkpoint.h"

#include "engine/scanner.h"

#include <cstdlib>
#include <map>

#include <fmt/format.h>

#include "core/enum_words.h"

namespace keyshift {

namespace {

constexpr CountField<Counters> kCounterFields[] = {
    {"scanned", &Counters::scanned}, {"changed", &Counters::changed}, {"deleted", &Counters::deleted},
    {"renamed", &Counters::renamed}, {"failed", &Counters::failed},   {"skipped", &Counters::skipped},
    {"journal_bytes", &Counters::journal_bytes}};

constexpr EnumWord<CheckpointStatus> kStatusNames[] = {{CheckpointStatus::kRunning, "running"},
                                                       {CheckpointStatus::kFailed, "failed"}};

}  // namespace

const char* CheckpointStatusName(CheckpointStatus status) { return WordOf(kStatusNames, status); }

Result<CheckpointStatus> ParseCheckpointStatus(std::string_view word) {
  return ParseWord(kStatusNames, word, "status");
}

Counters& Counters::operator+=(const Counters& o) {
  for (const auto& c : kCounterFields) this->*c.member += o.*c.member;
  return *this;
}

Result<std::optional<Checkpoint>> ParseCheckpoint(const Reply& reply, const std::string& key) {
  if (reply.is_error()) return StateRefusal({"HGETALL", key}, reply, key);
  if (reply.elements.empty()) return std::optional<Checkpoint>();
  std::map<std::string, std::string> f;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) f[reply.elements[i].str] = reply.elements[i + 1].str;
  auto number = [&](const char* name, long long* out) -> Status {
    if (f[name].empty()) return Status::Ok();
    auto v = ParseStateInt(f[name]);
    if (!v || *v < 0) return CorruptState(key, fmt::format("field {} is not a count", name));
    *out = *v;
    return Status::Ok();
  };
  Checkpoint cp;
  cp.cursor = f["cursor"].empty() ? "0" : f["cursor"];
  // Redis refuses a cursor that is not an unsigned 64-bit number mid-run.
  if (!ValidPosition(cp.cursor)) return CorruptState(key, "field cursor is not a SCAN cursor or cluster position");
  for (const auto& c : kCounterFields)
    if (Status st = number(c.name, &(cp.counters.*c.member)); !st) return st.error();
  if (Status st = number("elapsed_ms", &cp.elapsed_ms); !st) return st.error();
  cp.started_at = f["started_at"];
  cp.by = f["by"];
  auto status = ParseCheckpointStatus(f["status"].empty() ? CheckpointStatusName(cp.status) : f["status"]);
  if (!status.ok()) return CorruptState(key, "field status is neither running nor failed");
  cp.status = *status;
  cp.error = f["error"];
  cp.failed_key = f["failed_key"];
  cp.run_id = f["run_id"];
  return std::optional<Checkpoint>(std::move(cp));
}

Result<std::optional<Checkpoint>> CheckpointStore::Load(long long version) {
  auto reply = CallState(conn_, {"HGETALL", Key(version)}, Key(version));
  if (!reply.ok()) return reply.error();
  return ParseCheckpoint(*reply, Key(version));
}

Command CheckpointStore::SaveCommand(long long version, const Checkpoint& cp) const {
  Command cmd{"HSET", Key(version), "cursor", cp.cursor, "started_at", cp.started_at, "by", cp.by,
              "status", CheckpointStatusName(cp.status), "error", cp.error, "failed_key", cp.failed_key,
              "elapsed_ms", std::to_string(cp.elapsed_ms), "run_id", cp.run_id};
  for (const auto& c : kCounterFields) cmd.insert(cmd.end(), {c.name, std::to_string(cp.counters.*c.member)});
  return cmd;
}

Status CheckpointStore::Save(long long version, const Checkpoint& cp) {
  auto r = CallState(conn_, SaveCommand(version, cp), Key(version));
  if (!r.ok()) return r.error();
  return Status::Ok();
}

Status CheckpointStore::Delete(long long version) {
  auto r = conn_->Call({"DEL", Key(version)});
  if (!r.ok()) return r.error();
  return Status::Ok();
}

}  // namespace keyshift
