// The retry queue in front of the scan, and the Scanner behind KeyScan.
#include "engine/key_source.h"

#include "engine/scanner.h"

namespace keyshift {

namespace {

class ScannerScan : public KeyScan {
 public:
  ScannerScan(Topology* conn, const StateKeys& keys, const ScanSpec& scan, int batch)
      : scanner_(conn, scan.match, scan.type, batch, &keys) {}
  Status Start(const std::string& position, const std::string& run_id) { return scanner_.Start(position, run_id); }
  Result<std::vector<std::string>> Next() override { return scanner_.Next(); }
  bool done() const override { return scanner_.done(); }
  std::string position() const override { return scanner_.position(); }
  std::string run_id() const override { return scanner_.run_id(); }

 private:
  Scanner scanner_;
};

}  // namespace

Result<std::unique_ptr<KeyScan>> StartScan(Topology* conn, const StateKeys& keys, const ScanSpec& scan, int batch,
                                           const std::string& position, const std::string& run_id) {
  auto scanner = std::make_unique<ScannerScan>(conn, keys, scan, batch);
  if (Status st = scanner->Start(position, run_id); !st) return st.error();
  return std::unique_ptr<KeyScan>(std::move(scanner));
}

Result<std::vector<std::string>> FailedKeys(RedisConnection* conn, const StateKeys& keys, long long version) {
  auto members = CallState(conn, {"SMEMBERS", keys.failed_keys(version)}, keys.failed_keys(version));
  if (!members.ok()) return members.error();
  std::vector<std::string> out;
  out.reserve(members->elements.size());
  for (auto& m : members->elements) out.push_back(std::move(m.str));
  return out;
}

KeySource::KeySource(std::unique_ptr<KeyScan> scan, std::vector<std::string> retry, size_t batch, bool scan_more)
    : scan_(std::move(scan)), scan_more_(scan_more) {
  for (size_t i = 0; i < retry.size(); ++i) {
    if (i % batch == 0) retry_.emplace_back();
    retry_.back().push_back(std::move(retry[i]));
  }
}

Result<KeyBatch> KeySource::Next() {
  if (!retry_.empty()) {
    KeyBatch b{std::move(retry_.back()), true};
    retry_.pop_back();
    return b;
  }
  auto keys = scan_->Next();
  if (!keys.ok()) return keys.error();
  return KeyBatch{std::move(*keys), false};
}

}  // namespace keyshift
