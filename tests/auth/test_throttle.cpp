#include <boost/test/unit_test.hpp>

#include <mutex>
#include <vector>

#include "tern/auth/auth_throttle.hpp"
#include "tern/core/log.hpp"

using namespace tern::auth;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

namespace {

asio::ip::address ip(const char* s) { return asio::ip::make_address(s); }

// Captures log lines for the duration of a test.
struct LogCapture {
  std::mutex mu;
  std::vector<std::string> lines;
  LogCapture() {
    tern::log::set_sink([this](tern::log::Level, std::string_view line) {
      std::lock_guard l(mu);
      lines.emplace_back(line);
    });
  }
  ~LogCapture() { tern::log::set_sink({}); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(throttle)

BOOST_AUTO_TEST_CASE(exponential_delay_then_lockout) {
  LogCapture logs;
  AuthThrottleOptions o;
  o.base_delay = 1s;
  o.max_delay = 8s;
  o.ip_lockout_after = 6;
  o.account_lockout_after = 0;
  o.lockout = 10min;
  AuthThrottle t(o);
  auto now = Clock::time_point{} + 1000h;
  auto a = ip("198.51.100.7");
  std::vector<ms> delays;
  for (int i = 0; i < 5; ++i) {
    BOOST_TEST(t.check(a, "bob@example.com", now).allowed);
    delays.push_back(t.record_failure(a, "bob@example.com", "imap", now, "wrong password").delay);
    now += 1s;
  }
  BOOST_TEST((delays == std::vector<ms>{1s, 2s, 4s, 8s, 8s}));
  // The 6th failure locks the IP out for 10 minutes.
  auto sixth = t.record_failure(a, "bob@example.com", "imap", now);
  BOOST_TEST(!sixth.allowed);
  auto locked = t.check(a, "", now + 9min);
  BOOST_TEST(!locked.allowed);
  BOOST_TEST(locked.retry_after.count() == ms(1min).count());
  BOOST_TEST(locked.reason.find("198.51.100.7") != std::string::npos);
  // Another IP is not affected; after the lockout the IP may try again.
  BOOST_TEST(t.check(ip("198.51.100.8"), "bob@example.com", now).allowed);
  // The same client seen through a dual-stack socket is the same IP.
  BOOST_TEST(!t.check(ip("::ffff:198.51.100.7"), "", now).allowed);
  BOOST_TEST(t.check(a, "", now + 10min).allowed);
  // One log line per failure naming IP, protocol and account.
  std::lock_guard l(logs.mu);
  BOOST_REQUIRE(logs.lines.size() == 6u);
  BOOST_TEST(logs.lines[0].find("auth.failed") != std::string::npos);
  BOOST_TEST(logs.lines[0].find("ip=198.51.100.7") != std::string::npos);
  BOOST_TEST(logs.lines[0].find("protocol=imap") != std::string::npos);
  BOOST_TEST(logs.lines[0].find("account=bob@example.com") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(account_counter_across_ips_and_forgetting) {
  LogCapture logs;
  AuthThrottleOptions o;
  o.base_delay = 500ms;
  o.max_delay = 30s;
  o.ip_lockout_after = 0;
  o.account_lockout_after = 3;
  o.lockout = 5min;
  o.forget_after = 1h;
  AuthThrottle t(o);
  auto now = Clock::time_point{} + 1000h;
  // A distributed attack on one account: different IPs, same account.
  t.record_failure(ip("192.0.2.1"), "Alice@Example.com", "smtp", now);
  auto second = t.record_failure(ip("192.0.2.2"), "alice@example.com", "smtp", now);
  BOOST_TEST(second.delay.count() == 1000);
  t.record_failure(ip("192.0.2.3"), "alice@example.com", "pop3", now);
  BOOST_TEST(!t.check(ip("203.0.113.9"), "alice@example.com", now + 1min).allowed);
  BOOST_TEST(t.check(ip("203.0.113.9"), "bob@example.com", now + 1min).allowed);
  // Counters are forgotten after an hour without failures.
  AuthThrottle f(o);
  f.record_failure(ip("192.0.2.1"), "carol@example.com", "imap", now);
  f.record_failure(ip("192.0.2.1"), "carol@example.com", "imap", now);
  auto later = f.record_failure(ip("192.0.2.1"), "carol@example.com", "imap", now + 2h);
  BOOST_TEST(later.delay.count() == 500);
  BOOST_TEST(later.allowed);
}

BOOST_AUTO_TEST_CASE(success_resets_and_allowlist_is_exempt) {
  LogCapture logs;
  AuthThrottleOptions o;
  o.allowlist = {*tern::net::IpNetwork::parse("10.0.0.0/8")};
  AuthThrottle t(o);
  auto now = Clock::time_point{} + 1000h;
  t.record_failure(ip("192.0.2.1"), "a@example.com", "imap", now);
  t.record_failure(ip("192.0.2.1"), "a@example.com", "imap", now);
  t.record_success(ip("192.0.2.1"), "a@example.com", now);
  BOOST_TEST(t.record_failure(ip("192.0.2.1"), "a@example.com", "imap", now).delay.count() == 1000);
  for (int i = 0; i < 50; ++i) {
    auto d = t.record_failure(ip("10.1.2.3"), "b@example.com", "smtp", now);
    BOOST_TEST(d.delay.count() == 0);
  }
  BOOST_TEST(t.check(ip("10.1.2.3"), "b@example.com", now).allowed);
  std::lock_guard l(logs.mu);
  BOOST_TEST(logs.lines.back().find("allowlisted=yes") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(memory_is_bounded) {
  tern::log::set_sink([](tern::log::Level, std::string_view) {});
  AuthThrottleOptions o;
  o.max_entries = 1000;
  AuthThrottle t(o);
  auto now = Clock::time_point{} + 1000h;
  for (int i = 0; i < 5000; ++i) {
    auto a = asio::ip::address_v4(static_cast<asio::ip::address_v4::uint_type>(0x0a000000u + static_cast<unsigned>(i)));
    t.record_failure(a, "", "smtp", now + std::chrono::milliseconds(i));
  }
  BOOST_TEST(t.tracked() <= 1000u);
  tern::log::set_sink({});
}

BOOST_AUTO_TEST_SUITE_END()
