// KeySource (engine/key_source.h) over a scripted scan, no server: keys an
// earlier run skipped come first, in batches, then the scan; the position to
// checkpoint is the scan's.
#include "engine/key_source.h"

#include <catch.hpp>
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

using keyshift::KeyBatch;
using keyshift::KeyScan;
using keyshift::KeySource;
using keyshift::Result;
using Keys = std::vector<std::string>;

namespace {

// Answers Next() with `rounds` in order; its position is how many it gave.
class ScriptedScan : public KeyScan {
 public:
  ScriptedScan(std::vector<Keys> rounds, int* calls) : rounds_(std::move(rounds)), calls_(calls) {}
  Result<Keys> Next() override {
    ++*calls_;
    return rounds_[given_++];
  }
  bool done() const override { return given_ == rounds_.size(); }
  std::string position() const override { return std::to_string(given_); }
  std::string run_id() const override { return "run-1"; }

 private:
  std::vector<Keys> rounds_;
  size_t given_ = 0;
  int* calls_;
};

std::vector<KeyBatch> Drain(KeySource& source, std::vector<std::string>* positions) {
  std::vector<KeyBatch> out;
  while (!source.done()) {
    auto batch = source.Next();
    REQUIRE(batch.ok());
    out.push_back(*batch);
    positions->push_back(source.position());
  }
  return out;
}

}  // namespace

TEST_CASE("KeySource: skipped keys first, in batches, then the scan", "[key_source]") {
  int calls = 0;
  KeySource source(std::make_unique<ScriptedScan>(std::vector<Keys>{{"s1", "s2"}, {}, {"s3"}}, &calls),
                   {"f1", "f2", "f3", "f4", "f5"}, 2, true);
  CHECK(source.run_id() == "run-1");
  std::vector<std::string> positions;
  auto batches = Drain(source, &positions);
  REQUIRE(batches.size() == 6);
  Keys retried;
  for (size_t i = 0; i < 3; ++i) {
    CHECK(batches[i].retry);
    CHECK(batches[i].keys.size() <= 2);
    CHECK(positions[i] == "0");  // retrying does not move the scan
    retried.insert(retried.end(), batches[i].keys.begin(), batches[i].keys.end());
  }
  std::sort(retried.begin(), retried.end());
  CHECK(retried == Keys{"f1", "f2", "f3", "f4", "f5"});
  CHECK_FALSE(batches[3].retry);
  CHECK(batches[3].keys == Keys{"s1", "s2"});
  CHECK(batches[4].keys.empty());  // a scan round may return nothing while not done
  CHECK(batches[5].keys == Keys{"s3"});
  CHECK(positions.back() == "3");
  CHECK(calls == 3);
}

TEST_CASE("KeySource: without scan_more only the skipped keys are taken", "[key_source]") {
  int calls = 0;
  KeySource source(std::make_unique<ScriptedScan>(std::vector<Keys>{{"s1"}}, &calls), {"f1", "f2", "f3"}, 5, false);
  std::vector<std::string> positions;
  auto batches = Drain(source, &positions);
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].retry);
  CHECK(batches[0].keys == Keys{"f1", "f2", "f3"});
  CHECK(calls == 0);
}

TEST_CASE("KeySource: with nothing to retry it is the scan", "[key_source]") {
  int calls = 0;
  KeySource source(std::make_unique<ScriptedScan>(std::vector<Keys>{{"a"}, {"b"}}, &calls), {}, 10, true);
  std::vector<std::string> positions;
  auto batches = Drain(source, &positions);
  REQUIRE(batches.size() == 2);
  CHECK_FALSE(batches[0].retry);
  CHECK(positions == std::vector<std::string>{"1", "2"});
}
