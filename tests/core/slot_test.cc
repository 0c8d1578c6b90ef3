// Redis Cluster key slots (core/slot.h) and the state key names built on
// them (engine/state_keys.h). Expected slots are CRC16-XMODEM values mod
// 16384, checked against Python's binascii.crc_hqx(key, 0) & 16383.
#include "core/slot.h"

#include <catch.hpp>
#include <string>

#include "engine/state_keys.h"

using keyshift::KeySlot;
using keyshift::kSlotCount;
using keyshift::SlotTag;
using keyshift::StateKeys;

TEST_CASE("KeySlot of plain keys", "[slot]") {
  CHECK(KeySlot("123456789") == 12739);  // CRC16 check value 0x31C3
  CHECK(KeySlot("foo") == 12182);
  CHECK(KeySlot("bar") == 5061);
  CHECK(KeySlot("user1000") == 3443);
  CHECK(KeySlot("") == 0);
}

TEST_CASE("KeySlot hashes only the hash tag", "[slot]") {
  CHECK(KeySlot("{user1000}.following") == KeySlot("user1000"));
  CHECK(KeySlot("{user1000}.following") == KeySlot("{user1000}.followers"));
  CHECK(KeySlot("foo{bar}") == KeySlot("bar"));
  CHECK(KeySlot("a{bar}b{zap}") == KeySlot("bar"));  // the first tag only
}

TEST_CASE("KeySlot hashes the whole key when the tag is empty or unclosed", "[slot]") {
  CHECK(KeySlot("foo{}{bar}") == 8363);  // empty first tag: whole key
  CHECK(KeySlot("foo{}{bar}") != KeySlot("bar"));
  CHECK(KeySlot("foo{bar") == KeySlot(std::string("foo{bar")));
  CHECK(KeySlot("{}") != KeySlot(""));
  CHECK(KeySlot("foo}bar{") != KeySlot(""));
}

TEST_CASE("KeySlot takes the tag up to the first '}' after the first '{'", "[slot]") {
  // "foo{{bar}}zap": the tag is "{bar".
  CHECK(KeySlot("foo{{bar}}zap") == 4015);
  CHECK(KeySlot("foo{{bar}}zap") == KeySlot("{bar"));
}

TEST_CASE("KeySlot is binary safe", "[slot]") {
  const std::string with_nul("a\0b", 3);
  CHECK(KeySlot(with_nul) != KeySlot("a"));
  CHECK(KeySlot("{" + with_nul + "}x") == KeySlot(with_nul));
  CHECK(KeySlot("\xff\xfe") >= 0);
  CHECK(KeySlot("\xff\xfe") < kSlotCount);
}

TEST_CASE("SlotTag(s) hashes to s for every slot", "[slot]") {
  int wrong = 0, too_long = 0;
  for (int slot = 0; slot < kSlotCount; ++slot) {
    const std::string& tag = SlotTag(slot);
    if (tag.empty() || KeySlot("{" + tag + "}") != slot || KeySlot(tag) != slot) ++wrong;
    if (tag.size() > 4 || tag.find_first_of("{}") != std::string::npos) ++too_long;
  }
  CHECK(wrong == 0);
  CHECK(too_long == 0);
}

TEST_CASE("StateKeys names", "[slot]") {
  StateKeys keys("keyshift:");
  CHECK(keys.ledger() == "keyshift:{state}:ledger");
  CHECK(keys.lock() == "keyshift:{state}:lock");
  CHECK(keys.checkpoint(12) == "keyshift:{state}:ckpt:12");
  CHECK(keys.journal_pattern(3) == "keyshift:j:3:*");
  // Every state key shares one slot.
  CHECK(KeySlot(keys.ledger()) == KeySlot(keys.lock()));
  CHECK(KeySlot(keys.ledger()) == KeySlot(keys.checkpoint(99)));
  CHECK(keys.Owns("keyshift:anything"));
  CHECK_FALSE(keys.Owns("user:1"));
}

TEST_CASE("a key and its journal hash share a slot", "[slot]") {
  StateKeys keys("keyshift:");
  const std::string keys_to_check[] = {"user:1", "user:2", "foo", "{user1000}.following", "foo{}{bar}", "",
                                       std::string("bin\0\xff", 5), std::string(500, 'x')};
  for (const std::string& key : keys_to_check) {
    INFO(key);
    const std::string journal = keys.journal(7, key);
    CHECK(KeySlot(journal) == KeySlot(key));
    CHECK_THAT(journal, Catch::StartsWith("keyshift:j:7:{"));
    CHECK_THAT(journal, Catch::EndsWith("}"));
    CHECK_THAT(journal, Catch::Matches("keyshift:j:7:\\{[0-9a-z]+\\}"));
  }
  // Keys with one hash tag share one journal hash.
  CHECK(keys.journal(1, "{user1000}.following") == keys.journal(1, "{user1000}.followers"));
}

TEST_CASE("StateKeys::Validate rejects prefixes that would break the layout", "[slot]") {
  CHECK(StateKeys::Validate("keyshift:").ok());
  CHECK(StateKeys::Validate("app:migrations:").ok());
  for (const char* bad : {"", "a{b", "a}b", "{", "}", "ks*", "ks?", "ks[", "ks]", "ks\\"}) {
    INFO(bad);
    auto st = StateKeys::Validate(bad);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().exit_code == 2);
    CHECK_THAT(st.error().message, Catch::Contains("--prefix"));
  }
}
