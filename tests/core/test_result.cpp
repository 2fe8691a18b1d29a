#include <boost/test/unit_test.hpp>

#include "tern/core/result.hpp"
#include "tern/version.hpp"

using namespace tern;

namespace {
Result<int> half(int v) {
  if (v % 2) return fail(ErrorCategory::invalid_argument, "odd number");
  return v / 2;
}
}  // namespace

BOOST_AUTO_TEST_CASE(result_carries_value_or_error) {
  auto ok = half(8);
  BOOST_REQUIRE(ok);
  BOOST_TEST(*ok == 4);
  auto bad = half(3);
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().message == "odd number");
  BOOST_TEST(bad.error().describe() == "invalid_argument: odd number");
  auto chained = half(8).and_then(half).and_then(half);
  BOOST_TEST(*chained == 1);
}

BOOST_AUTO_TEST_CASE(errno_errors_name_the_operation) {
  auto e = fail_errno("open /nonexistent", ENOENT);
  BOOST_TEST(e.value().category == ErrorCategory::io);
  BOOST_TEST(e.value().code == ENOENT);
  BOOST_TEST(e.value().message == "open /nonexistent: No such file or directory");
}

BOOST_AUTO_TEST_CASE(version_macros_agree_with_runtime) {
  BOOST_TEST(std::string(runtime_version()) == TERN_VERSION_STRING);
  BOOST_TEST(TERN_VERSION_ATLEAST(0, 0, 1));
  BOOST_TEST(!TERN_VERSION_ATLEAST(999, 0, 0));
}
