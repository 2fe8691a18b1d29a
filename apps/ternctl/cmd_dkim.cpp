// ternctl dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519] [--bits N] [--dir DIR]
// ternctl dkim record DOMAIN [--dir DIR]
#include <cstdio>
#include <string>

#include "apps/ternctl/ctl.hpp"
#include "tern/mailauth/dkim_keyring.hpp"

namespace {

constexpr const char* kUsage =
    "usage: ternctl dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519] [--bits N] [--dir DIR]\n"
    "       ternctl dkim record DOMAIN [--dir DIR]\n";

// TXT data as DNS zone-file strings of at most 255 octets each (RFC 1035 §3.3.14; RFC 6376 §3.6.2.2).
std::string txt_strings(const std::string& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); i += 255) out += (i ? " \"" : "\"") + v.substr(i, 255) + "\"";
  return out;
}

int run(ternctl::Context& ctx, const std::vector<std::string>& args) {
  if (args.size() < 2 || (args[0] != "keygen" && args[0] != "record")) {
    std::fputs(kUsage, stderr);
    return ternctl::kUsage;
  }
  std::string domain = args[1];
  tern::mailauth::DkimConfig config;
  if (auto s = ctx.section("dkim")) (void)tern::mailauth::parse_dkim_config(*s, config);
  std::string algorithm = "rsa";
  unsigned bits = 2048;
  std::filesystem::path dir = config.key_dir;
  std::string selector = config.selector;
  for (std::size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) {
      std::fputs(kUsage, stderr);
      return ternctl::kUsage;
    }
    const auto& k = args[i];
    const auto& v = args[i + 1];
    if (k == "--selector") selector = v;
    else if (k == "--algorithm") algorithm = v;
    else if (k == "--bits") bits = static_cast<unsigned>(std::stoul(v));
    else if (k == "--dir") dir = v;
    else {
      std::fprintf(stderr, "ternctl dkim: unknown option %s\n%s", k.c_str(), kUsage);
      return ternctl::kUsage;
    }
  }
  if (dir.empty()) {
    auto data = ctx.data_dir();
    if (!data) return ternctl::kFailed;
    dir = *data / "dkim";
  }
  if (args[0] == "record") {
    tern::mailauth::DkimConfig c{true, dir, selector};
    tern::mailauth::DkimKeyring ring(c);
    auto signer = ring.signer_for(domain);
    if (!signer) {
      std::fprintf(stderr, "ternctl: no DKIM key for %s in %s (create one with `ternctl dkim keygen %s`)\n",
                   domain.c_str(), dir.c_str(), domain.c_str());
      return ternctl::kFailed;
    }
    auto key = tern::mailauth::DkimKey::load_pem(tern::mailauth::DkimKeyring::key_file(dir, domain, signer->options().selector));
    if (!key) return ternctl::kFailed;
    std::printf("%s._domainkey.%s. IN TXT %s\n", signer->options().selector.c_str(), signer->options().domain.c_str(),
                txt_strings(key->dns_record()).c_str());
    return ternctl::kOk;
  }
  if (algorithm != "rsa" && algorithm != "ed25519") {
    std::fprintf(stderr, "ternctl dkim: --algorithm is rsa or ed25519\n");
    return ternctl::kUsage;
  }
  if (selector.empty() || selector.find_first_of(". /") != std::string::npos) {
    std::fprintf(stderr, "ternctl dkim: the selector must be one DNS label\n");
    return ternctl::kUsage;
  }
  auto key = tern::mailauth::DkimKey::generate(
      algorithm == "rsa" ? tern::mailauth::DkimAlgorithm::rsa_sha256 : tern::mailauth::DkimAlgorithm::ed25519_sha256, bits);
  if (!key) {
    std::fprintf(stderr, "ternctl: %s\n", key.error().message.c_str());
    return ternctl::kFailed;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto file = tern::mailauth::DkimKeyring::key_file(dir, domain, selector);
  if (std::filesystem::exists(file, ec)) {
    std::fprintf(stderr, "ternctl: %s exists; choose another --selector to rotate keys\n", file.c_str());
    return ternctl::kFailed;
  }
  if (auto st = key->save_pem(file); !st) {
    std::fprintf(stderr, "ternctl: %s\n", st.error().message.c_str());
    return ternctl::kFailed;
  }
  std::fprintf(stderr, "wrote %s; publish this record, then mail from %s is signed:\n", file.c_str(), domain.c_str());
  std::printf("%s._domainkey.%s. IN TXT %s\n", selector.c_str(), domain.c_str(), txt_strings(key->dns_record()).c_str());
  return ternctl::kOk;
}

const bool registered = ternctl::register_group({"dkim", "DKIM keys: keygen, record", run});

}  // namespace
