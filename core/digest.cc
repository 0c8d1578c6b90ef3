#include "core/digest.h"

#include <openssl/evp.h>



namespace keyshift {
namespace {

// Hashes digest keys per key on the host (reader.h): the algorithm is looked
// up once (OpenSSL 3 fetches it on every EVP_sha1() digest otherwise) and
// hex is written by table, not by a formatted string per byte.
// One context per thread, reset per digest: EVP_Digest would allocate and
// free one on every call, and a hash key costs a digest per field.
std::string HexDigest(const std::string& data, const EVP_MD* md) {
  struct Context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Context context;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestInit_ex2(context.ctx, md, nullptr);
  EVP_DigestUpdate(context.ctx, data.data(), data.size());
  EVP_DigestFinal_ex(context.ctx, digest, &len);
  static const char kHex[] = "0123456789abcdef";
  std::string hex(2 * len, '0');
  for (unsigned int i = 0; i < len; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 15];
  }
  return hex;
}

const EVP_MD* Fetched(const char* name) { return EVP_MD_fetch(nullptr, name, nullptr); }

}  // namespace

std::string Sha1Hex(const std::string& data) {
  static const EVP_MD* const sha1 = Fetched("SHA1");
  return HexDigest(data, sha1);
}
std::string Sha256Hex(const std::string& data) {
  static const EVP_MD* const sha256 = Fetched("SHA256");
  return HexDigest(data, sha256);
}

}  // namespace keyshift
