// RateLimiter and Greylist: the arithmetic users rely on (bursts, refill, per-network keys, expiry).
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tern/net/address.hpp"
#include "tern/smtp/greylist.hpp"
#include "tern/smtp/rate_limiter.hpp"

using namespace tern;
using namespace std::chrono_literals;

namespace {
asio::ip::address ip(const char* s) { return asio::ip::make_address(s); }
}  // namespace

BOOST_AUTO_TEST_CASE(network_keys_group_ipv6_by_64_and_ipv4_by_prefix) {
  BOOST_TEST(net::network_key(ip("192.0.2.77"), 32, 64) == "192.0.2.77");
  BOOST_TEST(net::network_key(ip("192.0.2.77"), 24, 64) == "192.0.2.0/24");
  BOOST_TEST(net::network_key(ip("::ffff:192.0.2.77"), 24, 64) == "192.0.2.0/24");
  BOOST_TEST(net::network_key(ip("2001:db8:1:2:aaaa::1"), 32, 64) == "2001:db8:1:2::/64");
  BOOST_TEST(net::network_key(ip("2001:db8:1:2:aaaa::1"), 32, 56) == "2001:db8:1::/56");
}

BOOST_AUTO_TEST_CASE(rate_limit_allows_the_burst_then_refills) {
  smtp::RateLimitSettings s;
  s.per_ip = {3, 0};
  smtp::RateLimiter r(s);
  auto t = smtp::RateLimiter::Clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) BOOST_TEST(r.take_message_from_ip(ip("192.0.2.1"), t).count() == 0);
  auto wait = r.take_message_from_ip(ip("192.0.2.1"), t);
  BOOST_TEST(wait.count() == 20);  // 3 per minute: one every 20 s
  // Another address, and recipients, are counted apart; recipients are unlimited (0).
  BOOST_TEST(r.take_message_from_ip(ip("192.0.2.2"), t).count() == 0);
  for (int i = 0; i < 100; ++i) BOOST_TEST(r.take_recipient_from_ip(ip("192.0.2.1"), t).count() == 0);
  // A refused attempt is not counted: after 20 s exactly one more passes.
  BOOST_TEST(r.take_message_from_ip(ip("192.0.2.1"), t + 20s).count() == 0);
  BOOST_TEST(r.take_message_from_ip(ip("192.0.2.1"), t + 20s).count() > 0);
  // IPv6 hosts in one /64 share a bucket.
  for (int i = 0; i < 3; ++i) BOOST_TEST(r.take_message_from_ip(ip("2001:db8::1"), t).count() == 0);
  BOOST_TEST(r.take_message_from_ip(ip("2001:db8::ffff"), t).count() > 0);
}

BOOST_AUTO_TEST_CASE(rate_limit_per_user_and_memory_bound) {
  smtp::RateLimitSettings s;
  s.per_user = {0, 2};
  s.max_entries = 100;
  smtp::RateLimiter r(s);
  auto t = smtp::RateLimiter::Clock::time_point{} + 1000s;
  BOOST_TEST(r.take_recipient_from_user("alice", t).count() == 0);
  BOOST_TEST(r.take_recipient_from_user("alice", t).count() == 0);
  BOOST_TEST(r.take_recipient_from_user("alice", t).count() == 30);
  BOOST_TEST(r.take_recipient_from_user("bob", t).count() == 0);
  BOOST_TEST(r.take_message_from_user("alice", t).count() == 0);  // unlimited
  for (int i = 0; i < 1000; ++i) r.take_recipient_from_user("user" + std::to_string(i), t + std::chrono::seconds(i));
  BOOST_TEST(r.entries() <= 100u);
}

BOOST_AUTO_TEST_CASE(greylist_defers_the_first_attempt_and_passes_a_timely_retry) {
  smtp::GreylistSettings s;
  s.enabled = true;
  s.delay = 300s;
  s.retry_window = 3600s;
  s.pass_lifetime = 86400s;
  smtp::Greylist g(s);
  auto t = smtp::Greylist::Clock::time_point{} + 100000s;
  BOOST_TEST(g.check(ip("192.0.2.10"), "a@remote.test", "bob@example.test", t).count() == 300);
  // Too early: still deferred, told how long is left.
  BOOST_TEST(g.check(ip("192.0.2.10"), "a@remote.test", "bob@example.test", t + 100s).count() == 200);
  // The retry may come from another address of the same /24, with different case.
  BOOST_TEST(g.check(ip("192.0.2.99"), "A@Remote.test", "Bob@example.test", t + 301s).count() == 0);
  // Passed triplets pass at once for pass_lifetime after each use.
  BOOST_TEST(g.check(ip("192.0.2.10"), "a@remote.test", "bob@example.test", t + 80000s).count() == 0);
  BOOST_TEST(g.check(ip("192.0.2.10"), "a@remote.test", "bob@example.test", t + 80000s + 86401s).count() > 0);
  // A different sender, recipient or network is a new triplet.
  BOOST_TEST(g.check(ip("192.0.2.10"), "b@remote.test", "bob@example.test", t).count() > 0);
  BOOST_TEST(g.check(ip("198.51.100.1"), "a@remote.test", "bob@example.test", t + 301s).count() > 0);
  // A retry after the retry window starts over.
  BOOST_TEST(g.check(ip("203.0.113.5"), "c@remote.test", "bob@example.test", t).count() > 0);
  BOOST_TEST(g.check(ip("203.0.113.5"), "c@remote.test", "bob@example.test", t + 3601s).count() == 300);
}

BOOST_AUTO_TEST_CASE(greylist_off_by_default_and_bounded) {
  smtp::Greylist off;
  BOOST_TEST(off.check(ip("192.0.2.10"), "a@remote.test", "bob@example.test", {}).count() == 0);
  smtp::GreylistSettings s;
  s.enabled = true;
  s.max_entries = 50;
  smtp::Greylist g(s);
  auto t = smtp::Greylist::Clock::time_point{} + 100000s;
  for (int i = 0; i < 500; ++i) g.check(ip("192.0.2.10"), "s" + std::to_string(i) + "@remote.test", "bob@example.test", t);
  BOOST_TEST(g.entries() <= 50u);
}

// A restart keeps what senders proved: save() then load() into a fresh Greylist (another steady-clock
// epoch, as after a reboot) keeps passed and pending triplets with their ages; expired ones and damaged
// lines are dropped.
BOOST_AUTO_TEST_CASE(greylist_state_survives_a_restart) {
  smtp::GreylistSettings s;
  s.enabled = true;
  s.delay = 300s;
  s.retry_window = 3600s;
  s.pass_lifetime = 86400s;
  auto file = std::filesystem::temp_directory_path() / ("tern-greylist-" + std::to_string(::getpid()));
  auto wall = std::chrono::system_clock::time_point{} + 1800000000s;
  {
    smtp::Greylist g(s);
    auto t = smtp::Greylist::Clock::time_point{} + 100000s;
    g.check(ip("192.0.2.10"), "passed@remote.test", "bob@example.test", t);
    BOOST_TEST(g.check(ip("192.0.2.10"), "passed@remote.test", "bob@example.test", t + 400s).count() == 0);
    g.check(ip("192.0.2.10"), "pending@remote.test", "bob@example.test", t + 500s);
    g.check(ip("192.0.2.10"), "stale@remote.test", "bob@example.test", t - 5000s);  // past its retry window
    BOOST_REQUIRE(g.save(file, t + 600s, wall));
  }
  { std::ofstream(file, std::ios::app) << "garbage line\n198.51.100.0\ta@b\tc@d\tnot-a-time\t1\t1\n"; }
  smtp::Greylist g(s);
  auto t2 = smtp::Greylist::Clock::time_point{} + 7s;  // the new process's clock; 60 s of wall time later
  auto loaded = g.load(file, t2, wall + 60s);
  BOOST_REQUIRE(loaded);
  BOOST_TEST(*loaded == 2u);
  BOOST_TEST(g.check(ip("192.0.2.10"), "passed@remote.test", "bob@example.test", t2).count() == 0);
  // Seen 160 s (wall) before: 140 s of its 300 s delay left.
  BOOST_TEST(g.check(ip("192.0.2.10"), "pending@remote.test", "bob@example.test", t2).count() == 140);
  BOOST_TEST(g.check(ip("192.0.2.10"), "stale@remote.test", "bob@example.test", t2).count() == 300);
  std::filesystem::remove(file);
  BOOST_TEST(*smtp::Greylist(s).load(file, t2, wall) == 0u);  // no file yet: nothing, no error
}
