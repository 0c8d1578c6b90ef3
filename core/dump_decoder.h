// Decoding of Redis DUMP payloads into Values, without talking to Redis.
//
// keyshift journals the DUMP payload of every key before changing it; `down
// --dry-run` decodes the journaled payload here to diff it against the key's
// current value. A payload is
//
//   <RDB type byte> <serialized object> <RDB version: 2 bytes LE> <CRC64: 8 bytes LE>
//
// with the CRC64 (Jones polynomial, reflected, as Redis's crc64.c) taken over
// everything before it. Every read is bounds-checked: a corrupt or truncated
// payload gives an Error, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/value.h"

namespace keyshift {

// Highest trailing RDB version accepted. Redis 7.0 writes 10; 11 (7.2, adds
// the listpack set) and 12 (7.4) only add object types, which fail by type.
inline constexpr int kMaxDumpRdbVersion = 12;

// Decodes a DUMP payload (as produced by Redis 7.0: RDB version 10) into a
// normalized Value. Verifies the trailing RDB version and CRC64 (a stored CRC
// of 0 means "not checked"). Supports every encoding Redis 7.0 emits for
// string, list, set, hash and zset, plus the older ones it still loads
// (linked list, ziplist quicklist, ziplist/zipmap hash, ziplist zset, string
// scores) and the 7.2 listpack set. Zset scores come back as Redis 7.0's
// ZRANGE WITHSCORES prints them ("%.17g", "inf", "-inf"); integers stored in
// compact encodings come back as decimal text. Streams, module values and
// unknown types: Fail("... type N not supported").
Result<Value> DecodeDump(const std::string& payload);

// The CRC64 Redis puts at the end of a DUMP payload, over `data`. Exposed for
// tests that build or re-seal payloads.
uint64_t DumpCrc64(std::string_view data);

}  // namespace keyshift
