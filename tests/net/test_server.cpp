// The server runtime driven through the public API with a host-defined line protocol, the way a host
// product embeds Tern: listeners, STARTTLS and implicit TLS, SNI, reload, limits, PROXY, graceful drain.
#include <boost/test/unit_test.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <asio/connect.hpp>
#include <asio/read_until.hpp>
#include <asio/ssl.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include "tern/net/tls.hpp"
#include "tern/server/server.hpp"

using namespace tern;
namespace fs = std::filesystem;

namespace {

// A tiny line protocol: greets with the client's address, echoes lines, STARTTLS upgrades,
// SLOW reads the next line as a mid-transaction read, TLS? reports the TLS version.
class EchoService : public net::Service {
 public:
  EchoService(std::string name, bool implicit, net::TlsProvider tls)
      : name_(std::move(name)), implicit_(implicit), tls_(std::move(tls)) {}
  std::string_view name() const override { return name_; }
  bool implicit_tls() const override { return implicit_; }
  std::string refusal(net::RefusalReason why) const override {
    return why == net::RefusalReason::too_many_connections_from_ip ? "refused per-ip\r\n" : "refused total\r\n";
  }
  asio::awaitable<void> serve(std::shared_ptr<net::Connection> c) override {
    if (!co_await c->write("hello " + c->remote_address().to_string() + "\r\n")) co_return;
    std::string buf;
    char chunk[512];
    net::ReadMode mode = net::ReadMode::idle;
    for (;;) {
      auto eol = buf.find("\r\n");
      if (eol == std::string::npos) {
        auto n = co_await c->read_some(chunk, mode);
        if (!n) {
          if (n.error().code == ESHUTDOWN) co_await c->write("shutting down\r\n");
          co_return;
        }
        if (*n == 0) co_return;
        buf.append(chunk, *n);
        continue;
      }
      std::string line = buf.substr(0, eol);
      buf.erase(0, eol + 2);
      if (mode == net::ReadMode::transfer) {
        mode = net::ReadMode::idle;
        if (!co_await c->write("got " + line + "\r\n")) co_return;
        if (c->draining()) { co_await c->write("bye draining\r\n"); co_return; }
      } else if (line == "QUIT") {
        co_await c->write("bye\r\n");
        co_return;
      } else if (line == "SLOW") {
        mode = net::ReadMode::transfer;
        if (!co_await c->write("go on\r\n")) co_return;
      } else if (line == "STARTTLS") {
        buf.clear();  // nothing pipelined before the handshake may survive it
        if (!co_await c->write("go tls\r\n")) co_return;
        if (!co_await c->start_tls(tls_())) co_return;
      } else if (line == "TLS?") {
        // (GCC 12 miscompiles conditional-expression temporaries inside co_await: build the reply first.)
        std::string reply = c->tls_active() ? c->tls_info().version : std::string("none");
        reply += "\r\n";
        if (!co_await c->write(reply)) co_return;
      } else {
        if (!co_await c->write("echo " + line + "\r\n")) co_return;
      }
    }
  }

 private:
  std::string name_;
  bool implicit_;
  net::TlsProvider tls_;
};

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/tern-net-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string cert_cn(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return "";
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  X509_free(cert);
  return buf;
}

struct Fixture {
  TempDir dir;
  ServerConfig config;
  ServerOptions options;
  std::unique_ptr<Server> server;

  Fixture() {
    BOOST_REQUIRE(net::write_self_signed_certificate("mail.example.test", dir.path / "a.pem", dir.path / "a.key"));
    BOOST_REQUIRE(net::write_self_signed_certificate("mail.other.test", dir.path / "b.pem", dir.path / "b.key"));
    config.hostname = "mail.example.test";
    config.io_threads = 2;
    config.worker_threads = 1;
    config.tls.cert = dir.path / "a.pem";
    config.tls.key = dir.path / "a.key";
    config.tls.sni.push_back(net::TlsCertificate{{"mail.other.test", "*.other.test"}, dir.path / "b.pem", dir.path / "b.key"});
    for (auto [name, implicit] : {std::pair{"echo", false}, std::pair{"echos", true}}) {
      options.services.add(name, [name = std::string(name), implicit = implicit](ServiceEnvironment& env, const ListenConfig&)
                                     -> Result<std::shared_ptr<net::Service>> {
        return std::make_shared<EchoService>(name, implicit, env.tls);
      });
    }
  }
  void listen(const char* service, bool proxy = false) {
    config.listen.push_back(ListenConfig{service, *net::parse_listen_address("127.0.0.1:0"), proxy});
  }
  void start() {
    auto s = Server::create(config, options);
    BOOST_REQUIRE_MESSAGE(s, (s ? "" : s.error().message));
    server = std::move(*s);
    auto st = server->start();
    BOOST_REQUIRE_MESSAGE(st, (st ? "" : st.error().message));
  }
  unsigned short port(const char* service) {
    for (auto& l : server->listeners())
      if (l.service == service) return l.address.port;
    BOOST_FAIL("no listener");
    return 0;
  }
  ~Fixture() {
    if (server) {
      server->stop(std::chrono::milliseconds(500));
      server->wait();
    }
  }
};

struct LineClient {
  asio::io_context io;
  asio::ip::tcp::socket sock{io};
  asio::streambuf in;
  explicit LineClient(unsigned short port) { sock.connect({asio::ip::make_address("127.0.0.1"), port}); }
  std::string line() {
    asio::error_code ec;
    asio::read_until(sock, in, "\r\n", ec);
    if (ec) return "<" + ec.message() + ">";
    std::istream is(&in);
    std::string l;
    std::getline(is, l);
    if (!l.empty() && l.back() == '\r') l.pop_back();
    return l;
  }
  void send(const std::string& s) { asio::write(sock, asio::buffer(s)); }
};

struct TlsClient {
  asio::io_context io;
  asio::ssl::context ctx{asio::ssl::context::tls_client};
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> stream;
  asio::streambuf in;
  asio::error_code handshake_error;

  TlsClient(unsigned short port, int max_version, const char* sni = nullptr, int min_version = TLS1_VERSION) {
    SSL_CTX_set_min_proto_version(ctx.native_handle(), min_version);
    SSL_CTX_set_max_proto_version(ctx.native_handle(), max_version);
    SSL_CTX_set_security_level(ctx.native_handle(), 0);  // let the client even try TLS 1.0/1.1
    SSL_CTX_set_cipher_list(ctx.native_handle(), "ALL:@SECLEVEL=0");
    stream = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(io, ctx);
    stream->next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    if (sni) SSL_set_tlsext_host_name(stream->native_handle(), sni);
    stream->handshake(asio::ssl::stream_base::client, handshake_error);
  }
  std::string line() {
    asio::error_code ec;
    asio::read_until(*stream, in, "\r\n", ec);
    if (ec) return "<" + ec.message() + ">";
    std::istream is(&in);
    std::string l;
    std::getline(is, l);
    if (!l.empty() && l.back() == '\r') l.pop_back();
    return l;
  }
  std::string version() { return SSL_get_version(stream->native_handle()); }
  std::string cn() { return cert_cn(stream->native_handle()); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(serves_a_host_defined_protocol) {
  Fixture f;
  f.listen("echo");
  f.start();
  LineClient c(f.port("echo"));
  BOOST_TEST(c.line() == "hello 127.0.0.1");
  c.send("ping\r\nQUIT\r\n");
  BOOST_TEST(c.line() == "echo ping");
  BOOST_TEST(c.line() == "bye");
}

BOOST_AUTO_TEST_CASE(per_ip_limit_refuses_with_the_services_message) {
  Fixture f;
  f.config.limits.max_connections_per_ip = 2;
  f.listen("echo");
  f.start();
  LineClient a(f.port("echo")), b(f.port("echo"));
  BOOST_TEST(a.line() == "hello 127.0.0.1");
  BOOST_TEST(b.line() == "hello 127.0.0.1");
  LineClient c(f.port("echo"));
  BOOST_TEST(c.line() == "refused per-ip");
  BOOST_TEST(c.line().front() == '<');  // closed after the refusal
  a.send("QUIT\r\n");
  BOOST_TEST(a.line() == "bye");
  // The slot is freed once the first session ends.
  for (int i = 0; i < 50 && f.server->connection_count() > 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  LineClient d(f.port("echo"));
  BOOST_TEST(d.line() == "hello 127.0.0.1");
}

BOOST_AUTO_TEST_CASE(implicit_tls_accepts_only_tls12_and_tls13) {
  Fixture f;
  f.listen("echos");
  f.start();
  for (int v : {TLS1_VERSION, TLS1_1_VERSION}) {
    TlsClient old(f.port("echos"), v);
    BOOST_TEST(static_cast<bool>(old.handshake_error), "TLS version " << v << " must be refused");
  }
  TlsClient t12(f.port("echos"), TLS1_2_VERSION);
  BOOST_REQUIRE(!t12.handshake_error);
  BOOST_TEST(t12.version() == "TLSv1.2");
  BOOST_TEST(t12.line() == "hello 127.0.0.1");
  TlsClient t13(f.port("echos"), TLS1_3_VERSION);
  BOOST_REQUIRE(!t13.handshake_error);
  BOOST_TEST(t13.version() == "TLSv1.3");
}

BOOST_AUTO_TEST_CASE(sni_selects_the_certificate) {
  Fixture f;
  f.listen("echos");
  f.start();
  TlsClient none(f.port("echos"), TLS1_3_VERSION);
  BOOST_TEST(none.cn() == "mail.example.test");
  TlsClient other(f.port("echos"), TLS1_3_VERSION, "mail.other.test");
  BOOST_TEST(other.cn() == "mail.other.test");
  TlsClient wild(f.port("echos"), TLS1_2_VERSION, "imap.other.test");
  BOOST_TEST(wild.cn() == "mail.other.test");
  TlsClient unknown(f.port("echos"), TLS1_3_VERSION, "mail.unknown.test");
  BOOST_TEST(unknown.cn() == "mail.example.test");
}

BOOST_AUTO_TEST_CASE(reload_swaps_certificates_for_new_connections_only) {
  Fixture f;
  f.listen("echos");
  f.start();
  TlsClient before(f.port("echos"), TLS1_3_VERSION);
  BOOST_TEST(before.cn() == "mail.example.test");
  BOOST_REQUIRE(net::write_self_signed_certificate("renewed.example.test", f.dir.path / "a.pem", f.dir.path / "a.key"));
  BOOST_REQUIRE(f.server->reload_tls());
  TlsClient after(f.port("echos"), TLS1_3_VERSION);
  BOOST_TEST(after.cn() == "renewed.example.test");
  // The connection made before the reload keeps working.
  BOOST_TEST(before.line() == "hello 127.0.0.1");
  asio::write(*before.stream, asio::buffer(std::string("ping\r\n")));
  BOOST_TEST(before.line() == "echo ping");
}

BOOST_AUTO_TEST_CASE(starttls_upgrades_in_protocol) {
  Fixture f;
  f.listen("echo");
  f.start();
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  asio::ssl::stream<asio::ip::tcp::socket> s(io, ctx);
  s.next_layer().connect({asio::ip::make_address("127.0.0.1"), f.port("echo")});
  asio::streambuf in;
  auto line = [&](auto& stream) {
    asio::read_until(stream, in, "\r\n");
    std::istream is(&in);
    std::string l;
    std::getline(is, l);
    l.pop_back();
    return l;
  };
  BOOST_TEST(line(s.next_layer()) == "hello 127.0.0.1");
  asio::write(s.next_layer(), asio::buffer(std::string("STARTTLS\r\n")));
  BOOST_TEST(line(s.next_layer()) == "go tls");
  s.handshake(asio::ssl::stream_base::client);
  asio::write(s, asio::buffer(std::string("TLS?\r\n")));
  BOOST_TEST(line(s) == "TLSv1.3");
}

BOOST_AUTO_TEST_CASE(proxy_protocol_replaces_the_client_address) {
  Fixture f;
  f.listen("echo", true);
  f.start();
  LineClient c(f.port("echo"));
  c.send("PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\n");
  BOOST_TEST(c.line() == "hello 192.0.2.7");
  c.send("ping\r\n");
  BOOST_TEST(c.line() == "echo ping");
  LineClient bad(f.port("echo"));
  bad.send("EHLO without a header\r\n");
  BOOST_TEST(bad.line().front() == '<');  // closed without serving
}

BOOST_AUTO_TEST_CASE(graceful_stop_lets_transactions_finish) {
  Fixture f;
  f.listen("echo");
  f.start();
  LineClient idle(f.port("echo")), busy(f.port("echo"));
  BOOST_TEST(idle.line() == "hello 127.0.0.1");
  BOOST_TEST(busy.line() == "hello 127.0.0.1");
  busy.send("SLOW\r\n");
  BOOST_TEST(busy.line() == "go on");
  auto port = f.port("echo");
  f.server->stop(std::chrono::seconds(10));
  BOOST_TEST(idle.line() == "shutting down");  // idle sessions are told at once
  // A new connection is no longer accepted.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  asio::io_context io;
  asio::ip::tcp::socket probe(io);
  asio::error_code ec;
  probe.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  BOOST_TEST(static_cast<bool>(ec));
  // The transaction in flight completes, then the session closes itself.
  busy.send("last words\r\n");
  BOOST_TEST(busy.line() == "got last words");
  BOOST_TEST(busy.line() == "bye draining");
  auto waited = std::async(std::launch::async, [&] { f.server->wait(); });
  BOOST_TEST((waited.wait_for(std::chrono::seconds(5)) == std::future_status::ready));
}

BOOST_AUTO_TEST_CASE(graceful_stop_closes_stragglers_after_the_grace_period) {
  Fixture f;
  f.listen("echo");
  f.start();
  LineClient busy(f.port("echo"));
  BOOST_TEST(busy.line() == "hello 127.0.0.1");
  busy.send("SLOW\r\n");
  BOOST_TEST(busy.line() == "go on");
  auto t0 = std::chrono::steady_clock::now();
  f.server->stop(std::chrono::milliseconds(300));
  f.server->wait();
  BOOST_TEST(busy.line().front() == '<');  // closed by the server
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5)));
}

BOOST_AUTO_TEST_CASE(config_errors_name_file_line_and_key) {
  ConfigDiagnostics diag;
  auto c = parse_server_config_text(
      "[server]\nhostname = \"mx.example.test\"\nbogus = 1\n\n[[listen]]\nservice = \"smtp\"\naddress = \"127.0.0.1\"\n"
      "\n[[listen]]\nservice = \"imap\"\naddress = \"127.0.0.1:1143\"\n\n[limits]\nidle_timeout = \"soon\"\n",
      "tern.toml", "/etc/tern", diag);
  validate_server_config(c, ServiceRegistry{}, diag);
  std::string all = diag.to_string();
  BOOST_TEST(all.find("tern.toml:3: server.bogus: unknown key") != std::string::npos, all);
  BOOST_TEST(all.find("tern.toml:7: listen[1].address: '127.0.0.1' is not a listen address") != std::string::npos, all);
  BOOST_TEST(all.find("tern.toml:14: limits.idle_timeout: expected a duration") != std::string::npos, all);
  BOOST_TEST(all.find("tern.toml:9: listen[2].service: service 'imap' is not available") != std::string::npos, all);
}
