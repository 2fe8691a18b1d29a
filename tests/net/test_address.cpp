#include <boost/test/unit_test.hpp>

#include "tern/net/address.hpp"
#include "tern/net/connection_limiter.hpp"
#include "tern/net/proxy_protocol.hpp"

using namespace tern;
using namespace tern::net;

namespace {
asio::ip::address ip(const char* s) { return asio::ip::make_address(s); }
}  // namespace

BOOST_AUTO_TEST_CASE(networks_match_prefixes_and_mapped_addresses) {
  auto lan = IpNetwork::parse("172.18.0.0/16");
  BOOST_REQUIRE(lan);
  BOOST_TEST(lan->contains(ip("172.18.4.5")));
  BOOST_TEST(!lan->contains(ip("172.19.0.1")));
  BOOST_TEST(lan->contains(ip("::ffff:172.18.0.9")));  // dual-stack sockets report v4 clients like this
  auto v6 = IpNetwork::parse("2001:db8::/32");
  BOOST_TEST(v6->contains(ip("2001:db8:1::1")));
  BOOST_TEST(!v6->contains(ip("2001:db9::1")));
  auto host = IpNetwork::parse("::1");
  BOOST_TEST(host->contains(ip("::1")));
  BOOST_TEST(!host->contains(ip("127.0.0.1")));
  auto odd = IpNetwork::parse("10.1.2.3/7");
  BOOST_TEST(odd->contains(ip("11.0.0.1")));
  BOOST_TEST(!odd->contains(ip("12.0.0.1")));
  BOOST_TEST(!IpNetwork::parse("10.0.0.0/33"));
  BOOST_TEST(!IpNetwork::parse("not-an-ip"));
  BOOST_TEST(IpNetwork::parse("0.0.0.0/0")->contains(ip("8.8.8.8")));
}

BOOST_AUTO_TEST_CASE(listen_addresses_need_brackets_for_ipv6) {
  auto a = parse_listen_address("127.0.0.1:2525");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->port == 2525);
  BOOST_TEST(a->to_string() == "127.0.0.1:2525");
  auto b = parse_listen_address("[::1]:143");
  BOOST_REQUIRE(b);
  BOOST_TEST(b->address.is_v6());
  BOOST_TEST(b->to_string() == "[::1]:143");
  BOOST_TEST(!parse_listen_address("::1:143"));
  BOOST_TEST(!parse_listen_address("127.0.0.1"));
  BOOST_TEST(!parse_listen_address("127.0.0.1:70000"));
  BOOST_TEST(!parse_listen_address("localhost:25"));
}

BOOST_AUTO_TEST_CASE(proxy_v1_headers) {
  auto p = parse_proxy_header("PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\nEHLO x\r\n");
  BOOST_REQUIRE(p.status == ProxyParse::done);
  BOOST_TEST(p.consumed == 44u);
  BOOST_TEST(p.header.source.to_string() == "192.0.2.7");
  BOOST_TEST(p.header.source_port == 56324);
  BOOST_TEST(p.header.destination_port == 25);
  auto six = parse_proxy_header("PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n");
  BOOST_REQUIRE(six.status == ProxyParse::done);
  BOOST_TEST(six.header.source.to_string() == "2001:db8::1");
  auto unknown = parse_proxy_header("PROXY UNKNOWN\r\n");
  BOOST_REQUIRE(unknown.status == ProxyParse::done);
  BOOST_TEST(unknown.header.local);
  BOOST_TEST(parse_proxy_header("PROXY TCP4 1.2.3.4").status == ProxyParse::need_more);
  BOOST_TEST(parse_proxy_header("PRO").status == ProxyParse::need_more);
  BOOST_TEST(parse_proxy_header("EHLO x\r\n").status == ProxyParse::invalid);
  BOOST_TEST(parse_proxy_header("PROXY TCP4 1.2.3.4 5.6.7.8 99999 25\r\n").status == ProxyParse::invalid);
  BOOST_TEST(parse_proxy_header("PROXY TCP4 ::1 5.6.7.8 1 25\r\n").status == ProxyParse::invalid);
  BOOST_TEST(parse_proxy_header("PROXY TCP4 " + std::string(120, '1')).status == ProxyParse::invalid);
}

BOOST_AUTO_TEST_CASE(proxy_v2_headers) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  h += '\x21';  // v2, PROXY
  h += '\x11';  // TCP over IPv4
  h += std::string("\x00\x0c", 2);
  h += std::string("\xc0\x00\x02\x07" "\xc6\x33\x64\x01" "\xdc\x04" "\x00\x19", 12);
  auto p = parse_proxy_header(h + "tail");
  BOOST_REQUIRE(p.status == ProxyParse::done);
  BOOST_TEST(p.consumed == 28u);
  BOOST_TEST(p.header.source.to_string() == "192.0.2.7");
  BOOST_TEST(p.header.source_port == 56324);
  BOOST_TEST(p.header.destination.to_string() == "198.51.100.1");
  BOOST_TEST(parse_proxy_header(h.substr(0, 20)).status == ProxyParse::need_more);
  std::string local("\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", 16);
  auto l = parse_proxy_header(local);
  BOOST_REQUIRE(l.status == ProxyParse::done);
  BOOST_TEST(l.header.local);
  std::string v1ver = h;
  v1ver[12] = '\x11';
  BOOST_TEST(parse_proxy_header(v1ver).status == ProxyParse::invalid);
  std::string huge = h.substr(0, 14) + std::string("\xff\xff", 2);
  BOOST_TEST(parse_proxy_header(huge).status == ProxyParse::invalid);
}

BOOST_AUTO_TEST_CASE(limiter_counts_per_address_and_total) {
  auto limiter = std::make_shared<ConnectionLimiter>(ConnectionLimiter::Limits{3, 2});
  ConnectionLimiter::Refusal why{};
  auto a1 = limiter->try_acquire(ip("192.0.2.1"), why);
  auto a2 = limiter->try_acquire(ip("::ffff:192.0.2.1"), why);
  BOOST_TEST((a1 && a2));
  auto a3 = limiter->try_acquire(ip("192.0.2.1"), why);
  BOOST_TEST(!a3);
  BOOST_TEST((why == ConnectionLimiter::Refusal::per_ip));
  auto b1 = limiter->try_acquire(ip("192.0.2.2"), why);
  BOOST_TEST(static_cast<bool>(b1));
  auto c1 = limiter->try_acquire(ip("192.0.2.3"), why);
  BOOST_TEST(!c1);
  BOOST_TEST((why == ConnectionLimiter::Refusal::total));
  a1.reset();
  BOOST_TEST(limiter->count(ip("192.0.2.1")) == 1u);
  auto c2 = limiter->try_acquire(ip("192.0.2.3"), why);
  BOOST_TEST(static_cast<bool>(c2));
  BOOST_TEST(limiter->total() == 3u);
}
