// Bounds-checked reading of RDB-serialized data (rdb.c), shared by the DUMP
// decoder's pieces: the Cursor every read goes through, RDB lengths and
// strings (raw, integer-encoded, LZF-compressed), and fixed-width fields.
// Every reader returns a Status, so a corrupt payload ends in an Error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

// Returns the Error of a failed Status from the enclosing function.
#define DUMP_TRY(expr)                                \
  do {                                                \
    if (Status dump_try_ = (expr); !dump_try_.ok()) { \
      return dump_try_.error();                       \
    }                                                 \
  } while (0)

namespace keyshift::dump {

using Strings = std::vector<std::string>;
using Pairs = std::vector<std::pair<std::string, std::string>>;

Error Corrupt(const std::string& what);

// A byte as "0x1f", for messages.
std::string Hex(unsigned value);

// Two's complement value of the low `bits` bits of `raw`.
int64_t SignExtend(uint64_t raw, int bits);

// A bounds-checked reader over bytes.
class Cursor {
 public:
  explicit Cursor(std::string_view data) : data_(data) {}
  size_t left() const { return data_.size() - pos_; }
  size_t pos() const { return pos_; }
  bool at_end() const { return pos_ == data_.size(); }

  Status Take(uint64_t n, std::string_view* out, const char* what) {
    if (n > left()) {
      return Corrupt(std::string(what) + " needs " + std::to_string(n) + " bytes, " +
                     std::to_string(left()) + " left");
    }
    *out = data_.substr(pos_, n);
    pos_ += n;
    return Status::Ok();
  }
  Status Byte(uint8_t* out, const char* what) {
    std::string_view b;
    DUMP_TRY(Take(1, &b, what));
    *out = static_cast<uint8_t>(b[0]);
    return Status::Ok();
  }
  // Unsigned integer of `width` (1..8) bytes, little or big endian.
  Status Le(int width, uint64_t* out, const char* what) { return Int(width, false, out, what); }
  Status Be(int width, uint64_t* out, const char* what) { return Int(width, true, out, what); }

 private:
  Status Int(int width, bool big_endian, uint64_t* out, const char* what) {
    std::string_view b;
    DUMP_TRY(Take(width, &b, what));
    uint64_t v = 0;
    for (int i = 0; i < width; ++i) {
      const int at = big_endian ? i : width - 1 - i;
      v = (v << 8) | static_cast<uint8_t>(b[at]);
    }
    *out = v;
    return Status::Ok();
  }

  std::string_view data_;
  size_t pos_ = 0;
};

// A plain RDB length (not a string encoding).
Status ReadPlainLen(Cursor& c, uint64_t* out, const char* what);

// A count of things that take at least `min_bytes` each: refuses counts the
// rest of the payload cannot hold, so no loop runs on a corrupt count.
Status ReadCount(Cursor& c, uint64_t min_bytes, uint64_t* out, const char* what);

// An RDB string: raw, RDB_ENC_INT8/16/32 or RDB_ENC_LZF.
Status ReadRdbString(Cursor& c, std::string* out);

// `count` * `per_count` RDB strings after a count (list, set, hash bodies).
Status ReadStringSeq(Cursor& c, uint64_t per_count, Strings* out);

// `len` raw bytes as a string.
Status TakeString(Cursor& c, uint64_t len, std::string* out);

// A `width`-byte little-endian integer of `bits` signed bits, as decimal text.
Status TakeInt(Cursor& c, int width, int bits, std::string* out);

}  // namespace keyshift::dump
