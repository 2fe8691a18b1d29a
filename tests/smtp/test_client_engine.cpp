// ClientEngine: reply parser, capabilities, recorded server transcripts, and the client wired to the
// ServerEngine in memory.
#include <boost/test/unit_test.hpp>

#include <functional>

#include "harness.hpp"
#include "tern/smtp/client_engine.hpp"

using namespace tern::smtp;
using namespace tern::smtp::test;

namespace {

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

// Postfix 3.7 and Exim 4.96 EHLO replies as seen on the wire.
const char* postfix_ehlo =
    "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";
const char* exim_ehlo =
    "250-mail.example.org Hello client.example [192.0.2.10]\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
    "250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250-CHUNKING\r\n250-PRDR\r\n250 HELP\r\n";

// The client wired to a ServerEngine; the policy answers server events, on_client client events.
struct Wire {
  Harness server;
  ClientEngine client;
  std::vector<ClientEvent> cevents;
  std::function<void(ClientEngine&, const ClientEvent&)> on_client;
  std::string c2s;  // everything the client sent

  Wire(ServerConfig sc, ClientConfig cc) : server(std::move(sc)), client(std::move(cc)) { server.auto_tls = false; }

  void run(int max_rounds = 100) {
    for (int i = 0; i < max_rounds; ++i) {
      server.pump();
      std::string s = server.engine.take_output();
      client.feed(s);
      while (auto ev = client.next_event()) {
        cevents.push_back(*ev);
        if (ev->kind == ClientEventKind::tls_handshake) {
          server.engine.tls_started();  // both ends finish the handshake
          client.tls_started();
        }
        if (on_client) on_client(client, *ev);
      }
      std::string c = client.take_output();
      c2s += c;
      server.engine.feed(c);
      if (s.empty() && c.empty() && !server.engine.has_output()) {
        server.pump();
        if (!server.engine.has_output()) return;
      }
    }
  }
  const ClientEvent* last(ClientEventKind k) const {
    for (auto it = cevents.rbegin(); it != cevents.rend(); ++it)
      if (it->kind == k) return &*it;
    return nullptr;
  }
};

OutboundMessage message(std::vector<std::string> rcpts, std::string from = "sender@example.com") {
  OutboundMessage m;
  m.reverse_path = std::move(from);
  for (auto& r : rcpts) m.recipients.push_back(OutboundRecipient{r, {}, {}, {}});
  return m;
}

// Sends `msg` with `body` once ready, then QUIT.
std::function<void(ClientEngine&, const ClientEvent&)> deliver(OutboundMessage msg, std::string body) {
  return [msg, body](ClientEngine& c, const ClientEvent& e) {
    if (e.kind == ClientEventKind::ready) BOOST_TEST(c.send_message(msg));
    if (e.kind == ClientEventKind::send_body) {
      for (std::size_t i = 0; i < body.size(); i += 7) c.write_body(std::string_view(body).substr(i, 7));
      c.end_body();
    }
    if (e.kind == ClientEventKind::message_result) c.quit();
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(smtp_client)

BOOST_AUTO_TEST_CASE(reply_parser_multiline_and_enhanced) {
  ReplyParser p;
  p.feed("250-mx.example.net\r\n250-PIPE");
  BOOST_TEST(!p.next());
  p.feed("LINING\r\n250 8BITMIME\r\n550 5.1.1 <x@y>: Recipient address rejected\r\n");
  auto r = p.next();
  BOOST_REQUIRE(r);
  BOOST_TEST(r->code == 250);
  BOOST_TEST(r->lines.size() == 3u);
  BOOST_TEST(r->lines[1] == "PIPELINING");
  auto e = p.next();
  BOOST_REQUIRE(e);
  BOOST_TEST(e->enhanced == "5.1.1");
  BOOST_TEST(e->reply().text == "<x@y>: Recipient address rejected");
  BOOST_TEST(!p.next());
  BOOST_TEST(!p.failed());
  ReplyParser q;
  q.feed("221\r\n250 2.0.0\r\n");
  BOOST_TEST(q.next()->code == 221);
  auto bare = q.next();
  BOOST_TEST(bare->enhanced == "2.0.0");
  BOOST_TEST(bare->lines.front() == "");
}

BOOST_AUTO_TEST_CASE(reply_parser_is_bounded_and_strict) {
  for (const char* bad : {"abc ok\r\n", "600 no\r\n", "199 no\r\n", "25\r\n", "250x\r\n", "250-a\r\n251 b\r\n"}) {
    ReplyParser p;
    p.feed(bad);
    BOOST_TEST(!p.next(), bad);
    BOOST_TEST(p.failed(), bad);
  }
  ReplyParser longline(100, 10);
  longline.feed("250 " + std::string(200, 'x'));
  BOOST_TEST(!longline.next());
  BOOST_TEST(longline.failed());
  ReplyParser many(100, 10);
  for (int i = 0; i < 20; ++i) many.feed("250-x\r\n");
  BOOST_TEST(!many.next());
  BOOST_TEST(many.failed());
}

BOOST_AUTO_TEST_CASE(capabilities_of_postfix_and_exim) {
  ReplyParser p;
  p.feed(postfix_ehlo);
  p.feed(exim_ehlo);
  p.feed("250-old.example\r\n250-AUTH=LOGIN PLAIN\r\n250 SIZE\r\n");
  auto pf = parse_capabilities(p.next()->lines);
  BOOST_TEST(pf.pipelining);
  BOOST_TEST(pf.starttls);
  BOOST_TEST(pf.dsn);
  BOOST_TEST(pf.smtputf8);
  BOOST_TEST(pf.chunking);
  BOOST_TEST(pf.eightbitmime);
  BOOST_TEST(pf.enhancedstatuscodes);
  BOOST_TEST(!pf.binarymime);
  BOOST_TEST(*pf.size == 10240000u);
  BOOST_TEST(pf.auth.empty());
  auto ex = parse_capabilities(p.next()->lines);
  BOOST_TEST((ex.auth == std::vector<std::string>{"PLAIN", "LOGIN"}));
  BOOST_TEST(!ex.starttls);
  BOOST_TEST(!ex.dsn);
  BOOST_TEST(*ex.size == 52428800u);
  auto old = parse_capabilities(p.next()->lines);
  BOOST_TEST((old.auth == std::vector<std::string>{"LOGIN", "PLAIN"}));
  BOOST_TEST(*old.size == 0u);
}

// A recorded Postfix dialogue: pipelined MAIL/RCPT/DATA with DSN, one recipient refused.
BOOST_AUTO_TEST_CASE(transcript_postfix_pipelined_with_dsn) {
  ClientConfig cc;
  cc.helo_name = "out.example.com";
  cc.tls = TlsPolicy::none;
  ClientEngine c(cc);
  c.feed("220 mx.example.net ESMTP Postfix (Debian/GNU)\r\n");
  BOOST_TEST(!c.next_event());
  BOOST_TEST(c.take_output() == "EHLO out.example.com\r\n");
  c.feed(postfix_ehlo);
  auto ready = c.next_event();
  BOOST_TEST((ready->kind == ClientEventKind::ready));
  auto m = message({"a@example.net", "nobody@example.net"});
  m.size = 1234;
  m.body = BodyType::eight_bit_mime;
  m.ret = DsnRet::hdrs;
  m.envid = "id 1+2";
  m.recipients[0].notify = DsnNotify{true, false, true, true, false};
  m.recipients[0].orcpt = "a@example.net";
  BOOST_TEST(c.send_message(m));
  BOOST_TEST(!c.send_message(m));  // busy
  BOOST_TEST(c.take_output() ==
             "MAIL FROM:<sender@example.com> SIZE=1234 BODY=8BITMIME RET=HDRS ENVID=id+201+2B2\r\n"
             "RCPT TO:<a@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@example.net\r\n"
             "RCPT TO:<nobody@example.net>\r\nDATA\r\n");
  c.feed("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown\r\n"
         "354 End data with <CR><LF>.<CR><LF>\r\n");
  auto body = c.next_event();
  BOOST_TEST((body->kind == ClientEventKind::send_body));
  c.write_body("Subject: x\r\n\r\n.dot\r\n..two\r\nbare\nlf\r\nend");
  c.end_body();
  BOOST_TEST(c.take_output() == "Subject: x\r\n\r\n..dot\r\n...two\r\nbare\r\nlf\r\nend\r\n.\r\n");
  c.feed("250 2.0.0 Ok: queued as 4VZ1Xk0Zz1z9sWK\r\n");
  auto res = c.next_event();
  BOOST_REQUIRE((res->kind == ClientEventKind::message_result));
  BOOST_TEST(res->results.size() == 2u);
  BOOST_TEST(res->results[0].accepted);
  BOOST_TEST(res->results[0].reply.text == "Ok: queued as 4VZ1Xk0Zz1z9sWK");
  BOOST_TEST(!res->results[1].accepted);
  BOOST_TEST(res->results[1].reply.code == 550);
  BOOST_TEST(res->results[1].reply.enhanced == "5.1.1");
  BOOST_TEST(c.idle());
  c.quit();
  BOOST_TEST(c.take_output() == "QUIT\r\n");
  c.feed("221 2.0.0 Bye\r\n");
  BOOST_TEST((c.next_event()->kind == ClientEventKind::closed));
}

// A recorded Exim dialogue without PIPELINING-style assumptions: EHLO refused → HELO, then one
// command at a time; the server refuses 8-bit content since HELO offers nothing.
BOOST_AUTO_TEST_CASE(transcript_helo_fallback_and_8bit_refusal) {
  ClientEngine c(ClientConfig{});
  c.feed("220 old.example.org SMTP ready\r\n");
  c.next_event();
  BOOST_TEST(c.take_output() == "EHLO localhost\r\n");
  c.feed("502 5.5.2 Error: command not recognized\r\n");
  BOOST_TEST(!c.next_event());
  BOOST_TEST(c.take_output() == "HELO localhost\r\n");
  c.feed("250 old.example.org\r\n");
  BOOST_TEST((c.next_event()->kind == ClientEventKind::ready));
  BOOST_TEST(!c.capabilities().esmtp);
  auto m = message({"a@example.org"});
  m.body = BodyType::eight_bit_mime;
  BOOST_TEST(c.send_message(m));
  auto r = c.next_event();
  BOOST_REQUIRE((r->kind == ClientEventKind::message_result));
  BOOST_TEST(r->results[0].reply.code == 554);
  BOOST_TEST(r->results[0].reply.enhanced == "5.6.3");
  BOOST_TEST(c.take_output() == "");  // nothing was sent
  // Without PIPELINING: one command per round trip, no parameters after HELO.
  m.body = BodyType::seven_bit;
  m.size = 10;
  m.recipients.push_back(OutboundRecipient{"b@example.org", {}, {}, {}});
  BOOST_TEST(c.send_message(m));
  BOOST_TEST(c.take_output() == "MAIL FROM:<sender@example.com>\r\n");
  c.feed("250 OK\r\n");
  c.next_event();
  BOOST_TEST(c.take_output() == "RCPT TO:<a@example.org>\r\n");
  c.feed("250 Accepted\r\n");
  c.next_event();
  BOOST_TEST(c.take_output() == "RCPT TO:<b@example.org>\r\n");
  c.feed("250 Accepted\r\n");
  c.next_event();
  BOOST_TEST(c.take_output() == "DATA\r\n");
  c.feed("451 Temporary local problem\r\n");
  auto rs = c.next_event();
  BOOST_TEST(c.take_output() == "RSET\r\n");
  BOOST_TEST(!rs);
  c.feed("250 Reset OK\r\n");
  auto res = c.next_event();
  BOOST_REQUIRE((res->kind == ClientEventKind::message_result));
  BOOST_TEST(res->results[0].reply.code == 451);
  BOOST_TEST(res->results[1].reply.code == 451);
  BOOST_TEST(!res->results[0].accepted);
}

BOOST_AUTO_TEST_CASE(transcript_greeting_refused_and_421) {
  ClientEngine c(ClientConfig{});
  c.feed("554 5.7.1 No SMTP service here\r\n");
  auto f = c.next_event();
  BOOST_TEST((f->kind == ClientEventKind::failed));
  BOOST_TEST(f->reply.code == 554);
  BOOST_TEST(c.take_output() == "QUIT\r\n");

  ClientEngine d(ClientConfig{});
  d.feed("220 x\r\n");
  d.next_event();
  d.feed("421 4.3.2 Shutting down\r\n");
  auto e = d.next_event();
  BOOST_TEST((e->kind == ClientEventKind::failed));
  BOOST_TEST((d.next_event()->kind == ClientEventKind::closed));

  ClientEngine g(ClientConfig{});
  g.feed("220 x\r\nthis is not smtp\r\n");
  auto bad = g.next_event();  // the malformed reply is read while EHLO goes out: the first event is the failure
  BOOST_REQUIRE(bad.has_value());
  BOOST_TEST((bad->kind == ClientEventKind::failed));
  BOOST_TEST(bad->reply.code == 451);
}

BOOST_AUTO_TEST_CASE(in_memory_delivery_with_pipelining_and_dot_stuffing) {
  ServerConfig sc;
  ClientConfig cc;
  cc.tls = TlsPolicy::none;
  Wire w(sc, cc);
  std::string body = "Subject: test\r\n\r\n.starts with a dot\r\n.\r\nline\nwith bare lf\r\n";
  w.on_client = deliver(message({"a@example.org", "b@example.org"}), body);
  w.run();
  auto* r = w.last(ClientEventKind::message_result);
  BOOST_REQUIRE(r);
  BOOST_TEST(r->results.size() == 2u);
  BOOST_TEST(r->results[0].accepted);
  BOOST_TEST(r->results[1].accepted);
  BOOST_TEST(w.server.body == "Subject: test\r\n\r\n.starts with a dot\r\n.\r\nline\r\nwith bare lf\r\n");
  BOOST_TEST(w.server.count(EventKind::message_end) == 1u);
  BOOST_TEST(w.last(ClientEventKind::closed));
  BOOST_TEST(w.server.engine.closed());
  // PIPELINING: MAIL, both RCPTs and DATA left in one write.
  BOOST_TEST(contains(w.c2s, "MAIL FROM:<sender@example.com>\r\nRCPT TO:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"));
}

BOOST_AUTO_TEST_CASE(in_memory_starttls_auth_plain_and_dsn) {
  ServerConfig sc;
  sc.starttls = true;
  ClientConfig cc;
  cc.tls = TlsPolicy::required;
  cc.auth = ClientCredentials{"alice", "secret"};
  Wire w(sc, cc);
  w.server.policy = [&](const Event& e) -> std::optional<Reply> {
    if (e.kind == EventKind::helo && w.server.engine.tls_active()) w.server.engine.set_auth_mechanisms({"PLAIN", "LOGIN"});
    if (e.kind == EventKind::auth)
      return e.data == std::string("\0alice\0secret", 13) ? Reply{235, "2.7.0", ""} : Reply{535, "5.7.8", "Bad"};
    return accept_all(e);
  };
  auto m = message({"a@example.org"});
  m.ret = DsnRet::full;
  m.envid = "E=1";
  m.requiretls = true;
  m.recipients[0].notify = DsnNotify{true, true, false, false, false};
  m.recipients[0].orcpt = "orig+x@example.org";
  w.on_client = deliver(m, "hi\r\n");
  w.run();
  BOOST_TEST(w.client.tls_active());
  BOOST_TEST(w.server.engine.authenticated());
  auto* r = w.last(ClientEventKind::message_result);
  BOOST_REQUIRE(r);
  BOOST_TEST(r->results[0].accepted);
  auto* mail = w.server.last(EventKind::mail);
  BOOST_REQUIRE(mail);
  BOOST_TEST((mail->mail_params.ret == DsnRet::full));
  BOOST_TEST(*mail->mail_params.envid == "E=1");
  BOOST_TEST(mail->mail_params.requiretls);
  auto* rcpt = w.server.last(EventKind::rcpt);
  BOOST_TEST(rcpt->rcpt_params.notify.never);
  BOOST_TEST(*rcpt->rcpt_params.orcpt == "orig+x@example.org");
  BOOST_TEST(w.server.count(EventKind::helo) == 2u);  // EHLO again after STARTTLS
}

BOOST_AUTO_TEST_CASE(in_memory_auth_login_and_failure) {
  ServerConfig sc;
  ClientConfig cc;
  cc.tls = TlsPolicy::none;
  cc.allow_plaintext_auth = true;
  cc.auth = ClientCredentials{"bob", "pw"};
  Wire w(sc, cc);
  w.server.engine.set_auth_mechanisms({"LOGIN"});
  w.server.policy = [](const Event& e) -> std::optional<Reply> {
    if (e.kind == EventKind::auth) return Reply{334, "", "Username:"};
    if (e.kind == EventKind::auth_response && e.data == "bob") return Reply{334, "", "Password:"};
    if (e.kind == EventKind::auth_response) return e.data == "pw" ? Reply{235, "2.7.0", ""} : Reply{535, "5.7.8", "No"};
    return accept_all(e);
  };
  w.on_client = deliver(message({"a@example.org"}), "x\r\n");
  w.run();
  BOOST_TEST(w.server.engine.authenticated());
  BOOST_TEST(w.last(ClientEventKind::message_result)->results[0].accepted);

  cc.auth = ClientCredentials{"bob", "wrong"};
  Wire f(sc, cc);
  f.server.engine.set_auth_mechanisms({"LOGIN"});
  f.server.policy = w.server.policy;
  f.run();
  auto* failed = f.last(ClientEventKind::failed);
  BOOST_REQUIRE(failed);
  BOOST_TEST(failed->reply.code == 535);
  BOOST_TEST(!f.last(ClientEventKind::ready));
}

BOOST_AUTO_TEST_CASE(tls_required_but_not_offered) {
  ClientConfig cc;
  cc.tls = TlsPolicy::required;
  Wire w(ServerConfig{}, cc);
  w.run();
  auto* f = w.last(ClientEventKind::failed);
  BOOST_REQUIRE(f);
  BOOST_TEST(f->reply.enhanced == "5.7.10");
  BOOST_TEST(w.server.engine.closed());  // the client said QUIT
  // Credentials are never sent in the clear unless allowed.
  ClientConfig ca;
  ca.tls = TlsPolicy::opportunistic;
  ca.auth = ClientCredentials{"u", "p"};
  Wire v(ServerConfig{}, ca);
  v.server.engine.set_auth_mechanisms({"PLAIN"});
  v.run();
  BOOST_TEST(v.last(ClientEventKind::failed));
  BOOST_TEST(!contains(v.c2s, "AUTH"));
}

BOOST_AUTO_TEST_CASE(refusals_without_round_trip) {
  ServerConfig sc;
  sc.smtputf8 = false;
  sc.max_message_size = 1000;
  ClientConfig cc;
  cc.tls = TlsPolicy::none;
  Wire w(sc, cc);
  std::vector<std::vector<RecipientResult>> results;
  int step = 0;
  w.on_client = [&](ClientEngine& c, const ClientEvent& e) {
    if (e.kind == ClientEventKind::message_result) results.push_back(e.results);
    if (e.kind != ClientEventKind::ready && e.kind != ClientEventKind::message_result) return;
    auto m = message({"a@example.org"});
    switch (step++) {
      case 0: m.smtputf8 = true; c.send_message(m); break;
      case 1: m.size = 5000; c.send_message(m); break;
      case 2: m.requiretls = true; c.send_message(m); break;
      case 3: m.recipients.clear(); c.send_message(m); break;
      case 4: m.recipients[0].address = "x@example.org>\r\nRCPT TO:<evil@example.org"; c.send_message(m); break;
      case 5: m.reverse_path = "a b@example.org"; c.send_message(m); break;
      default: c.quit();
    }
  };
  w.run();
  BOOST_REQUIRE(results.size() == 6u);
  BOOST_TEST(results[4][0].reply.enhanced == "5.1.3");
  BOOST_TEST(results[5][0].reply.enhanced == "5.1.7");
  BOOST_TEST(!contains(w.c2s, "evil"));
  BOOST_TEST(results[0][0].reply.code == 553);
  BOOST_TEST(results[0][0].reply.enhanced == "5.6.7");
  BOOST_TEST(results[1][0].reply.enhanced == "5.3.4");
  BOOST_TEST(results[2][0].reply.enhanced == "5.7.30");
  BOOST_TEST(results[3].empty());  // no recipients: nothing to do
  BOOST_TEST(w.server.count(EventKind::mail) == 0u);
}

BOOST_AUTO_TEST_CASE(in_memory_bdat_binarymime) {
  ServerConfig sc;
  ClientConfig cc;
  cc.tls = TlsPolicy::none;
  cc.bdat_chunk_size = 10;
  Wire w(sc, cc);
  auto m = message({"a@example.org"});
  m.body = BodyType::binary_mime;
  const char raw[] = "binary\n\r\0data.\r\n.\r\nmore bytes here";
  std::string body(raw, sizeof raw - 1);
  BOOST_TEST(body.size() == 34u);
  w.on_client = deliver(m, body);
  w.run();
  BOOST_TEST(w.server.body == body);  // byte for byte, no stuffing, no line-ending changes
  BOOST_TEST(w.server.last(EventKind::message_end)->bdat);
  BOOST_TEST(w.last(ClientEventKind::message_result)->results[0].accepted);
  BOOST_TEST(contains(w.c2s, "BDAT 10\r\n"));
  BOOST_TEST(contains(w.c2s, " LAST\r\n"));
}

BOOST_AUTO_TEST_CASE(in_memory_bdat_without_pipelining) {
  ServerConfig sc;
  sc.pipelining = false;
  ClientConfig cc;
  cc.tls = TlsPolicy::none;
  cc.prefer_chunking = true;
  cc.bdat_chunk_size = 4;
  Wire w(sc, cc);
  w.on_client = deliver(message({"a@example.org", "b@example.org"}), "abc\r\ndef\nghi");
  w.run();
  BOOST_TEST(w.server.body == "abc\r\ndef\r\nghi\r\n");
  BOOST_TEST(w.last(ClientEventKind::message_result)->results[1].accepted);
}

BOOST_AUTO_TEST_CASE(in_memory_lmtp_per_recipient) {
  ServerConfig sc;
  sc.role = Role::lmtp;
  ClientConfig cc;
  cc.lmtp = true;
  cc.tls = TlsPolicy::none;
  Wire w(sc, cc);
  int n = 0;
  w.server.policy = [&](const Event& e) -> std::optional<Reply> {
    if (e.kind == EventKind::rcpt && e.path.mailbox.local_part == "unknown") return Reply{550, "5.1.1", "No such user"};
    if (e.kind == EventKind::message_end) return ++n == 1 ? Reply{250, "2.0.0", "saved"} : Reply{552, "5.2.2", "Over quota"};
    return accept_all(e);
  };
  w.on_client = deliver(message({"a@example.org", "unknown@example.org", "c@example.org"}), "x\r\n");
  w.run();
  auto* r = w.last(ClientEventKind::message_result);
  BOOST_REQUIRE(r);
  BOOST_TEST(r->results[0].accepted);
  BOOST_TEST(r->results[0].reply.text == "saved");
  BOOST_TEST(r->results[1].reply.enhanced == "5.1.1");
  BOOST_TEST(!r->results[2].accepted);
  BOOST_TEST(r->results[2].reply.enhanced == "5.2.2");
  BOOST_TEST(contains(w.c2s, "LHLO localhost\r\n"));
}

BOOST_AUTO_TEST_CASE(in_memory_all_recipients_refused_and_next_message) {
  ClientConfig cc;
  cc.tls = TlsPolicy::none;
  Wire w(ServerConfig{}, cc);
  w.server.policy = [](const Event& e) -> std::optional<Reply> {
    if (e.kind == EventKind::rcpt && e.path.mailbox.local_part == "x") return Reply{550, "5.1.1", "No"};
    return accept_all(e);
  };
  int sent = 0;
  std::vector<std::vector<RecipientResult>> results;
  w.on_client = [&](ClientEngine& c, const ClientEvent& e) {
    if (e.kind == ClientEventKind::message_result) results.push_back(e.results);
    if (e.kind == ClientEventKind::send_body) { c.write_body("ok\r\n"); c.end_body(); }
    if (e.kind == ClientEventKind::ready || e.kind == ClientEventKind::message_result) {
      if (sent == 0) { ++sent; c.send_message(message({"x@example.org"})); }
      else if (sent == 1) { ++sent; c.send_message(message({"y@example.org"})); }
      else c.quit();
    }
  };
  w.run();
  BOOST_REQUIRE(results.size() == 2u);
  BOOST_TEST(results[0][0].reply.code == 550);
  BOOST_TEST(results[1][0].accepted);
  BOOST_TEST(w.server.count(EventKind::message_end) == 1u);
  BOOST_TEST(w.server.body == "ok\r\n");
}

BOOST_AUTO_TEST_SUITE_END()
