// ternctl dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519] [--bits N] [--dir DIR]
// ternctl dkim record DOMAIN [--dir DIR]
// ternctl dkim verify [FILE] [--record NAME=TXT]... [--authserv-id ID] [--now UNIX_TIME]
#include <cctype>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include "apps/ternctl/ctl.hpp"
#include "tern/dns/unbound_resolver.hpp"
#include "tern/mailauth/dkim_keyring.hpp"
#include "tern/mailauth/dkim_verify.hpp"

namespace {

constexpr const char* kUsage =
    "usage: ternctl dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519] [--bits N] [--dir DIR]\n"
    "       ternctl dkim record DOMAIN [--dir DIR]\n"
    "       ternctl dkim verify [FILE] [--record NAME=TXT]... [--authserv-id ID] [--now UNIX_TIME]\n";

// TXT data as DNS zone-file strings of at most 255 octets each (RFC 1035 §3.3.14; RFC 6376 §3.6.2.2).
std::string txt_strings(const std::string& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); i += 255) out += (i ? " \"" : "\"") + v.substr(i, 255) + "\"";
  return out;
}

// Verifies the DKIM signatures of a message (FILE or stdin) and prints the Authentication-Results field.
// Keys come from --record (NAME=TXT, no DNS) or else through the resolver of the [dns] section. Exit 0
// when a signature passes, 1 otherwise.
int verify(ternctl::Context& ctx, const std::vector<std::string>& args) {
  std::string file, authserv_id = "localhost";
  std::map<std::string, std::vector<std::string>> records;
  std::int64_t now = std::time(nullptr);
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto& k = args[i];
    bool has_value = i + 1 < args.size();
    if (k == "--record" && has_value) {
      const auto& v = args[++i];
      auto eq = v.find('=');
      if (eq == std::string::npos) {
        std::fprintf(stderr, "ternctl dkim: --record takes NAME=TXT\n");
        return ternctl::kUsage;
      }
      std::string name = v.substr(0, eq);
      if (!name.empty() && name.back() == '.') name.pop_back();
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      records[name].push_back(v.substr(eq + 1));
    } else if (k == "--authserv-id" && has_value) {
      authserv_id = args[++i];
    } else if (k == "--now" && has_value) {
      now = std::stoll(args[++i]);
    } else if (file.empty() && (k == "-" || k.rfind("--", 0) != 0)) {
      file = k;
    } else {
      std::fprintf(stderr, "ternctl dkim: unknown option %s\n%s", k.c_str(), kUsage);
      return ternctl::kUsage;
    }
  }
  std::string error;
  auto input = ternctl::read_input(file.empty() ? "-" : file, error);
  if (!input) {
    std::fprintf(stderr, "ternctl: %s\n", error.c_str());
    return ternctl::kFailed;
  }
  std::string message = std::move(*input);

  tern::mailauth::DkimVerification result;
  if (!records.empty()) {
    tern::mailauth::DkimKeyLookup lookup = [&](std::string_view d, std::string_view s)
        -> tern::Result<std::vector<std::string>> {
      auto it = records.find(tern::mailauth::dkim_key_name(d, s));
      if (it == records.end()) return tern::fail(tern::ErrorCategory::not_found, "no --record for this key");
      return it->second;
    };
    result = tern::mailauth::verify_dkim(message, lookup, now);
  } else {
    tern::dns::DnsConfig dns;
    if (auto s = ctx.section("dns"); s && !tern::dns::parse_dns_config(*s, dns)) return ternctl::kFailed;
    auto resolver = tern::dns::UnboundResolver::create(dns);
    if (!resolver) {
      std::fprintf(stderr, "ternctl: %s\n", resolver.error().message.c_str());
      return ternctl::kFailed;
    }
    asio::io_context io;
    tern::mailauth::DkimVerifyOptions options;
    std::string_view view = message;
    auto task = [&]() -> asio::awaitable<void> { result = co_await tern::mailauth::verify_dkim_async(**resolver, view, now, options); };
    asio::co_spawn(io, task(), asio::detached);
    io.run();
  }
  std::fputs(tern::mailauth::authentication_results_field(authserv_id, tern::mailauth::dkim_authentication_results(result))
                 .c_str(),
             stdout);
  return result.summary() == tern::mailauth::DkimResult::pass ? ternctl::kOk : ternctl::kFailed;
}

int run(ternctl::Context& ctx, const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "verify") return verify(ctx, args);
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

const bool registered = ternctl::register_group({"dkim", "DKIM keys: keygen, record; verify a message", run});

}  // namespace
