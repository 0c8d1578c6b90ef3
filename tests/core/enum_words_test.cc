// The name tables of core's enums: KeyAction's one-letter codes (the
// journal's stored ACTION, and the write scripts' argument) and RunMode's
// words (migration files, --mode, the ledger). Every enumerator's word reads
// back as it; an unknown word is an error that names it.
#include <catch.hpp>
#include <set>
#include <string>

#include "core/key_action.h"
#include "core/run_mode.h"

using keyshift::KeyAction;
using keyshift::RunMode;

TEST_CASE("every KeyAction's code parses back to it, and codes are distinct", "[enums]") {
  std::set<std::string> codes;
  for (int i = 0; i <= static_cast<int>(KeyAction::kCreate); ++i) {
    auto action = static_cast<KeyAction>(i);
    std::string code = keyshift::KeyActionCode(action);
    INFO(i << " -> " << code);
    auto back = keyshift::ParseKeyActionCode(code);
    REQUIRE(back.ok());
    CHECK(*back == action);
    CHECK(codes.insert(code).second);
  }
}

TEST_CASE("KeyAction codes are the journal's stored letters", "[enums]") {
  // engine/journal.h's entry format: changing one would strand every journal already in Redis.
  CHECK(std::string(keyshift::KeyActionCode(KeyAction::kRewrite)) == "W");
  CHECK(std::string(keyshift::KeyActionCode(KeyAction::kDelete)) == "D");
  CHECK(std::string(keyshift::KeyActionCode(KeyAction::kRename)) == "R");
  CHECK(std::string(keyshift::KeyActionCode(KeyAction::kCreate)) == "C");
  CHECK(std::string(keyshift::KeyActionCode(KeyAction::kKeep)) == "K");
}

TEST_CASE("an unknown KeyAction code is an error naming it", "[enums]") {
  for (const char* code : {"X", "", "WW", "w", "keep"}) {
    INFO("code '" << code << "'");
    auto r = keyshift::ParseKeyActionCode(code);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("\"" + std::string(code) + "\"") != std::string::npos);
  }
}

TEST_CASE("every RunMode's name parses back to it", "[enums]") {
  for (RunMode mode : {RunMode::kHost, RunMode::kServer}) {
    auto back = keyshift::ParseRunMode(keyshift::RunModeName(mode));
    REQUIRE(back.ok());
    CHECK(*back == mode);
  }
  CHECK(std::string(keyshift::RunModeName(RunMode::kHost)) == "host");
  CHECK(std::string(keyshift::RunModeName(RunMode::kServer)) == "server");
  CHECK(keyshift::RunModeNames() == std::vector<std::string>{"host", "server"});
}

TEST_CASE("an unknown mode word is an error naming it and the known ones", "[enums]") {
  for (const char* word : {"cluster", "", "Host", "server "}) {
    INFO("word '" << word << "'");
    auto r = keyshift::ParseRunMode(word);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "mode \"" + std::string(word) + "\" is none of host, server");
  }
}
