// DKIM signing reads the header block and body of whatever a client submitted: arbitrary bytes must
// never crash it, and a message with a From field always gets a signature.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "tern/mailauth/dkim.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern::mailauth;
  static std::shared_ptr<const DkimKey> key = [] {
    auto k = DkimKey::generate(DkimAlgorithm::ed25519_sha256);
    if (!k) std::abort();
    return std::make_shared<const DkimKey>(std::move(*k));
  }();
  static DkimSigner signer(key, DkimSignOptions{"example.test", "fuzz"});
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto sig = signer.sign(in, 1700000000);
  if (sig && sig->rfind("DKIM-Signature:", 0) != 0) std::abort();
  (void)relaxed_body(in);
  return 0;
}
