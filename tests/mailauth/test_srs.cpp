// SRS: the libsrs2/postsrsd address format. The expected addresses below were computed independently
// of this code from the documented format (Python: hmac.new(secret, "".join(fields).lower(), sha1),
// base64, first 4 characters; TT = base32 of (unix_time // 86400) % 1024) — see the comment in srs.hpp.
#include <unistd.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <boost/test/unit_test.hpp>

#include "tern/core/config.hpp"
#include "tern/mailauth/srs.hpp"
#include "tern/mime/smtp_address.hpp"

using namespace tern::mailauth;

namespace {
constexpr std::int64_t kNow = 1700000000;  // 2023-11-14, day 19675, slot 219 = "G3"
constexpr std::int64_t kDay = 86400;
const SrsCodec codec({"tern-test-secret"});

SrsFailure why(const tern::Result<std::string>& r) { return static_cast<SrsFailure>(r.error().code); }
}  // namespace

BOOST_AUTO_TEST_SUITE(srs)

BOOST_AUTO_TEST_CASE(timestamp_is_days_modulo_1024_in_base32) {
  BOOST_TEST(SrsCodec::timestamp(0) == "AA");
  BOOST_TEST(SrsCodec::timestamp(kDay - 1) == "AA");
  BOOST_TEST(SrsCodec::timestamp(kDay) == "AB");
  BOOST_TEST(SrsCodec::timestamp(1023 * kDay) == "77");
  BOOST_TEST(SrsCodec::timestamp(1024 * kDay) == "AA");
  BOOST_TEST(SrsCodec::timestamp(kNow) == "G3");
}

BOOST_AUTO_TEST_CASE(srs0_forward_vectors) {
  auto a = codec.forward("alice@orig.example", "fwd.example", kNow);
  BOOST_REQUIRE(a);
  BOOST_TEST(*a == "SRS0=AIk9=G3=orig.example=alice@fwd.example");
  // The hash is over lower-cased fields; the address keeps its case.
  auto b = codec.forward("Alice@Orig.Example", "fwd.example", kNow);
  BOOST_REQUIRE(b);
  BOOST_TEST(*b == "SRS0=AIk9=G3=Orig.Example=Alice@fwd.example");
  // Longer hashes are prefixes of the same base64 digest.
  SrsCodec eight({"tern-test-secret"}, 8);
  BOOST_TEST(*eight.forward("alice@orig.example", "fwd.example", kNow) ==
             "SRS0=AIk9sLS6=G3=orig.example=alice@fwd.example");
}

BOOST_AUTO_TEST_CASE(srs1_forward_points_back_to_the_first_forwarder) {
  auto a = codec.forward("SRS0=AIk9=G3=orig.example=alice@fwd.example", "fwd2.example", kNow);
  BOOST_REQUIRE(a);
  BOOST_TEST(*a == "SRS1=eFwj=fwd.example==AIk9=G3=orig.example=alice@fwd2.example");
  // Re-forwarding an SRS1 keeps the first forwarder and the SRS0 part; only the hash is ours.
  auto b = codec.forward("SRS1=xxxx=fwd.example==AIk9=G3=orig.example=alice@fwd2.example", "fwd3.example", kNow);
  BOOST_REQUIRE(b);
  BOOST_TEST(*b == "SRS1=eFwj=fwd.example==AIk9=G3=orig.example=alice@fwd3.example");
  SrsCodec other({"other-secret"});
  BOOST_TEST(*other.forward("SRS0=AIk9=G3=orig.example=alice@fwd.example", "fwd2.example", kNow) ==
             "SRS1=HOGc=fwd.example==AIk9=G3=orig.example=alice@fwd2.example");
}

BOOST_AUTO_TEST_CASE(reverse_srs0_and_srs1) {
  auto a = codec.reverse("SRS0=AIk9=G3=orig.example=alice@fwd.example", kNow);
  BOOST_REQUIRE(a);
  BOOST_TEST(*a == "alice@orig.example");
  auto b = codec.reverse("SRS1=eFwj=fwd.example==AIk9=G3=orig.example=alice@fwd2.example", kNow);
  BOOST_REQUIRE(b);
  BOOST_TEST(*b == "SRS0=AIk9=G3=orig.example=alice@fwd.example");
  // A local part with '=' in it survives (everything after the domain field is the local part).
  auto c = codec.forward("a=b=c@orig.example", "fwd.example", kNow);
  BOOST_REQUIRE(c);
  BOOST_TEST(*codec.reverse(*c, kNow) == "a=b=c@orig.example");
}

BOOST_AUTO_TEST_CASE(reverse_is_case_insensitive_like_libsrs2) {
  // Some MTAs lower-case local parts: tag, timestamp and hash are then read in any case.
  auto a = codec.reverse("srs0=aik9=g3=orig.example=alice@fwd.example", kNow);
  BOOST_REQUIRE(a);
  BOOST_TEST(*a == "alice@orig.example");
  BOOST_TEST(*codec.reverse("SRS0=AIK9=G3=ORIG.EXAMPLE=ALICE@FWD.EXAMPLE", kNow) == "ALICE@ORIG.EXAMPLE");
  BOOST_TEST(codec.reverse("SRS0+AIk9=G3=orig.example=alice@fwd.example", kNow).has_value());  // '+' separator
  BOOST_TEST(codec.reverse("SRS0-AIk9=G3=orig.example=alice@fwd.example", kNow).has_value());  // '-' separator
}

BOOST_AUTO_TEST_CASE(reverse_refuses_forged_and_altered_addresses) {
  auto r = codec.reverse("SRS0=AIk8=G3=orig.example=alice@fwd.example", kNow);
  BOOST_REQUIRE(!r);
  BOOST_TEST(static_cast<int>(why(r)) == static_cast<int>(SrsFailure::bad_hash));
  BOOST_TEST(r.error().message.find("valid hash") != std::string::npos);
  BOOST_TEST(!codec.reverse("SRS0=AIk9=G3=orig.example=mallory@fwd.example", kNow));
  BOOST_TEST(!codec.reverse("SRS0=AIk9=G3=evil.example=alice@fwd.example", kNow));
  BOOST_TEST(!codec.reverse("SRS0=AIk9=G4=orig.example=alice@fwd.example", kNow));
  BOOST_TEST(!codec.reverse("SRS0=AIk=G3=orig.example=alice@fwd.example", kNow));    // short hash
  BOOST_TEST(!codec.reverse("SRS0=AIk9s=G3=orig.example=alice@fwd.example", kNow));  // long hash
  BOOST_TEST(!codec.reverse("SRS1=eFwj=fwd.example==AIk9=G3=orig.example=bob@fwd2.example", kNow));
  SrsCodec other({"other-secret"});
  BOOST_TEST(!other.reverse("SRS0=AIk9=G3=orig.example=alice@fwd.example", kNow));
}

BOOST_AUTO_TEST_CASE(reverse_checks_age) {
  // libsrs2: valid while (today - stamp) mod 1024 <= max age.
  BOOST_TEST(codec.reverse("SRS0=AIk9=G3=orig.example=alice@fwd.example", kNow + 21 * kDay).has_value());
  auto r = codec.reverse("SRS0=AIk9=G3=orig.example=alice@fwd.example", kNow + 22 * kDay);
  BOOST_REQUIRE(!r);
  BOOST_TEST(static_cast<int>(why(r)) == static_cast<int>(SrsFailure::expired));
  BOOST_TEST(r.error().message.find("expired") != std::string::npos);
  // A stamp "from tomorrow" is ~1023 days old.
  BOOST_TEST(!codec.reverse("SRS0=AIk9=G3=orig.example=alice@fwd.example", kNow - kDay));
  SrsCodec week({"tern-test-secret"}, 4, 7);
  BOOST_TEST(week.reverse("SRS0=AIk9=G3=orig.example=alice@fwd.example", kNow + 7 * kDay).has_value());
  BOOST_TEST(!week.reverse("SRS0=AIk9=G3=orig.example=alice@fwd.example", kNow + 8 * kDay));
  // Across the 1024-day wrap.
  std::int64_t late = 1023 * kDay + 5;
  auto a = codec.forward("alice@orig.example", "fwd.example", late);
  BOOST_REQUIRE(a);
  BOOST_TEST(a->find("=77=") != std::string::npos);
  BOOST_TEST(codec.reverse(*a, late + 3 * kDay).has_value());
}

BOOST_AUTO_TEST_CASE(secret_rotation_first_signs_all_verify) {
  SrsCodec rotated({"new-secret", "tern-test-secret"});
  BOOST_TEST(*rotated.reverse("SRS0=AIk9=G3=orig.example=alice@fwd.example", kNow) == "alice@orig.example");
  auto a = rotated.forward("alice@orig.example", "fwd.example", kNow);
  BOOST_REQUIRE(a);
  BOOST_TEST(*a != "SRS0=AIk9=G3=orig.example=alice@fwd.example");
  BOOST_TEST(!codec.reverse(*a, kNow));
}

BOOST_AUTO_TEST_CASE(malformed_and_not_srs) {
  auto n = codec.reverse("alice@fwd.example", kNow);
  BOOST_REQUIRE(!n);
  BOOST_TEST(static_cast<int>(why(n)) == static_cast<int>(SrsFailure::not_srs));
  BOOST_TEST(static_cast<int>(why(codec.reverse("SRS0xAIk9=G3=a=b@fwd.example", kNow))) ==
             static_cast<int>(SrsFailure::not_srs));
  for (const char* bad : {"SRS0=@fwd.example", "SRS0==G3=orig.example=alice@x", "SRS0=AIk9=G3=orig.example=@x",
                          "SRS0=AIk9=G3=orig.example@x", "SRS0=AIk9=G33=orig.example=alice@x",
                          "SRS0=AIk9=G1=orig.example=alice@x", "SRS0=AIk9=G3==alice@x", "SRS1=eFwj@x",
                          "SRS1=eFwj=fwd.example@x", "SRS1=eFwj==x@y", "SRS1=eFwj=fwd.example=@y"}) {
    auto r = codec.reverse(bad, kNow);
    BOOST_TEST(!r, bad);
    if (!r) BOOST_TEST(static_cast<int>(why(r)) == static_cast<int>(SrsFailure::malformed), bad);
  }
  BOOST_TEST(!codec.reverse(std::string(2000, 'a'), kNow));
  BOOST_TEST(SrsCodec::is_srs("SRS0=x"));
  BOOST_TEST(SrsCodec::is_srs("srs1+x"));
  BOOST_TEST(!SrsCodec::is_srs("SRS2=x"));
  BOOST_TEST(!SrsCodec::is_srs("SRS0"));
  BOOST_TEST(!codec.forward("alice", "fwd.example", kNow));
  BOOST_TEST(!codec.forward("@orig.example", "fwd.example", kNow));
  BOOST_TEST(!codec.forward("alice@", "fwd.example", kNow));
  BOOST_TEST(!codec.forward("alice@orig.example", "", kNow));
  BOOST_TEST(!codec.forward("SRS1=xxxx@fwd.example", "fwd2.example", kNow));
  BOOST_TEST(!codec.forward(std::string(1100, 'a') + "@orig.example", "fwd.example", kNow));
}

BOOST_AUTO_TEST_CASE(quoted_local_part_gives_one_valid_address) {
  // RFC 5321 §4.1.2: "john doe"@orig.example forwards as one quoted local part (not SRS0=..="john doe"),
  // hashed over the unquoted local part as Postfix hands it to postsrsd (Python vector: "Cpuq").
  auto f = codec.forward("\"john doe\"@orig.example", "fwd.example", kNow);
  BOOST_REQUIRE(f);
  BOOST_TEST(*f == "\"SRS0=Cpuq=G3=orig.example=john doe\"@fwd.example");
  BOOST_TEST(tern::mime::parse_smtp_mailbox(*f).value.local_part == "SRS0=Cpuq=G3=orig.example=john doe");
  BOOST_TEST(SrsCodec::is_srs("\"SRS0=Cpuq=G3=orig.example=john doe\""));
  auto r = codec.reverse(*f, kNow);
  BOOST_REQUIRE(r);
  BOOST_TEST(*r == "\"john doe\"@orig.example");
  // A quoted local part that needs no quotes is the same sender as the plain one.
  BOOST_TEST(*codec.forward("\"alice\"@orig.example", "fwd.example", kNow) ==
             "SRS0=AIk9=G3=orig.example=alice@fwd.example");
  // Quoted-pairs: a quote inside the local part is escaped again on the way out and back (vector "q4lv").
  auto q = codec.forward("\"a\\\"b\"@orig.example", "fwd.example", kNow);
  BOOST_REQUIRE(q);
  BOOST_TEST(*q == "\"SRS0=q4lv=G3=orig.example=a\\\"b\"@fwd.example");
  BOOST_TEST(*codec.reverse(*q, kNow) == "\"a\\\"b\"@orig.example");
  BOOST_TEST(!codec.forward("\"unterminated@orig.example", "fwd.example", kNow));
}

BOOST_AUTO_TEST_CASE(round_trip) {
  for (const char* sender : {"alice@orig.example", "x+tag@sub.orig.example", "\"a b\"@orig.example", "SRS@x.example"}) {
    auto f = codec.forward(sender, "fwd.example", kNow);
    BOOST_REQUIRE(f);
    auto r = codec.reverse(*f, kNow + kDay);
    BOOST_REQUIRE(r);
    BOOST_TEST(*r == sender);
  }
  // Two hops: the second forwarder's bounce goes to the first, whose bounce goes to the sender.
  SrsCodec second({"second-forwarder-secret"});
  auto hop1 = codec.forward("alice@orig.example", "fwd.example", kNow);
  auto hop2 = second.forward(*hop1, "fwd2.example", kNow);
  BOOST_REQUIRE(hop2);
  auto back1 = second.reverse(*hop2, kNow);
  BOOST_REQUIRE(back1);
  BOOST_TEST(*back1 == *hop1);
  BOOST_TEST(*codec.reverse(*back1, kNow) == "alice@orig.example");
}

BOOST_AUTO_TEST_CASE(config_section) {
  tern::ConfigDiagnostics diag;
  auto doc = tern::ConfigDocument::load_string(
      "[srs]\nenabled = false\ndomain = \"Fwd.Example\"\nsecret_file = \"s/srs.secret\"\nmax_age = \"30d\"\n"
      "hash_length = 6\n",
      "t.toml", "/base", diag);
  auto root = doc->root(diag);
  auto s = root->table("srs");
  SrsConfig c;
  BOOST_REQUIRE(parse_srs_config(*s, c).has_value());
  BOOST_TEST(!c.enabled);
  BOOST_TEST(c.domain == "fwd.example");
  BOOST_TEST(c.secret_file == std::filesystem::path("/base/s/srs.secret"));
  BOOST_TEST(c.max_age_days == 30);
  BOOST_TEST(c.hash_length == 6);

  tern::ConfigDiagnostics diag2;
  auto bad = tern::ConfigDocument::load_string(
      "[srs]\ndomain = \"a@b\"\nmax_age = \"36h\"\nhash_length = 2\nsecret = \"x\"\n", "t.toml", "/base", diag2);
  auto broot = bad->root(diag2);
  auto bs = broot->table("srs");
  SrsConfig d;
  BOOST_TEST(!parse_srs_config(*bs, d).has_value());
  auto text = diag2.to_string();
  BOOST_TEST(text.find("domain") != std::string::npos);
  BOOST_TEST(text.find("whole days") != std::string::npos);
  BOOST_TEST(text.find("hash_length") != std::string::npos);
  BOOST_TEST(text.find("secret") != std::string::npos);
  SrsConfig defaults;
  BOOST_TEST(defaults.enabled);
  BOOST_TEST(defaults.max_age_days == 21);
  BOOST_TEST(defaults.hash_length == 4);
}

BOOST_AUTO_TEST_CASE(secret_file_created_once_and_read) {
  auto dir = std::filesystem::temp_directory_path() / ("tern-srs-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto file = dir / "sub" / "srs.secret";
  BOOST_TEST(!load_srs_secrets(file, false).has_value());
  auto a = load_srs_secrets(file, true);
  BOOST_REQUIRE(a);
  BOOST_REQUIRE(a->size() == 1u);
  BOOST_TEST(a->front().size() == 32u);  // 24 random bytes in base64
  struct stat st {};
  BOOST_REQUIRE(::stat(file.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  auto b = load_srs_secrets(file, true);
  BOOST_REQUIRE(b);
  BOOST_TEST(*b == *a);  // never overwritten
  {
    std::ofstream out(file, std::ios::app);
    out << "\n  older-secret  \n";
  }
  auto c = load_srs_secrets(file, false);
  BOOST_REQUIRE(c);
  BOOST_TEST(c->size() == 2u);
  BOOST_TEST((*c)[1] == "older-secret");
  std::ofstream(dir / "empty") << "\n \n";
  BOOST_TEST(!load_srs_secrets(dir / "empty", false).has_value());
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
