// UnboundResolver with local data only (local_only: nothing leaves the host) and [dns] parsing.
#include <boost/test/unit_test.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include "tern/core/config.hpp"
#include "tern/dns/unbound_resolver.hpp"

using namespace tern;
using namespace tern::dns;

namespace {

template <class T>
T run(asio::io_context& io, asio::awaitable<T> aw) {
  std::optional<T> out;
  asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
  });
  io.restart();
  io.run();
  return std::move(*out);
}

std::unique_ptr<UnboundResolver> make() {
  DnsConfig c;
  c.local_only = true;
  c.local_data = {"remote.test. MX 10 mx.remote.test.", "remote.test. MX 20 mx2.remote.test.",
                  "mx.remote.test. A 127.0.0.1",    "mx.remote.test. AAAA ::1",
                  "remote.test. TXT \"v=spf1 \" \"-all\"", "null.test. MX 0 .",
                  "_25._tcp.mx.remote.test. TLSA 3 1 1 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"};
  auto r = UnboundResolver::create(c);
  BOOST_TEST_REQUIRE(r.has_value());
  return std::move(*r);
}

}  // namespace

BOOST_AUTO_TEST_CASE(resolver_local_mx_a_aaaa_txt_tlsa) {
  asio::io_context io;
  auto r = make();
  auto mx = run(io, r->mx("remote.test"));
  BOOST_TEST_REQUIRE(mx.has_value());
  BOOST_TEST(mx->records.size() == 2u);
  std::sort(mx->records.begin(), mx->records.end(), [](auto& x, auto& y) { return x.preference < y.preference; });
  BOOST_TEST(mx->records[0].preference == 10);
  BOOST_TEST(mx->records[0].exchange == "mx.remote.test");
  BOOST_TEST(mx->records[1].exchange == "mx2.remote.test");
  BOOST_TEST(!mx->secure);

  auto a = run(io, r->a("mx.remote.test."));
  BOOST_TEST_REQUIRE(a.has_value());
  BOOST_TEST_REQUIRE(a->records.size() == 1u);
  BOOST_TEST(a->records[0].to_string() == "127.0.0.1");
  auto aaaa = run(io, r->aaaa("MX.Remote.Test"));
  BOOST_TEST_REQUIRE(aaaa.has_value());
  BOOST_TEST(aaaa->records[0].to_string() == "::1");

  auto txt = run(io, r->txt("remote.test"));
  BOOST_TEST_REQUIRE(txt.has_value());
  BOOST_TEST(txt->records.at(0) == "v=spf1 -all");

  auto tlsa = run(io, r->tlsa("_25._tcp.mx.remote.test"));
  BOOST_TEST_REQUIRE(tlsa.has_value());
  BOOST_TEST(tlsa->records.at(0).usage == 3);
  BOOST_TEST(tlsa->records.at(0).selector == 1);
  BOOST_TEST(tlsa->records.at(0).matching == 1);
  BOOST_TEST(tlsa->records.at(0).data.size() == 32u);
  BOOST_TEST(tlsa->records.at(0).data[0] == 1);

  auto null = run(io, r->mx("null.test"));
  BOOST_TEST_REQUIRE(null.has_value());
  BOOST_TEST(null->records.at(0).preference == 0);
  BOOST_TEST(null->records.at(0).exchange == "");
}

BOOST_AUTO_TEST_CASE(resolver_nxdomain_and_no_data) {
  asio::io_context io;
  auto r = make();
  auto nx = run(io, r->mx("nowhere.test"));
  BOOST_TEST_REQUIRE(!nx.has_value());
  BOOST_TEST(is_nxdomain(nx.error()));
  // The name exists (it has A/AAAA) but no MX: no data, not NXDOMAIN (RFC 2308 2.2).
  auto nodata = run(io, r->mx("mx.remote.test"));
  BOOST_TEST_REQUIRE(!nodata.has_value());
  BOOST_TEST(is_no_data(nodata.error()));
  BOOST_TEST(!is_nxdomain(nodata.error()));
  auto noaddr = run(io, r->a("remote.test"));
  BOOST_TEST_REQUIRE(!noaddr.has_value());
  BOOST_TEST(is_no_data(noaddr.error()));
}

BOOST_AUTO_TEST_CASE(dns_config_parse) {
  ConfigDiagnostics diag;
  auto doc = ConfigDocument::load_string(
      "[dns]\nlocal_data = [\"remote.test. MX 10 mx.remote.test.\"]\nlocal_only = true\n"
      "forwarders = [\"127.0.0.1@5353\"]\nhosts_file = \"hosts\"\n",
      "t.toml", "/etc/tern", diag);
  auto root = doc->root(diag);
  BOOST_TEST_REQUIRE(root.has_value());
  auto sec = root->table("dns");
  BOOST_TEST_REQUIRE(sec.has_value());
  DnsConfig c;
  BOOST_TEST(parse_dns_config(*sec, c).has_value());
  BOOST_TEST(c.local_only);
  BOOST_TEST(c.local_data.size() == 1u);
  BOOST_TEST(c.forwarders.at(0) == "127.0.0.1@5353");
  BOOST_TEST(c.hosts_file == std::filesystem::path("/etc/tern/hosts"));

  ConfigDiagnostics diag2;
  auto bad = ConfigDocument::load_string("[dns]\nlocal_data = [\"garbage\"]\nbogus = 1\n", "t.toml", "/", diag2);
  auto sec2 = bad->root(diag2)->table("dns");
  DnsConfig c2;
  auto st = parse_dns_config(*sec2, c2);
  BOOST_TEST(!st.has_value());
  BOOST_TEST(diag2.to_string().find("bogus") != std::string::npos);
  BOOST_TEST(diag2.to_string().find("local_data") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(local_data_owner_names) {
  BOOST_TEST(*local_data_owner("Remote.Test MX 10 mx.remote.test.") == "remote.test.");
  BOOST_TEST(!local_data_owner("nospace").has_value());
}
