// Hex digests of byte strings: sha1 (Redis script SHAs, journal format 1,
// content digests) and sha256 (migration files). libcrypto stays a private
// detail of core.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace keyshift {

std::string Sha1Hex(const std::string& data);
std::string Sha256Hex(const std::string& data);

// The content digest of a key of Redis type `type` (its TYPE name) whose
// read command replies `flat` (read_flat in redis/script_safety.cc: a hash
// as field, value..., a zset as member, score... in score order). It is
// content_digest of that file, computed on the host: the one definition
// every C++ caller goes through, so that both sides agree byte for byte.
std::string FlatContentDigest(std::string_view type, const std::vector<std::string_view>& flat);

}  // namespace keyshift
