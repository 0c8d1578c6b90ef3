// The compact encodings Redis stores small aggregates in, each an RDB string
// holding one packed blob: listpack (listpack.c), ziplist (ziplist.c),
// intset (intset.c) and zipmap (zipmap.c). Each parser checks the blob's own
// sizes, counts and terminators, and gives integers back as decimal text.
#pragma once

#include <string_view>

#include "core/rdb_reader.h"

namespace keyshift::dump {

Status ParseListpack(std::string_view blob, Strings* out);
Status ParseZiplist(std::string_view blob, Strings* out);
Status ParseIntset(std::string_view blob, Strings* out);
Status ParseZipmap(std::string_view blob, Pairs* out);

}  // namespace keyshift::dump
