// The SRS reverse parser reads addresses that anyone on the internet can send a bounce to; forward()
// reads any envelope sender. Neither may crash, and their results must hold the scheme's invariants.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/mailauth/srs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern::mailauth;
  static const SrsCodec codec({"tern-test-secret", "older-secret"});  // seeds carry valid hashes
  constexpr std::int64_t now = 1700000000;
  std::string in(reinterpret_cast<const char*>(data), size);

  // reverse: success only for SRS addresses; SRS0 gives an address that forwards and reverses back to itself,
  // SRS1 gives an SRS0 address; failures say why.
  auto r = codec.reverse(in, now);
  if (r) {
    auto at = in.rfind('@');
    std::string_view local = at == std::string::npos ? std::string_view(in) : std::string_view(in).substr(0, at);
    if (!SrsCodec::is_srs(local)) std::abort();
    if (r->rfind('@') == std::string::npos) std::abort();
    if (local[3] == '1') {
      if (r->size() < 5 || (r->compare(0, 4, "SRS0") != 0)) std::abort();
    } else if (auto f = codec.forward(*r, "fwd.example", now); f && !(SrsCodec::is_srs(*r) && (*r)[3] == '1')) {
      auto back = codec.reverse(*f, now);
      if (!back || *back != *r) std::abort();
    }
  } else {
    int why = r.error().code;
    if (why < static_cast<int>(SrsFailure::not_srs) || why > static_cast<int>(SrsFailure::expired)) std::abort();
  }

  // forward: any sender it accepts reverses to itself (SRS0 and plain) or to its SRS0 form (SRS1).
  if (auto f = codec.forward(in, "fwd.example", now)) {
    if (f->size() > SrsCodec::kMaxAddress || !f->ends_with("@fwd.example")) std::abort();
    auto back = codec.reverse(*f, now);
    if (!back) std::abort();
    auto at = in.rfind('@');
    bool tagged = SrsCodec::is_srs(in.substr(0, at));
    // An SRS0 sender comes back with the tag spelled "SRS0" (libsrs2 writes the tag itself).
    if (!tagged && *back != in) std::abort();
    if (tagged && in[3] == '0' && (back->compare(0, 4, "SRS0") != 0 || back->substr(4) != in.substr(4))) std::abort();
  }
  return 0;
}
