// DANE TLSA matching (RFC 7672/6698) on certificates made by the openssl command line; the expected
// digests come from `openssl ... | sha256sum`, not from the code under test.
#include <boost/test/unit_test.hpp>

#include <openssl/pem.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "tern/queue/dane.hpp"

using namespace tern;
using namespace tern::queue;
namespace fs = std::filesystem;

namespace {

std::string sh(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[256];
  while (auto n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '-')) out.pop_back();
  return out;
}

std::vector<std::uint8_t> unhex(const std::string& h) {
  std::vector<std::uint8_t> v;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) v.push_back(static_cast<std::uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return v;
}

struct Certs {
  fs::path dir;
  X509* ca = nullptr;
  X509* leaf = nullptr;
  X509* other_ca = nullptr;
  X509* other_leaf = nullptr;  // signed by other_ca, same name
  Certs() {
    char tmpl[] = "/tmp/tern-dane-XXXXXX";
    dir = mkdtemp(tmpl);
    auto d = dir.string();
    auto mk = [&](const std::string& ca) {
      std::string c =
          "cd " + d + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout " + ca + ".key -out " + ca +
          ".pem -days 2 -subj /CN=" + ca + " -addext basicConstraints=critical,CA:TRUE 2>/dev/null && "
          "openssl req -newkey rsa:2048 -nodes -keyout " + ca + "-leaf.key -out " + ca + "-leaf.csr -subj /CN=mx.remote.test 2>/dev/null && "
          "printf 'subjectAltName=DNS:mx.remote.test\\n' > ext && "
          "openssl x509 -req -in " + ca + "-leaf.csr -CA " + ca + ".pem -CAkey " + ca + ".key -CAcreateserial -days 2 "
          "-extfile ext -out " + ca + "-leaf.pem 2>/dev/null";
      BOOST_TEST_REQUIRE(std::system(c.c_str()) == 0);
    };
    mk("ca");
    mk("evil");
    ca = load("ca.pem");
    leaf = load("ca-leaf.pem");
    other_ca = load("evil.pem");
    other_leaf = load("evil-leaf.pem");
  }
  X509* load(const std::string& name) {
    FILE* f = fopen((dir / name).c_str(), "r");
    BOOST_TEST_REQUIRE(f != nullptr);
    X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
    fclose(f);
    BOOST_TEST_REQUIRE(x != nullptr);
    return x;
  }
  std::string spki_sha256(const std::string& pem) {
    return sh("openssl x509 -in " + (dir / pem).string() +
              " -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1");
  }
  std::string cert_sha512(const std::string& pem) {
    return sh("openssl x509 -in " + (dir / pem).string() + " -outform DER | sha512sum | cut -d' ' -f1");
  }
  ~Certs() {
    for (X509* x : {ca, leaf, other_ca, other_leaf}) X509_free(x);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

dns::TlsaRecord rec(int u, int s, int m, const std::string& hex) {
  return dns::TlsaRecord{static_cast<std::uint8_t>(u), static_cast<std::uint8_t>(s), static_cast<std::uint8_t>(m), unhex(hex)};
}

}  // namespace

BOOST_AUTO_TEST_CASE(dane_ee_spki_sha256_and_full_cert_sha512) {
  Certs c;
  auto ee = rec(3, 1, 1, c.spki_sha256("ca-leaf.pem"));
  BOOST_TEST(ee.data.size() == 32u);
  BOOST_TEST(tlsa_matches(ee, c.leaf));
  BOOST_TEST(!tlsa_matches(ee, c.other_leaf));
  BOOST_TEST((dane_verify({ee}, {c.leaf, c.ca}, "mx.remote.test") == DaneVerdict::match));
  // DANE-EE ignores names (RFC 7672 3.1.1).
  BOOST_TEST((dane_verify({ee}, {c.leaf}, "other.name") == DaneVerdict::match));
  BOOST_TEST((dane_verify({ee}, {c.other_leaf, c.other_ca}, "mx.remote.test") == DaneVerdict::no_match));
  auto full = rec(3, 0, 2, c.cert_sha512("ca-leaf.pem"));
  BOOST_TEST(full.data.size() == 64u);
  BOOST_TEST(tlsa_matches(full, c.leaf));
  auto tampered = ee;
  tampered.data[0] ^= 1;
  BOOST_TEST((dane_verify({tampered}, {c.leaf}, "mx.remote.test") == DaneVerdict::no_match));
}

BOOST_AUTO_TEST_CASE(dane_ta_needs_the_chain_and_the_name) {
  Certs c;
  auto ta = rec(2, 1, 1, c.spki_sha256("ca.pem"));
  BOOST_TEST((dane_verify({ta}, {c.leaf, c.ca}, "mx.remote.test") == DaneVerdict::match));
  BOOST_TEST((dane_verify({ta}, {c.leaf, c.ca}, "wrong.remote.test") == DaneVerdict::no_match));
  // The real TA certificate presented beside a leaf it did not sign: no match.
  BOOST_TEST((dane_verify({ta}, {c.other_leaf, c.ca}, "mx.remote.test") == DaneVerdict::no_match));
  // The TA must be above the leaf, not the leaf itself.
  BOOST_TEST((dane_verify({ta}, {c.ca}, "mx.remote.test") == DaneVerdict::no_match));
}

BOOST_AUTO_TEST_CASE(pkix_usages_are_unusable_for_smtp) {
  Certs c;
  auto pkix = rec(1, 1, 1, c.spki_sha256("ca-leaf.pem"));
  BOOST_TEST((dane_verify({pkix}, {c.leaf, c.ca}, "mx.remote.test") == DaneVerdict::unusable));
  BOOST_TEST((dane_verify({rec(3, 7, 1, "00")}, {c.leaf}, "mx.remote.test") == DaneVerdict::unusable));
}
