#include "tern/auth/password_scheme.hpp"

#include <argon2.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "tern/core/base64.hpp"

#include "tern/auth/scram.hpp"

namespace tern::auth {

namespace {

std::string upper(std::string_view s) {
  std::string o(s);
  for (auto& c : o)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return o;
}

tl::unexpected<Error> malformed(std::string_view scheme) {
  return fail(ErrorCategory::invalid_argument, fmt::format("the stored {{{}}} hash is malformed", scheme));
}

// crypt_data is ~32 KiB: keep it off the (possibly small) worker stack.
Result<std::string> run_crypt(std::string_view password, const std::string& setting) {
  auto data = std::make_unique<crypt_data>();
  std::string pw(password);
  if (pw.find('\0') != std::string::npos) return std::string("*");  // cannot match; crypt stops at NUL
  const char* r = crypt_r(pw.c_str(), setting.c_str(), data.get());
  OPENSSL_cleanse(pw.data(), pw.size());
  if (!r || r[0] == '*') return fail(ErrorCategory::invalid_argument, "crypt(3) does not accept this hash");
  return std::string(r);
}

Result<std::string> crypt_new(std::string_view password, const char* prefix, unsigned long count) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn(prefix, count, nullptr, 0, setting, sizeof setting))
    return fail(ErrorCategory::internal, fmt::format("crypt_gensalt({}) failed", prefix));
  return run_crypt(password, setting);
}

Result<bool> verify_crypt(std::string_view password, std::string_view data) {
  auto r = run_crypt(password, std::string(data));
  if (!r) return fail(r.error());
  return constant_time_equal(*r, data);
}

const EVP_MD* salted_md(std::string_view scheme, bool& salted) {
  salted = scheme[0] == 'S' && scheme[1] == 'S';
  if (scheme == "SSHA512" || scheme == "SHA512") return EVP_sha512();
  if (scheme == "SSHA256" || scheme == "SHA256") return EVP_sha256();
  return nullptr;
}

std::string digest(const EVP_MD* md, std::string_view a, std::string_view b) {
  std::string out(static_cast<std::size_t>(EVP_MD_get_size(md)), '\0');
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, md, nullptr);
  EVP_DigestUpdate(ctx, a.data(), a.size());
  EVP_DigestUpdate(ctx, b.data(), b.size());
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()), &len);
  EVP_MD_CTX_free(ctx);
  return out;
}

// Refuses argon2 parameters that would let a hostile hash exhaust memory or CPU.
bool argon2_params_sane(std::string_view data) {
  auto m = data.find("m=");
  auto t = data.find("t=");
  if (m == std::string_view::npos || t == std::string_view::npos) return false;
  unsigned long mem = std::strtoul(std::string(data.substr(m + 2, 12)).c_str(), nullptr, 10);
  unsigned long it = std::strtoul(std::string(data.substr(t + 2, 12)).c_str(), nullptr, 10);
  return mem > 0 && mem <= (1ul << 20) && it > 0 && it <= 64;
}

// Argon2 is memory-hard (64 MiB by default, up to 1 GiB for a stored hash argon2_params_sane accepts):
// the worker pool may run dozens of logins at once, so at most as many Argon2 computations as there are
// cores run together and memory stays bounded; the others wait their turn (they would compete for the
// same cores anyway).
class Argon2Gate {
 public:
  Argon2Gate() {
    std::unique_lock lk(m_);
    cv_.wait(lk, [] { return running_ < limit(); });
    ++running_;
  }
  ~Argon2Gate() {
    {
      std::lock_guard lk(m_);
      --running_;
    }
    cv_.notify_one();
  }
  Argon2Gate(const Argon2Gate&) = delete;
  Argon2Gate& operator=(const Argon2Gate&) = delete;

 private:
  static unsigned limit() {
    static const unsigned n = std::max(2u, std::thread::hardware_concurrency());
    return n;
  }
  static inline std::mutex m_;
  static inline std::condition_variable cv_;
  static inline unsigned running_ = 0;
};

}  // namespace

std::string_view scheme_name(PasswordScheme s) noexcept {
  switch (s) {
    case PasswordScheme::sha512_crypt: return "SHA512-CRYPT";
    case PasswordScheme::sha256_crypt: return "SHA256-CRYPT";
    case PasswordScheme::blf_crypt: return "BLF-CRYPT";
    case PasswordScheme::argon2i: return "ARGON2I";
    case PasswordScheme::argon2id: return "ARGON2ID";
    case PasswordScheme::ssha512: return "SSHA512";
    case PasswordScheme::ssha256: return "SSHA256";
    case PasswordScheme::scram_sha256: return "SCRAM-SHA-256";
    case PasswordScheme::plain: return "PLAIN";
  }
  return "PLAIN";
}

std::optional<PasswordScheme> parse_scheme(std::string_view name) noexcept {
  auto u = upper(name);
  for (auto s : {PasswordScheme::sha512_crypt, PasswordScheme::sha256_crypt, PasswordScheme::blf_crypt,
                 PasswordScheme::argon2i, PasswordScheme::argon2id, PasswordScheme::ssha512, PasswordScheme::ssha256,
                 PasswordScheme::scram_sha256, PasswordScheme::plain})
    if (u == scheme_name(s)) return s;
  if (u == "CLEARTEXT") return PasswordScheme::plain;
  return std::nullopt;
}

SchemePrefix split_scheme(std::string_view stored) {
  if (stored.size() > 2 && stored[0] == '{') {
    auto close = stored.find('}');
    if (close != std::string_view::npos && close < 32)
      return {upper(stored.substr(1, close - 1)), stored.substr(close + 1)};
  }
  return {"", stored};
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    return fail(ErrorCategory::internal, "the random number generator failed");
  return out;
}

Result<std::string> hash_password(std::string_view password, PasswordScheme scheme, const HashParams& p) {
  std::string prefix = fmt::format("{{{}}}", scheme_name(scheme));
  switch (scheme) {
    case PasswordScheme::sha512_crypt:
    case PasswordScheme::sha256_crypt: {
      auto r = crypt_new(password, scheme == PasswordScheme::sha512_crypt ? "$6$" : "$5$",
                         p.sha_crypt_rounds == 5000 ? 0 : p.sha_crypt_rounds);
      if (!r) return r;
      return prefix + *r;
    }
    case PasswordScheme::blf_crypt: {
      auto r = crypt_new(password, "$2y$", p.bcrypt_cost);
      if (!r) return r;
      return prefix + *r;
    }
    case PasswordScheme::argon2i:
    case PasswordScheme::argon2id: {
      auto salt = random_bytes(16);
      if (!salt) return salt;
      argon2_type type = scheme == PasswordScheme::argon2i ? Argon2_i : Argon2_id;
      std::size_t len = argon2_encodedlen(p.argon2_iterations, p.argon2_memory_kib, p.argon2_parallelism, 16, 32, type);
      std::string enc(len, '\0');
      Argon2Gate gate;
      int rc = argon2_hash(p.argon2_iterations, p.argon2_memory_kib, p.argon2_parallelism, password.data(),
                           password.size(), salt->data(), salt->size(), nullptr, 32, enc.data(), enc.size(), type,
                           ARGON2_VERSION_13);
      if (rc != ARGON2_OK) return fail(ErrorCategory::internal, fmt::format("argon2: {}", argon2_error_message(rc)));
      enc.resize(std::char_traits<char>::length(enc.c_str()));
      return prefix + enc;
    }
    case PasswordScheme::ssha512:
    case PasswordScheme::ssha256: {
      auto salt = random_bytes(16);
      if (!salt) return salt;
      const EVP_MD* md = scheme == PasswordScheme::ssha512 ? EVP_sha512() : EVP_sha256();
      return prefix + base64_encode(digest(md, password, *salt) + *salt);
    }
    case PasswordScheme::scram_sha256: {
      auto salt = random_bytes(16);
      if (!salt) return salt;
      auto c = derive_scram_credentials(password, *salt, p.scram_iterations);
      if (!c) return fail(c.error());
      return prefix + format_scram_hash(*c);
    }
    case PasswordScheme::plain: return prefix + std::string(password);
  }
  return fail(ErrorCategory::unsupported, "unknown password scheme");
}

Result<bool> verify_password(std::string_view password, std::string_view stored) {
  auto [scheme, data] = split_scheme(stored);
  if (scheme.empty()) {
    if (!data.empty() && data[0] == '$') return verify_crypt(password, data);
    return fail(ErrorCategory::invalid_argument, "the stored password has no {SCHEME} prefix");
  }
  if (scheme == "SHA512-CRYPT" || scheme == "SHA256-CRYPT" || scheme == "BLF-CRYPT" || scheme == "CRYPT" ||
      scheme == "MD5-CRYPT") {
    if (scheme == "SHA512-CRYPT" && data.rfind("$6$", 0) != 0) return malformed(scheme);
    if (scheme == "SHA256-CRYPT" && data.rfind("$5$", 0) != 0) return malformed(scheme);
    if (scheme == "BLF-CRYPT" && data.rfind("$2", 0) != 0) return malformed(scheme);
    if (scheme == "BLF-CRYPT" && password.size() > 72) password = password.substr(0, 72);  // bcrypt's limit
    auto r = verify_crypt(password, data);
    if (!r) return malformed(scheme);
    return r;
  }
  if (scheme == "ARGON2I" || scheme == "ARGON2ID") {
    bool id = scheme == "ARGON2ID";
    if (data.rfind(id ? "$argon2id$" : "$argon2i$", 0) != 0 || !argon2_params_sane(data)) return malformed(scheme);
    std::string enc(data);
    Argon2Gate gate;
    int rc = id ? argon2id_verify(enc.c_str(), password.data(), password.size())
                : argon2i_verify(enc.c_str(), password.data(), password.size());
    if (rc == ARGON2_OK) return true;
    if (rc == ARGON2_VERIFY_MISMATCH) return false;
    return malformed(scheme);
  }
  bool salted = false;
  if (scheme.size() > 2) {
    if (const EVP_MD* md = salted_md(scheme, salted)) {
      auto raw = base64_decode(data);
      auto n = static_cast<std::size_t>(EVP_MD_get_size(md));
      if (!raw || raw->size() < n || (!salted && raw->size() != n)) return malformed(scheme);
      std::string_view want(raw->data(), n);
      std::string_view salt(raw->data() + n, raw->size() - n);
      return constant_time_equal(digest(md, password, salt), want);
    }
  }
  if (scheme == "SCRAM-SHA-256") {
    auto c = parse_scram_hash(data);
    if (!c) return malformed(scheme);
    auto mine = derive_scram_credentials(password, c->salt, c->iterations);
    if (!mine) return fail(mine.error());
    return constant_time_equal(mine->stored_key, c->stored_key);
  }
  if (scheme == "PLAIN" || scheme == "CLEARTEXT") return constant_time_equal(password, data);
  return fail(ErrorCategory::unsupported, fmt::format("the password scheme {{{}}} is not supported", scheme));
}

}  // namespace tern::auth
