#include "tern/auth/scram.hpp"

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

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
int b64val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::string base64_encode(std::string_view raw) {
  std::string out;
  out.reserve((raw.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto u = [&](std::size_t k) { return static_cast<unsigned char>(raw[k]); };
  for (; i + 3 <= raw.size(); i += 3) {
    unsigned v = (u(i) << 16) | (u(i + 1) << 8) | u(i + 2);
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], kB64[v & 63]};
  }
  if (raw.size() - i == 1) {
    unsigned v = u(i) << 16;
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], '=', '='};
  } else if (raw.size() - i == 2) {
    unsigned v = (u(i) << 16) | (u(i + 1) << 8);
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], '='};
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view t) {
  if (t.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(t.size() / 4 * 3);
  for (std::size_t i = 0; i < t.size(); i += 4) {
    bool last = i + 4 == t.size();
    int a = b64val(t[i]), b = b64val(t[i + 1]);
    if (a < 0 || b < 0) return std::nullopt;
    // RFC 4648 3.5: the unused bits before padding must be zero (one encoding per value).
    if (last && t[i + 2] == '=') {
      if (t[i + 3] != '=' || (b & 15) != 0) return std::nullopt;
      out.push_back(static_cast<char>((a << 2) | (b >> 4)));
      break;
    }
    int c = b64val(t[i + 2]);
    if (c < 0) return std::nullopt;
    if (last && t[i + 3] == '=') {
      if ((c & 3) != 0) return std::nullopt;
      out.push_back(static_cast<char>((a << 2) | (b >> 4)));
      out.push_back(static_cast<char>(((b & 15) << 4) | (c >> 2)));
      break;
    }
    int d = b64val(t[i + 3]);
    if (d < 0) return std::nullopt;
    out.push_back(static_cast<char>((a << 2) | (b >> 4)));
    out.push_back(static_cast<char>(((b & 15) << 4) | (c >> 2)));
    out.push_back(static_cast<char>(((c & 3) << 6) | d));
  }
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
