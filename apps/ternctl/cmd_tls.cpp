// ternctl tls selfsigned --host NAME --cert FILE --key FILE [--days N]
#include <cstdio>
#include <string>

#include "apps/ternctl/ctl.hpp"
#include "tern/net/tls.hpp"

namespace {

int run(ternctl::Context&, const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "selfsigned") {
    std::fprintf(stderr, "usage: ternctl tls selfsigned --host NAME --cert FILE --key FILE [--days N]\n");
    return ternctl::kUsage;
  }
  std::string host, cert, key;
  int days = 825;
  for (std::size_t i = 1; i + 1 < args.size(); i += 2) {
    if (args[i] == "--host") host = args[i + 1];
    else if (args[i] == "--cert") cert = args[i + 1];
    else if (args[i] == "--key") key = args[i + 1];
    else if (args[i] == "--days") days = std::atoi(args[i + 1].c_str());
    else {
      std::fprintf(stderr, "ternctl tls selfsigned: unknown option %s\n", args[i].c_str());
      return ternctl::kUsage;
    }
  }
  if (host.empty() || cert.empty() || key.empty() || days <= 0) {
    std::fprintf(stderr, "usage: ternctl tls selfsigned --host NAME --cert FILE --key FILE [--days N]\n");
    return ternctl::kUsage;
  }
  if (auto st = tern::net::write_self_signed_certificate(host, cert, key, days); !st) {
    std::fprintf(stderr, "ternctl: %s\n", st.error().message.c_str());
    return ternctl::kFailed;
  }
  std::printf("wrote %s and %s for %s (self-signed, %d days)\n", cert.c_str(), key.c_str(), host.c_str(), days);
  return ternctl::kOk;
}

const bool registered = ternctl::register_group({"tls", "TLS certificates: selfsigned", run});

}  // namespace
