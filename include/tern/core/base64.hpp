// Strict base64 (RFC 4648 §4) for protocol framing: SASL in SMTP AUTH (RFC 4954 §4), IMAP AUTHENTICATE
// (RFC 9051 §6.2.2), SCRAM fields (RFC 5802), stored hashes. No line breaks, no whitespace. MIME bodies
// use the tolerant decoder in tern/mime/codec.hpp instead (RFC 2045 §6.8 skips foreign characters).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tern {

std::string base64_encode(std::string_view raw);
// Strict: length a multiple of 4, padding only at the end, only alphabet characters, and the unused
// bits before padding zero (RFC 4648 §3.5: one encoding per value). nullopt otherwise.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace tern
