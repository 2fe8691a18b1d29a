// What the DKIM signer and verifier share (private to lib/mailauth): the header field split, the
// selection of signed fields, hashing and the signature primitive.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.hpp"
#include "tern/mailauth/dkim_verify.hpp"

#include <openssl/types.h>

namespace tern::mailauth::detail {

bool is_wsp(char c) noexcept;
std::string lower(std::string_view s);
std::string_view trim_wsp(std::string_view s);  // FWS (SP, HTAB, CR, LF) off both ends

struct Field {
  std::string_view name;   // as written (may end in WSP before the colon)
  std::string_view value;  // after the colon, folding included, without the final CRLF
};

// The header fields (RFC 5322 §2.2) and where the body starts. Lines end in CRLF (a bare LF is accepted).
std::vector<Field> header_fields(std::string_view msg, std::size_t& body_start);
// The field name lower-cased without trailing WSP, for matching against h=.
std::string field_key(const Field& f);

// RFC 6376 §5.4.2: for each name of `h` the last instance not used yet, bottom-up; a name without an
// instance left (oversigning) adds nothing. Each field canonicalised and CRLF-terminated.
std::string signed_header_data(const std::vector<Field>& fields, const std::vector<std::string>& h,
                               DkimCanonicalization c);

std::string digest(DkimHash hash, std::string_view data);

// RFC 6376 §3.7 / RFC 8463 §3: signs or verifies the canonical header data (Ed25519 over its SHA-256).
Result<std::string> sign_data(EVP_PKEY* key, DkimKeyType type, std::string_view data);
bool verify_data(EVP_PKEY* key, DkimKeyType type, DkimHash hash, std::string_view data, std::string_view sig);

}  // namespace tern::mailauth::detail
