// Fuzz target: stored password strings come from files and LDAP written by other tools; the cheap
// parsers ({SCHEME} prefix, SCRAM stored form, base64) must reject garbage without crashing.
// (Slow hash verification is not fuzzed here: its cost is bounded by the parameter checks.)
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/auth/password_scheme.hpp"
#include "tern/auth/scram.hpp"
#include "tern/core/base64.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern::auth;
  using tern::base64_decode;
  using tern::base64_encode;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto p = split_scheme(in);
  (void)parse_scheme(p.scheme);
  if (auto c = parse_scram_hash(p.data)) {
    if (c->stored_key.size() != 32 || c->server_key.size() != 32) std::abort();
    if (!parse_scram_hash(format_scram_hash(*c))) std::abort();
  }
  if (auto raw = base64_decode(in)) {
    if (base64_encode(*raw) != in) std::abort();
  }
  if (base64_decode(base64_encode(in)) != std::string(in)) std::abort();
  if (p.scheme == "PLAIN" || p.scheme == "SSHA512" || p.scheme == "SSHA256" || p.scheme == "SHA512")
    (void)verify_password("password", in);
  return 0;
}
