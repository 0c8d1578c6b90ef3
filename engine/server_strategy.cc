// Server mode's batch: pre-flight in the host sandbox, then one server-side
// script call per key.
#include "engine/server_strategy.h"

#include <algorithm>

#include <fmt/format.h>

#include "engine/journal.h"
#include "engine/reader.h"

namespace keyshift {

namespace {

// Keys read per round of the pre-flight: few, so that a batch of large values
// is not read whole only to pre-flight a handful of them.
constexpr size_t kPreflightChunk = 16;

size_t ValueBytes(const Value& v) {
  size_t n = v.str.size();
  for (const auto& [a, b] : v.pairs) n += a.size() + b.size();
  for (const auto& item : v.items) n += item.size();
  return n;
}

}  // namespace

// Transforms the first keys of the batch on the host until kPreflightBytes of
// values went through (at least one key): enough to catch a transform that
// fails or runs away on ordinary data, without transforming in the host a
// whole batch of large values that Redis transforms again (with 100 KB
// values it was all of a run's client CPU).
Status ServerStrategy::Preflight(const std::vector<std::string>& keys) {
  size_t bytes = 0;
  for (size_t from = 0; from < keys.size() && bytes < kPreflightBytes; from += kPreflightChunk) {
    std::vector<std::string> chunk(keys.begin() + from, keys.begin() + std::min(keys.size(), from + kPreflightChunk));
    auto snaps = ReadKeys(ctx_.scripts, ctx_.keys, ctx_.version, chunk);
    if (!snaps.ok()) return snaps.error();
    for (const auto& s : *snaps) {
      if (s.state != KeySnapshot::kPresent || bytes >= kPreflightBytes) continue;
      first_ = false;  // this batch has a key to try the transform on
      bytes += std::max<size_t>(1, ValueBytes(s.value));
      auto outcome = ctx_.script.Transform(s.key, s.value);
      if (!outcome.ok() && ctx_.errors.aborts()) {
        ctx_.errors.KeyFailed(
            s.key, Fail(fmt::format("{} (host pre-flight: nothing was sent to the server)", outcome.error().message)));
        return Status::Ok();
      }
    }
  }
  return Status::Ok();
}

Status ServerStrategy::Migrate(const std::vector<std::string>& keys) {
  if (first_)
    if (Status st = Preflight(keys); !st || ctx_.errors.stopped()) return st;
  if (keys.empty()) return Status::Ok();
  if (!ctx_.options.dry_run)
    if (Status st = ctx_.lock->Renew(); !st) return st;
  return Send(keys);
}

Status ServerStrategy::Send(const std::vector<std::string>& keys) {
  auto results = runner_.Run(keys, ctx_.options.dry_run, ctx_.lock);
  if (!results.ok()) return results.error();
  for (const auto& r : *results) Account(r);
  return Status::Ok();
}

void ServerStrategy::Account(const ServerKeyResult& r) {
  switch (r.kind) {
    case ServerKeyResult::kDone:
      ++ctx_.counters->skipped;
      break;
    case ServerKeyResult::kUntouched:
      break;
    case ServerKeyResult::kWritten:
    case ServerKeyResult::kChange:
      CountChange(ctx_.counters, r.action, JournalEntryBytes(r.journal_bytes, r.key.size()));
      if (r.kind == ServerKeyResult::kChange && ctx_.sinks.diff) ctx_.sinks.diff(r.change);
      break;
    case ServerKeyResult::kFailed:
      ctx_.errors.KeyFailed(r.key, r.error);
      break;
  }
}

}  // namespace keyshift
