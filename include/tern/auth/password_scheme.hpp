// Password hashes in Dovecot's "{SCHEME}data" syntax, so hashes from docker-mailserver
// (postfix-accounts.cf), Dovecot passwd-files and LDAP userPassword work unchanged.
//
//   {SHA512-CRYPT} {SHA256-CRYPT} {BLF-CRYPT}   libxcrypt crypt_r ($6$, $5$, $2y$/$2b$)
//   {ARGON2I} {ARGON2ID}                        libargon2 encoded form ($argon2id$v=19$m=..,t=..,p=..$salt$hash)
//   {SSHA512} {SSHA256}                         base64(digest(password + salt) + salt)
//   {SCRAM-SHA-256}                             iterations,salt,StoredKey,ServerKey (base64; RFC 5802/7677)
//   {PLAIN} {CLEARTEXT}                         the password itself
//   verify only: {CRYPT} {MD5-CRYPT} (any crypt(3) string), {SHA512} {SHA256} (unsalted base64)
// A hash without a prefix starting with '$' is read as crypt(3).
//
// BLOCKING / CPU: hash_password and verify_password deliberately cost 10-300 ms of CPU for the slow
// schemes (crypt, bcrypt, argon2, SCRAM's PBKDF2). Call them on the worker pool, never on an I/O thread.
// All comparisons of secrets are constant-time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tern/core/result.hpp"

namespace tern::auth {

enum class PasswordScheme { sha512_crypt, sha256_crypt, blf_crypt, argon2i, argon2id, ssha512, ssha256, scram_sha256, plain };

// Dovecot's name ("SHA512-CRYPT").
std::string_view scheme_name(PasswordScheme s) noexcept;
// Case-insensitive; accepts the names above (and CLEARTEXT for PLAIN).
std::optional<PasswordScheme> parse_scheme(std::string_view name) noexcept;

struct HashParams {
  unsigned sha_crypt_rounds = 5000;    // $6$/$5$ (5000 = glibc default, no "rounds=" written)
  unsigned bcrypt_cost = 10;           // 2^cost rounds
  std::uint32_t argon2_memory_kib = 65536;
  std::uint32_t argon2_iterations = 3;
  std::uint32_t argon2_parallelism = 1;
  unsigned scram_iterations = 4096;    // RFC 7677 minimum
};

// "{SCHEME}hash" of a new random salt. BLOCKING (CPU).
Result<std::string> hash_password(std::string_view password, PasswordScheme scheme, const HashParams& params = {});

// Does `password` match `stored` ("{SCHEME}data")? Errors: unsupported (unknown scheme), invalid_argument
// (malformed hash, or parameters beyond sane bounds, e.g. argon2 memory above 1 GiB). BLOCKING (CPU).
Result<bool> verify_password(std::string_view password, std::string_view stored);

// Splits "{SCHEME}data"; scheme is upper-cased, empty when there is no prefix.
struct SchemePrefix {
  std::string scheme;
  std::string_view data;
};
SchemePrefix split_scheme(std::string_view stored);

// Constant-time for equal lengths (lengths are not secret here).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// Random bytes from OpenSSL's CSPRNG.
Result<std::string> random_bytes(std::size_t n);

}  // namespace tern::auth
