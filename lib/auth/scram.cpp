#include "tern/auth/scram.hpp"

#include "tern/core/base64.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <array>

namespace tern::auth {

std::string sha256(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), reinterpret_cast<unsigned char*>(out.data()), &len);
  out.resize(len);
  return out;
}

Result<ScramCredentials> derive_scram_credentials(std::string_view password, std::string_view salt,
                                                  unsigned iterations) {
  if (iterations < 1 || iterations > 10000000)
    return fail(ErrorCategory::invalid_argument, "SCRAM iteration count out of range");
  std::array<unsigned char, 32> salted{};
  // Hi() of RFC 5802 2.2 is PBKDF2 with HMAC as PRF and dkLen = hash length.
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                        static_cast<int>(iterations), EVP_sha256(), salted.size(), salted.data()) != 1)
    return fail(ErrorCategory::internal, "PBKDF2 failed");
  std::string sp(reinterpret_cast<const char*>(salted.data()), salted.size());
  ScramCredentials c;
  c.salt = std::string(salt);
  c.iterations = iterations;
  c.stored_key = sha256(hmac_sha256(sp, "Client Key"));
  c.server_key = hmac_sha256(sp, "Server Key");
  return c;
}

std::optional<ScramCredentials> parse_scram_hash(std::string_view data) {
  std::array<std::string_view, 4> f;
  for (std::size_t k = 0; k < 4; ++k) {
    auto comma = data.find(',');
    if ((comma == std::string_view::npos) != (k == 3)) return std::nullopt;
    f[k] = data.substr(0, comma);
    data = comma == std::string_view::npos ? std::string_view() : data.substr(comma + 1);
  }
  ScramCredentials c;
  unsigned long it = 0;
  if (f[0].empty() || f[0].size() > 8) return std::nullopt;
  for (char ch : f[0]) {
    if (ch < '0' || ch > '9') return std::nullopt;
    it = it * 10 + static_cast<unsigned>(ch - '0');
  }
  if (it < 1 || it > 10000000) return std::nullopt;
  c.iterations = static_cast<unsigned>(it);
  auto salt = base64_decode(f[1]);
  auto sk = base64_decode(f[2]);
  auto svk = base64_decode(f[3]);
  if (!salt || !sk || !svk || sk->size() != 32 || svk->size() != 32) return std::nullopt;
  c.salt = *salt;
  c.stored_key = *sk;
  c.server_key = *svk;
  return c;
}

std::string format_scram_hash(const ScramCredentials& c) {
  return std::to_string(c.iterations) + "," + base64_encode(c.salt) + "," + base64_encode(c.stored_key) + "," +
         base64_encode(c.server_key);
}

}  // namespace tern::auth
