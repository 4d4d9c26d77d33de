#include "base/hash.h"

#include <openssl/evp.h>

namespace rb {

std::string sha256_hex(std::string_view bytes) {
  // Fetched once: OpenSSL 3 looks the algorithm up on every EVP_sha256() use otherwise.
  static EVP_MD* md_type = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, md_type ? md_type : EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (unsigned i = 0; i < len; ++i) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  return out;
}

}  // namespace rb
