// DKIM verification (RFC 6376 §6) of RSA-SHA256 and Ed25519-SHA256 (RFC 8463) signatures, with the
// RFC 8301 rules: rsa-sha1 signatures and RSA keys under 1024 bits are not valid.
//
// verify_dkim() is pure: the key records come from a lookup callback (or records fetched before), the
// time is passed in. verify_dkim_async() is the thin coroutine that fetches the records of
// "<selector>._domainkey.<domain>" through a dns::Resolver first. dkim_authentication_results() makes
// the "dkim=..." resinfo of an Authentication-Results field (RFC 8601 §2.7.1).
//
// Bounds: at most DkimVerifyOptions::max_signatures signatures are verified per message (RFC 6376 §8.4
// lets a verifier limit the work an attacker can cause); tag lists are at most 16 KiB and 64 tags, h=
// at most 128 names, RSA keys at most 8192 bits.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>

#include "tern/core/result.hpp"
#include "tern/mailauth/dkim.hpp"

namespace tern::dns {
class Resolver;
}

namespace tern::mailauth {

enum class DkimKeyType { rsa, ed25519 };
enum class DkimHash { sha1, sha256 };

// A parsed DKIM-Signature field (RFC 6376 §3.5).
struct DkimSignature {
  std::string algorithm;  // a= as written, lower case: "rsa-sha256", "ed25519-sha256", "rsa-sha1"
  DkimKeyType key_type = DkimKeyType::rsa;
  DkimHash hash = DkimHash::sha256;
  DkimCanonicalization header_canonicalization = DkimCanonicalization::simple;  // c= default simple/simple
  DkimCanonicalization body_canonicalization = DkimCanonicalization::simple;
  std::string domain;                     // d=, lower case
  std::string selector;                   // s=
  std::string identity;                   // i=, "@" + d= when absent
  std::vector<std::string> headers;       // h=, lower case, in order
  std::string body_hash;                  // bh=, decoded
  std::string signature;                  // b=, decoded
  std::string b_text;                     // b= in base64 without whitespace (for header.b)
  std::optional<std::uint64_t> body_length;  // l=
  std::optional<std::int64_t> timestamp;     // t=
  std::optional<std::int64_t> expiration;    // x=
};

// The value of a DKIM-Signature field (after the colon). The error message says what is wrong.
Result<DkimSignature> parse_dkim_signature(std::string_view value);

// A parsed key record (RFC 6376 §3.6.1; k=ed25519 from RFC 8463 §4).
struct DkimKeyRecord {
  DkimKeyType key_type = DkimKeyType::rsa;  // k=, default rsa
  std::string public_key;                   // p=, decoded; empty: the key is revoked
  std::vector<std::string> hashes;          // h=, lower case; empty: any
  std::vector<std::string> services;        // s=, default {"*"}
  bool testing = false;                     // t=y
  bool strict = false;                      // t=s: i= must be in d= exactly, not a subdomain
  bool revoked() const noexcept { return public_key.empty(); }
};

Result<DkimKeyRecord> parse_dkim_key_record(std::string_view txt);

// RFC 8601 §2.7.1 result values.
enum class DkimResult { none, pass, fail, neutral, policy, temperror, permerror };
std::string_view to_string(DkimResult r) noexcept;

struct DkimSignatureResult {
  DkimResult result = DkimResult::neutral;
  std::string reason;     // empty on pass; a human sentence otherwise ("body hash did not verify")
  std::string domain;     // d= (empty when the field did not parse)
  std::string selector;   // s=
  std::string identity;   // i=
  std::string algorithm;  // a=
  std::string b_text;     // b= without whitespace
  unsigned key_bits = 0;  // RSA modulus size, 256 for Ed25519; 0 when no key was used
  bool testing = false;   // the key record says t=y (RFC 6376 §3.6.1: no different treatment)
  // l= was given: only `body_length` octets of the canonical body are signed, `unsigned_octets` follow
  // unsigned (RFC 6376 §8.2: content may have been appended).
  std::optional<std::uint64_t> body_length;
  std::uint64_t unsigned_octets = 0;
};

struct DkimVerification {
  std::vector<DkimSignatureResult> signatures;  // top to bottom, the first max_signatures fields
  std::size_t skipped = 0;                      // DKIM-Signature fields beyond max_signatures
  // pass if any signature passed; none without signatures; else the first signature's result.
  DkimResult summary() const noexcept;
};

struct DkimVerifyOptions {
  std::size_t max_signatures = 5;
  unsigned min_rsa_bits = 1024;    // RFC 8301 §3.2
  unsigned max_rsa_bits = 8192;    // larger keys cost too much to verify (neutral)
  bool accept_rsa_sha1 = false;    // RFC 8301 §3.1: rsa-sha1 MUST NOT be considered valid
  std::int64_t clock_skew = 300;   // seconds of slack for x= and t= (RFC 6376 §3.5)
};

// The TXT strings at "<selector>._domainkey.<domain>" (each record's character-strings concatenated).
// Errors: not_found (NXDOMAIN / no data) => permerror "no key"; anything else => temperror.
using DkimKeyLookup = std::function<Result<std::vector<std::string>>(std::string_view domain, std::string_view selector)>;

// "<selector>._domainkey.<domain>"
std::string dkim_key_name(std::string_view domain, std::string_view selector);

DkimVerification verify_dkim(std::string_view message, const DkimKeyLookup& lookup, std::int64_t now,
                             const DkimVerifyOptions& options = {});

// The key names verify_dkim() will ask `lookup` for (each once), for fetching them ahead.
std::vector<std::string> dkim_key_queries(std::string_view message, std::int64_t now,
                                          const DkimVerifyOptions& options = {});

// Fetches the key records through `resolver` (TXT), then verify_dkim(). `message` must outlive the call.
asio::awaitable<DkimVerification> verify_dkim_async(dns::Resolver& resolver, const std::string_view& message,
                                                    std::int64_t now, const DkimVerifyOptions& options);

// One resinfo per signature, e.g. `dkim=pass header.d=example.com header.i=@example.com
// header.s=sel header.a=rsa-sha256 header.b=AbCdEfGh`, with `reason="..."` when not pass; "dkim=none"
// when the message has no signature. header.b is the shortest prefix (at least 8 characters) of b=
// that tells the signatures apart (RFC 6008 §4).
std::vector<std::string> dkim_authentication_results(const DkimVerification& verification);

// "Authentication-Results: <authserv-id>;\r\n\t<resinfo>;\r\n\t<resinfo>\r\n" (RFC 8601 §2.2), or
// "Authentication-Results: <authserv-id>; none\r\n" with no resinfo.
std::string authentication_results_field(std::string_view authserv_id, const std::vector<std::string>& resinfos);

}  // namespace tern::mailauth
