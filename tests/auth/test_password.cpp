// Vectors generated with Dovecot's `doveadm pw -s SCHEME -p PASS` (dovecot-core 2.3, Debian 12) and
// `openssl passwd -6/-5` (no `mkpasswd` on the build machine), baked in as fixed strings.
#include <boost/test/unit_test.hpp>

#include "tern/auth/password_scheme.hpp"
#include "tern/auth/scram.hpp"
#include "tern/core/base64.hpp"

using namespace tern::auth;
using tern::base64_decode;
using tern::base64_encode;

namespace {

struct Vector {
  const char* password;
  const char* stored;
};

const Vector kDovecot[] = {
    {"correct horse",
     "{SHA512-CRYPT}$6$g6i8gPP6Z08s3ty8$n/j1c.wV/NqNHFcM4XwN4eVu2yAdCJaT8kjVKFw2LF4SxtQ6J3SWvrJdMzsIuZg1vaiGnK9P4Dzb8y41mXCaa/"},
    {"correct horse", "{SHA256-CRYPT}$5$c0q8W6UYNb6z6E2N$UQ6OkEnfm.BEC2Jei7kpx0midEdPiyZnlxiMWPMKj8C"},
    {"correct horse", "{BLF-CRYPT}$2y$05$EE7O6fKjjz0yp1lC2GlzwO7XlaoK1BiCAYU5g7X6wD9jbM6HJO76u"},
    {"pässwörd", "{BLF-CRYPT}$2y$10$efBgwTAFO2njuONbZtid9.M1bt7EMXpQsT7q9XMFO9WI7ri7HwmjS"},
    {"correct horse",
     "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$DdPUp/ZkF3/daLIUsLXxkg$+/hAtpJo0ZS8DfH/NbTtwCynegCUfweDvteCsr8Q2vI"},
    {"correct horse",
     "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$6HCn5iV/qXOr2v48cHEbew$SIKi2RURbi4G6+D3yg8cpYSpNCVOyWubf7uJ/0ikbf0"},
    {"pässwörd",
     "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$d5YUu7+gaerzGuQfmOc/QQ$RsDvBXq/NHjlQTZwx/ubmFuK0Sa7j+zdjCzkJPBFsn4"},
    {"correct horse",
     "{SSHA512}GZCGnN59lJGcsJvLMKzCXILjPSo3sidoDuaHkDFa4+ii+WXyadHmLNfBHwGkBgSyut7ntZ2IAedKuqIWXLOo+ehCJds="},
    {"pässwörd",
     "{SSHA512}zbNGDSdAV3cdcTfz8KRBjZRdNL8D5qkDYK+5e6nZ2rtsG1qIKUshe0bWbVeHj1FgOhGRp+rCQ4lYXt7OwV9Ve1FoliQ="},
    {"correct horse", "{SSHA256}cmiKjqtr8FB78d1sGAM7Xe5SykPIh1neIayYQSJSmVPqKfkr"},
    {"correct horse",
     "{SHA512}VraY3v7bWkNbY0r+MyC7rz/c2SC2xQOkRvx7endrKY1HnRumqLYXgI6wv1ec6aldZoNHvKtxSQhayTyyeZUZew=="},
    {"correct horse", "{PLAIN}correct horse"},
    {"correct horse",
     "{SCRAM-SHA-256}4096,LFrE1iSkTTWXyMI5hkiCRg==,3mtdRjrDAeTa2uRpt3xP9zBsBOWlD1GNQd9X3ECyAjE=,"
     "vqketGQOIOwqHhD0QlZVVez9x71QAAe32yuibIN5/Co="},
    {"", "{SHA512-CRYPT}$6$brhtxW.vZoOBuMj4$VDIzRwCv7hvCq9Vb13gpDeJXWS9BU2Jb8Q.BtvoTDGfLnVq6586iANyGjJfq6pOUcSzKR8WFNxe4cQDd972o4/"},
    // openssl passwd -6 / -5 -salt saltsalt 'correct horse', stored without a prefix and with {CRYPT}.
    {"correct horse",
     "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0"},
    {"correct horse", "{CRYPT}$5$saltsalt$myjXcpMpE2Ofk7fj9hqyNYSn6lmWG4Mqnjx.KIRRr4/"},
    // docker-mailserver's documentation example (user-management page): the password is unknown, so
    // it only has to be read and rejected, not crash.
};

}  // namespace

BOOST_AUTO_TEST_SUITE(password_schemes)

BOOST_AUTO_TEST_CASE(dovecot_vectors_verify) {
  for (const auto& v : kDovecot) {
    auto ok = verify_password(v.password, v.stored);
    BOOST_REQUIRE_MESSAGE(ok.has_value(), v.stored << ": " << (ok ? "" : ok.error().message));
    BOOST_TEST(*ok, v.stored);
    auto wrong = verify_password(std::string(v.password) + "x", v.stored);
    BOOST_REQUIRE(wrong.has_value());
    BOOST_TEST(!*wrong, v.stored);
  }
}

BOOST_AUTO_TEST_CASE(lowercase_scheme_names_are_accepted) {
  BOOST_TEST(*verify_password("correct horse", "{plain}correct horse"));
  BOOST_TEST(*verify_password("x", "{CLEARTEXT}x"));
}

BOOST_AUTO_TEST_CASE(hash_then_verify_every_scheme) {
  HashParams fast;
  fast.bcrypt_cost = 5;
  fast.argon2_memory_kib = 4096;
  fast.argon2_iterations = 1;
  for (auto s : {PasswordScheme::sha512_crypt, PasswordScheme::sha256_crypt, PasswordScheme::blf_crypt,
                 PasswordScheme::argon2i, PasswordScheme::argon2id, PasswordScheme::ssha512, PasswordScheme::ssha256,
                 PasswordScheme::scram_sha256, PasswordScheme::plain}) {
    auto h = hash_password("s3cret pässword", s, fast);
    BOOST_REQUIRE_MESSAGE(h.has_value(), scheme_name(s));
    BOOST_TEST(h->rfind("{" + std::string(scheme_name(s)) + "}", 0) == 0u);
    BOOST_TEST(*verify_password("s3cret pässword", *h), *h);
    BOOST_TEST(!*verify_password("s3cret password", *h), *h);
    if (s != PasswordScheme::plain) {
      auto again = hash_password("s3cret pässword", s, fast);
      BOOST_TEST(*again != *h);  // fresh salt every time
    }
  }
  auto h = hash_password("x", PasswordScheme::sha512_crypt);
  BOOST_TEST(h->find("$6$") != std::string::npos);
  BOOST_TEST(hash_password("x", PasswordScheme::blf_crypt)->find("$2y$10$") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(malformed_and_unknown) {
  BOOST_TEST(verify_password("x", "{MD4}abc").error().category == tern::ErrorCategory::unsupported);
  BOOST_TEST(!verify_password("x", "{SHA512-CRYPT}$5$abc"));
  BOOST_TEST(!verify_password("x", "{SSHA512}not base64!"));
  BOOST_TEST(!verify_password("x", "{SSHA512}AAAA"));
  BOOST_TEST(!verify_password("x", "{SCRAM-SHA-256}4096,abc"));
  BOOST_TEST(!verify_password("x", "no prefix"));
  // A hostile argon2 hash asking for 4 GiB is refused instead of run.
  BOOST_TEST(!verify_password("x", "{ARGON2ID}$argon2id$v=19$m=4194304,t=3,p=1$6HCn5iV/qXOr2v48cHEbew$"
                                   "SIKi2RURbi4G6+D3yg8cpYSpNCVOyWubf7uJ/0ikbf0"));
  // NUL in a password never matches a crypt hash (crypt would stop at it).
  BOOST_TEST(!*verify_password(std::string("correct horse\0x", 15),
                               "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0"));
}

BOOST_AUTO_TEST_CASE(scheme_names_and_prefix) {
  BOOST_TEST((*parse_scheme("blf-crypt") == PasswordScheme::blf_crypt));
  BOOST_TEST(!parse_scheme("MD4"));
  auto p = split_scheme("{ssha512}abc");
  BOOST_TEST(p.scheme == "SSHA512");
  BOOST_TEST(p.data == "abc");
  BOOST_TEST(split_scheme("$6$x").scheme.empty());
}

BOOST_AUTO_TEST_CASE(base64_and_constant_time_compare) {
  BOOST_TEST(base64_encode("") == "");
  BOOST_TEST(base64_encode("f") == "Zg==");
  BOOST_TEST(base64_encode("fo") == "Zm8=");
  BOOST_TEST(base64_encode("foobar") == "Zm9vYmFy");
  BOOST_TEST(*base64_decode("Zm9vYg==") == "foob");
  BOOST_TEST(!base64_decode("Zm9vY"));
  BOOST_TEST(!base64_decode("Zm9v Yg=="));
  BOOST_TEST(!base64_decode("Z=9v"));
  BOOST_TEST(!base64_decode("Zh=="));  // non-zero bits before the padding (RFC 4648 3.5)
  BOOST_TEST(!base64_decode("Zm9=")); 
  BOOST_TEST(constant_time_equal("abc", "abc"));
  BOOST_TEST(!constant_time_equal("abc", "abd"));
  BOOST_TEST(!constant_time_equal("abc", "abcd"));
}

BOOST_AUTO_TEST_SUITE_END()
