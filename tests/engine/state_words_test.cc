// The words of keyshift's state in Redis (ledger.h, checkpoint.h): each
// status and mode enumerator is stored as a word that reads back as it, the
// words are the ones earlier versions stored, and an unknown word is an error
// naming it, not a crash or a silent default.
#include <catch.hpp>
#include <string>

#include "engine/checkpoint.h"
#include "engine/ledger.h"

using keyshift::CheckpointStatus;
using keyshift::LedgerRecord;
using keyshift::LedgerStatus;
using keyshift::Reply;
using keyshift::RunMode;

namespace {

Reply Hash(const std::vector<std::string>& flat) {
  Reply r;
  r.kind = Reply::kArray;
  for (const auto& s : flat) {
    Reply e;
    e.kind = Reply::kString;
    e.str = s;
    r.elements.push_back(e);
  }
  return r;
}

}  // namespace

TEST_CASE("every ledger status's name parses back to it", "[enums][ledger]") {
  for (LedgerStatus s : {LedgerStatus::kApplied, LedgerStatus::kFailed, LedgerStatus::kRolledBack}) {
    auto back = keyshift::ParseLedgerStatus(keyshift::LedgerStatusName(s));
    REQUIRE(back.ok());
    CHECK(*back == s);
  }
  auto bad = keyshift::ParseLedgerStatus("done");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "status \"done\" is none of applied, failed, rolled_back");
}

TEST_CASE("ledger records store status and mode as the same words and read them back", "[enums][ledger]") {
  for (LedgerStatus s : {LedgerStatus::kApplied, LedgerStatus::kFailed, LedgerStatus::kRolledBack})
    for (RunMode m : {RunMode::kHost, RunMode::kServer}) {
      LedgerRecord rec;
      rec.version = 3;
      rec.status = s;
      rec.mode = m;
      std::string json = rec.ToJson();
      INFO(json);
      CHECK(json.find(std::string("\"status\":\"") + keyshift::LedgerStatusName(s) + "\"") != std::string::npos);
      CHECK(json.find(std::string("\"mode\":\"") + keyshift::RunModeName(m) + "\"") != std::string::npos);
      auto back = LedgerRecord::FromJson(json);
      REQUIRE(back.ok());
      CHECK(back->status == s);
      CHECK(back->mode == m);
    }
}

TEST_CASE("ledger records as earlier versions wrote them still read", "[enums][ledger]") {
  auto server = LedgerRecord::FromJson(R"({"version":1,"status":"rolled_back","mode":"server"})");
  REQUIRE(server.ok());
  CHECK(server->status == LedgerStatus::kRolledBack);
  CHECK(server->mode == RunMode::kServer);
  auto bare = LedgerRecord::FromJson(R"({"version":1,"name":"0001_x"})");  // neither field: applied, host
  REQUIRE(bare.ok());
  CHECK(bare->status == LedgerStatus::kApplied);
  CHECK(bare->mode == RunMode::kHost);
}

TEST_CASE("a ledger record with an unknown status or mode is an error naming the word", "[enums][ledger]") {
  auto mode = LedgerRecord::FromJson(R"({"version":1,"status":"applied","mode":"turbo"})");
  REQUIRE_FALSE(mode.ok());
  CHECK(mode.error().message == "mode \"turbo\" is none of host, server");
  auto status = LedgerRecord::FromJson(R"({"version":1,"status":"paused","mode":"host"})");
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message == "status \"paused\" is none of applied, failed, rolled_back");
  CHECK_FALSE(LedgerRecord::FromJson(R"({"version":1,"mode":""})").ok());
}

TEST_CASE("every checkpoint status's name parses back to it", "[enums][checkpoint]") {
  for (CheckpointStatus s : {CheckpointStatus::kRunning, CheckpointStatus::kFailed}) {
    auto back = keyshift::ParseCheckpointStatus(keyshift::CheckpointStatusName(s));
    REQUIRE(back.ok());
    CHECK(*back == s);
    auto cp = keyshift::ParseCheckpoint(Hash({"cursor", "17", "status", keyshift::CheckpointStatusName(s)}), "ck");
    REQUIRE(cp.ok());
    REQUIRE(cp->has_value());
    CHECK((*cp)->status == s);
  }
  CHECK(std::string(keyshift::CheckpointStatusName(CheckpointStatus::kRunning)) == "running");
  CHECK(std::string(keyshift::CheckpointStatusName(CheckpointStatus::kFailed)) == "failed");
  CHECK_FALSE(keyshift::ParseCheckpointStatus("paused").ok());
}

TEST_CASE("a checkpoint without a status is running; an unknown one is corrupt state naming the key",
          "[enums][checkpoint]") {
  auto bare = keyshift::ParseCheckpoint(Hash({"cursor", "5"}), "ck");
  REQUIRE(bare.ok());
  REQUIRE(bare->has_value());
  CHECK((*bare)->status == CheckpointStatus::kRunning);
  auto bad = keyshift::ParseCheckpoint(Hash({"cursor", "5", "status", "paused"}), "keyshift:{state}:ckpt:1");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("'keyshift:{state}:ckpt:1'") != std::string::npos);
  CHECK(bad.error().message.find("status") != std::string::npos);
}
