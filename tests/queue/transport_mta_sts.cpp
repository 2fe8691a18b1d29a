// MTA-STS parsers and MX pattern matching (RFC 8461 3.1, 3.2, 4.1).
#include <boost/test/unit_test.hpp>

#include "tern/queue/mta_sts.hpp"

using namespace tern::queue;

BOOST_AUTO_TEST_CASE(mta_sts_txt_record) {
  BOOST_TEST(*parse_mta_sts_record("v=STSv1; id=20160831085700Z;") == "20160831085700Z");
  BOOST_TEST(*parse_mta_sts_record("v=STSv1;id=abc") == "abc");
  BOOST_TEST(!parse_mta_sts_record("v=STSv2; id=abc").has_value());
  BOOST_TEST(!parse_mta_sts_record("id=abc; v=STSv1").has_value());  // v= must come first
  BOOST_TEST(!parse_mta_sts_record("v=STSv1; id=a-b").has_value());
  BOOST_TEST(!parse_mta_sts_record("v=STSv1;").has_value());         // no id
}

BOOST_AUTO_TEST_CASE(mta_sts_policy_file) {
  auto p = parse_mta_sts_policy("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.net\r\n"
                                "max_age: 604800\r\nextension: ignored\r\n");
  BOOST_TEST_REQUIRE(p.has_value());
  BOOST_TEST((p->mode == MtaStsMode::enforce));
  BOOST_TEST(p->mx.size() == 2u);
  BOOST_TEST(p->mx[1] == "*.example.net");
  BOOST_TEST(p->max_age.count() == 604800);
  BOOST_TEST((parse_mta_sts_policy("version: STSv1\nmode: testing\nmx: a.b\nmax_age: 86400\n")->mode == MtaStsMode::testing));
  BOOST_TEST(parse_mta_sts_policy("version: STSv1\nmode: none\nmax_age: 86400\n").has_value());
  BOOST_TEST(!parse_mta_sts_policy("version: STSv1\nmode: enforce\nmax_age: 86400\n").has_value());  // no mx
  BOOST_TEST(!parse_mta_sts_policy("version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n").has_value());
  BOOST_TEST(!parse_mta_sts_policy("version: STSv1\nmode: enforce\nmx: a\nmax_age: 31557601\n").has_value());
  BOOST_TEST(!parse_mta_sts_policy("mode: enforce\nmx: a\nmax_age: 1\n").has_value());
  BOOST_TEST(!parse_mta_sts_policy("<html>not a policy</html>").has_value());
}

BOOST_AUTO_TEST_CASE(mta_sts_mx_patterns) {
  BOOST_TEST(mta_sts_mx_matches("mail.example.com", "MAIL.example.com."));
  BOOST_TEST(mta_sts_mx_matches("*.example.net", "mx1.example.net"));
  BOOST_TEST(!mta_sts_mx_matches("*.example.net", "a.mx1.example.net"));  // one label only
  BOOST_TEST(!mta_sts_mx_matches("*.example.net", "example.net"));
  BOOST_TEST(!mta_sts_mx_matches("mail.example.com", "evil-mail.example.com"));
}
