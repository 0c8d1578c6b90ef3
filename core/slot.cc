// CRC16 key slots and the slot -> tag table (built once, on first use).
#include "core/slot.h"

#include <cstdint>
#include <vector>

namespace keyshift {

namespace {

uint16_t Crc16(const char* data, size_t len) {
  uint16_t crc = 0;
  for (size_t i = 0; i < len; ++i) {
    crc ^= static_cast<uint16_t>(static_cast<unsigned char>(data[i])) << 8;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : crc << 1;
  }
  return crc;
}

std::vector<std::string> BuildTags() {
  std::vector<std::string> tags(kSlotCount);
  int missing = kSlotCount;
  const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
  for (unsigned n = 0; missing > 0; ++n) {  // base-36 counting covers every slot quickly
    std::string s;
    for (unsigned v = n;; v /= 36) {
      s += digits[v % 36];
      if (v < 36) break;
    }
    int slot = Crc16(s.data(), s.size()) & (kSlotCount - 1);
    if (tags[slot].empty()) {
      tags[slot] = s;
      --missing;
    }
  }
  return tags;
}

}  // namespace

int KeySlot(const std::string& key) {
  size_t open = key.find('{');
  if (open != std::string::npos) {
    size_t close = key.find('}', open + 1);
    if (close != std::string::npos && close > open + 1)
      return Crc16(key.data() + open + 1, close - open - 1) & (kSlotCount - 1);
  }
  return Crc16(key.data(), key.size()) & (kSlotCount - 1);
}

const std::string& SlotTag(int slot) {
  static const std::vector<std::string> tags = BuildTags();
  return tags[slot];
}

}  // namespace keyshift
