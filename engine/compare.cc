// The two passes of compare: source keys on the target, then target keys on
// the source.
#include "engine/compare.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <unordered_set>

#include <fmt/format.h>

#include "core/dump_decoder.h"
#include "bindings/migration_script.h"
#include "core/text.h"
#include "engine/copy_transform.h"
#include "engine/interrupt.h"
#include "engine/scanner.h"

namespace keyshift {
namespace {

constexpr const char* kNames[kDifferenceKinds] = {"missing", "extra", "type", "value", "ttl"};
constexpr long long kTtlToleranceMs = 2000;

// One key as one side holds it.
struct Seen {
  std::string type;          // TYPE's word, "none" when absent
  long long expire_ms = 0;   // absolute, 0 = none
  std::string payload;       // DUMP, with --full
};

Result<std::vector<Seen>> Look(Topology* side, const std::vector<std::string>& keys, bool full, const char* which) {
  std::vector<Command> reads;
  const size_t per_key = full ? 3 : 2;
  for (const auto& key : keys) {
    reads.push_back({"TYPE", key});
    reads.push_back({"PEXPIRETIME", key});
    if (full) reads.push_back({"DUMP", key});
  }
  auto replies = side->Pipeline(reads);
  if (!replies.ok()) return replies.error();
  std::vector<Seen> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    for (size_t j = 0; j < per_key; ++j)
      if (const Reply& r = (*replies)[i * per_key + j]; r.is_error())
        return Fail(fmt::format("the {} refused {} {}: {}", which, reads[i * per_key + j][0], QuoteKey(keys[i]),
                                r.str));
    Seen s{(*replies)[i * per_key].str, std::max(0LL, (*replies)[i * per_key + 1].integer), ""};
    if (full) s.payload = (*replies)[i * per_key + 2].str;
    out.push_back(std::move(s));
  }
  return out;
}

// Content, not bytes: a decodable payload compares by its Value; anything
// the decoder does not know (streams, modules) by its bytes.
bool ValuesDiffer(const std::string& a, const std::string& b) {
  if (a == b) return false;
  auto va = DecodeDump(a), vb = DecodeDump(b);
  if (va.ok() && vb.ok()) return !SameValue(*va, *vb);
  return true;
}

long long NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the target should hold for one source key.
struct Expected {
  std::string key;
  const Seen* seen = nullptr;   // the source's type, expiry and payload
  std::optional<Value> value;   // the migrations' value, when they changed it
  std::string type() const { return value ? KeyTypeName(value->type) : seen->type; }
};

class Comparer {
 public:
  Comparer(Topology* source, Topology* target, const StateKeys& state, const CompareOptions& options)
      : source_(source), target_(target), state_(state), options_(options) {}
  Result<CompareReport> Run();

 private:
  void Note(Difference kind, const std::string& key);
  Status Pass(Topology* side, long long* checked, Status (Comparer::*batch)(const std::vector<std::string>&));
  Status SourceBatch(const std::vector<std::string>& keys);
  Status TargetBatch(const std::vector<std::string>& keys);
  Result<std::vector<Expected>> Expect(const std::vector<std::string>& keys, const std::vector<Seen>& src);
  void Check(const Expected& e, const Seen& d, long long now);

  Topology *source_, *target_;
  const StateKeys& state_;
  const CompareOptions& options_;
  CompareReport report_;
  // With transforms: target names the migrations gave source keys, and
  // source keys they moved away or deleted (so not expected under their name).
  std::unordered_set<std::string> renamed_, moved_;
};

void Comparer::Note(Difference kind, const std::string& key) {
  DifferenceList& list = report_.differences[static_cast<size_t>(kind)];
  ++list.count;
  if (static_cast<int>(list.first.size()) < options_.shown) list.first.push_back(key);
}

// The source keys present, as the target should hold them.
Result<std::vector<Expected>> Comparer::Expect(const std::vector<std::string>& keys, const std::vector<Seen>& src) {
  std::vector<Expected> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    const Seen& s = src[i];
    if (s.type == "none") continue;  // gone from the source since the scan
    ++report_.checked;
    Expected e{keys[i], &s, std::nullopt};
    if (options_.transforms && options_.transforms->MaySelect(keys[i])) {
      auto shaped = options_.transforms->RunDump(keys[i], s.payload);
      if (!shaped.ok()) return shaped.error();
      if (shaped->key != keys[i] || shaped->dropped) moved_.insert(keys[i]);
      if (shaped->dropped) continue;  // expected absent: the target pass names it if there
      if (shaped->key != keys[i]) renamed_.insert(shaped->key);
      e.key = shaped->key;
      if (shaped->touched) e.value = std::move(shaped->value);
    }
    out.push_back(std::move(e));
  }
  return out;
}

void Comparer::Check(const Expected& e, const Seen& d, long long now) {
  if (d.type == "none") Note(Difference::kMissing, e.key);
  else if (e.type() != d.type) Note(Difference::kType, e.key);
  else {
    if (options_.full) {
      bool differ = true;
      if (!e.value) differ = ValuesDiffer(e.seen->payload, d.payload);
      else if (auto got = DecodeDump(d.payload); got.ok()) differ = !SameValue(*e.value, *got);
      if (differ) Note(Difference::kValue, e.key);
    }
    if (ExpiriesDiffer(e.seen->expire_ms, d.expire_ms, now)) Note(Difference::kTtl, e.key);
  }
}

Status Comparer::SourceBatch(const std::vector<std::string>& keys) {
  auto src = Look(source_, keys, options_.full || options_.transforms, "source");
  if (!src.ok()) return src.error();
  auto expected = Expect(keys, *src);
  if (!expected.ok()) return expected.error();
  std::vector<std::string> names;
  for (const Expected& e : *expected) names.push_back(e.key);
  auto dst = Look(target_, names, options_.full, "target");
  if (!dst.ok()) return dst.error();
  long long now = NowMs();
  for (size_t i = 0; i < names.size(); ++i) Check((*expected)[i], (*dst)[i], now);
  return Status::Ok();
}

Status Comparer::TargetBatch(const std::vector<std::string>& keys) {
  std::vector<Command> exists;
  for (const auto& key : keys) exists.push_back({"EXISTS", key});
  auto replies = source_->Pipeline(exists);
  if (!replies.ok()) return replies.error();
  for (size_t i = 0; i < keys.size(); ++i) {
    const Reply& r = (*replies)[i];
    if (r.is_error()) return Fail(fmt::format("the source refused EXISTS {}: {}", QuoteKey(keys[i]), r.str));
    ++report_.checked_target;
    bool expected = renamed_.count(keys[i]) > 0 || (r.integer == 1 && !moved_.count(keys[i]));
    if (!expected) Note(Difference::kExtra, keys[i]);
  }
  return Status::Ok();
}

// Scans `side` and hands each batch (cut to what --sample still allows) on.
Status Comparer::Pass(Topology* side, long long* checked,
                      Status (Comparer::*batch)(const std::vector<std::string>&)) {
  Scanner scanner(side, options_.match, std::nullopt, options_.batch, &state_);
  if (Status st = scanner.Start(); !st) return st;
  while (!scanner.done()) {
    if (Interrupted()) return Error{InterruptExitCode(), "interrupted; nothing was written"};
    if (options_.sample > 0 && *checked >= options_.sample) break;
    auto keys = scanner.Next();
    if (!keys.ok()) return keys.error();
    if (options_.sample > 0 && static_cast<long long>(keys->size()) > options_.sample - *checked)
      keys->resize(static_cast<size_t>(options_.sample - *checked));
    if (keys->empty()) continue;
    if (Status st = (this->*batch)(*keys); !st) return st;
  }
  return Status::Ok();
}

Result<CompareReport> Comparer::Run() {
  if (Status st = Pass(source_, &report_.checked, &Comparer::SourceBatch); !st) return st.error();
  if (Status st = Pass(target_, &report_.checked_target, &Comparer::TargetBatch); !st) return st.error();
  return report_;
}

}  // namespace

const char* DifferenceName(Difference kind) { return kNames[static_cast<size_t>(kind)]; }

bool ExpiriesDiffer(long long source_ms, long long target_ms, long long now_ms) {
  if ((source_ms == 0) != (target_ms == 0)) return true;
  long long tolerance = std::max(kTtlToleranceMs, std::max(0LL, source_ms - now_ms) / 100);
  return std::llabs(source_ms - target_ms) > tolerance;
}

long long CompareReport::total() const {
  long long n = 0;
  for (const auto& d : differences) n += d.count;
  return n;
}

Result<CompareReport> RunCompare(Topology* source, Topology* target, const StateKeys& state,
                                 const CompareOptions& options) {
  return Comparer(source, target, state, options).Run();
}

}  // namespace keyshift
