// DKIM verification reads DKIM-Signature fields and key records an attacker writes: arbitrary bytes
// must never crash the tag-list and key-record parsers or the verifier, and the Authentication-Results
// text made from them must stay on one line of printable ASCII (no header injection).
//
// The input is tried three ways: as a DKIM-Signature value, as a key record, and as a whole message
// whose signatures find a fixed Ed25519 key (selector "ed", the RFC 8032 §7.1 test key) or a fixed
// RSA-1024 key (selector "rsa", dkimpy's test.txt); any other selector gets the input's first line as
// its key record.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/mailauth/dkim_verify.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern;
  using namespace tern::mailauth;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)parse_dkim_signature(in);
  (void)parse_dkim_key_record(in);

  std::string first_line(in.substr(0, std::min(in.find('\n'), std::size_t{512})));
  DkimKeyLookup lookup = [&](std::string_view, std::string_view selector) -> Result<std::vector<std::string>> {
    if (selector == "ed") return std::vector<std::string>{"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="};
    if (selector == "rsa")
      return std::vector<std::string>{
          "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J1"
          "6JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIK"
          "T+l/K4w3QIDAQAB"};
    if (selector == "none") return fail(ErrorCategory::not_found, "NXDOMAIN");
    return std::vector<std::string>{first_line};
  };
  DkimVerification v = verify_dkim(in, lookup, 1700000000);
  if (v.signatures.size() > DkimVerifyOptions{}.max_signatures) std::abort();
  std::vector<std::string> ar = dkim_authentication_results(v);
  for (const auto& r : ar)
    for (char c : r)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) std::abort();
  (void)authentication_results_field("mx.example", ar);
  return 0;
}
