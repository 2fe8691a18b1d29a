// SRS, the Sender Rewriting Scheme (Shevek's scheme as implemented by libsrs2 and postsrsd): when mail
// is forwarded to another domain, the envelope sender is rewritten into an address at a domain of ours
// so that SPF at the next hop passes, and so that a bounce comes back to us, who can undo the rewrite.
//
//   forward   alice@orig.example  ->  SRS0=HHHH=TT=orig.example=alice@fwd.example
//   re-forward SRS0=HHHH=TT=orig.example=alice@fwd.example
//                                 ->  SRS1=GGGG=fwd.example==HHHH=TT=orig.example=alice@fwd2.example
//   reverse   SRS0 address at our domain -> alice@orig.example (hash and age verified)
//             SRS1 address at our domain -> SRS0=HHHH=TT=orig.example=alice@fwd.example (hash verified)
//
// TT is the day number (Unix time / 86400) modulo 1024 in two base32 digits (A-Z, 2-7). HHHH is the
// first `hash_length` characters of the base64 HMAC-SHA1, keyed with the secret, of the lower-cased
// fields (SRS0: TT, domain, local part; SRS1: first forwarder's domain, the rest of the SRS0 local part).
// Hashes compare case-insensitively and "SRS0"/"SRS1" and TT are read in any case, since some MTAs
// lower-case local parts; after "SRS0"/"SRS1" the first separator may be '=', '+' or '-' (libsrs2).
// Several secrets may be given: the first signs, all verify (key rotation, as postsrsd).
//
// Pure: no clock (time is passed in), no I/O except load_srs_secrets. Inputs are bounded (kMaxAddress).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/config.hpp"
#include "tern/core/result.hpp"

namespace tern::mailauth {

struct SrsConfig {
  bool enabled = true;                // rewrite the envelope sender of mail forwarded to other domains
  std::string domain;                 // SRS domain; "" = the domain of the forwarding alias or list (as Cloudron)
  std::filesystem::path secret_file;  // one secret per line, first signs; default <data_dir>/srs.secret (created)
  int max_age_days = 21;              // a bounce to an older SRS address is refused
  int hash_length = 4;                // base64 characters of HMAC-SHA1 kept (libsrs2/postsrsd default 4)
};

// Reads [srs]: enabled, domain, secret_file, max_age ("21d"; whole days), hash_length (4..20).
Status parse_srs_config(ConfigSection& section, SrsConfig& out);

// The secrets in `file`, one per non-empty line (surrounding blanks ignored). When the file does not
// exist and `create` is set, writes a new random secret (24 bytes, base64) with mode 0600 first.
// BLOCKING (file I/O).
Result<std::vector<std::string>> load_srs_secrets(const std::filesystem::path& file, bool create);

// Why reverse() refused an address (the Error's code is one of these).
enum class SrsFailure { not_srs = 1, malformed, bad_hash, expired };

class SrsCodec {
 public:
  static constexpr std::size_t kMaxAddress = 1024;

  // `secrets` must not be empty (the first signs). hash_length is clamped to 4..20, max_age_days to 1..1023.
  SrsCodec(std::vector<std::string> secrets, int hash_length = 4, int max_age_days = 21);

  // True when the local part starts with SRS0 or SRS1 (any case) followed by '=', '+' or '-'.
  static bool is_srs(std::string_view local_part) noexcept;

  // Rewrites `sender` (local@domain) into an address at `srs_domain`, at time `now` (Unix seconds):
  // SRS0 for an ordinary address, SRS1 for an SRS0 or SRS1 address (pointing back to the first
  // forwarder). Fails (invalid_argument) for an address without '@', an empty part, a malformed SRS
  // sender, or a result longer than kMaxAddress.
  Result<std::string> forward(std::string_view sender, std::string_view srs_domain, std::int64_t now) const;

  // Undoes one rewrite of `address` (an SRS0 or SRS1 address at our domain; the domain part is not
  // checked here). Errors have category invalid_argument, code = SrsFailure, and a sentence a bounce
  // sender can read ("the SRS address has expired", ...).
  Result<std::string> reverse(std::string_view address, std::int64_t now) const;

  // The hash of `fields` with secret `index` (for tests and cross-checks).
  std::string hash(std::size_t index, const std::vector<std::string_view>& fields) const;
  // TT for a time (Unix seconds).
  static std::string timestamp(std::int64_t now);

 private:
  bool hash_ok(std::string_view given, const std::vector<std::string_view>& fields) const;
  std::vector<std::string> secrets_;
  int hash_length_;
  int max_age_days_;
};

}  // namespace tern::mailauth
