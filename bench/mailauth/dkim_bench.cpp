// DKIM sign and verify throughput on one core: a 2 KB and a 100 KB message, RSA-2048 and Ed25519,
// relaxed/relaxed. Prints figures; asserts nothing (verification failures abort: a benchmark of a
// broken verifier measures nothing).
//   ninja -C build bench/mailauth/dkim_bench && ./build/bench/mailauth/dkim_bench [SECONDS]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "tern/mailauth/dkim_verify.hpp"

using namespace tern;
using namespace tern::mailauth;

namespace {

std::string message(std::size_t body_size) {
  std::string m =
      "From: Alice <alice@example.test>\r\nTo: Carol <carol@remote.test>\r\nSubject: benchmark\r\n"
      "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <bench@example.test>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n\r\n";
  std::string line = "The quick brown fox jumps over the lazy dog,  twice   over.\r\n";
  while (m.size() < body_size) m += line;
  return m;
}

template <class F>
double per_second(double seconds, F f) {
  auto start = std::chrono::steady_clock::now();
  std::size_t n = 0;
  double elapsed = 0;
  do {
    for (int i = 0; i < 20; ++i) f();
    n += 20;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < seconds);
  return static_cast<double>(n) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  std::printf("%-8s %-8s %12s %12s\n", "key", "message", "sign/s", "verify/s");
  for (auto a : {DkimAlgorithm::rsa_sha256, DkimAlgorithm::ed25519_sha256}) {
    auto key = DkimKey::generate(a);
    if (!key) return 1;
    std::string record = key->dns_record();
    auto shared = std::make_shared<const DkimKey>(std::move(*key));
    DkimSigner signer(shared, DkimSignOptions{"example.test", "bench"});
    DkimKeyLookup lookup = [&](std::string_view, std::string_view) -> Result<std::vector<std::string>> {
      return std::vector<std::string>{record};
    };
    for (std::size_t size : {2048u, 100u * 1024u}) {
      std::string msg = message(size);
      auto sig = signer.sign(msg, 1700000000);
      if (!sig) return 1;
      std::string signed_msg = *sig + msg;
      if (verify_dkim(signed_msg, lookup, 1700000000).summary() != DkimResult::pass) std::abort();
      double s = per_second(seconds, [&] { (void)signer.sign(msg, 1700000000); });
      double v = per_second(seconds, [&] { (void)verify_dkim(signed_msg, lookup, 1700000000); });
      std::printf("%-8s %-8s %12.0f %12.0f\n", a == DkimAlgorithm::rsa_sha256 ? "rsa2048" : "ed25519",
                  size == 2048 ? "2 KB" : "100 KB", s, v);
    }
  }
  return 0;
}
