// ServerEngine: commands, parameters, limits, errors, pipelining, smuggling, STARTTLS, BDAT, AUTH, LMTP.
#include <boost/test/unit_test.hpp>

#include "harness.hpp"
#include "tern/smtp/server_engine.hpp"

using namespace tern::smtp;
using namespace tern::smtp::test;

namespace {

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

ServerConfig tls_config() {
  ServerConfig c;
  c.hostname = "mx.example.org";
  c.starttls = true;
  return c;
}

// Every reply line other than the greeting, EHLO/HELO, 354 and 334 carries a matching enhanced code.
void check_enhanced(const std::string& out) {
  for (auto& l : lines_of(out)) {
    if (l.empty() || l[0] == '3') continue;
    BOOST_TEST_INFO("line: " << l);
    BOOST_TEST(l.size() >= 10u);
    BOOST_TEST(l.size() + 2 <= 512u);
    std::string enh = l.substr(4, l.find(' ', 4) - 4);
    BOOST_TEST(valid_enhanced_code(enh, std::stoi(l.substr(0, 3))));
  }
}

const char* txn = "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(smtp_server)

BOOST_AUTO_TEST_CASE(greeting_and_ehlo_keywords) {
  Harness h(tls_config());
  std::string g = h.run();
  BOOST_TEST(g == "220 mx.example.org ESMTP Tern ready\r\n");
  BOOST_TEST(h.count(EventKind::connect) == 1u);
  h.policy = [](const Event& e) -> std::optional<Reply> { return accept_all(e); };
  std::string out = h.run("EHLO client.example\r\n");
  BOOST_TEST(h.last(EventKind::helo)->argument == "client.example");
  BOOST_TEST(h.last(EventKind::helo)->verb == "EHLO");
  auto lines = lines_of(out);
  BOOST_TEST(lines.front() == "250-mx.example.org");
  BOOST_TEST(lines.back() == "250 HELP");
  for (const char* kw : {"250-PIPELINING", "250-SIZE 26214400", "250-8BITMIME", "250-SMTPUTF8", "250-STARTTLS",
                         "250-CHUNKING", "250-BINARYMIME", "250-DSN", "250-ENHANCEDSTATUSCODES"})
    BOOST_TEST(contains(out, std::string(kw) + "\r\n"), kw);
  BOOST_TEST(!contains(out, "AUTH"));        // no mechanisms allowed yet
  BOOST_TEST(!contains(out, "REQUIRETLS"));  // only over TLS
  BOOST_TEST(!contains(out, "DELIVERBY"));

  // After TLS: no STARTTLS, REQUIRETLS appears, AUTH as the caller now allows.
  h.auto_tls = true;
  BOOST_TEST(h.run("STARTTLS\r\n") == "220 2.0.0 Ready to start TLS\r\n");
  h.engine.set_auth_mechanisms({"plain", "LOGIN"});
  out = h.run("EHLO client.example\r\n");
  BOOST_TEST(!contains(out, "STARTTLS"));
  BOOST_TEST(contains(out, "250-REQUIRETLS\r\n"));
  BOOST_TEST(contains(out, "250-AUTH PLAIN LOGIN\r\n"));
}

BOOST_AUTO_TEST_CASE(helo_has_no_extensions) {
  Harness h;
  h.run();
  BOOST_TEST(h.run("HELO client.example\r\n") == "250 localhost\r\n");
  std::string out = h.run("MAIL FROM:<a@example.com> BODY=8BITMIME\r\n");
  BOOST_TEST(out.substr(0, 9) == "555 5.5.4");
  BOOST_TEST(h.run("MAIL FROM:<a@example.com>\r\n") == "250 2.1.0 Sender OK\r\n");
  BOOST_TEST(h.run("EHLO\r\n").substr(0, 9) == "501 5.5.4");
}

BOOST_AUTO_TEST_CASE(full_transaction_dot_unstuffing_and_crlf) {
  Harness h;
  h.open();
  std::string out = h.run(txn);
  BOOST_TEST(out == "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  out = h.run("Subject: hi\r\n\r\n..leading dot\r\n..\r\n...\r\nlast line\r\n.\r\n");
  BOOST_TEST(out == "250 2.0.0 Queued as X1\r\n");
  BOOST_TEST(h.body == "Subject: hi\r\n\r\n.leading dot\r\n.\r\n..\r\nlast line\r\n");
  auto* end = h.last(EventKind::message_end);
  BOOST_REQUIRE(end);
  BOOST_TEST(end->size == h.body.size());
  BOOST_TEST(end->recipients == 1u);
  BOOST_TEST(!end->bdat);
  BOOST_TEST(h.last(EventKind::mail)->path.mailbox.address() == "a@example.com");
  BOOST_TEST(h.last(EventKind::rcpt)->path.mailbox.address() == "b@example.org");
  // A second transaction on the same session, then QUIT.
  out = h.run(std::string(txn) + "x\r\n.\r\nQUIT\r\n");
  BOOST_TEST((codes_of(out) == std::vector<std::string>{"250", "250", "354", "250", "221"}));
  BOOST_TEST(h.engine.closed());
  BOOST_TEST(h.count(EventKind::close) == 1u);
  BOOST_TEST(h.count(EventKind::message_end) == 2u);
  check_enhanced(out);
}

BOOST_AUTO_TEST_CASE(empty_message_and_split_terminator) {
  Harness h;
  h.open();
  h.run(txn);
  BOOST_TEST(h.run(".\r\n") == "250 2.0.0 Queued as X1\r\n");
  BOOST_TEST(h.last(EventKind::message_end)->size == 0u);
  // The terminator split across feeds.
  h.run(txn);
  BOOST_TEST(h.run("abc\r") == "");
  BOOST_TEST(h.run("\n.") == "");
  BOOST_TEST(h.run("\r") == "");
  BOOST_TEST(h.run("\n") == "250 2.0.0 Queued as X1\r\n");
}

BOOST_AUTO_TEST_CASE(body_streams_in_bounded_chunks) {
  ServerConfig c;
  c.body_chunk_size = 1000;
  Harness h(c);
  h.open();
  h.run(txn);
  std::string line(99, 'x');
  std::string body;
  for (int i = 0; i < 100; ++i) body += line + "\r\n";
  h.run(body + ".\r\n");
  BOOST_TEST(h.body == body);
  for (auto& e : h.events)
    if (e.kind == EventKind::body) BOOST_TEST(e.data.size() <= 1000u);
  BOOST_TEST(h.count(EventKind::body) >= 10u);
}

BOOST_AUTO_TEST_CASE(pipelined_group_answers_in_one_batch) {
  Harness h;
  h.open();
  std::string out = h.run(
      "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<bad@example.org>\r\nRCPT "
      "TO:<c@example.org>\r\nDATA\r\nbody\r\n.\r\nRSET\r\nNOOP\r\n");
  BOOST_TEST((codes_of(out) == std::vector<std::string>{"250", "250", "250", "250", "354", "250", "250", "250"}));
  BOOST_TEST(h.body == "body\r\n");
  BOOST_TEST(h.last(EventKind::message_end)->recipients == 3u);
}

BOOST_AUTO_TEST_CASE(async_decisions_hold_the_pipeline) {
  Harness h;
  h.open();
  h.hold = true;
  std::string out = h.run("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nNOOP\r\n");
  BOOST_TEST(out == "");  // the MAIL decision is pending: nothing else is processed
  BOOST_TEST(h.engine.awaiting_reply());
  BOOST_TEST(h.count(EventKind::rcpt) == 0u);
  BOOST_TEST(h.engine.reply({250, "2.1.0", "later"}));
  h.pump();
  BOOST_TEST(h.count(EventKind::rcpt) == 1u);
  BOOST_TEST(h.engine.take_output() == "250 2.1.0 later\r\n");
  BOOST_TEST(h.engine.reply({550, "5.1.1", "No such user here"}));
  h.pump();
  BOOST_TEST(h.engine.take_output() == "550 5.1.1 No such user here\r\n250 2.0.0 OK\r\n");
  BOOST_TEST(!h.engine.reply({250, "", ""}));  // nothing pending
}

BOOST_AUTO_TEST_CASE(backpressure_while_a_decision_is_pending) {
  ServerConfig c;
  c.max_buffered_input = 100;
  Harness h(c);
  h.open();
  h.hold = true;
  h.run("MAIL FROM:<a@example.com>\r\n");
  BOOST_TEST(h.engine.wants_input());
  h.run(std::string(200, 'N'));
  BOOST_TEST(!h.engine.wants_input());
}

// SMTP smuggling (CVE-2023-51764/51765/51766): no lone-LF/CR dot ends the data or starts a second
// transaction; the message is rejected with 550 5.6.0 at the real end of data.
BOOST_AUTO_TEST_CASE(smuggling_variants_never_end_data) {
  const std::string smuggled = "MAIL FROM:<admin@victim.example>\r\nRCPT TO:<x@example.org>\r\nDATA\r\nevil\r\n";
  for (std::string variant : {"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r\n.\r", "\r.\r\n", "\n.\r", "\r\n.\r\r\n",
                              "\r\n.\n\r\n"}) {
    for (bool bytewise : {false, true}) {
      Harness h;
      h.open();
      h.run(txn);
      std::string payload = "Subject: t\r\n\r\nhello" + variant + smuggled + "\r\n.\r\n";
      std::string out;
      if (bytewise)
        for (char ch : payload) out += h.run(std::string(1, ch));
      else
        out = h.run(payload);
      BOOST_TEST_INFO("variant bytes: " << variant.size() << (bytewise ? " bytewise" : ""));
      BOOST_TEST(out == format_reply(Reply{550, "5.6.0",
                                           "Message rejected: bare CR or LF in message data; lines must end with "
                                           "CRLF (RFC 5321 2.3.8)"}));
      BOOST_TEST(h.count(EventKind::mail) == 1u);
      BOOST_TEST(h.count(EventKind::message_end) == 0u);
      BOOST_TEST(h.count(EventKind::message_aborted) == 1u);
      BOOST_TEST(h.last(EventKind::message_aborted)->reply.code == 550);
      // The session is usable afterwards and the transaction is gone.
      BOOST_TEST(h.run("RCPT TO:<b@example.org>\r\n").substr(0, 9) == "503 5.5.1");
      BOOST_TEST(h.run("QUIT\r\n").substr(0, 3) == "221");
    }
  }
}

BOOST_AUTO_TEST_CASE(bare_lf_inside_text_is_rejected) {
  Harness h;
  h.open();
  h.run(txn);
  BOOST_TEST(h.run("line one\nline two\r\n.\r\n").substr(0, 9) == "550 5.6.0");
  h.run(txn);
  BOOST_TEST(h.run("cr\ronly\r\n.\r\n").substr(0, 9) == "550 5.6.0");
  h.run(txn);
  BOOST_TEST(h.run("fine\r\n.\r\n").substr(0, 3) == "250");
}

BOOST_AUTO_TEST_CASE(starttls_injection_is_discarded_and_state_reset) {
  Harness h(tls_config());
  h.open();
  std::string out = h.run("STARTTLS\r\nMAIL FROM:<inject@evil.example>\r\nRCPT TO:<x@example.org>\r\n");
  BOOST_TEST(out == "220 2.0.0 Ready to start TLS\r\n");
  auto* hs = h.last(EventKind::tls_handshake);
  BOOST_REQUIRE(hs);
  BOOST_TEST(hs->discarded == 58u);  // both pipelined lines
  BOOST_TEST(!h.engine.wants_input());
  // Bytes arriving before the handshake completes are dropped as well.
  BOOST_TEST(h.run("NOOP\r\n") == "");
  h.engine.tls_started();
  BOOST_TEST(h.engine.tls_active());
  out = h.run("MAIL FROM:<a@example.com>\r\n");
  BOOST_TEST(out.substr(0, 9) == "503 5.5.1");  // EHLO required again (RFC 3207 4.2)
  BOOST_TEST(h.count(EventKind::mail) == 0u);
  out = h.run("EHLO client.example\r\nSTARTTLS\r\n");
  BOOST_TEST(!contains(out, "STARTTLS\r\n"));
  BOOST_TEST(contains(out, "503 5.5.1 TLS is already active"));
}

BOOST_AUTO_TEST_CASE(starttls_errors) {
  Harness plain;
  plain.open();
  BOOST_TEST(plain.run("STARTTLS\r\n").substr(0, 9) == "502 5.5.1");
  Harness h(tls_config());
  h.open();
  BOOST_TEST(h.run("STARTTLS now\r\n").substr(0, 9) == "501 5.5.4");
  h.run("MAIL FROM:<a@example.com>\r\n");
  BOOST_TEST(h.run("STARTTLS\r\n").substr(0, 9) == "503 5.5.1");
  h.run("RSET\r\n");
  h.policy = [](const Event& e) -> std::optional<Reply> {
    if (e.kind == EventKind::starttls) return Reply{454, "4.7.0", "TLS not available due to temporary reason"};
    return accept_all(e);
  };
  BOOST_TEST(h.run("STARTTLS\r\n") == "454 4.7.0 TLS not available due to temporary reason\r\n");
  BOOST_TEST(!h.engine.tls_active());
}

BOOST_AUTO_TEST_CASE(bdat_chunks_pipelined) {
  Harness h;
  h.open();
  h.run("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n");
  std::string out = h.run("BDAT 7\r\nHello\r\nBDAT 13\r\nQUIT\r\nworld\r\nBDAT 0 LAST\r\n");
  BOOST_TEST(out == "250 2.0.0 7 octets received\r\n250 2.0.0 13 octets received\r\n250 2.0.0 Queued as X1\r\n");
  BOOST_TEST(h.body == "Hello\r\nQUIT\r\nworld\r\n");  // octet-counted: "QUIT" is data
  BOOST_TEST(!h.engine.closed());
  auto* end = h.last(EventKind::message_end);
  BOOST_TEST(end->bdat);
  BOOST_TEST(end->size == 20u);
  BOOST_TEST(h.count(EventKind::data_start) == 1u);
  // A single LAST chunk, split across feeds.
  h.run("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nBDAT 4 LAST\r\nab");
  BOOST_TEST(h.run("\r\n") == "250 2.0.0 Queued as X1\r\n");
}

BOOST_AUTO_TEST_CASE(bdat_errors_keep_framing) {
  Harness h;
  h.open();
  // No transaction: the chunk is consumed, not executed.
  std::string out = h.run("BDAT 6\r\nQUIT\r\nNOOP\r\n");
  BOOST_TEST(out == "503 5.5.1 Need MAIL and RCPT before BDAT\r\n250 2.0.0 OK\r\n");
  BOOST_TEST(!h.engine.closed());
  // DATA after BDAT, BINARYMIME with DATA, RCPT after BDAT.
  h.run("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nBDAT 2\r\nab");
  BOOST_TEST(h.run("DATA\r\n").substr(0, 9) == "503 5.5.1");
  BOOST_TEST(h.run("RCPT TO:<c@example.org>\r\n").substr(0, 9) == "503 5.5.1");
  h.run("RSET\r\n");
  h.run("MAIL FROM:<a@example.com> BODY=BINARYMIME\r\nRCPT TO:<b@example.org>\r\n");
  BOOST_TEST(h.run("DATA\r\n").substr(0, 9) == "503 5.5.1");
  // Bare LF in a BINARYMIME chunk is fine; in a text chunk it is rejected.
  BOOST_TEST(h.run("BDAT 5 LAST\r\na\nb\rc").substr(0, 3) == "250");
  h.run("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n");
  BOOST_TEST(h.run("BDAT 5 LAST\r\na\nbcd").substr(0, 9) == "550 5.6.0");
  BOOST_TEST(h.count(EventKind::message_aborted) == 1u);
  // Malformed BDAT: framing is lost, the connection is closed.
  out = h.run("BDAT 12x\r\nwhatever");
  BOOST_TEST(out.substr(0, 9) == "501 5.5.4");
  BOOST_TEST(h.engine.closed());
}

BOOST_AUTO_TEST_CASE(bdat_refused_at_start_discards_the_chunk) {
  Harness h;
  h.policy = [](const Event& e) -> std::optional<Reply> {
    if (e.kind == EventKind::data_start) return Reply{554, "5.7.1", "Sender is blocked"};
    return accept_all(e);
  };
  h.open();
  std::string out = h.run("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nBDAT 6\r\nRSET\r\nBDAT 0 LAST\r\n");
  BOOST_TEST((codes_of(out) == std::vector<std::string>{"250", "250", "554", "503"}));
  BOOST_TEST(h.body.empty());
  BOOST_TEST(h.count(EventKind::message_end) == 0u);
}

BOOST_AUTO_TEST_CASE(bdat_size_limit) {
  ServerConfig c;
  c.max_message_size = 10;
  Harness h(c);
  h.open();
  h.run("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n");
  std::string out = h.run("BDAT 8\r\n12345678BDAT 8 LAST\r\n12345678NOOP\r\n");
  BOOST_TEST((codes_of(out) == std::vector<std::string>{"250", "552", "250"}));
  BOOST_TEST(contains(out, "552 5.3.4"));
}

BOOST_AUTO_TEST_CASE(auth_exchange_framing) {
  Harness h;
  h.run();
  h.engine.set_auth_mechanisms({"PLAIN", "LOGIN"});
  h.run("EHLO c\r\n");
  std::vector<std::string> seen;
  h.policy = [&](const Event& e) -> std::optional<Reply> {
    if (e.kind == EventKind::auth || e.kind == EventKind::auth_response) {
      seen.push_back(e.argument + "|" + (e.has_data ? "data:" + e.data : "none"));
      if (e.kind == EventKind::auth && e.argument == "LOGIN") return Reply{334, "", "Username:"};
      if (e.kind == EventKind::auth_response && e.data == "alice") return Reply{334, "", "Password:"};
      if (e.data == std::string("\0alice\0secret", 13) || e.data == "secret") return Reply{235, "2.7.0", ""};
      return Reply{535, "5.7.8", "Authentication credentials invalid"};
    }
    return accept_all(e);
  };
  // Unknown mechanism, bad base64, empty "=" initial response.
  BOOST_TEST(h.run("AUTH CRAM-MD5\r\n").substr(0, 9) == "504 5.5.4");
  BOOST_TEST(h.run("AUTH PLAIN !!!!\r\n").substr(0, 9) == "501 5.5.2");
  BOOST_TEST(h.run("AUTH PLAIN =\r\n").substr(0, 9) == "535 5.7.8");
  BOOST_TEST(seen.back() == "PLAIN|data:");
  // LOGIN: challenges are base64-encoded, "*" cancels.
  BOOST_TEST(h.run("AUTH LOGIN\r\n") == "334 VXNlcm5hbWU6\r\n");
  BOOST_TEST(h.run("*\r\n") == "501 5.0.0 Authentication cancelled\r\n");
  BOOST_TEST(h.count(EventKind::auth_aborted) == 1u);
  BOOST_TEST(h.run("AUTH LOGIN\r\n") == "334 VXNlcm5hbWU6\r\n");
  BOOST_TEST(h.run("not base64\r\n").substr(0, 9) == "501 5.5.2");
  BOOST_TEST(h.count(EventKind::auth_aborted) == 2u);
  BOOST_TEST(h.run("AUTH LOGIN\r\nYWxpY2U=\r\n") == "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n");
  BOOST_TEST(h.run("c2VjcmV0\r\n") == "235 2.7.0 Authentication successful\r\n");
  BOOST_TEST(h.engine.authenticated());
  BOOST_TEST(seen.back() == "|data:secret");
  BOOST_TEST(h.run("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n").substr(0, 9) == "503 5.5.1");
  BOOST_TEST(!contains(h.run("EHLO c\r\n"), "AUTH"));
}

BOOST_AUTO_TEST_CASE(auth_initial_response_and_sequence_rules) {
  Harness h;
  h.run();
  BOOST_TEST(h.run("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n").substr(0, 9) == "503 5.5.1");  // not offered
  h.engine.set_auth_mechanisms({"PLAIN"});
  BOOST_TEST(h.run("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n").substr(0, 9) == "503 5.5.1");  // no EHLO
  h.run("EHLO c\r\n");
  h.run("MAIL FROM:<a@example.com>\r\n");
  BOOST_TEST(h.run("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n").substr(0, 9) == "503 5.5.1");  // in a transaction
  h.run("RSET\r\n");
  BOOST_TEST(h.run("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n") == "235 2.7.0 Authentication successful\r\n");
  BOOST_TEST(h.last(EventKind::auth)->data == std::string("\0alice\0secret", 13));
}

BOOST_AUTO_TEST_CASE(require_auth_for_submission) {
  ServerConfig c;
  c.role = Role::submission;
  c.require_auth = true;
  Harness h(c);
  h.open();
  BOOST_TEST(h.run("MAIL FROM:<a@example.com>\r\n") == "530 5.7.0 Authentication required\r\n");
}

BOOST_AUTO_TEST_CASE(mail_parameters) {
  ServerConfig c;
  c.deliverby = 60;
  c.max_errors = 100;
  Harness h(c, true);
  h.open();
  h.run("MAIL FROM:<a@example.com> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+2B1 REQUIRETLS "
        "AUTH=<> BY=120;R\r\n");
  auto* m = h.last(EventKind::mail);
  BOOST_REQUIRE(m);
  BOOST_TEST(*m->mail_params.size == 1000u);
  BOOST_TEST((m->mail_params.body == BodyType::eight_bit_mime));
  BOOST_TEST(m->mail_params.smtputf8);
  BOOST_TEST((m->mail_params.ret == DsnRet::hdrs));
  BOOST_TEST(*m->mail_params.envid == "QQ+1");
  BOOST_TEST(m->mail_params.requiretls);
  BOOST_TEST(*m->mail_params.auth == "<>");
  BOOST_TEST(*m->mail_params.deliver_by == 120);
  BOOST_TEST(m->mail_params.deliver_by_mode == 'R');
  h.run("RSET\r\n");
  struct Case { const char* cmd; const char* want; };
  for (Case k : {Case{"MAIL FROM:<a@example.com> SIZE=26214401", "552 5.3.4"},
                 Case{"MAIL FROM:<a@example.com> SIZE=abc", "501 5.5.4"},
                 Case{"MAIL FROM:<a@example.com> SIZE=1 SIZE=2", "501 5.5.4"},
                 Case{"MAIL FROM:<a@example.com> BODY=9BIT", "501 5.5.4"},
                 Case{"MAIL FROM:<a@example.com> RET=ALL", "501 5.5.4"},
                 Case{"MAIL FROM:<a@example.com> ENVID=a+zz", "501 5.5.4"},
                 Case{"MAIL FROM:<a@example.com> SMTPUTF8=yes", "501 5.5.4"},
                 Case{"MAIL FROM:<a@example.com> BY=10;R", "553 5.7.0"},
                 Case{"MAIL FROM:<a@example.com> BY=10;X", "501 5.5.4"},
                 Case{"MAIL FROM:<a@example.com> XFOO=1", "555 5.5.4"},
                 Case{"MAIL FROM:a@example.com", "501 5.1.7"},
                 Case{"MAIL FROM:<a@example.com>SIZE=1", "501 5.5.4"},
                 Case{"MAIL TO:<a@example.com>", "501 5.5.4"},
                 Case{"MAIL FROM:<j\xC3\xBCrgen@example.com>", "553 5.6.7"}}) {
    BOOST_TEST_INFO(k.cmd);
    BOOST_TEST(h.run(std::string(k.cmd) + "\r\n").substr(0, 9) == k.want);
  }
  BOOST_TEST(h.count(EventKind::mail) == 1u);
  // Tolerated space after the colon, UTF-8 with SMTPUTF8, null reverse-path.
  BOOST_TEST(h.run("MAIL FROM: <j\xC3\xBCrgen@example.com> SMTPUTF8\r\n").substr(0, 3) == "250");
  h.run("RSET\r\n");
  BOOST_TEST(h.run("MAIL FROM:<>\r\n").substr(0, 3) == "250");
  BOOST_TEST(h.last(EventKind::mail)->path.null);
}

BOOST_AUTO_TEST_CASE(requiretls_only_over_tls) {
  Harness h;
  h.open();
  BOOST_TEST(h.run("MAIL FROM:<a@example.com> REQUIRETLS\r\n").substr(0, 9) == "555 5.5.4");
  ServerConfig c;
  c.dsn = false;
  Harness nodsn(c);
  nodsn.open();
  BOOST_TEST(nodsn.run("MAIL FROM:<a@example.com> RET=FULL\r\n").substr(0, 9) == "555 5.5.4");
}

BOOST_AUTO_TEST_CASE(rcpt_parameters_and_paths) {
  Harness h;
  h.open();
  h.run("MAIL FROM:<a@example.com>\r\n");
  h.run("RCPT TO:<b@example.org> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b+2Bx@example.org\r\n");
  auto* r = h.last(EventKind::rcpt);
  BOOST_TEST(r->rcpt_params.notify.success);
  BOOST_TEST(r->rcpt_params.notify.delay);
  BOOST_TEST(!r->rcpt_params.notify.failure);
  BOOST_TEST(*r->rcpt_params.orcpt_type == "rfc822");
  BOOST_TEST(*r->rcpt_params.orcpt == "b+x@example.org");
  h.run("RCPT TO:<@hop.example:c@example.org>\r\n");
  BOOST_TEST(h.last(EventKind::rcpt)->path.mailbox.address() == "c@example.org");
  h.run("RCPT TO:<Postmaster>\r\n");
  BOOST_TEST(h.last(EventKind::rcpt)->path.postmaster);
  h.run("RCPT TO:<\"odd name\"@[192.0.2.7]>\r\n");
  BOOST_TEST(h.last(EventKind::rcpt)->path.mailbox.address() == "\"odd name\"@[192.0.2.7]");
  struct Case { const char* cmd; const char* want; };
  for (Case k : {Case{"RCPT TO:<b@example.org> NOTIFY=NEVER,SUCCESS", "501 5.5.4"},
                 Case{"RCPT TO:<b@example.org> NOTIFY=FAILURE,FAILURE", "501 5.5.4"},
                 Case{"RCPT TO:<b@example.org> NOTIFY=", "501 5.5.4"},
                 Case{"RCPT TO:<b@example.org> ORCPT=b@example.org", "501 5.5.4"},
                 Case{"RCPT TO:<b@example.org> FOO", "555 5.5.4"},
                 Case{"RCPT TO:<>", "501 5.1.3"},
                 Case{"RCPT TO:<b@@example.org>", "501 5.1.3"},
                 Case{"RCPT TO:<\xC3\xBC@example.org>", "553 5.6.7"},
                 Case{"RCPT FROM:<b@example.org>", "501 5.5.4"}}) {
    BOOST_TEST_INFO(k.cmd);
    BOOST_TEST(h.run(std::string(k.cmd) + "\r\n").substr(0, 9) == k.want);
  }
}

// The paths MAIL and RCPT take are lib/mime's (mime::parse_smtp_path): what the client sees of it.
BOOST_AUTO_TEST_CASE(paths_through_the_shared_parser) {
  ServerConfig c;
  c.max_errors = 100;
  Harness h(c);
  h.open();
  // Quoted local parts: unquoted in the event, written back minimally quoted (RFC 5321 4.1.2).
  BOOST_TEST(h.run("MAIL FROM:<\"john smith\"@Example.COM>\r\n").substr(0, 3) == "250");
  BOOST_TEST(h.last(EventKind::mail)->path.mailbox.local_part == "john smith");
  BOOST_TEST(h.last(EventKind::mail)->path.mailbox.address() == "\"john smith\"@Example.COM");  // case kept
  BOOST_TEST(h.run("RCPT TO:<\"Joe\"@example.org>\r\n").substr(0, 3) == "250");
  BOOST_TEST(h.last(EventKind::rcpt)->path.mailbox.address() == "Joe@example.org");  // needless quotes dropped
  // Address literals (RFC 5321 4.1.3).
  BOOST_TEST(h.run("RCPT TO:<a@[IPv6:2001:db8::1]>\r\n").substr(0, 3) == "250");
  BOOST_TEST(h.last(EventKind::rcpt)->path.mailbox.literal_address() == "2001:db8::1");
  BOOST_TEST(h.run("RCPT TO:<a@[192.0.2.1]>\r\n").substr(0, 3) == "250");
  BOOST_TEST(h.run("RCPT TO:<a@[x-tag:abc]>\r\n").substr(0, 3) == "250");
  // Source routes are accepted and ignored (RFC 5321 4.1.2, appendix C).
  BOOST_TEST(h.run("RCPT TO:<@a.example,@b.example:user@d.example>\r\n").substr(0, 3) == "250");
  BOOST_TEST(h.last(EventKind::rcpt)->path.mailbox.address() == "user@d.example");
  // "<Postmaster>" without a domain only at RCPT (RFC 5321 4.5.1).
  BOOST_TEST(h.run("RCPT TO:<postMaster>\r\n").substr(0, 3) == "250");
  BOOST_TEST(h.last(EventKind::rcpt)->path.postmaster);
  const std::size_t rcpts = h.count(EventKind::rcpt);
  std::string local64(64, 'l'), domain;
  for (int i = 0; i < 3; ++i) domain += std::string(60, 'd') + ".";
  domain += "example";  // 190 octets: with a 64-octet local part the path is over 256
  struct Case { std::string cmd; const char* want; };
  for (const Case& k : {Case{"RCPT TO:<a@[IPv6:2001:db8::g]>", "501 5.1.3"},
                        Case{"RCPT TO:<a@[300.1.1.1]>", "501 5.1.3"},
                        Case{"RCPT TO:<a@[1.2.3]>", "501 5.1.3"},
                        Case{"RCPT TO:<@a.example,:user@d.example>", "501 5.1.3"},  // empty At-domain
                        Case{"RCPT TO:<@[192.0.2.1]:user@d.example>", "501 5.1.3"},  // At-domain is a name
                        Case{"RCPT TO:<@a.example user@d.example>", "501 5.1.3"},
                        Case{"RCPT TO:<\"unterminated@example.org>", "501 5.1.3"},
                        Case{"RCPT TO:<a@" + std::string(64, 'x') + ".example>", "501 5.1.3"},  // label > 63
                        Case{"RCPT TO:<" + local64 + "l@example.org>", "501 5.1.3"},  // local part > 64
                        Case{"RCPT TO:<" + local64 + "@" + domain + ">", "501 5.1.3"},  // path > 256
                        Case{"RCPT TO:<\"j\xC3\xBCrgen\"@example.org>", "553 5.6.7"},  // UTF-8, no SMTPUTF8
                        Case{"RCPT TO:<j@b\xC3\xBC" "cher.example>", "553 5.6.7"}}) {
    BOOST_TEST_INFO(k.cmd);
    std::string out = h.run(k.cmd + "\r\n");
    BOOST_TEST(out.substr(0, 9) == k.want);
    check_enhanced(out);
  }
  BOOST_TEST(h.count(EventKind::rcpt) == rcpts);
  BOOST_TEST(h.run("RCPT TO:<" + local64 + "@example.org>\r\n").substr(0, 3) == "250");  // exactly 64
  h.run("RSET\r\n");
  for (const Case& k : {Case{"MAIL FROM:<" + local64 + "l@example.org>", "501 5.1.7"},
                        Case{"MAIL FROM:<" + local64 + "@" + domain + ">", "501 5.1.7"},
                        Case{"MAIL FROM:<Postmaster>", "501 5.1.7"},
                        Case{"MAIL FROM:<a@[IPv6:::g]>", "501 5.1.7"},
                        Case{"MAIL FROM:<\xC3\xBC@example.org>", "553 5.6.7"}}) {
    BOOST_TEST_INFO(k.cmd);
    BOOST_TEST(h.run(k.cmd + "\r\n").substr(0, 9) == k.want);
  }
  // With SMTPUTF8 (RFC 6531 3.4) UTF-8 local parts and U-label domains are paths; malformed UTF-8 is not.
  BOOST_TEST(h.run("MAIL FROM:<\xC3\xBC@b\xC3\xBC" "cher.example> SMTPUTF8\r\n").substr(0, 3) == "250");
  BOOST_TEST(h.last(EventKind::mail)->path.mailbox.needs_smtputf8());
  BOOST_TEST(h.run("RCPT TO:<\xE7\x94\xA8\xE6\x88\xB7@example.org>\r\n").substr(0, 3) == "250");
  BOOST_TEST(h.last(EventKind::rcpt)->path.mailbox.local_part == "\xE7\x94\xA8\xE6\x88\xB7");
  BOOST_TEST(h.run("RCPT TO:<\"j\xC3\xBCrgen\"@example.org>\r\n").substr(0, 3) == "250");
  BOOST_TEST(h.run("RCPT TO:<j\xC3rgen@example.org>\r\n").substr(0, 9) == "501 5.1.3");
}

BOOST_AUTO_TEST_CASE(sequence_errors) {
  Harness h;
  h.run();
  BOOST_TEST(h.run("MAIL FROM:<a@example.com>\r\n").substr(0, 9) == "503 5.5.1");
  h.run("EHLO c\r\n");
  BOOST_TEST(h.run("RCPT TO:<b@example.org>\r\n").substr(0, 9) == "503 5.5.1");
  BOOST_TEST(h.run("DATA\r\n").substr(0, 9) == "503 5.5.1");
  h.run("MAIL FROM:<a@example.com>\r\n");
  BOOST_TEST(h.run("MAIL FROM:<a@example.com>\r\n").substr(0, 9) == "503 5.5.1");
  BOOST_TEST(h.run("DATA\r\n").substr(0, 9) == "554 5.5.1");
  BOOST_TEST(h.run("DATA now\r\n").substr(0, 9) == "501 5.5.4");
  BOOST_TEST(h.run("RSET x\r\n").substr(0, 9) == "501 5.5.4");
  h.run("RSET\r\n");
  BOOST_TEST(h.count(EventKind::reset) == 1u);
  BOOST_TEST(h.run("RCPT TO:<b@example.org>\r\n").substr(0, 9) == "503 5.5.1");
}

BOOST_AUTO_TEST_CASE(rejections_from_the_caller) {
  Harness h;
  h.policy = [](const Event& e) -> std::optional<Reply> {
    if (e.kind == EventKind::rcpt && e.path.mailbox.local_part == "nobody") return Reply{550, "5.1.1", "No such user"};
    if (e.kind == EventKind::message_end) return Reply{554, "5.7.1", "Spam"};
    return accept_all(e);
  };
  h.open();
  std::string out = h.run("MAIL FROM:<a@example.com>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n");
  BOOST_TEST((codes_of(out) == std::vector<std::string>{"250", "550", "554"}));
  BOOST_TEST(contains(out, "554 5.5.1 No valid recipients"));
  out = h.run("RCPT TO:<b@example.org>\r\nDATA\r\nx\r\n.\r\n");
  BOOST_TEST((codes_of(out) == std::vector<std::string>{"250", "354", "554"}));
  BOOST_TEST(contains(out, "554 5.7.1 Spam"));
  check_enhanced(out);
}

BOOST_AUTO_TEST_CASE(connect_rejection_and_421) {
  Harness h;
  h.policy = [](const Event& e) -> std::optional<Reply> {
    if (e.kind == EventKind::connect) return Reply{554, "5.7.1", "Your IP is listed"};
    return accept_all(e);
  };
  BOOST_TEST(h.run() == "554 5.7.1 Your IP is listed\r\n");
  BOOST_TEST(h.run("EHLO c\r\n").substr(0, 9) == "503 5.5.1");
  BOOST_TEST(h.run("QUIT\r\n").substr(0, 9) == "221 2.0.0");
  BOOST_TEST(h.engine.closed());

  Harness t;
  t.policy = [](const Event& e) -> std::optional<Reply> {
    if (e.kind == EventKind::mail) return Reply{421, "4.7.0", "Try again later"};
    return accept_all(e);
  };
  t.open();
  BOOST_TEST(t.run("MAIL FROM:<a@example.com>\r\nNOOP\r\n") == "421 4.7.0 Try again later\r\n");
  BOOST_TEST(t.engine.closed());
  BOOST_TEST(t.last(EventKind::close)->reply.code == 421);
}

BOOST_AUTO_TEST_CASE(line_length_limits) {
  Harness h;
  h.open();
  std::string longcmd = "NOOP " + std::string(600, 'x') + "\r\n";
  BOOST_TEST(h.run(longcmd + "NOOP\r\n") ==
             "500 5.5.2 Line too long: command lines are limited to 512 octets (RFC 5321 4.5.3.1.4)\r\n250 2.0.0 OK\r\n");
  // Exactly 512 with CRLF is fine; 513 is not.
  BOOST_TEST(h.run("NOOP " + std::string(505, 'x') + "\r\n") == "250 2.0.0 OK\r\n");
  BOOST_TEST(h.run("NOOP " + std::string(506, 'x') + "\r\n").substr(0, 9) == "500 5.5.2");
  // A long line arriving in pieces.
  BOOST_TEST(h.run(std::string(400, 'y')) == "");
  BOOST_TEST(h.run(std::string(400, 'y')) == "");
  BOOST_TEST(h.run("\r\nNOOP\r\n").substr(0, 9) == "500 5.5.2");
  BOOST_TEST(h.run("NOOP\n").substr(0, 9) == "500 5.5.2");  // bare LF command line

  ServerConfig c;
  c.max_text_line_tolerated = 2000;
  Harness t(c);
  t.open();
  t.run(txn);
  BOOST_TEST(t.run(std::string(1500, 'a') + "\r\n.\r\n").substr(0, 3) == "250");  // > 1000 tolerated
  t.run(txn);
  std::string out = t.run(std::string(2001, 'a') + "\r\nok\r\n.\r\n");
  BOOST_TEST(out.substr(0, 9) == "500 5.5.2");
  BOOST_TEST(t.count(EventKind::message_aborted) == 1u);
}

BOOST_AUTO_TEST_CASE(message_size_limit_in_data) {
  ServerConfig c;
  c.max_message_size = 100;
  Harness h(c);
  h.open();
  BOOST_TEST(h.run("MAIL FROM:<a@example.com> SIZE=101\r\n").substr(0, 9) == "552 5.3.4");
  h.run(txn);
  std::string out = h.run(std::string(150, 'z') + "\r\n.\r\n");
  BOOST_TEST(out.substr(0, 9) == "552 5.3.4");
  BOOST_TEST(h.count(EventKind::message_end) == 0u);
  BOOST_TEST(h.last(EventKind::message_aborted)->reply.code == 552);
}

BOOST_AUTO_TEST_CASE(too_many_recipients) {
  ServerConfig c;
  c.max_recipients = 2;
  Harness h(c);
  h.open();
  std::string out = h.run(
      "MAIL FROM:<a@example.com>\r\nRCPT TO:<b1@example.org>\r\nRCPT TO:<b2@example.org>\r\nRCPT "
      "TO:<b3@example.org>\r\nDATA\r\n");
  BOOST_TEST((codes_of(out) == std::vector<std::string>{"250", "250", "250", "452", "354"}));
  BOOST_TEST(contains(out, "452 4.5.3 Too many recipients"));
}

BOOST_AUTO_TEST_CASE(too_many_errors_disconnects) {
  ServerConfig c;
  c.max_errors = 3;
  Harness h(c);
  h.open();
  std::string out = h.run("FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n");
  BOOST_TEST((codes_of(out) == std::vector<std::string>{"500", "500", "500", "421"}));
  BOOST_TEST(contains(out, "421 4.7.0"));
  BOOST_TEST(h.engine.closed());
  BOOST_TEST(h.run("NOOP\r\n") == "");
}

BOOST_AUTO_TEST_CASE(too_many_junk_commands_disconnects) {
  ServerConfig c;
  c.max_junk_commands = 3;
  Harness h(c);
  h.run();
  std::string out = h.run("NOOP\r\nRSET\r\nHELP\r\nNOOP\r\n");
  BOOST_TEST((codes_of(out) == std::vector<std::string>{"250", "250", "214", "421"}));
  BOOST_TEST(h.engine.closed());
}

BOOST_AUTO_TEST_CASE(misc_commands) {
  Harness h;
  h.open();
  BOOST_TEST(h.run("VRFY alice\r\n") ==
             "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n");
  BOOST_TEST(h.count(EventKind::vrfy) == 0u);
  BOOST_TEST(h.run("VRFY\r\n").substr(0, 9) == "501 5.5.4");
  BOOST_TEST(h.run("EXPN list\r\n").substr(0, 9) == "502 5.5.1");
  std::string help = h.run("HELP\r\n");
  BOOST_TEST(help.substr(0, 10) == "214-2.0.0 ");
  BOOST_TEST(contains(help, "214 2.0.0 See RFC 5321"));
  BOOST_TEST(h.run("noop\r\n") == "250 2.0.0 OK\r\n");  // verbs are case-insensitive
  BOOST_TEST(h.run("XYZZY\r\n") == "500 5.5.1 Command unrecognized\r\n");
  BOOST_TEST(h.run("LHLO c\r\n") == "500 5.5.1 Command unrecognized\r\n");
  BOOST_TEST(h.run("NO\0OP\r\n"[0] ? std::string("NO\0OP\r\n", 7) : "").substr(0, 9) == "501 5.5.2");
  ServerConfig c;
  c.vrfy = true;
  Harness v(c);
  v.open();
  BOOST_TEST(v.run("VRFY alice\r\n") == "252 2.5.0 Will try\r\n");
  BOOST_TEST(v.last(EventKind::vrfy)->argument == "alice");

  Harness web;
  web.run();
  BOOST_TEST(web.run("GET / HTTP/1.1\r\nHost: x\r\n\r\n").substr(0, 9) == "500 5.5.1");
  BOOST_TEST(web.engine.closed());
}

BOOST_AUTO_TEST_CASE(ehlo_resets_transaction) {
  Harness h;
  h.open();
  h.run("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n");
  h.run("EHLO again\r\n");
  BOOST_TEST(h.count(EventKind::reset) == 1u);
  BOOST_TEST(h.run("DATA\r\n").substr(0, 9) == "503 5.5.1");
}

BOOST_AUTO_TEST_CASE(lmtp_per_recipient_replies) {
  ServerConfig c;
  c.role = Role::lmtp;
  Harness h(c);
  int n = 0;
  h.policy = [&](const Event& e) -> std::optional<Reply> {
    if (e.kind == EventKind::message_end) {
      return ++n == 2 ? Reply{452, "4.2.2", "Mailbox full"} : Reply{250, "2.0.0", "Delivered"};
    }
    return accept_all(e);
  };
  BOOST_TEST(h.run() == "220 localhost LMTP Tern ready\r\n");
  BOOST_TEST(h.run("EHLO c\r\n").substr(0, 9) == "500 5.5.1");
  BOOST_TEST(h.run("HELO c\r\n").substr(0, 9) == "500 5.5.1");
  BOOST_TEST(h.run("LHLO c\r\n").substr(0, 4) == "250-");
  std::string out = h.run(
      "MAIL FROM:<a@example.com>\r\nRCPT TO:<b1@example.org>\r\nRCPT TO:<b2@example.org>\r\nRCPT "
      "TO:<b3@example.org>\r\nDATA\r\nhi\r\n.\r\n");
  BOOST_TEST(out ==
             "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient "
             "OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Delivered\r\n452 4.2.2 Mailbox full\r\n250 "
             "2.0.0 Delivered\r\n");
  BOOST_TEST(h.last(EventKind::message_end)->recipients == 3u);
  // An engine-side rejection also owes one reply per recipient.
  out = h.run("MAIL FROM:<a@example.com>\r\nRCPT TO:<b1@example.org>\r\nRCPT TO:<b2@example.org>\r\nDATA\r\nbad\n.\r\n.\r\n");
  BOOST_TEST((codes_of(out) == std::vector<std::string>{"250", "250", "250", "354", "550", "550"}));
}

BOOST_AUTO_TEST_CASE(lmtp_async_per_recipient) {
  ServerConfig c;
  c.role = Role::lmtp;
  Harness h(c);
  h.open("LHLO c\r\n");
  h.run("MAIL FROM:<a@example.com>\r\nRCPT TO:<b1@example.org>\r\nRCPT TO:<b2@example.org>\r\nDATA\r\n");
  h.hold = true;
  BOOST_TEST(h.run("x\r\n.\r\nNOOP\r\n") == "");
  BOOST_TEST(h.engine.reply({250, "2.0.0", "one"}));
  h.pump();
  BOOST_TEST(h.engine.take_output() == "250 2.0.0 one\r\n");
  BOOST_TEST(h.engine.awaiting_reply());
  BOOST_TEST(h.engine.reply({550, "5.2.1", "two"}));
  h.pump();
  BOOST_TEST(h.engine.take_output() == "550 5.2.1 two\r\n250 2.0.0 OK\r\n");
}

BOOST_AUTO_TEST_CASE(lmtp_bdat_last_gets_per_recipient_replies_and_utf8_rcpt) {
  ServerConfig c;
  c.role = Role::lmtp;
  Harness h(c);
  h.open("LHLO c\r\n");
  std::string out = h.run(
      "MAIL FROM:<a@example.com> SMTPUTF8\r\nRCPT TO:<b\xC3\xBC@example.org>\r\nRCPT TO:<c@example.org>\r\n"
      "BDAT 3 LAST\r\nxyz");
  BOOST_TEST((codes_of(out) == std::vector<std::string>{"250", "250", "250", "250", "250"}));
  BOOST_TEST(h.last(EventKind::message_end)->bdat);
  BOOST_TEST(h.body == "xyz");
}

BOOST_AUTO_TEST_CASE(body_pipelined_before_354_is_body) {
  // A client that does not wait for 354 (RFC 2920 forbids it): the bytes after DATA are the body,
  // never commands, once DATA is accepted.
  Harness h;
  h.open();
  std::string out = h.run(std::string(txn) + "RSET\r\n.\r\n");
  BOOST_TEST((codes_of(out) == std::vector<std::string>{"250", "250", "354", "250"}));
  BOOST_TEST(h.body == "RSET\r\n");
  BOOST_TEST(h.count(EventKind::reset) == 0u);
}

BOOST_AUTO_TEST_CASE(timeout_close) {
  Harness h;
  h.open();
  h.engine.close_with({421, "4.4.2", "Timeout; closing connection"});
  BOOST_TEST(h.engine.take_output() == "421 4.4.2 Timeout; closing connection\r\n");
  h.pump();
  BOOST_TEST(h.count(EventKind::close) == 1u);
}

BOOST_AUTO_TEST_CASE(enhanced_codes_on_every_reply_of_a_session) {
  Harness h(tls_config());
  std::string all = h.run();
  h.engine.set_auth_mechanisms({"PLAIN"});
  all.clear();
  h.run("EHLO c\r\n");
  all += h.run("NOOP\r\nHELP\r\nVRFY x\r\nFOO\r\nMAIL FROM:<a@example.com> SIZE=1\r\nRCPT TO:<b@example.org>\r\n");
  all += h.run("DATA\r\n");
  all += h.run("x\r\n.\r\nRCPT TO:<b@x>\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nRSET\r\nQUIT\r\n");
  check_enhanced(all);
}

BOOST_AUTO_TEST_SUITE_END()
