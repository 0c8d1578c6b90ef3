// LZF decompression (lzf_d.c) of the compressed strings in an RDB payload,
// bounded by the length the payload declares.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace keyshift::dump {

// Decompresses `in` into `out`, which must come out exactly `out_len` bytes.
Status LzfDecompress(std::string_view in, uint64_t out_len, std::string* out);

}  // namespace keyshift::dump
