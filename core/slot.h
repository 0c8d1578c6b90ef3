// Redis Cluster key slots: CRC16-XMODEM of the key's hash tag (or of the whole
// key) modulo 16384, and for each slot a short tag string that hashes to it,
// so keyshift can name its own keys (journal entries) in the slot of the key
// they protect.
#pragma once

#include <string>

namespace keyshift {

constexpr int kSlotCount = 16384;

int KeySlot(const std::string& key);

// A short string s with KeySlot("{" + s + "}") == slot.
const std::string& SlotTag(int slot);

}  // namespace keyshift
