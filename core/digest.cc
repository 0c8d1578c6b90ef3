#include "core/digest.h"

#include <openssl/evp.h>

#include <algorithm>

namespace keyshift {
namespace {

// The host digests keys one by one (reader.h, writer.h), so this is on the
// hot path: the algorithm is looked up once (OpenSSL 3 fetches it on every
// EVP_sha1() digest otherwise), one context per thread is reset per digest
// (EVP_Digest allocates and frees one per call, and a hash key costs a
// digest per field), and hex is written by table.
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

// Hashes and sets: a sha1 per field (length-prefixed name, then value) or
// member, sorted bytewise, then one sha1 of the type and them; the order
// Redis lists them in does not count. Other types: one sha1 of the type and
// each element, length-prefixed, in order.
std::string FlatContentDigest(std::string_view type, const std::vector<std::string_view>& flat) {
  std::string all(type);
  if (type == "hash" || type == "set") {
    size_t step = type == "hash" ? 2 : 1;
    std::vector<std::string> parts;
    parts.reserve(flat.size() / step);
    for (size_t i = 0; i < flat.size(); i += step) {
      std::string item;
      if (step == 2 && i + 1 < flat.size()) item.append(std::to_string(flat[i].size())).append(":");
      item.append(flat[i]);
      if (step == 2 && i + 1 < flat.size()) item.append(flat[i + 1]);
      parts.push_back(Sha1Hex(item));
    }
    std::sort(parts.begin(), parts.end());
    all += "|";
    for (const auto& p : parts) all += p;
    return Sha1Hex(all);
  }
  for (std::string_view e : flat) all.append("|").append(std::to_string(e.size())).append(":").append(e);
  return Sha1Hex(all);
}

}  // namespace keyshift
