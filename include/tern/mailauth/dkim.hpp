// DKIM (RFC 6376) signing with RSA-SHA256 and Ed25519-SHA256 (RFC 8463), relaxed/relaxed
// canonicalisation by default (simple on request), From oversigned; and the key material: generation,
// PEM files, the DNS TXT record. Verification is in dkim_verify.hpp and shares the canonicalisation.
//
// DkimSigner::sign() is pure (the time is passed in) and reads the message once; it returns the
// "DKIM-Signature:" field (folded, CRLF-terminated) to put on top of the message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.hpp"

namespace tern::mailauth {

enum class DkimAlgorithm { rsa_sha256, ed25519_sha256 };
std::string_view to_string(DkimAlgorithm a) noexcept;  // "rsa-sha256", "ed25519-sha256"

enum class DkimCanonicalization { simple, relaxed };
std::string_view to_string(DkimCanonicalization c) noexcept;  // "simple", "relaxed"

// RFC 6376 §3.4.2 / §3.4.4 relaxed canonicalisation (exposed for tests and the verifier). A header
// field comes without its final CRLF; lines may end in CRLF or a bare LF.
std::string relaxed_header(std::string_view name, std::string_view value);
std::string relaxed_body(std::string_view body);
// RFC 6376 §3.4.1 / §3.4.3 simple canonicalisation: the field unchanged (bare LF made CRLF); the body
// without trailing empty lines, ending in CRLF ("\r\n" for an empty body).
std::string simple_header(std::string_view name, std::string_view value);
std::string simple_body(std::string_view body);
std::string canonical_header(DkimCanonicalization c, std::string_view name, std::string_view value);
std::string canonical_body(DkimCanonicalization c, std::string_view body);

class DkimKey {
 public:
  ~DkimKey();
  DkimKey(DkimKey&&) noexcept;
  DkimKey& operator=(DkimKey&&) noexcept;

  // A new private key: RSA of `bits` (1024..4096; 2048 default per RFC 8301) or Ed25519.
  static Result<DkimKey> generate(DkimAlgorithm algorithm, unsigned bits = 2048);
  // A PEM private key (PKCS#8 or traditional RSA); the algorithm follows from the key.
  static Result<DkimKey> load_pem(const std::filesystem::path& file);
  static Result<DkimKey> from_pem(std::string_view pem);
  // An Ed25519 key from its 32-octet seed (RFC 8032 §5.1.5), as dkimpy and RFC 8463 Appendix A give it.
  static Result<DkimKey> from_ed25519_seed(std::string_view seed);
  // Writes the key as PKCS#8 PEM, mode 0600, atomically.
  Status save_pem(const std::filesystem::path& file) const;

  DkimAlgorithm algorithm() const noexcept { return algorithm_; }
  // The TXT record value: "v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>" or "v=DKIM1; k=ed25519; p=<raw key>".
  std::string dns_record() const;
  void* native() const noexcept { return key_; }  // EVP_PKEY*

 private:
  DkimKey(void* key, DkimAlgorithm a) : key_(key), algorithm_(a) {}
  void* key_ = nullptr;
  DkimAlgorithm algorithm_ = DkimAlgorithm::rsa_sha256;
};

struct DkimSignOptions {
  std::string domain;    // d=
  std::string selector;  // s=
  // Fields signed when present (each occurrence); names listed in `oversign` are signed once more than
  // present so none can be added later (RFC 6376 §8.15).
  std::vector<std::string> headers = {"From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID", "In-Reply-To",
                                      "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
                                      "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post"};
  std::vector<std::string> oversign = {"From"};
  std::int64_t expire_after = 0;  // seconds; x= = t + this when > 0
  // c= (RFC 6376 §3.5); relaxed/relaxed survives the re-folding and whitespace changes relays make.
  DkimCanonicalization header_canonicalization = DkimCanonicalization::relaxed;
  DkimCanonicalization body_canonicalization = DkimCanonicalization::relaxed;
};

class DkimSigner {
 public:
  DkimSigner(std::shared_ptr<const DkimKey> key, DkimSignOptions options);
  // The DKIM-Signature field for `message` (CRLF line ends), signed at unix time `now`.
  Result<std::string> sign(std::string_view message, std::int64_t now) const;
  const DkimSignOptions& options() const noexcept { return options_; }

 private:
  std::shared_ptr<const DkimKey> key_;
  DkimSignOptions options_;
};

}  // namespace tern::mailauth
