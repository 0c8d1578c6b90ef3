// Load and save of the copy checkpoint hash.
#include "engine/copy_checkpoint.h"

#include <map>

#include <fmt/format.h>

#include "core/enum_words.h"
#include "engine/checkpoint.h"
#include "engine/scanner.h"
#include "engine/state_keys.h"

namespace keyshift {
namespace {

constexpr CountField<CopyCounters> kFields[] = {
    {"scanned", &CopyCounters::scanned},     {"copied", &CopyCounters::copied},
    {"overwritten", &CopyCounters::overwritten}, {"skipped", &CopyCounters::skipped},
    {"conflicts", &CopyCounters::conflicts}, {"vanished", &CopyCounters::vanished},
    {"bytes", &CopyCounters::bytes},         {"chunked", &CopyCounters::chunked}};

// Counts only copy --apply/--revert keeps: absent from a plain copy's checkpoint.
constexpr CountField<CopyCounters> kShapeFields[] = {{"transformed", &CopyCounters::transformed},
                                                     {"renamed", &CopyCounters::renamed},
                                                     {"dropped", &CopyCounters::dropped},
                                                     {"failed", &CopyCounters::failed}};

constexpr const char* kBatchesField = "batches";

constexpr EnumWord<CopyPhase> kPhaseWords[] = {
    {CopyPhase::kCopying, "copying"}, {CopyPhase::kRetry, "retry"}, {CopyPhase::kCleanup, "cleanup"}};

}  // namespace

Result<std::optional<CopyCheckpoint>> CopyCheckpointStore::Load() {
  auto reply = CallState(conn_, {"HGETALL", key_}, key_);
  if (!reply.ok()) return reply.error();
  if (reply->elements.empty()) return std::optional<CopyCheckpoint>();
  std::map<std::string, std::string> f;
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) f[reply->elements[i].str] = reply->elements[i + 1].str;
  CopyCheckpoint cp;
  cp.cursor = f["cursor"];
  if (!ValidPosition(cp.cursor)) return CorruptState(key_, "field cursor is not a SCAN cursor or cluster position");
  auto phase = ParseWord(kPhaseWords, f["phase"], "phase");
  if (!phase.ok()) return CorruptState(key_, "field phase is none of copying, retry, cleanup");
  cp.phase = *phase;
  for (const auto& field : kFields) {
    auto v = ParseStateInt(f[field.name]);
    if (!v || *v < 0) return CorruptState(key_, fmt::format("field {} is not a count", field.name));
    cp.counters.*field.member = *v;
  }
  for (const auto& field : kShapeFields) {
    if (!f.count(field.name)) continue;
    auto v = ParseStateInt(f[field.name]);
    if (!v || *v < 0) return CorruptState(key_, fmt::format("field {} is not a count", field.name));
    cp.counters.*field.member = *v;
  }
  auto batches = ParseStateInt(f[kBatchesField]);
  if (!batches || *batches < 0) return CorruptState(key_, "field batches is not a count");
  cp.batches = *batches;
  cp.run_id = f["run_id"];
  cp.match = f["match"];
  cp.transforms = f["transforms"];
  cp.steps = f["steps"];
  cp.started_at = f["started_at"];
  return std::optional<CopyCheckpoint>(std::move(cp));
}

Status CopyCheckpointStore::Save(const CopyCheckpoint& cp) {
  Command cmd{"HSET", key_, "cursor", cp.cursor, "run_id", cp.run_id, "match", cp.match,
              "transforms", cp.transforms, "steps", cp.steps,
              "started_at", cp.started_at, "phase", WordOf(kPhaseWords, cp.phase),
              kBatchesField, std::to_string(cp.batches)};
  auto add = [&cmd, &cp](const auto& fields) {
    for (const auto& field : fields) {
      cmd.push_back(field.name);
      cmd.push_back(std::to_string(cp.counters.*field.member));
    }
  };
  add(kFields);
  add(kShapeFields);
  auto reply = CallState(conn_, cmd, key_);
  return reply.ok() ? Status::Ok() : Status(reply.error());
}

Status CopyCheckpointStore::Delete() {
  auto reply = CallState(conn_, {"DEL", key_, failed_}, key_);
  return reply.ok() ? Status::Ok() : Status(reply.error());
}

namespace {

// SADD or SREM of `keys` on the failed-keys set.
Status Members(RedisConnection* conn, const char* verb, const std::string& set, const std::vector<std::string>& keys) {
  if (keys.empty()) return Status::Ok();
  Command cmd{verb, set};
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  auto reply = CallState(conn, cmd, set);
  return reply.ok() ? Status::Ok() : Status(reply.error());
}

}  // namespace

Status CopyCheckpointStore::AddFailed(const std::vector<std::string>& keys) {
  return Members(conn_, "SADD", failed_, keys);
}

Status CopyCheckpointStore::DropFailed(const std::vector<std::string>& keys) {
  return Members(conn_, "SREM", failed_, keys);
}

Result<std::vector<std::string>> CopyCheckpointStore::Failed() {
  auto reply = CallState(conn_, {"SMEMBERS", failed_}, failed_);
  if (!reply.ok()) return reply.error();
  std::vector<std::string> keys;
  for (const Reply& r : reply->elements) keys.push_back(r.str);
  return keys;
}

}  // namespace keyshift
