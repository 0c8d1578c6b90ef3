#include "core/lzf.h"

#include "core/rdb_reader.h"

namespace keyshift::dump {

namespace {

// A 3-byte LZF back reference yields at most 264 bytes: the bound on expansion.
constexpr uint64_t kLzfMaxExpansion = 88;

Status LzfLiteral(std::string_view in, size_t* ip, size_t n, uint64_t out_len, std::string* out) {
  if (n > in.size() - *ip) return Corrupt("LZF literal runs past its input");
  if (out->size() + n > out_len) return Corrupt("LZF data longer than its declared length");
  out->append(in.substr(*ip, n));
  *ip += n;
  return Status::Ok();
}

Status LzfBackRef(std::string_view in, size_t* ip, unsigned ctrl, uint64_t out_len,
                  std::string* out) {
  size_t len = ctrl >> 5;
  if (*ip >= in.size()) return Corrupt("LZF back reference runs past its input");
  if (len == 7) {
    len += static_cast<uint8_t>(in[(*ip)++]);
    if (*ip >= in.size()) return Corrupt("LZF back reference runs past its input");
  }
  const size_t distance = ((ctrl & 0x1fu) << 8) + static_cast<uint8_t>(in[(*ip)++]) + 1;
  len += 2;
  if (distance > out->size()) return Corrupt("LZF back reference points before the start");
  if (out->size() + len > out_len) return Corrupt("LZF data longer than its declared length");
  const size_t from = out->size() - distance;
  for (size_t i = 0; i < len; ++i) {
    const char ch = (*out)[from + i];  // may overlap what this loop appends
    out->push_back(ch);
  }
  return Status::Ok();
}

}  // namespace

Status LzfDecompress(std::string_view in, uint64_t out_len, std::string* out) {
  if (out_len / kLzfMaxExpansion > in.size()) {
    return Corrupt("LZF length " + std::to_string(out_len) + " is impossible for " +
                   std::to_string(in.size()) + " compressed bytes");
  }
  out->clear();
  size_t ip = 0;
  while (ip < in.size()) {
    const unsigned ctrl = static_cast<uint8_t>(in[ip++]);
    if (ctrl < 32) {
      DUMP_TRY(LzfLiteral(in, &ip, ctrl + 1, out_len, out));
    } else {
      DUMP_TRY(LzfBackRef(in, &ip, ctrl, out_len, out));
    }
  }
  if (out->size() != out_len) {
    return Corrupt("LZF data holds " + std::to_string(out->size()) + " bytes, declared " +
                   std::to_string(out_len));
  }
  return Status::Ok();
}

}  // namespace keyshift::dump
