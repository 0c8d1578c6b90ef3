// Checkpoint load/save as one Redis hash per migration.
#include "runtime/checkpoint.h"

#include <cstdlib>
#include <map>

namespace keyshift {

Counters& Counters::operator+=(const Counters& o) {
  scanned += o.scanned;
  changed += o.changed;
  deleted += o.deleted;
  renamed += o.renamed;
  failed += o.failed;
  skipped += o.skipped;
  journal_bytes += o.journal_bytes;
  return *this;
}

namespace {

// Field name <-> counter member, so load and save cannot disagree.
struct CounterField {
  const char* name;
  long long Counters::*member;
};
constexpr CounterField kCounterFields[] = {
    {"scanned", &Counters::scanned}, {"changed", &Counters::changed}, {"deleted", &Counters::deleted},
    {"renamed", &Counters::renamed}, {"failed", &Counters::failed},   {"skipped", &Counters::skipped},
    {"journal_bytes", &Counters::journal_bytes}};

}  // namespace

std::optional<Checkpoint> ParseCheckpoint(const Reply& reply) {
  if (reply.elements.empty()) return std::nullopt;
  std::map<std::string, std::string> f;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) f[reply.elements[i].str] = reply.elements[i + 1].str;
  Checkpoint cp;
  cp.cursor = f["cursor"].empty() ? "0" : f["cursor"];
  for (const auto& c : kCounterFields) cp.counters.*c.member = std::strtoll(f[c.name].c_str(), nullptr, 10);
  cp.started_at = f["started_at"];
  cp.by = f["by"];
  cp.status = f["status"].empty() ? "running" : f["status"];
  cp.error = f["error"];
  cp.failed_key = f["failed_key"];
  cp.elapsed_ms = std::strtoll(f["elapsed_ms"].c_str(), nullptr, 10);
  cp.run_id = f["run_id"];
  return cp;
}

Result<std::optional<Checkpoint>> CheckpointStore::Load(long long version) {
  auto reply = conn_->Call({"HGETALL", keys_.checkpoint(version)});
  if (!reply.ok()) return reply.error();
  return ParseCheckpoint(*reply);
}

Command CheckpointStore::SaveCommand(long long version, const Checkpoint& cp) const {
  Command cmd{"HSET", keys_.checkpoint(version), "cursor", cp.cursor, "started_at", cp.started_at, "by", cp.by,
              "status", cp.status, "error", cp.error, "failed_key", cp.failed_key,
              "elapsed_ms", std::to_string(cp.elapsed_ms), "run_id", cp.run_id};
  for (const auto& c : kCounterFields) cmd.insert(cmd.end(), {c.name, std::to_string(cp.counters.*c.member)});
  return cmd;
}

Status CheckpointStore::Save(long long version, const Checkpoint& cp) {
  auto r = conn_->Call(SaveCommand(version, cp));
  if (!r.ok()) return r.error();
  return Status::Ok();
}

Status CheckpointStore::Delete(long long version) {
  auto r = conn_->Call({"DEL", keys_.checkpoint(version)});
  if (!r.ok()) return r.error();
  return Status::Ok();
}

}  // namespace keyshift
