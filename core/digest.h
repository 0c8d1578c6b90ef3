// Hex digests of byte strings: sha1 (Redis script SHAs, journal format 1)
// and sha256 (migration files). libcrypto stays a private detail of core.
#pragma once

#include <string>

namespace keyshift {

std::string Sha1Hex(const std::string& data);
std::string Sha256Hex(const std::string& data);

}  // namespace keyshift
