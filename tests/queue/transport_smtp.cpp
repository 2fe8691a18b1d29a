// SmtpTransport against real peers on loopback: Postfix's smtp-sink as the remote MX (reached through
// UnboundResolver local data, never the public DNS) and transport_peer.py for STARTTLS, AUTH,
// REQUIRETLS and per-recipient answers; plus the routing/config units.
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <cctype>
#include <set>
#include <sstream>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "tern/core/config.hpp"
#include "tern/dns/unbound_resolver.hpp"
#include "tern/net/tls.hpp"
#include "tern/queue/smtp_transport.hpp"

extern char** environ;

using namespace tern;
using namespace tern::queue;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/tern-transport-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    if (!std::getenv("KEEP_TMP")) fs::remove_all(path, ec);
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

bool can_connect(std::uint16_t port) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  std::error_code ec;
  s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  return !ec;
}

// A child process killed at scope end. For the Python peer the port is read from its stdout.
struct Child {
  pid_t pid = -1;
  std::uint16_t port = 0;
  Child(std::vector<std::string> argv, bool port_on_stdout, std::uint16_t known_port = 0) {
    int fds[2];
    BOOST_TEST_REQUIRE(pipe(fds) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    BOOST_TEST_REQUIRE(rc == 0);
    if (port_on_stdout) {
      std::string line;
      char c;
      while (read(fds[0], &c, 1) == 1 && c != '\n') line += c;
      port = static_cast<std::uint16_t>(std::stoi(line));
    } else {
      port = known_port;
    }
    close(fds[0]);
    for (int i = 0; port != 0 && i < 100 && !can_connect(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int st;
      waitpid(pid, &st, 0);
    }
  }
};

// smtp-sink on a free port, appending every transaction to dir/dump; extra options like {"-r", "rcpt"}.
std::unique_ptr<Child> smtp_sink(const fs::path& dir, std::vector<std::string> extra = {}) {
  auto port = free_port();
  std::vector<std::string> argv = {"/usr/sbin/smtp-sink", "-D", (dir / "dump").string()};
  if (geteuid() == 0) {  // smtp-sink refuses to keep root privileges
    fs::permissions(dir, fs::perms::all);
    argv.insert(argv.end(), {"-u", "nobody"});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("127.0.0.1:" + std::to_string(port));
  argv.push_back("10");
  return std::make_unique<Child>(argv, false, port);
}

std::string peer_script() {
  const char* p = std::getenv("TRANSPORT_PEER");
  return p ? p : "tests/queue/transport_peer.py";
}

std::unique_ptr<Child> python_peer(const fs::path& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {"/usr/bin/python3", peer_script(), "--dump", dir.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<Child>(argv, true);
}

std::unique_ptr<dns::UnboundResolver> resolver(std::vector<std::string> extra = {}) {
  dns::DnsConfig c;
  c.local_only = true;
  c.local_data = {"remote.test. MX 10 mx.remote.test.", "mx.remote.test. A 127.0.0.1"};
  c.local_data.insert(c.local_data.end(), extra.begin(), extra.end());
  auto r = dns::UnboundResolver::create(c);
  BOOST_TEST_REQUIRE(r.has_value());
  return std::move(*r);
}

DeliveryRequest request(const fs::path& dir, std::vector<std::string> rcpts, std::string domain = "remote.test",
                        std::string marker = "marker-1234") {
  DeliveryRequest r;
  r.queue_id = "Q1";
  r.return_path = "sender@example.com";
  r.domain = domain;
  for (auto& a : rcpts) r.recipients.push_back({a, "", ""});
  r.message_file = dir / ("msg-" + marker);
  std::string msg = "From: sender@example.com\r\nTo: user@" + domain + "\r\nSubject: test\r\n\r\nHello " + marker +
                    "\r\n.leading dot line\r\n";
  std::ofstream(r.message_file, std::ios::binary) << msg;
  r.message_size = msg.size();
  return r;
}

std::vector<RecipientStatus> deliver(SmtpTransport& t, const DeliveryRequest& r) {
  asio::io_context io;
  std::vector<RecipientStatus> out;
  asio::co_spawn(io, t.deliver(r), [&](std::exception_ptr e, std::vector<RecipientStatus> v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
  });
  io.run();
  // Idle sessions kept for reuse live on `io`: close them before it goes (a host closes them in its
  // shutdown while its contexts still exist, as Server::stop does).
  t.close_idle();
  return out;
}

// One io_context for several deliveries (connection reuse needs the same executor).
struct Runner {
  asio::io_context io;
  SmtpTransport* used = nullptr;
  ~Runner() {
    if (used) used->close_idle();  // its idle sessions live on `io`
  }
  std::vector<RecipientStatus> run(SmtpTransport& t, const DeliveryRequest& r) {
    used = &t;
    std::vector<RecipientStatus> out;
    bool done = false;
    asio::co_spawn(io, t.deliver(r), [&](std::exception_ptr e, std::vector<RecipientStatus> v) {
      if (e) std::rethrow_exception(e);
      out = std::move(v);
      done = true;
    });
    io.restart();
    while (!done) io.run_one();
    return out;
  }
};

DeliveryConfig config(std::uint16_t port) {
  DeliveryConfig c;
  c.helo_name = "tern.example.com";
  c.mx_port = port;
  c.connect_timeout = std::chrono::seconds(5);
  c.command_timeout = std::chrono::seconds(10);
  return c;
}

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

fs::path find_json(const fs::path& dir, int n) {
  char name[16];
  std::snprintf(name, sizeof name, "%03d.json", n);
  return dir / name;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(transport)

BOOST_AUTO_TEST_CASE(mx_delivery_to_smtp_sink_arrives_intact) {
  TempDir dir;
  auto sink = smtp_sink(dir.path);
  auto res = resolver();
  SmtpTransport t(config(sink->port), *res);
  auto st = deliver(t, request(dir.path, {"alice@remote.test", "bob@remote.test"}));
  BOOST_TEST_REQUIRE(st.size() == 2u);
  for (auto& s : st) {
    BOOST_TEST((s.outcome == RecipientOutcome::delivered));
    BOOST_TEST(s.code == 250);
    BOOST_TEST(s.remote_mta == "mx.remote.test");
  }
  t.close_idle();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto dump = slurp(dir.path / "dump");
  BOOST_TEST(contains(dump, "Subject: test\n\nHello marker-1234\n.leading dot line\n"));  // unstuffed, LF by the sink
  BOOST_TEST(contains(dump, "alice@remote.test"));
  BOOST_TEST(contains(dump, "bob@remote.test"));
}

BOOST_AUTO_TEST_CASE(connection_reuse_sends_the_next_message_on_the_idle_session) {
  TempDir dir;
  auto sink = smtp_sink(dir.path);
  auto res = resolver();
  SmtpTransport t(config(sink->port), *res);
  Runner r;
  auto a = r.run(t, request(dir.path, {"a@remote.test"}, "remote.test", "first"));
  BOOST_TEST((a.at(0).outcome == RecipientOutcome::delivered));
  BOOST_TEST(t.idle_sessions() == 1u);
  auto b = r.run(t, request(dir.path, {"b@remote.test"}, "remote.test", "second"));
  BOOST_TEST((b.at(0).outcome == RecipientOutcome::delivered));
  BOOST_TEST(t.sessions_opened() == 1u);
  t.close_idle();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto dump = slurp(dir.path / "dump");
  BOOST_TEST(contains(dump, "Hello first"));
  BOOST_TEST(contains(dump, "Hello second"));
}

BOOST_AUTO_TEST_CASE(rcpt_4xx_is_deferred_and_5xx_failed) {
  TempDir dir;
  {
    auto sink = smtp_sink(dir.path, {"-r", "RCPT"});
    auto res = resolver();
    SmtpTransport t(config(sink->port), *res);
    auto st = deliver(t, request(dir.path, {"a@remote.test"}));
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::deferred));
    BOOST_TEST(st.at(0).code / 100 == 4);
    BOOST_TEST(st.at(0).remote_mta == "mx.remote.test");
  }
  {
    auto sink = smtp_sink(dir.path, {"-f", "RCPT"});
    auto res = resolver();
    SmtpTransport t(config(sink->port), *res);
    auto st = deliver(t, request(dir.path, {"a@remote.test"}));
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::failed));
    BOOST_TEST(st.at(0).code / 100 == 5);
  }
}

BOOST_AUTO_TEST_CASE(per_recipient_results) {
  TempDir dir;
  auto peer = python_peer(dir.path);
  auto res = resolver();
  SmtpTransport t(config(peer->port), *res);
  auto st = deliver(t, request(dir.path, {"ok@remote.test", "reject@remote.test", "defer@remote.test"}));
  BOOST_TEST_REQUIRE(st.size() == 3u);
  BOOST_TEST((st[0].outcome == RecipientOutcome::delivered));
  BOOST_TEST((st[1].outcome == RecipientOutcome::failed));
  BOOST_TEST(st[1].code == 550);
  BOOST_TEST(st[1].enhanced == "5.1.1");
  BOOST_TEST(contains(st[1].text, "No such user"));
  BOOST_TEST((st[2].outcome == RecipientOutcome::deferred));
  BOOST_TEST(st[2].code == 451);
  BOOST_TEST(st[2].enhanced == "4.2.0");
  auto env = slurp(find_json(dir.path, 1));
  BOOST_TEST(contains(env, "\"rcpts\": [\"ok@remote.test\"]"));
}

BOOST_AUTO_TEST_CASE(mx_preference_falls_back_when_the_first_refuses_connections) {
  TempDir dir;
  auto sink = smtp_sink(dir.path);
  // 127.0.0.2 is loopback too, but nothing listens there: connection refused.
  dns::DnsConfig c;
  c.local_only = true;
  c.local_data = {"fallback.test. MX 5 down.fallback.test.", "fallback.test. MX 20 mx.fallback.test.",
                  "down.fallback.test. A 127.0.0.2", "mx.fallback.test. A 127.0.0.1"};
  auto res = dns::UnboundResolver::create(c);
  BOOST_TEST_REQUIRE(res.has_value());
  SmtpTransport t(config(sink->port), **res);
  auto st = deliver(t, request(dir.path, {"a@fallback.test"}, "fallback.test"));
  BOOST_TEST((st.at(0).outcome == RecipientOutcome::delivered));
  BOOST_TEST(st.at(0).remote_mta == "mx.fallback.test");
}

BOOST_AUTO_TEST_CASE(all_hosts_down_is_deferred_with_the_host_name) {
  TempDir dir;
  auto res = resolver();
  SmtpTransport t(config(free_port()), *res);
  auto st = deliver(t, request(dir.path, {"a@remote.test"}));
  BOOST_TEST((st.at(0).outcome == RecipientOutcome::deferred));
  BOOST_TEST(st.at(0).code == 451);
  BOOST_TEST(st.at(0).enhanced == "4.4.1");
  BOOST_TEST(contains(st.at(0).text, "mx.remote.test [127.0.0.1]"));
  BOOST_TEST(contains(st.at(0).text, "refused"));
}

BOOST_AUTO_TEST_CASE(null_mx_nxdomain_and_implicit_mx) {
  TempDir dir;
  auto sink = smtp_sink(dir.path);
  auto res = resolver({"nullmx.test. MX 0 .", "implicit.test. A 127.0.0.1", "noaddr.test. TXT \"x\""});
  SmtpTransport t(config(sink->port), *res);
  auto n = deliver(t, request(dir.path, {"a@nullmx.test"}, "nullmx.test"));
  BOOST_TEST((n.at(0).outcome == RecipientOutcome::failed));
  BOOST_TEST(n.at(0).code == 556);
  BOOST_TEST(n.at(0).enhanced == "5.1.10");
  auto nx = deliver(t, request(dir.path, {"a@nowhere.test"}, "nowhere.test"));
  BOOST_TEST((nx.at(0).outcome == RecipientOutcome::failed));
  BOOST_TEST(nx.at(0).enhanced == "5.1.2");
  auto na = deliver(t, request(dir.path, {"a@noaddr.test"}, "noaddr.test"));
  BOOST_TEST((na.at(0).outcome == RecipientOutcome::failed));
  BOOST_TEST(na.at(0).enhanced == "5.1.2");
  auto im = deliver(t, request(dir.path, {"a@implicit.test"}, "implicit.test", "implicit-mx"));
  BOOST_TEST((im.at(0).outcome == RecipientOutcome::delivered));
  BOOST_TEST(im.at(0).remote_mta == "implicit.test");
  t.close_idle();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(contains(slurp(dir.path / "dump"), "Hello implicit-mx"));
}

BOOST_AUTO_TEST_CASE(opportunistic_starttls_and_requiretls) {
  TempDir dir;
  auto cert = dir.path / "cert.pem", key = dir.path / "key.pem";
  BOOST_TEST_REQUIRE(net::write_self_signed_certificate("mx.remote.test", cert, key, 2).has_value());
  auto peer = python_peer(dir.path, {"--cert", cert.string(), "--key", key.string()});
  auto res = resolver();
  {
    SmtpTransport t(config(peer->port), *res);  // self-signed: fine for opportunistic TLS (RFC 7435)
    auto st = deliver(t, request(dir.path, {"a@remote.test"}));
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::delivered));
    BOOST_TEST(contains(slurp(find_json(dir.path, 1)), "\"tls\": true"));
  }
  {
    SmtpTransport t(config(peer->port), *res);  // REQUIRETLS but the certificate cannot be verified
    auto r = request(dir.path, {"a@remote.test"});
    r.requiretls = true;
    auto st = deliver(t, r);
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::failed));
    BOOST_TEST(st.at(0).code == 550);
    BOOST_TEST(st.at(0).enhanced == "5.7.30");
  }
  {
    auto cfg = config(peer->port);
    cfg.tls_ca_file = cert;  // now the peer's certificate verifies for mx.remote.test
    SmtpTransport t(cfg, *res);
    auto r = request(dir.path, {"a@remote.test"}, "remote.test", "required");
    r.requiretls = true;
    auto st = deliver(t, r);
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::delivered));
    auto env = slurp(find_json(dir.path, 2));
    BOOST_TEST(contains(env, "\"tls\": true"));
    BOOST_TEST(contains(env, "REQUIRETLS"));
  }
}

BOOST_AUTO_TEST_CASE(smart_host_with_auth_plain_over_starttls) {
  TempDir dir;
  auto cert = dir.path / "cert.pem", key = dir.path / "key.pem";
  BOOST_TEST_REQUIRE(net::write_self_signed_certificate("relay.test", cert, key, 2).has_value());
  auto peer = python_peer(dir.path, {"--cert", cert.string(), "--key", key.string(), "--auth", "apikey:s3cret"});
  auto res = resolver();
  auto cfg = config(25);
  RelayConfig relay;
  relay.name = "provider";
  relay.host = "127.0.0.1";
  relay.port = peer->port;
  relay.tls_verify = false;
  relay.username = "apikey";
  relay.password = "s3cret";
  cfg.relays.push_back(relay);
  cfg.transport["*"] = Route{RouteKind::relay, "", 0, "provider"};
  {
    SmtpTransport t(cfg, *res);
    auto st = deliver(t, request(dir.path, {"someone@elsewhere.example"}, "elsewhere.example"));
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::delivered));
    auto env = slurp(find_json(dir.path, 1));
    BOOST_TEST(contains(env, "\"user\": \"apikey\""));
    BOOST_TEST(contains(env, "\"tls\": true"));
  }
  {
    cfg.relays[0].password = "wrong";
    SmtpTransport t(cfg, *res);
    auto st = deliver(t, request(dir.path, {"someone@elsewhere.example"}, "elsewhere.example"));
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::deferred));
    BOOST_TEST(contains(st.at(0).text, "535"));
    BOOST_TEST(contains(st.at(0).text, "127.0.0.1"));
  }
}

BOOST_AUTO_TEST_CASE(smart_host_with_implicit_tls_and_verified_certificate) {
  TempDir dir;
  auto cert = dir.path / "cert.pem", key = dir.path / "key.pem";
  BOOST_TEST_REQUIRE(net::write_self_signed_certificate("smtp.relay.test", cert, key, 2).has_value());
  auto peer = python_peer(dir.path, {"--cert", cert.string(), "--key", key.string(), "--implicit", "--auth", "u:p"});
  auto res = resolver({"smtp.relay.test. A 127.0.0.1"});
  auto cfg = config(25);
  RelayConfig relay;
  relay.name = "smtps";
  relay.host = "smtp.relay.test";
  relay.port = peer->port;
  relay.tls = RelayTls::implicit;
  relay.username = "u";
  relay.password = "p";
  cfg.relays.push_back(relay);
  cfg.transport["*"] = Route{RouteKind::relay, "", 0, "smtps"};
  {
    SmtpTransport t(cfg, *res);  // certificate not trusted: nothing is sent
    auto st = deliver(t, request(dir.path, {"x@anywhere.example"}, "anywhere.example"));
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::deferred));
    BOOST_TEST(st.at(0).enhanced == "4.7.5");
    BOOST_TEST(!fs::exists(find_json(dir.path, 1)));
  }
  {
    cfg.tls_ca_file = cert;
    SmtpTransport t(cfg, *res);
    auto st = deliver(t, request(dir.path, {"x@anywhere.example"}, "anywhere.example"));
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::delivered));
    auto env = slurp(find_json(dir.path, 1));
    BOOST_TEST(contains(env, "\"tls\": true"));
    BOOST_TEST(contains(env, "\"user\": \"u\""));
  }
}

BOOST_AUTO_TEST_CASE(mx_with_4xx_greeting_is_skipped_for_the_next) {
  TempDir dir;
  // The preferred MX (127.0.0.1) greets with 421; the next (127.0.0.2, same port) is smtp-sink.
  auto busy = python_peer(dir.path, {"--greeting", "421 4.3.2 Too busy, try later"});
  auto port = busy->port;
  std::vector<std::string> argv = {"/usr/sbin/smtp-sink", "-D", (dir.path / "dump").string()};
  if (geteuid() == 0) {
    fs::permissions(dir.path, fs::perms::all);
    argv.insert(argv.end(), {"-u", "nobody"});
  }
  argv.insert(argv.end(), {"127.0.0.2:" + std::to_string(port), "10"});
  Child sink(argv, false, 0);
  for (int i = 0; i < 100; ++i) {  // wait for 127.0.0.2:port
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    std::error_code ec;
    s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.2"), port), ec);
    if (!ec) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  dns::DnsConfig c;
  c.local_only = true;
  c.local_data = {"busy.test. MX 10 mx1.busy.test.", "busy.test. MX 20 mx2.busy.test.", "mx1.busy.test. A 127.0.0.1",
                  "mx2.busy.test. A 127.0.0.2"};
  auto res = dns::UnboundResolver::create(c);
  BOOST_TEST_REQUIRE(res.has_value());
  SmtpTransport t(config(port), **res);
  auto st = deliver(t, request(dir.path, {"a@busy.test"}, "busy.test", "second-mx"));
  BOOST_TEST((st.at(0).outcome == RecipientOutcome::delivered));
  BOOST_TEST(st.at(0).remote_mta == "mx2.busy.test");
  t.close_idle();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(contains(slurp(dir.path / "dump"), "Hello second-mx"));
}

BOOST_AUTO_TEST_CASE(lmtp_route_to_an_lmtp_server) {
  TempDir dir;
  auto sink = smtp_sink(dir.path, {"-L"});
  auto res = resolver();
  auto cfg = config(25);
  cfg.transport["local.test"] = *parse_route("lmtp:127.0.0.1:" + std::to_string(sink->port));
  SmtpTransport t(cfg, *res);
  auto st = deliver(t, request(dir.path, {"a@local.test", "b@local.test"}, "local.test", "via-lmtp"));
  BOOST_TEST_REQUIRE(st.size() == 2u);
  BOOST_TEST((st[0].outcome == RecipientOutcome::delivered));
  BOOST_TEST((st[1].outcome == RecipientOutcome::delivered));
  t.close_idle();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(contains(slurp(dir.path / "dump"), "Hello via-lmtp"));
}

BOOST_AUTO_TEST_CASE(route_parsing) {
  BOOST_TEST((*parse_route("mx") == Route{}));
  auto s = parse_route("smtp:mail.example.com:2525");
  BOOST_TEST_REQUIRE(s.has_value());
  BOOST_TEST((s->kind == RouteKind::smtp));
  BOOST_TEST(s->host == "mail.example.com");
  BOOST_TEST(s->port == 2525);
  BOOST_TEST(parse_route("smtp:mail.example.com")->port == 0);
  auto l = parse_route("lmtp:[::1]:24");
  BOOST_TEST_REQUIRE(l.has_value());
  BOOST_TEST(l->host == "::1");
  BOOST_TEST(l->port == 24);
  BOOST_TEST(parse_route("relay:ses")->relay == "ses");
  BOOST_TEST(!parse_route("lmtp:host").has_value());
  BOOST_TEST(!parse_route("smtp:host:99999").has_value());
  BOOST_TEST(!parse_route("smtp:::1:25").has_value());
  BOOST_TEST(!parse_route("pipe:/bin/sh").has_value());
  BOOST_TEST(!parse_route("smtp:bad host:25").has_value());
  BOOST_TEST(!parse_route("").has_value());
}

BOOST_AUTO_TEST_CASE(route_lookup_exact_parent_default) {
  DeliveryConfig c;
  c.transport["example.com"] = *parse_route("smtp:a:25");
  c.transport[".example.com"] = *parse_route("smtp:b:25");
  c.transport["*"] = *parse_route("relay:r");
  BOOST_TEST(route_for(c, "Example.COM").host == "a");
  BOOST_TEST(route_for(c, "x.y.example.com").host == "b");
  BOOST_TEST((route_for(c, "other.org").kind == RouteKind::relay));
  c.transport.erase("*");
  BOOST_TEST((route_for(c, "other.org").kind == RouteKind::mx));
}

BOOST_AUTO_TEST_CASE(mx_order_by_preference_random_among_equals) {
  std::mt19937 rng(42);
  std::vector<dns::MxRecord> recs = {{20, "c"}, {10, "a"}, {10, "b"}, {30, "d"}};
  std::set<std::string> firsts;
  for (int i = 0; i < 50; ++i) {
    auto o = order_mx(recs, rng);
    BOOST_TEST_REQUIRE(o.size() == 4u);
    BOOST_TEST((o[0] == "a" || o[0] == "b"));
    BOOST_TEST((o[1] == "a" || o[1] == "b"));
    BOOST_TEST(o[2] == "c");
    BOOST_TEST(o[3] == "d");
    firsts.insert(o[0]);
  }
  BOOST_TEST(firsts.size() == 2u);  // both equal-preference hosts come first sometimes
}

BOOST_AUTO_TEST_CASE(delivery_config_parsing) {
  TempDir dir;
  std::ofstream(dir.path / "pass") << "topsecret\n";
  ConfigDiagnostics diag;
  auto doc = ConfigDocument::load_string(
      "[delivery]\nhelo_name = \"mail.example.com\"\nmx_port = 2525\nreuse_idle = \"10s\"\n"
      "[[relay]]\nname = \"ses\"\nhost = \"email-smtp.eu-west-1.amazonaws.com\"\nusername = \"AKIA\"\n"
      "password_file = \"pass\"\n"
      "[[relay]]\nname = \"smtps\"\nhost = \"smtp.example.net\"\ntls = \"implicit\"\n"
      "[transport]\n\"*\" = \"relay:ses\"\n\"lists.example.com\" = \"lmtp:127.0.0.1:24\"\n",
      "t.toml", dir.path, diag);
  auto root = doc->root(diag);
  BOOST_TEST_REQUIRE(root.has_value());
  DeliveryConfig c;
  auto st = parse_delivery_config(*root, c);
  BOOST_TEST_REQUIRE(st.has_value(), diag.to_string());
  BOOST_TEST(c.helo_name == "mail.example.com");
  BOOST_TEST(c.mx_port == 2525);
  BOOST_TEST(c.reuse_idle.count() == 10000);
  BOOST_TEST_REQUIRE(c.relays.size() == 2u);
  BOOST_TEST(c.relays[0].password == "topsecret");
  BOOST_TEST(c.relays[0].port == 587);
  BOOST_TEST((c.relays[0].tls == RelayTls::starttls));
  BOOST_TEST(c.relays[1].port == 465);
  BOOST_TEST((route_for(c, "gmail.com").relay == "ses"));
  BOOST_TEST(route_for(c, "lists.example.com").port == 24);

  ConfigDiagnostics diag2;
  auto bad = ConfigDocument::load_string(
      "[delivery]\nmx_prot = 25\n[[relay]]\nname = \"x\"\nhost = \"h\"\ntls = \"maybe\"\n"
      "[transport]\n\"a.com\" = \"relay:nope\"\n\"b.com\" = \"pipe:x\"\n",
      "t.toml", dir.path, diag2);
  DeliveryConfig c2;
  auto root2 = bad->root(diag2);
  BOOST_TEST_REQUIRE(root2.has_value());
  BOOST_TEST(!parse_delivery_config(*root2, c2).has_value());
  auto text = diag2.to_string();
  BOOST_TEST(contains(text, "mx_prot"));
  BOOST_TEST(contains(text, "maybe") + contains(text, "tls") > 0);
  BOOST_TEST(contains(text, "nope"));
  BOOST_TEST(contains(text, "pipe"));
}

namespace {

// A resolver whose answers claim DNSSEC validation (no signed zone needed to test the DANE path).
struct SecureResolver : dns::Resolver {
  std::vector<dns::TlsaRecord> tlsa_records;
  int tlsa_lookups = 0;
  asio::awaitable<Result<dns::Answer<dns::MxRecord>>> mx(const std::string&) override {
    co_return dns::Answer<dns::MxRecord>{{{10, "mx.remote.test"}}, true};
  }
  asio::awaitable<Result<dns::Answer<asio::ip::address>>> a(const std::string&) override {
    co_return dns::Answer<asio::ip::address>{{asio::ip::make_address("127.0.0.1")}, true};
  }
  asio::awaitable<Result<dns::Answer<asio::ip::address>>> aaaa(const std::string& h) override {
    co_return fail(ErrorCategory::not_found, h + ": no AAAA", dns::kNoData);
  }
  asio::awaitable<Result<dns::Answer<std::string>>> txt(const std::string& h) override {
    co_return fail(ErrorCategory::not_found, h + ": no TXT", dns::kNoData);
  }
  asio::awaitable<Result<dns::Answer<dns::TlsaRecord>>> tlsa(const std::string& name) override {
    ++tlsa_lookups;
    if (tlsa_records.empty()) co_return fail(ErrorCategory::not_found, name + ": no TLSA", dns::kNoData);
    co_return dns::Answer<dns::TlsaRecord>{tlsa_records, true};
  }
};

std::vector<std::uint8_t> spki_sha256(const fs::path& cert) {
  std::string cmd = "openssl x509 -in " + cert.string() +
                    " -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1";
  std::string hex;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[128];
  while (auto n = fread(buf, 1, sizeof buf, p)) hex.append(buf, n);
  pclose(p);
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size() && std::isxdigit(static_cast<unsigned char>(hex[i])); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(dane_with_secure_tlsa_authenticates_or_refuses_the_mx) {
  TempDir dir;
  auto cert = dir.path / "cert.pem", key = dir.path / "key.pem";
  BOOST_TEST_REQUIRE(net::write_self_signed_certificate("mx.remote.test", cert, key, 2).has_value());
  auto digest = spki_sha256(cert);
  BOOST_TEST_REQUIRE(digest.size() == 32u);
  auto peer = python_peer(dir.path, {"--cert", cert.string(), "--key", key.string()});
  SecureResolver res;
  res.tlsa_records = {dns::TlsaRecord{3, 1, 1, digest}};
  {
    // DANE-EE match: delivered over TLS, and it counts as verified (REQUIRETLS satisfied without a CA).
    SmtpTransport t(config(peer->port), res);
    auto r = request(dir.path, {"a@remote.test"});
    r.requiretls = true;
    auto st = deliver(t, r);
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::delivered));
    BOOST_TEST(res.tlsa_lookups == 1);
    BOOST_TEST(contains(slurp(find_json(dir.path, 1)), "\"tls\": true"));
  }
  {
    // Secure TLSA records that do not match: the MX must not be used (RFC 7672 2.2) -> deferred.
    res.tlsa_records[0].data[5] ^= 0xff;
    SmtpTransport t(config(peer->port), res);
    auto st = deliver(t, request(dir.path, {"a@remote.test"}));
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::deferred));
    BOOST_TEST(st.at(0).enhanced == "4.7.5");
    BOOST_TEST(contains(st.at(0).text, "matches no TLSA record"));
  }
  {
    // DANE but the server offers no STARTTLS: deferred, never sent in plaintext.
    auto plain = python_peer(dir.path);
    res.tlsa_records[0].data[5] ^= 0xff;
    SmtpTransport t(config(plain->port), res);
    auto st = deliver(t, request(dir.path, {"a@remote.test"}));
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::deferred));
    BOOST_TEST(contains(st.at(0).text, "STARTTLS"));
  }
}

BOOST_AUTO_TEST_CASE(mta_sts_enforce_from_a_loopback_https_policy_server) {
  TempDir dir;
  auto mx_cert = dir.path / "mx.pem", mx_key = dir.path / "mx.key";
  auto sts_cert = dir.path / "sts.pem", sts_key = dir.path / "sts.key";
  BOOST_TEST_REQUIRE(net::write_self_signed_certificate("mx.remote.test", mx_cert, mx_key, 2).has_value());
  BOOST_TEST_REQUIRE(net::write_self_signed_certificate("mta-sts.remote.test", sts_cert, sts_key, 2).has_value());
  auto ca = dir.path / "ca.pem";  // both self-signed certificates trusted
  std::ofstream(ca) << slurp(mx_cert) << slurp(sts_cert);
  auto policy = dir.path / "policy.txt";
  std::ofstream(policy) << "version: STSv1\r\nmode: enforce\r\nmx: mx.remote.test\r\nmax_age: 86400\r\n";
  const char* https_script = std::getenv("TRANSPORT_HTTPS");
  Child https({"/usr/bin/python3", https_script ? https_script : "tests/queue/transport_https.py", "--cert",
               sts_cert.string(), "--key", sts_key.string(), "--policy", policy.string()},
              true);
  auto peer = python_peer(dir.path, {"--cert", mx_cert.string(), "--key", mx_key.string()});
  auto res = resolver({"_mta-sts.remote.test. TXT \"v=STSv1; id=2024a;\"", "mta-sts.remote.test. A 127.0.0.1"});
  auto cfg = config(peer->port);
  cfg.mta_sts_port = https.port;
  cfg.tls_ca_file = ca;
  {
    SmtpTransport t(cfg, *res);  // the MX matches and its certificate verifies
    auto st = deliver(t, request(dir.path, {"a@remote.test"}));
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::delivered));
    BOOST_TEST(contains(slurp(find_json(dir.path, 1)), "\"tls\": true"));
  }
  {
    auto c2 = cfg;
    c2.tls_ca_file = sts_cert;  // the policy still fetches, but the MX certificate no longer verifies
    SmtpTransport t(c2, *res);
    auto st = deliver(t, request(dir.path, {"a@remote.test"}));
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::deferred));
    BOOST_TEST(st.at(0).enhanced == "4.7.5");
  }
  {
    std::ofstream(policy) << "version: STSv1\r\nmode: enforce\r\nmx: *.elsewhere.test\r\nmax_age: 86400\r\n";
    SmtpTransport t(cfg, *res);  // the MX does not match the policy: not even tried
    auto st = deliver(t, request(dir.path, {"a@remote.test"}));
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::deferred));
    BOOST_TEST(contains(st.at(0).text, "MTA-STS"));
    BOOST_TEST(t.sessions_opened() == 0u);
  }
  {
    std::ofstream(policy) << "version: STSv1\r\nmode: testing\r\nmx: *.elsewhere.test\r\nmax_age: 86400\r\n";
    SmtpTransport t(cfg, *res);  // testing mode only reports
    auto st = deliver(t, request(dir.path, {"a@remote.test"}));
    BOOST_TEST((st.at(0).outcome == RecipientOutcome::delivered));
  }
}

// Counts the lookups the transport makes (and answers them with the real resolver).
struct CountingResolver : dns::Resolver {
  dns::Resolver& inner;
  int mx_calls = 0, txt_calls = 0;
  explicit CountingResolver(dns::Resolver& r) : inner(r) {}
  asio::awaitable<Result<dns::Answer<dns::MxRecord>>> mx(const std::string& d) override {
    ++mx_calls;
    co_return co_await inner.mx(d);
  }
  asio::awaitable<Result<dns::Answer<asio::ip::address>>> a(const std::string& h) override { co_return co_await inner.a(h); }
  asio::awaitable<Result<dns::Answer<asio::ip::address>>> aaaa(const std::string& h) override {
    co_return co_await inner.aaaa(h);
  }
  asio::awaitable<Result<dns::Answer<std::string>>> txt(const std::string& n) override {
    ++txt_calls;
    co_return co_await inner.txt(n);
  }
  asio::awaitable<Result<dns::Answer<dns::TlsaRecord>>> tlsa(const std::string& n) override {
    co_return co_await inner.tlsa(n);
  }
};

BOOST_AUTO_TEST_CASE(a_stream_to_one_destination_resolves_its_route_once_while_connections_are_reused) {
  TempDir dir;
  auto sink = smtp_sink(dir.path);
  auto real = resolver();
  {
    CountingResolver res(*real);
    SmtpTransport t(config(sink->port), res);
    Runner r;
    for (const char* m : {"one", "two", "three"})
      BOOST_TEST((r.run(t, request(dir.path, {"a@remote.test"}, "remote.test", m)).at(0).outcome == RecipientOutcome::delivered));
    BOOST_TEST(res.mx_calls == 1);   // MX and the MTA-STS TXT record: once for the stream
    BOOST_TEST(res.txt_calls == 1);
    BOOST_TEST(t.sessions_opened() == 1u);
  }
  {
    CountingResolver res(*real);
    auto c = config(sink->port);
    c.reuse_idle = std::chrono::milliseconds(0);  // no reuse: every message looks its route up again
    SmtpTransport t(c, res);
    Runner r;
    for (const char* m : {"one", "two"}) r.run(t, request(dir.path, {"a@remote.test"}, "remote.test", m));
    BOOST_TEST(res.mx_calls == 2);
  }
}

BOOST_AUTO_TEST_SUITE_END()
