#include "core/digest.h"

#include <openssl/evp.h>

#include <fmt/format.h>

namespace keyshift {
namespace {

std::string HexDigest(const std::string& data, const EVP_MD* md) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, md, nullptr);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace

std::string Sha1Hex(const std::string& data) { return HexDigest(data, EVP_sha1()); }
std::string Sha256Hex(const std::string& data) { return HexDigest(data, EVP_sha256()); }

}  // namespace keyshift
