// DKIM canonicalisation (RFC 6376 §3.4.5's example), key files and the keyring's choice of key.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

#include "tern/mailauth/dkim_keyring.hpp"

using namespace tern::mailauth;

BOOST_AUTO_TEST_CASE(relaxed_canonicalisation_rfc6376_example) {
  // RFC 6376 §3.4.5: "A: <SP> X <CRLF> B <SP> : <SP> Y <HTAB><CRLF> <HTAB> Z <SP><SP><CRLF>"
  BOOST_TEST(relaxed_header("A", " X") == "a:X");
  BOOST_TEST(relaxed_header("B ", " Y\t\r\n\tZ  ") == "b:Y Z");
  BOOST_TEST(relaxed_body(" C \r\nD \t E\r\n\r\n\r\n") == " C\r\nD E\r\n");
  BOOST_TEST(relaxed_body("") == "");
  BOOST_TEST(relaxed_body("\r\n\r\n") == "");
  BOOST_TEST(relaxed_body("no final newline") == "no final newline\r\n");
  BOOST_TEST(relaxed_body("a\r\n\r\nb\r\n") == "a\r\n\r\nb\r\n");  // inner empty lines stay
}

BOOST_AUTO_TEST_CASE(keys_round_trip_and_records) {
  auto dir = std::filesystem::temp_directory_path() / ("tern-dkim-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto rsa = DkimKey::generate(DkimAlgorithm::rsa_sha256, 2048);
  BOOST_REQUIRE(rsa);
  BOOST_TEST(rsa->dns_record().rfind("v=DKIM1; k=rsa; p=MIIBIjAN", 0) == 0);  // SubjectPublicKeyInfo of RSA-2048
  auto ed = DkimKey::generate(DkimAlgorithm::ed25519_sha256);
  BOOST_REQUIRE(ed);
  BOOST_TEST(ed->dns_record().size() == std::string("v=DKIM1; k=ed25519; p=").size() + 44);  // 32 raw octets
  auto file = DkimKeyring::key_file(dir, "Example.TEST", "sel");
  BOOST_TEST(file.filename() == "example.test.sel.key");
  BOOST_REQUIRE(ed->save_pem(file));
  BOOST_TEST(((std::filesystem::status(file).permissions() & std::filesystem::perms::others_read) ==
              std::filesystem::perms::none));
  auto back = DkimKey::load_pem(file);
  BOOST_REQUIRE(back);
  BOOST_TEST((back->algorithm() == DkimAlgorithm::ed25519_sha256));
  BOOST_TEST(back->dns_record() == ed->dns_record());
  BOOST_TEST(!DkimKey::from_pem("not a key"));

  DkimKeyring ring(DkimConfig{true, dir, "sel"});
  auto signer = ring.signer_for("EXAMPLE.test");
  BOOST_REQUIRE(signer);
  BOOST_TEST(signer->options().selector == "sel");
  BOOST_TEST(signer->options().domain == "example.test");
  BOOST_TEST(!ring.signer_for("other.test"));

  std::string msg = "From: A <a@example.test>\r\nSubject: x\r\n\r\nbody\r\n";
  auto sig = signer->sign(msg, 1700000000);
  BOOST_REQUIRE(sig);
  BOOST_TEST(sig->find("a=ed25519-sha256; c=relaxed/relaxed;\r\n\td=example.test; s=sel;") != std::string::npos);
  BOOST_TEST(sig->find("t=1700000000;") != std::string::npos);
  BOOST_TEST(sig->find("h=from:from:subject;") != std::string::npos);  // From oversigned
  for (std::size_t p = 0, e; (e = sig->find("\r\n", p)) != std::string::npos; p = e + 2) BOOST_TEST(e - p <= 78u);
  // The keyring signs by the From: domain; a message of another domain passes unchanged.
  auto signed_msg = ring.sign(msg, "bounce@other.test", 1700000000);
  BOOST_REQUIRE(signed_msg);
  BOOST_TEST(signed_msg->rfind("DKIM-Signature:", 0) == 0);
  std::string foreign = "From: b@other.test\r\n\r\nx\r\n";
  BOOST_TEST(*ring.sign(foreign, "b@other.test", 1) == foreign);
  BOOST_TEST(!signer->sign("Subject: no from\r\n\r\nx\r\n", 1));
  std::filesystem::remove_all(dir);
}
