// DKIM verification: the public vectors of dkimpy, RFC 8463 and a Gmail- and an Exim-signed message;
// Tern-signed round trips in every canonicalisation; tampering; RFC 8301 rules; key record errors;
// Authentication-Results; the Resolver wrapper on local DNS data; dkimpy as an independent peer.
#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/wait.h>
#include <tuple>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include "tern/core/base64.hpp"
#include "tern/dns/unbound_resolver.hpp"
#include "tern/mailauth/dkim_verify.hpp"

using namespace tern;
using namespace tern::mailauth;

namespace {

const std::filesystem::path kDir = TERN_MAILAUTH_TEST_DIR;

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string data(const std::string& name) { return read(kDir / "data" / name); }

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// A lookup serving fixed records by "<selector>._domainkey.<domain>"; other names do not exist.
struct Zone {
  std::map<std::string, std::vector<std::string>> records;
  std::vector<std::string> asked;
  DkimKeyLookup lookup() {
    return [this](std::string_view d, std::string_view s) -> Result<std::vector<std::string>> {
      std::string name = dkim_key_name(d, s);
      asked.push_back(name);
      auto it = records.find(name);
      if (it == records.end()) return fail(ErrorCategory::not_found, name + ": NXDOMAIN", dns::kNxDomain);
      return it->second;
    };
  }
};

constexpr std::int64_t kNow = 1700000000;

// The Gmail key of 20120113._domainkey.gmail.com that signed test2.message (from dkimpy's test_dkim.py).
const char* kGmailKey =
    "k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1Kd87/UeJjenpabgbFwh+eBCsSTrqmwIYYvywlbhbqoo2DymndFkbjOVIPIld"
    "Ns/m40KF+yzMn1skyoxcTUGCQs8g3FgD2Ap3ZB5DekAo5wMmk4wimDO+U8QzI3SD07y2+07wlNWwIt8svnxgdxGkVbbhzY8i+RQ9DpSVpPbF7ykQ"
    "xtKXkv/ahW3KjViiAH+ghvvIhkx4xYSIc9oSwVmAl5OctMEeWUwg8Istjqz8BZeTWbf41fbNhte7Y+YqZOwq1Sd0DbvYAD9NOZK9vlfuac0598HY"
    "+vtSBczUiKERHv1yRbcaQtZFh5wtiRrN04BLUTD21MycBX5jYchHjPY/wIDAQAB";

const std::string kMessage =
    "Received: from a.example by b.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    "From: Alice <alice@example.test>\r\n"
    "To: Carol <carol@remote.test>\r\n"
    "Subject: signed  and\r\n folded subject\r\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    "Message-ID: <v-1@example.test>\r\n"
    "\r\n"
    "Line one   with  spaces   \r\n\r\nCaf\xc3\xa9 8-bit line\r\n\r\n\r\n";

struct Signed {
  std::shared_ptr<const DkimKey> key;
  Zone zone;
};

Signed make_signer_zone(DkimAlgorithm a, const std::string& selector = "sel") {
  auto k = DkimKey::generate(a);
  BOOST_REQUIRE(k);
  Signed s{std::make_shared<const DkimKey>(std::move(*k)), {}};
  s.zone.records[selector + "._domainkey.example.test"] = {s.key->dns_record()};
  return s;
}

std::string sign(const Signed& s, const std::string& msg, DkimCanonicalization hc = DkimCanonicalization::relaxed,
                 DkimCanonicalization bc = DkimCanonicalization::relaxed, std::int64_t expire = 0) {
  DkimSignOptions o{"example.test", "sel"};
  o.header_canonicalization = hc;
  o.body_canonicalization = bc;
  o.expire_after = expire;
  auto sig = DkimSigner(s.key, o).sign(msg, kNow);
  BOOST_REQUIRE(sig);
  return *sig + msg;
}

DkimSignatureResult verify_one(const std::string& msg, Zone& zone, std::int64_t now = kNow,
                               const DkimVerifyOptions& o = {}) {
  auto v = verify_dkim(msg, zone.lookup(), now, o);
  BOOST_REQUIRE_EQUAL(v.signatures.size(), 1u);
  return v.signatures.front();
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto p = s.find(from);
  BOOST_REQUIRE_MESSAGE(p != std::string::npos, "no \"" << from << "\" to replace");
  return s.replace(p, from.size(), to);
}

}  // namespace

BOOST_AUTO_TEST_CASE(dkim_simple_canonicalisation) {
  // RFC 6376 §3.4.5: simple keeps the fields as they are and strips only trailing empty lines.
  BOOST_TEST(simple_header("B ", " Y\t\r\n\tZ  ") == "B : Y\t\r\n\tZ  ");
  BOOST_TEST(simple_header("A", " x\n y") == "A: x\r\n y");  // a bare LF stands for CRLF
  BOOST_TEST(simple_body(" C \r\nD \t E\r\n\r\n\r\n") == " C \r\nD \t E\r\n");
  BOOST_TEST(simple_body("") == "\r\n");  // RFC 6376 §3.4.3: an empty body is one CRLF
  BOOST_TEST(simple_body("\r\n\r\n") == "\r\n");
  BOOST_TEST(simple_body("no final newline") == "no final newline\r\n");
  BOOST_TEST(simple_body("a\n\nb\n") == "a\r\n\r\nb\r\n");
}

BOOST_AUTO_TEST_CASE(dkim_signature_tag_lists) {
  auto sig = parse_dkim_signature(
      " v=1; a=rsa-sha256; c=relaxed; d=Example.COM; s=sel;\r\n\th=from : to :\r\n subject; i=joe@mail.example.com;"
      " l=120; q=dns/txt; t=100; x=200; bh=MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=;\r\n\tb=YWJj\r\n\t ZGVm;");
  BOOST_REQUIRE_MESSAGE(sig, sig.error().message);
  BOOST_TEST(sig->domain == "example.com");
  BOOST_TEST((sig->headers == std::vector<std::string>{"from", "to", "subject"}));
  BOOST_TEST((sig->header_canonicalization == DkimCanonicalization::relaxed));
  BOOST_TEST((sig->body_canonicalization == DkimCanonicalization::simple));  // "relaxed" alone: relaxed/simple
  BOOST_TEST(sig->signature == "abcdef");
  BOOST_TEST(sig->b_text == "YWJjZGVm");
  BOOST_TEST(*sig->body_length == 120u);
  BOOST_TEST(*sig->expiration == 200);
  BOOST_TEST(sig->identity == "joe@mail.example.com");

  auto defaults = parse_dkim_signature("v=1; a=ed25519-sha256; d=example.com; s=s; h=From; bh=YWJj; b=YWJj");
  BOOST_REQUIRE(defaults);
  BOOST_TEST(defaults->identity == "@example.com");  // RFC 6376 §3.5: i= defaults to @d=
  BOOST_TEST((defaults->header_canonicalization == DkimCanonicalization::simple));
  BOOST_TEST((defaults->key_type == DkimKeyType::ed25519));

  const std::string base = "v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=YWJj; b=YWJj";
  auto error_of = [](const std::string& v) {
    auto r = parse_dkim_signature(v);
    return r ? std::string("parsed") : r.error().message;
  };
  BOOST_TEST(error_of(base + "; d=other.com").find("twice") != std::string::npos);
  BOOST_TEST(error_of("v=1; a=rsa-sha256; d=example.com; s=s; h=from; b=YWJj").find("bh=") != std::string::npos);
  BOOST_TEST(error_of(replace(base, "v=1", "v=2")).find("version") != std::string::npos);
  BOOST_TEST(error_of(replace(base, "h=from", "h=to:subject")).find("From") != std::string::npos);
  BOOST_TEST(error_of(base + "; i=joe@example.org").find("i=") != std::string::npos);
  BOOST_TEST(error_of(base + "; i=joe@badexample.com").find("i=") != std::string::npos);
  BOOST_TEST(error_of(base + "; i=@sub.example.com") == "parsed");
  BOOST_TEST(error_of(base + "; t=200; x=100").find("x=") != std::string::npos);
  BOOST_TEST(error_of(replace(base, "rsa-sha256", "rsa-md5")).find("algorithm") != std::string::npos);
  BOOST_TEST(error_of(base + "; c=fancy/simple").find("canonicalization") != std::string::npos);
  BOOST_TEST(error_of(base + "; q=http").find("q=") != std::string::npos);
  BOOST_TEST(error_of(base + "; l=12x").find("l=") != std::string::npos);
  BOOST_TEST(error_of(base + ";; z=x").find("empty tag") != std::string::npos);
  BOOST_TEST(error_of(base + "; 9x=1").find("tag name") != std::string::npos);
  BOOST_TEST(error_of(base + "; novalue").find("'='") != std::string::npos);
  BOOST_TEST(error_of(replace(base, "b=YWJj", "b=YW!j")).find("b=") != std::string::npos);
  BOOST_TEST(error_of(base + ";") == "parsed");  // the final ";" is optional (RFC 6376 §3.2)
  std::string many = base;
  for (int i = 0; i < 70; ++i) many += "; z" + std::to_string(i) + "=x";
  BOOST_TEST(error_of(many).find("64 tags") != std::string::npos);
  BOOST_TEST(error_of(base + "; z=" + std::string(17000, 'a')).find("16 KiB") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(dkim_key_records_of_the_vectors) {
  auto rsa = parse_dkim_key_record(data("test.txt"));
  BOOST_REQUIRE(rsa);
  BOOST_TEST((rsa->key_type == DkimKeyType::rsa));
  BOOST_TEST(rsa->public_key.size() == 162u);  // SubjectPublicKeyInfo of a 1024-bit key
  auto implicit = parse_dkim_key_record(data("test2.txt"));  // no k=: rsa
  BOOST_REQUIRE(implicit);
  BOOST_TEST((implicit->key_type == DkimKeyType::rsa));
  auto ed = parse_dkim_key_record(data("ed25519test.dns"));  // no v=
  BOOST_REQUIRE(ed);
  BOOST_TEST((ed->key_type == DkimKeyType::ed25519));
  BOOST_TEST(ed->public_key.size() == 32u);
  auto badk = parse_dkim_key_record(data("badk.txt"));
  BOOST_REQUIRE(!badk);
  BOOST_TEST(badk.error().message.find("key type") != std::string::npos);
  auto badversion = parse_dkim_key_record(data("badversion.txt"));  // "v=DKIM1: g=*"
  BOOST_REQUIRE(!badversion);
  BOOST_TEST(badversion.error().message.find("DKIM1") != std::string::npos);
  BOOST_TEST(!parse_dkim_key_record("k=rsa; v=DKIM1; p=YWJj"));  // v= must come first
  auto tlsrpt = parse_dkim_key_record(data("test_tlsrpt.txt"));
  BOOST_REQUIRE(tlsrpt);
  BOOST_TEST((tlsrpt->services == std::vector<std::string>{"tlsrpt"}));
  auto flags = parse_dkim_key_record("v=DKIM1; h=sha1 : sha256; t=y:s:z; p=");
  BOOST_REQUIRE(flags);
  BOOST_TEST(flags->revoked());
  BOOST_TEST(flags->testing);
  BOOST_TEST(flags->strict);
  BOOST_TEST((flags->hashes == std::vector<std::string>{"sha1", "sha256"}));
  BOOST_TEST(!parse_dkim_key_record("v=DKIM1; k=rsa"));  // p= is required
}

BOOST_AUTO_TEST_CASE(dkim_rfc8463_example_both_signatures_pass) {
  // RFC 8463 Appendix A: brisbane (Ed25519, key from the RFC 8032 §7.1 seed) and test (RSA, test.txt).
  auto seed = base64_decode(trimmed(data("rfc8032_7_1.key")));
  BOOST_REQUIRE(seed);
  auto ed = DkimKey::from_ed25519_seed(*seed);
  BOOST_REQUIRE(ed);
  BOOST_TEST(ed->dns_record() == "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");  // RFC 8463 A.2
  Zone zone;
  zone.records["brisbane._domainkey.football.example.com"] = {ed->dns_record()};
  zone.records["test._domainkey.football.example.com"] = {trimmed(data("test.txt"))};
  std::string msg = data("rfc6376.signed.msg");
  auto v = verify_dkim(msg, zone.lookup(), kNow);
  BOOST_REQUIRE_EQUAL(v.signatures.size(), 2u);
  for (const auto& s : v.signatures) BOOST_TEST((s.result == DkimResult::pass), s.selector << ": " << s.reason);
  BOOST_TEST(v.signatures[0].algorithm == "ed25519-sha256");
  BOOST_TEST(v.signatures[0].key_bits == 256u);
  BOOST_TEST(v.signatures[1].key_bits == 1024u);
  BOOST_TEST((v.summary() == DkimResult::pass));
  auto ar = dkim_authentication_results(v);
  BOOST_REQUIRE_EQUAL(ar.size(), 2u);
  BOOST_TEST(ar[0] == "dkim=pass header.d=football.example.com header.i=@football.example.com header.s=brisbane "
                      "header.a=ed25519-sha256 header.b=\"9/dsDChY\"");
  BOOST_TEST(ar[1] == "dkim=pass (1024-bit key) header.d=football.example.com header.i=@football.example.com "
                      "header.s=test header.a=rsa-sha256 header.b=icKcLSEZ");

  // The same message with the body changed fails both, and a Subject change fails the header hash.
  auto body = verify_dkim(replace(msg, "We lost the game", "We won the game"), zone.lookup(), kNow);
  for (const auto& s : body.signatures) BOOST_TEST(s.reason == "body hash did not verify");
  auto subject = verify_dkim(replace(msg, "Is dinner ready?", "Is lunch ready?"), zone.lookup(), kNow);
  for (const auto& s : subject.signatures) {
    BOOST_TEST((s.result == DkimResult::fail));
    BOOST_TEST(s.reason == "signature did not verify");
  }
  // Keys swapped: the RSA record for the Ed25519 signature is a key type mismatch.
  zone.records["brisbane._domainkey.football.example.com"] = {trimmed(data("test.txt"))};
  auto swapped = verify_dkim(msg, zone.lookup(), kNow);
  BOOST_TEST((swapped.signatures[0].result == DkimResult::permerror));
  BOOST_TEST(swapped.signatures[0].reason.find("k=") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(dkim_third_party_signatures_pass) {
  Zone zone;
  zone.records["sed._domainkey.test.ex"] = {trimmed(data("eximtest.dns"))};
  zone.records["20120113._domainkey.gmail.com"] = {kGmailKey};
  auto exim = verify_one(data("ed25519test2.msg"), zone);  // Exim, Ed25519, relaxed/relaxed
  BOOST_TEST((exim.result == DkimResult::pass), exim.reason);
  auto gmail = verify_one(data("test2.message"), zone);  // Gmail, RSA-2048, degenerate folding of h=
  BOOST_TEST((gmail.result == DkimResult::pass), gmail.reason);
  BOOST_TEST(gmail.key_bits == 2048u);
  // The Gmail signature dates from 2013 and has no x=: time does not matter.
  BOOST_TEST((verify_one(data("test2.message"), zone, 4102444800).result == DkimResult::pass));
}

BOOST_AUTO_TEST_CASE(dkim_vector_keys_sign_and_verify_with_tern) {
  // dkimpy's key pairs: test.private / test.txt (RSA-1024) and ed25519test.key / ed25519test.dns; the
  // message has LF line ends, as a file on disk does.
  auto rsa = DkimKey::from_pem(data("test.private"));
  BOOST_REQUIRE(rsa);
  auto seed = base64_decode(trimmed(data("ed25519test.key")));
  BOOST_REQUIRE(seed);
  auto ed = DkimKey::from_ed25519_seed(*seed);
  BOOST_REQUIRE(ed);
  BOOST_TEST(ed->dns_record() == "v=DKIM1; " + trimmed(data("ed25519test.dns")));
  std::vector<std::pair<std::shared_ptr<const DkimKey>, std::string>> keys = {
      {std::make_shared<const DkimKey>(std::move(*rsa)), "test.txt"},
      {std::make_shared<const DkimKey>(std::move(*ed)), "ed25519test.dns"}};
  std::string msg = data("test.message");
  for (const auto& [key, record] : keys) {
    Zone zone;
    zone.records["test._domainkey.example.com"] = {trimmed(data(record))};
    for (auto hc : {DkimCanonicalization::simple, DkimCanonicalization::relaxed}) {
      for (auto bc : {DkimCanonicalization::simple, DkimCanonicalization::relaxed}) {
        DkimSignOptions o{"example.com", "test"};
        o.header_canonicalization = hc;
        o.body_canonicalization = bc;
        auto sig = DkimSigner(key, o).sign(msg, kNow);
        BOOST_REQUIRE(sig);
        auto r = verify_one(*sig + msg, zone);
        BOOST_TEST((r.result == DkimResult::pass), record << " " << to_string(hc) << "/" << to_string(bc) << ": " << r.reason);
        auto bad = verify_one(*sig + msg + "appended\n", zone);
        BOOST_TEST((bad.result == DkimResult::fail));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(dkim_round_trip_and_tampering) {
  for (auto a : {DkimAlgorithm::rsa_sha256, DkimAlgorithm::ed25519_sha256}) {
    auto s = make_signer_zone(a);
    for (auto hc : {DkimCanonicalization::simple, DkimCanonicalization::relaxed}) {
      for (auto bc : {DkimCanonicalization::simple, DkimCanonicalization::relaxed}) {
        std::string ctx = std::string(to_string(a)) + " " + std::string(to_string(hc)) + "/" + std::string(to_string(bc));
        std::string msg = sign(s, kMessage, hc, bc);
        auto ok = verify_one(msg, s.zone);
        BOOST_TEST((ok.result == DkimResult::pass), ctx << ": " << ok.reason);
        BOOST_TEST(ok.domain == "example.test");
        BOOST_TEST(ok.selector == "sel");
        BOOST_TEST((verify_one(replace(msg, "Line one", "Line 1"), s.zone).reason == "body hash did not verify"), ctx);
        auto subject = verify_one(replace(msg, "Subject: signed", "Subject: forged"), s.zone);
        BOOST_TEST((subject.result == DkimResult::fail), ctx);
        BOOST_TEST(subject.reason == "signature did not verify", ctx);
        // A second From on top (From is oversigned) or at the bottom fails; an unsigned field does not.
        BOOST_TEST((verify_one(replace(msg, "Received:", "From: mallory@evil.test\r\nReceived:"), s.zone).result ==
                    DkimResult::fail), ctx);
        BOOST_TEST((verify_one(replace(msg, "\r\n\r\nLine", "\r\nFrom: mallory@evil.test\r\n\r\nLine"), s.zone).result ==
                    DkimResult::fail), ctx);
        BOOST_TEST((verify_one(replace(msg, "Received:", "X-Added: yes\r\nReceived:"), s.zone).result ==
                    DkimResult::pass), ctx);
        // Whitespace changes a relay may make: relaxed survives them, simple does not.
        auto refolded = verify_one(replace(msg, "signed  and\r\n folded", "signed and\r\n\t folded"), s.zone);
        BOOST_TEST((refolded.result == (hc == DkimCanonicalization::relaxed ? DkimResult::pass : DkimResult::fail)), ctx);
        auto spaced = verify_one(replace(msg, "Line one   with", "Line one with"), s.zone);
        BOOST_TEST((spaced.result == (bc == DkimCanonicalization::relaxed ? DkimResult::pass : DkimResult::fail)), ctx);
        // Trailing empty lines are not signed in either canonicalisation; a bare-LF copy verifies too.
        BOOST_TEST((verify_one(msg + "\r\n\r\n", s.zone).result == DkimResult::pass), ctx);
        std::string lf = msg;
        for (std::size_t p; (p = lf.find("\r\n")) != std::string::npos;) lf.erase(p, 1);
        BOOST_TEST((verify_one(lf, s.zone).result == DkimResult::pass), ctx);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(dkim_expiry_and_timestamps) {
  auto s = make_signer_zone(DkimAlgorithm::ed25519_sha256);
  std::string msg = sign(s, kMessage, DkimCanonicalization::relaxed, DkimCanonicalization::relaxed, 3600);
  BOOST_TEST((verify_one(msg, s.zone, kNow + 3600).result == DkimResult::pass));
  BOOST_TEST((verify_one(msg, s.zone, kNow + 3600 + 299).result == DkimResult::pass));  // clock skew
  auto expired = verify_one(msg, s.zone, kNow + 7200);
  BOOST_TEST((expired.result == DkimResult::neutral));
  BOOST_TEST(expired.reason.find("expired") != std::string::npos);
  auto future = verify_one(msg, s.zone, kNow - 3600);  // signed an hour "from now"
  BOOST_TEST((future.result == DkimResult::neutral));
  BOOST_TEST(future.reason.find("future") != std::string::npos);
  BOOST_TEST(s.zone.asked.size() == 2u);  // no key lookup for signatures already out of time
}

BOOST_AUTO_TEST_CASE(dkim_rfc8301_rules) {
  // RSA keys below 1024 bits are not valid (RFC 8301 §3.2): a 512-bit key made with OpenSSL directly.
  EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(512));
  BOOST_REQUIRE(small);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, small, nullptr, nullptr, 0, nullptr, nullptr);
  char* pem = nullptr;
  long len = BIO_get_mem_data(bio, &pem);
  auto key = DkimKey::from_pem(std::string_view(pem, static_cast<std::size_t>(len)));
  BIO_free(bio);
  EVP_PKEY_free(small);
  BOOST_REQUIRE(key);
  Signed s{std::make_shared<const DkimKey>(std::move(*key)), {}};
  s.zone.records["sel._domainkey.example.test"] = {s.key->dns_record()};
  std::string msg = sign(s, kMessage);
  auto weak = verify_one(msg, s.zone);
  BOOST_TEST((weak.result == DkimResult::fail));
  BOOST_TEST(weak.reason.find("512-bit RSA key is too short") != std::string::npos);
  DkimVerifyOptions lenient;
  lenient.min_rsa_bits = 512;
  BOOST_TEST((verify_one(msg, s.zone, kNow, lenient).result == DkimResult::pass));  // only the size stopped it

  // rsa-sha1 (RFC 8301 §3.1): not valid by default, whatever the signature.
  auto rsa = make_signer_zone(DkimAlgorithm::rsa_sha256);
  std::string sha1 = replace(sign(rsa, kMessage), "a=rsa-sha256", "a=rsa-sha1");
  auto r = verify_one(sha1, rsa.zone);
  BOOST_TEST((r.result == DkimResult::fail));
  BOOST_TEST(r.reason.find("RFC 8301") != std::string::npos);
  BOOST_TEST(rsa.zone.asked.empty());  // refused before any DNS lookup
}

BOOST_AUTO_TEST_CASE(dkim_key_lookup_outcomes) {
  auto s = make_signer_zone(DkimAlgorithm::rsa_sha256);
  std::string msg = sign(s, kMessage);
  const std::string name = "sel._domainkey.example.test";
  auto with = [&](std::vector<std::string> records) {
    Zone z;
    z.records[name] = std::move(records);
    return verify_one(msg, z);
  };
  Zone empty;
  auto none = verify_one(msg, empty);
  BOOST_TEST((none.result == DkimResult::permerror));
  BOOST_TEST(none.reason.find("no key") != std::string::npos);
  DkimKeyLookup servfail = [](std::string_view, std::string_view) -> Result<std::vector<std::string>> {
    return fail(ErrorCategory::temporary, "SERVFAIL", dns::kServFail);
  };
  auto temp = verify_dkim(msg, servfail, kNow).signatures.at(0);
  BOOST_TEST((temp.result == DkimResult::temperror));
  BOOST_TEST((with({"v=DKIM1; k=rsa; p="}).result == DkimResult::permerror));  // revoked
  BOOST_TEST(with({"v=DKIM1; k=rsa; p="}).reason.find("revoked") != std::string::npos);
  BOOST_TEST((with({trimmed(data("badversion.txt"))}).result == DkimResult::permerror));
  BOOST_TEST((with({trimmed(data("test_bad.txt"))}).result == DkimResult::permerror));  // truncated key
  BOOST_TEST((with({trimmed(data("test.txt"))}).result == DkimResult::fail));           // another key
  BOOST_TEST((with({s.key->dns_record() + "; s=tlsrpt"}).result == DkimResult::permerror));
  BOOST_TEST((with({s.key->dns_record() + "; h=sha1"}).result == DkimResult::permerror));
  BOOST_TEST((with({s.key->dns_record() + "; h=sha1:sha256; s=email:tlsrpt"}).result == DkimResult::pass));
  auto testing = with({s.key->dns_record() + "; t=y"});
  BOOST_TEST((testing.result == DkimResult::pass));
  BOOST_TEST(testing.testing);
  // A junk record before the real one is skipped; a lone junk record is an error.
  BOOST_TEST((with({"not a key record", s.key->dns_record()}).result == DkimResult::pass));
  BOOST_TEST((with({"not a key record"}).result == DkimResult::permerror));
  // t=s: the i= domain must be d= itself.
  std::string sub = replace(msg, "d=example.test;", "d=example.test; i=@mail.example.test;");
  Zone z;
  z.records[name] = {s.key->dns_record() + "; t=s"};
  auto st = verify_one(sub, z);
  BOOST_TEST((st.result == DkimResult::permerror));
  BOOST_TEST(st.reason.find("t=s") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(dkim_signature_count_is_bounded) {
  auto s = make_signer_zone(DkimAlgorithm::ed25519_sha256);
  std::string msg = kMessage;
  for (int i = 0; i < 7; ++i) msg = sign(s, msg);
  auto v = verify_dkim(msg, s.zone.lookup(), kNow);
  BOOST_TEST(v.signatures.size() == 5u);
  BOOST_TEST(v.skipped == 2u);
  for (const auto& sig : v.signatures) BOOST_TEST((sig.result == DkimResult::pass), sig.reason);
  BOOST_TEST(dkim_key_queries(msg, kNow) == std::vector<std::string>{"sel._domainkey.example.test"});
  // A field that is no tag list is neutral and does not hide the next one.
  std::string junk = "DKIM-Signature: garbage\r\n" + sign(s, kMessage);
  auto j = verify_dkim(junk, s.zone.lookup(), kNow);
  BOOST_REQUIRE_EQUAL(j.signatures.size(), 2u);
  BOOST_TEST((j.signatures[0].result == DkimResult::neutral));
  BOOST_TEST((j.signatures[1].result == DkimResult::pass));
  BOOST_TEST((j.summary() == DkimResult::pass));
  auto ar = dkim_authentication_results(j);
  BOOST_TEST(ar[0] == "dkim=neutral reason=\"tag without '=': \\\"garbage\\\"\"");
  BOOST_TEST((verify_dkim(kMessage, s.zone.lookup(), kNow).summary() == DkimResult::none));
}

BOOST_AUTO_TEST_CASE(dkim_authentication_results_field) {
  DkimVerification v;
  BOOST_TEST(dkim_authentication_results(v) == std::vector<std::string>{"dkim=none"});
  DkimSignatureResult a;
  a.result = DkimResult::fail;
  a.reason = "body hash did not verify";
  a.domain = "example.com";
  a.selector = "sel";
  a.identity = "joe@example.com";
  a.algorithm = "rsa-sha256";
  a.key_bits = 2048;
  a.b_text = "AbCdEfGhIjKl";
  DkimSignatureResult b = a;
  b.result = DkimResult::pass;
  b.reason.clear();
  b.b_text = "AbCdEfGhXyZ";
  v.signatures = {a, b};
  auto ar = dkim_authentication_results(v);
  // RFC 6008 §4: header.b long enough to tell the two apart.
  BOOST_TEST(ar[0] == "dkim=fail (2048-bit key) reason=\"body hash did not verify\" header.d=example.com "
                      "header.i=joe@example.com header.s=sel header.a=rsa-sha256 header.b=AbCdEfGhI");
  BOOST_TEST(ar[1].rfind("dkim=pass (2048-bit key) header.d=example.com", 0) == 0);
  BOOST_TEST(ar[1].ends_with(" header.b=AbCdEfGhX"));
  BOOST_TEST(authentication_results_field("mx.example.net", ar) ==
             "Authentication-Results: mx.example.net;\r\n\t" + ar[0] + ";\r\n\t" + ar[1] + "\r\n");
  BOOST_TEST(authentication_results_field("mx.example.net", {}) == "Authentication-Results: mx.example.net; none\r\n");
}

BOOST_AUTO_TEST_CASE(dkim_verify_through_resolver) {
  // verify_dkim_async fetches the record with the real resolver, answering from local data only.
  auto s = make_signer_zone(DkimAlgorithm::rsa_sha256);
  std::string record = s.key->dns_record();
  std::string txt = "sel._domainkey.example.test. TXT";
  for (std::size_t i = 0; i < record.size(); i += 255) txt += " \"" + record.substr(i, 255) + "\"";
  dns::DnsConfig config;
  config.local_only = true;
  config.local_data = {txt};
  auto resolver = dns::UnboundResolver::create(config);
  BOOST_REQUIRE_MESSAGE(resolver, resolver.error().message);
  std::string signed_msg = sign(s, kMessage);
  std::string other = replace(signed_msg, "s=sel;", "s=gone;");
  std::string_view msg1 = signed_msg, msg2 = other;
  DkimVerifyOptions options;
  asio::io_context io;
  std::vector<DkimVerification> got;
  auto run = [&](const std::string_view& m) -> asio::awaitable<void> {
    DkimVerification v = co_await verify_dkim_async(**resolver, m, kNow, options);
    got.push_back(std::move(v));
  };
  asio::co_spawn(io, run(msg1), asio::detached);
  io.run();
  io.restart();
  asio::co_spawn(io, run(msg2), asio::detached);
  io.run();
  BOOST_REQUIRE_EQUAL(got.size(), 2u);
  BOOST_TEST((got[0].signatures.at(0).result == DkimResult::pass), got[0].signatures.at(0).reason);
  BOOST_TEST((got[1].signatures.at(0).result == DkimResult::permerror));
  BOOST_TEST(got[1].signatures.at(0).reason.find("no key") != std::string::npos);
}

// ---- dkimpy as an independent peer ------------------------------------------------------------------

namespace {

bool have_dkimpy() { return std::system("/usr/bin/python3 -c 'import dkim' >/dev/null 2>&1") == 0; }

struct Dkimpy {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("tern-dkimpy-" + std::to_string(::getpid()));
  Dkimpy() { std::filesystem::create_directories(dir); }
  ~Dkimpy() { std::filesystem::remove_all(dir); }

  void write(const std::string& name, const std::string& content) const {
    std::ofstream(dir / name, std::ios::binary) << content;
  }
  // Runs dkimpy_check.py with `message` on stdin; the exit status and stdout.
  std::pair<int, std::string> run(const std::string& args, const std::string& message) const {
    write("in.eml", message);
    std::string cmd = "/usr/bin/python3 " + (kDir / "dkimpy_check.py").string() + " " + args + " < " +
                      (dir / "in.eml").string() + " > " + (dir / "out").string() + " 2>" + (dir / "err").string();
    int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read(dir / "out") + read(dir / "err")};
  }
  std::string sign(const std::string& message, const std::string& key_file, const std::string& hc, const std::string& bc,
                   const std::string& algorithm, const std::string& extra = "") const {
    auto [status, out] = run("sign " + (kDir / "data" / key_file).string() + " test example.com " + hc + " " + bc + " " +
                                 algorithm + " " + extra,
                             message);
    BOOST_REQUIRE_MESSAGE(status == 0, "dkimpy sign: " << out);
    return out;
  }
  bool verifies(const std::string& message, const std::string& record) const {
    write("record.txt", record);
    auto [status, out] = run("verify " + (dir / "record.txt").string(), message);
    BOOST_REQUIRE_MESSAGE(status == 0 || status == 1, "dkimpy verify: " << out);
    return status == 0;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(dkimpy_signed_messages_verify_with_tern) {
  if (!have_dkimpy()) {
    BOOST_TEST_MESSAGE("dkimpy (python3-dkim) is not installed: cross-check skipped");
    return;
  }
  Dkimpy py;
  Zone zone;
  const std::int64_t now = std::time(nullptr);  // dkimpy puts the real time in t=
  const std::string name = "test._domainkey.example.com";
  for (const auto& [key_file, record, algorithm] :
       std::vector<std::tuple<std::string, std::string, std::string>>{{"test.private", "test.txt", "rsa-sha256"},
                                                                      {"ed25519test.key", "ed25519test.dns", "ed25519-sha256"}}) {
    zone.records[name] = {trimmed(data(record))};
    for (const std::string msg : {kMessage, data("test.message"), data("rfc6376.msg")}) {
      for (const std::string hc : {"simple", "relaxed"}) {
        for (const std::string bc : {"simple", "relaxed"}) {
          std::string sig = py.sign(msg, key_file, hc, bc, algorithm);
          auto r = verify_one(sig + msg, zone, now);
          BOOST_TEST((r.result == DkimResult::pass), algorithm << " " << hc << "/" << bc << ": " << r.reason);
          BOOST_TEST(r.algorithm == algorithm);
          auto bad = verify_one(sig + replace(msg, "From: ", "From: X "), zone, now);
          BOOST_TEST((bad.result == DkimResult::fail), algorithm << " " << hc << "/" << bc);
        }
      }
    }
  }

  zone.records[name] = {trimmed(data("test.txt"))};
  // l=: content appended after the signed length still passes, and the result says how much.
  std::string sig = py.sign(kMessage, "test.private", "relaxed", "simple", "rsa-sha256", "length");
  BOOST_TEST(sig.find("l=") != std::string::npos);
  auto appended = verify_one(sig + kMessage + "Appended by a list.\r\n", zone, now);
  BOOST_TEST((appended.result == DkimResult::pass), appended.reason);
  BOOST_REQUIRE(appended.body_length);
  // The two empty lines that ended kMessage were not signed (simple body) and now count as appended.
  BOOST_TEST(appended.unsigned_octets == std::string("\r\n\r\nAppended by a list.\r\n").size());
  BOOST_TEST((verify_one(sig + "From: a@example.com\r\n\r\nshort\r\n", zone, now).result == DkimResult::fail));

  // rsa-sha1 by a real signer: refused by default (RFC 8301 §3.1), valid when explicitly accepted.
  std::string sha1 = py.sign(kMessage, "test.private", "relaxed", "relaxed", "rsa-sha1");
  BOOST_TEST((verify_one(sha1 + kMessage, zone, now).result == DkimResult::fail));
  DkimVerifyOptions legacy;
  legacy.accept_rsa_sha1 = true;
  auto accepted = verify_one(sha1 + kMessage, zone, now, legacy);
  BOOST_TEST((accepted.result == DkimResult::pass), accepted.reason);

  // i= in a subdomain of d=: fine, unless the key says t=s.
  std::string sub = py.sign(kMessage, "test.private", "relaxed", "relaxed", "rsa-sha256", "identity=@mail.example.com");
  BOOST_TEST((verify_one(sub + kMessage, zone, now).result == DkimResult::pass));
  zone.records[name] = {trimmed(data("test.txt")) + "; t=s"};
  BOOST_TEST((verify_one(sub + kMessage, zone, now).result == DkimResult::permerror));
}

BOOST_AUTO_TEST_CASE(tern_signed_messages_verify_with_dkimpy) {
  if (!have_dkimpy()) {
    BOOST_TEST_MESSAGE("dkimpy (python3-dkim) is not installed: cross-check skipped");
    return;
  }
  Dkimpy py;
  for (auto a : {DkimAlgorithm::rsa_sha256, DkimAlgorithm::ed25519_sha256}) {
    auto s = make_signer_zone(a);
    for (auto hc : {DkimCanonicalization::simple, DkimCanonicalization::relaxed}) {
      for (auto bc : {DkimCanonicalization::simple, DkimCanonicalization::relaxed}) {
        std::string msg = sign(s, kMessage, hc, bc);
        BOOST_TEST(py.verifies(msg, s.key->dns_record()), to_string(a) << " " << to_string(hc) << "/" << to_string(bc));
        BOOST_TEST(!py.verifies(replace(msg, "Line one", "Line 1"), s.key->dns_record()));
        BOOST_TEST(!py.verifies(replace(msg, "Subject: signed", "Subject: forged"), s.key->dns_record()));
      }
    }
  }
}
