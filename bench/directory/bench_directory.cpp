// Prints figures for directory resolution, password verification and throttling. Not a test.
//   ./build/bench/directory/bench_directory [mailboxes]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "tern/auth/auth_throttle.hpp"
#include "tern/auth/password_scheme.hpp"
#include "tern/core/log.hpp"
#include "tern/directory/resolution.hpp"

using namespace tern;
using Clock = std::chrono::steady_clock;

template <class F>
void measure(const char* what, int iterations, F f) {
  auto t0 = Clock::now();
  for (int i = 0; i < iterations; ++i) f(i);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  std::printf("%-44s %10.2f us/op  (%d ops)\n", what, static_cast<double>(ns) / iterations / 1000.0, iterations);
}

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  directory::DirectorySnapshot d;
  d.domains.push_back({"example.com", true, {"catch@example.com"}});
  d.users.push_back({"owner", "{PLAIN}x", true, ""});
  for (int i = 0; i < n; ++i) {
    d.mailboxes.push_back({fmt::format("user{}", i), "example.com", "owner", directory::OwnerType::user, true, {}, ""});
    d.aliases.push_back({fmt::format("alias{}", i), "example.com", {fmt::format("user{}@example.com", i)}});
  }
  d.mailboxes.push_back({"catch", "example.com", "owner", directory::OwnerType::user, true, {}, ""});
  for (int i = 0; i < 100; ++i) d.aliases.push_back({fmt::format("team{}-*", i), "example.com", {"user1@example.com"}});
  directory::ResolveOptions o;
  std::printf("directory: %d mailboxes, %d aliases (100 wildcard)\n", n, n + 100);
  int iters = n >= 10000 ? 2000 : 20000;
  for (bool indexed : {false, true}) {
    if (indexed) d.build_index();
    std::printf("%s\n", indexed ? "with build_index() (what backends publish):" : "unindexed (linear scans):");
    measure("resolve mailbox (last)", iters, [&](int) { (void)directory::resolve(d, fmt::format("user{}@example.com", n - 1), o); });
    measure("resolve mailbox+tag", iters, [&](int i) { (void)directory::resolve(d, fmt::format("user{}+x@example.com", i % n), o); });
    measure("resolve alias", iters, [&](int i) { (void)directory::resolve(d, fmt::format("alias{}@example.com", i % n), o); });
    measure("resolve wildcard alias", iters, [&](int) { (void)directory::resolve(d, "team99-sales@example.com", o); });
    measure("resolve unknown -> catch-all", iters, [&](int) { (void)directory::resolve(d, "nobody@example.com", o); });
    measure("lookup_login", iters, [&](int i) { (void)directory::lookup_login(d, fmt::format("user{}@example.com", i % n)); });

  }
  std::printf("\npassword verification (default parameters; runs on the worker pool):\n");
  for (auto s : {auth::PasswordScheme::sha512_crypt, auth::PasswordScheme::blf_crypt, auth::PasswordScheme::argon2id,
                 auth::PasswordScheme::ssha512, auth::PasswordScheme::scram_sha256}) {
    auto h = auth::hash_password("correct horse battery staple", s);
    if (!h) continue;
    int k = s == auth::PasswordScheme::ssha512 ? 20000 : 5;
    measure(fmt::format("verify {{{}}}", auth::scheme_name(s)).c_str(), k,
            [&](int) { (void)auth::verify_password("correct horse battery staple", *h); });
  }

  log::set_sink([](log::Level, std::string_view) {});
  auth::AuthThrottle t;
  auto now = Clock::now();
  std::printf("\nthrottling:\n");
  measure("record_failure (distinct IPs, logged)", 100000, [&](int i) {
    t.record_failure(asio::ip::address_v4(static_cast<asio::ip::address_v4::uint_type>(0x0a000000u + static_cast<unsigned>(i))),
                     "victim@example.com", "imap", now);
  });
  measure("check", 100000, [&](int i) {
    (void)t.check(asio::ip::address_v4(static_cast<asio::ip::address_v4::uint_type>(0x0a000000u + static_cast<unsigned>(i))),
                  "victim@example.com", now);
  });
  return 0;
}
