// SCRAM-SHA-256 primitives (RFC 5802, RFC 7677): key derivation and the stored form Dovecot uses.
// Everything here is pure computation; derive_scram_credentials runs PBKDF2 (BLOCKING, CPU).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tern/core/result.hpp"

namespace tern::auth {

struct ScramCredentials {
  std::string salt;        // raw bytes
  unsigned iterations = 4096;
  std::string stored_key;  // H(ClientKey), 32 bytes
  std::string server_key;  // HMAC(SaltedPassword, "Server Key"), 32 bytes
};

// SaltedPassword = Hi(password, salt, i) and the keys from it (RFC 5802 3). BLOCKING (CPU).
// The password should already be SASLprep'ed; Tern uses it as UTF-8 bytes unchanged (as Dovecot does).
Result<ScramCredentials> derive_scram_credentials(std::string_view password, std::string_view salt, unsigned iterations);
// Parses the data part of "{SCRAM-SHA-256}iter,salt,storedkey,serverkey".
std::optional<ScramCredentials> parse_scram_hash(std::string_view data);
std::string format_scram_hash(const ScramCredentials& c);  // data part (no prefix)

std::string sha256(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);

}  // namespace tern::auth
