// tern::smtp::ServerEngine — the sans-I/O SMTP server (RFC 5321) for the roles smtp (MTA),
// submission, submissions (implicit TLS) and lmtp (RFC 2033). Bytes in, events out: no socket, no
// Asio, no clock, no store. The caller (the session) answers the events that need a decision, at
// once or later (async hooks); until it does, the engine processes nothing further, and afterwards
// continues with whatever the client had pipelined (RFC 2920).
//
// The session pump:
//
//   engine.feed(bytes_read);                       // or nothing, right after accept()
//   while (auto ev = engine.next_event()) {
//     switch (ev->kind) {
//       case EventKind::mail: start_hook(*ev);     // later, maybe on another turn of the loop:
//                                                  //   engine.reply({250, "2.1.0", "Sender OK"});
//                                                  //   then run this loop again
//       case EventKind::body: sink.write(ev->data); break;
//       case EventKind::tls_handshake: write(engine.take_output()); do_handshake(); engine.tls_started(); break;
//       case EventKind::close: write(engine.take_output()); close(); return;
//       ...
//     }
//   }
//   socket.write(engine.take_output());            // all replies of a pipelined group in one write
//   if (engine.wants_input()) read more;           // else wait for the pending decision (backpressure)
//
// next_event() returns nullopt when it needs more bytes or while a decision is pending
// (awaiting_reply()). Events that need a decision are answered with reply() (exactly once; for an
// LMTP message_end once per accepted recipient, in RCPT order); informational events need nothing.
//
// What each event means and what the session must do:
//   connect        new connection: reply 220 (text defaults to "<hostname> ESMTP Tern") or 554/421.
//                  After a 554 the engine answers every command except QUIT with 503 (RFC 5321 3.1).
//   helo           EHLO/HELO/LHLO `verb`, client name in `argument`: reply 250 (the engine appends
//                  the EHLO keywords) or a rejection. Call set_auth_mechanisms() before replying
//                  to choose what AUTH is advertised now (e.g. nothing before TLS). Any transaction
//                  is reset (RFC 5321 4.1.4).
//   starttls       reply 220 to go ahead (or 454 4.7.0). After 220 the engine discards every byte
//                  the client pipelined after STARTTLS (CVE-2011-0411) and emits tls_handshake.
//   tls_handshake  flush take_output(), run the TLS handshake, then call tls_started(): the session
//                  returns to its initial state (EHLO required again, RFC 3207 4.2).
//   auth           AUTH `argument` (mechanism, upper case) with optional decoded initial response
//                  `data`/`has_data` ("=" gives an empty one). Run the SASL mechanism and answer
//                  with reply({334, "", raw_challenge}) (the engine base64-encodes it), 235 2.7.0 on
//                  success or a failure (535 5.7.8, 538 5.7.11, 454 4.7.0 ...).
//   auth_response  the client's decoded answer to a 334 challenge in `data`; answer as for auth.
//   auth_aborted   the client cancelled ("*") or sent invalid base64; the engine already replied
//                  501. Drop the SASL state.
//   mail           MAIL FROM `path` with `mail_params`: reply 250 2.1.0 or a rejection.
//   rcpt           RCPT TO `path` with `rcpt_params`: reply 250 2.1.5 or a rejection.
//   data_start     DATA (`bdat` false): reply 354 to receive the body, or a rejection. For the
//                  first BDAT of a message (`bdat` true) any reply < 400 accepts (nothing is sent
//                  then; the engine acknowledges chunks itself), a rejection discards the chunk.
//   body           a piece of the message in `data`: dot-unstuffed, CRLF preserved, in order.
//   message_end    end of DATA / BDAT LAST with `size` octets: reply 250 2.0.0 (the message is
//                  the caller's now) or a rejection. LMTP: reply `recipients` times, one per
//                  accepted RCPT in order (RFC 2033 4.2).
//   message_aborted the engine rejected the message itself (bare CR/LF, line too long, too big);
//                  `reply` says why and was already sent. Discard what body you received.
//   reset          the transaction was cleared (RSET, EHLO, failure): forget the envelope.
//   vrfy           only when config.vrfy: reply 250/251/252/550/553 for `argument`.
//   close          the engine wants the connection closed once take_output() is flushed (QUIT,
//                  421, too many errors).
//
// Smuggling-safe framing (CVE-2023-51764, CVE-2023-51765, CVE-2023-51766, "SMTP smuggling"):
// the end of DATA is <CRLF>.<CRLF> and nothing else. A bare LF or bare CR anywhere in DATA (which
// includes "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r\n.\r") never ends the data and never starts
// a new line for dot detection; the engine reads on to the real <CRLF>.<CRLF> and then rejects the
// whole message with "550 5.6.0" (bare line endings are forbidden by RFC 5321 2.3.8), so nothing
// after a bare-LF dot can become a second transaction, here or at a server we relay to. BDAT chunks
// are octet-counted; a bare CR or LF in them is rejected the same way unless BODY=BINARYMIME.
// Command lines must end in CRLF (a bare LF line gets 500 5.5.2).
//
// Limits: command lines 512 octets with CRLF (RFC 5321 4.5.3.1.4, 500 5.5.2 "line too long");
// text lines: RFC 5321 4.5.3.1.6 says 1000, longer lines are tolerated up to
// `max_text_line_tolerated`, beyond that the message is rejected at its end with 500 5.5.2; message
// size: SIZE= above the limit is refused at MAIL (552 5.3.4), a body above it at its end (552
// 5.3.4); recipients: 452 4.5.3 past `max_recipients` (RFC 5321 4.5.3.1.10); errors: after
// `max_errors` negative replies the engine sends 421 4.7.0 and closes; commands without a
// transaction (NOOP, RSET, VRFY, HELP, EHLO, unknown): `max_junk_commands`, then 421 4.7.0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/smtp/envelope.hpp"
#include "tern/smtp/reply.hpp"

namespace tern::smtp {

enum class Role { smtp, submission, submissions, lmtp };

struct ServerConfig {
  Role role = Role::smtp;
  std::string hostname = "localhost";  // in the greeting and EHLO reply

  // Extensions advertised in EHLO (ENHANCEDSTATUSCODES is always on, RFC 2034).
  bool pipelining = true;       // RFC 2920
  bool eightbitmime = true;     // RFC 6152
  bool smtputf8 = true;         // RFC 6531
  bool chunking = true;         // RFC 3030 CHUNKING (BDAT)
  bool binarymime = true;       // RFC 3030 BINARYMIME (only with chunking)
  bool dsn = true;              // RFC 3461
  bool starttls = false;        // RFC 3207: offered (the listener has a certificate), never inside TLS
  bool requiretls = true;       // RFC 8689: advertised and accepted only over TLS
  std::uint32_t deliverby = 0;  // RFC 2852: 0 = not offered, else the min-by-time advertised
  bool vrfy = false;            // false: VRFY answers 252 2.5.0 without asking the caller
  bool require_auth = false;    // MAIL before AUTH gets 530 5.7.0 (submission)

  // Limits.
  std::size_t max_command_line = 512;           // octets incl. CRLF (RFC 5321 4.5.3.1.4)
  std::size_t max_auth_line = 12288;            // SASL response lines (RFC 4954 4)
  std::size_t max_text_line_tolerated = 8192;   // octets excl. CRLF; RFC 5321's 1000 is tolerated above
  std::uint64_t max_message_size = 25u << 20;   // advertised as SIZE, enforced (RFC 1870)
  std::size_t max_recipients = 100;             // per transaction (RFC 5321 4.5.3.1.8: at least 100)
  std::size_t max_errors = 10;                  // negative replies before 421 4.7.0
  std::size_t max_junk_commands = 50;           // commands without a transaction before 421 4.7.0
  std::size_t body_chunk_size = 64 * 1024;      // largest body event
  std::size_t max_buffered_input = 64 * 1024;   // wants_input() turns false above this
};

enum class EventKind {
  connect, helo, starttls, tls_handshake, auth, auth_response, auth_aborted, mail, rcpt,
  data_start, body, message_end, message_aborted, reset, vrfy, close,
};
std::string_view to_string(EventKind k) noexcept;

struct Event {
  EventKind kind = EventKind::connect;
  std::string verb;                // helo: "EHLO", "HELO" or "LHLO"
  std::string argument;            // helo: client name; auth: mechanism; vrfy: argument
  std::string data;                // body: octets; auth/auth_response: decoded client data
  bool has_data = false;           // auth: an initial response was given
  MailPath path;                   // mail: reverse-path; rcpt: forward-path
  MailParams mail_params;          // mail
  RcptParams rcpt_params;          // rcpt
  bool bdat = false;               // data_start/message_end: the message came by BDAT
  std::uint64_t size = 0;          // message_end: octets received
  std::size_t recipients = 0;      // message_end: accepted recipients (LMTP: replies owed)
  std::size_t discarded = 0;       // tls_handshake: octets pipelined after STARTTLS, thrown away
  Reply reply;                     // message_aborted, close: what the engine sent
};

class ServerEngine {
 public:
  // `tls_active`: the connection is already TLS (submissions, implicit TLS).
  explicit ServerEngine(ServerConfig config, bool tls_active = false);

  // Bytes from the client (after TLS decryption). Ignored once closed and while a STARTTLS
  // handshake is pending.
  void feed(std::string_view bytes);
  // The next event, or nullopt if more input is needed or a decision is pending.
  std::optional<Event> next_event();
  // Answers the pending decision. Ignored (returns false) when nothing is pending.
  bool reply(const Reply& r);
  // Replaces the AUTH mechanisms advertised and accepted from now on (empty: AUTH not offered).
  void set_auth_mechanisms(std::vector<std::string> mechanisms);
  // The TLS handshake after STARTTLS succeeded: state back to the start, EHLO required again.
  void tls_started();
  // Sends `r` (normally 421 4.4.2 on a timeout, or 421 4.3.2 on shutdown) and closes.
  void close_with(const Reply& r);

  // Reply bytes to write to the client; empties the buffer.
  std::string take_output();
  bool has_output() const noexcept { return !out_.empty(); }

  bool awaiting_reply() const noexcept { return pending_ != Pending::none; }
  bool closed() const noexcept { return closed_; }
  bool tls_active() const noexcept { return tls_; }
  bool authenticated() const noexcept { return authenticated_; }
  // False while closed, during a STARTTLS handshake, or when too much input is buffered (stop
  // reading from the socket until the pending decision is answered).
  bool wants_input() const noexcept;
  const ServerConfig& config() const noexcept { return config_; }

 private:
  enum class Phase { start, command, data, bdat, auth, tls_wait, closed };
  enum class Pending { none, connect, helo, starttls, auth, mail, rcpt, data_start, message_end, vrfy };

  bool step();
  void handle_command(std::string_view line);
  bool handle_data();
  bool handle_bdat();
  void handle_auth_line(std::string_view line);
  std::optional<Reply> parse_mail_params(std::string_view s, MailParams& p) const;
  std::optional<Reply> parse_rcpt_params(std::string_view s, RcptParams& p) const;
  bool take_line(std::size_t limit, std::string_view& line, bool& too_long, bool& bare_lf);

  void cmd_helo(std::string_view verb, std::string_view args);
  void cmd_mail(std::string_view args);
  void cmd_rcpt(std::string_view args);
  void cmd_data(std::string_view args);
  void cmd_bdat(std::string_view args);
  void cmd_auth(std::string_view args);

  void send(const Reply& r);
  void send_error(const Reply& r);      // counts toward max_errors
  bool count_junk();                    // true if the session was closed for it
  void send_ehlo_reply(const Reply& r);
  void reset_transaction(bool emit);
  void finish_message();
  void begin_body();
  void emit_body();
  void put_body(char c);
  void doom(const Reply& r);
  void close_now();
  void push(Event e) { events_.push_back(std::move(e)); }

  ServerConfig config_;
  bool tls_ = false;
  bool authenticated_ = false;
  bool closed_ = false;
  bool greeting_rejected_ = false;
  Phase phase_ = Phase::start;
  Pending pending_ = Pending::none;
  std::deque<Event> events_;
  std::string in_;
  std::size_t in_pos_ = 0;
  std::string out_;
  bool discarding_line_ = false;
  std::size_t errors_ = 0;
  std::size_t junk_ = 0;
  std::vector<std::string> auth_mechanisms_;

  // Session / transaction.
  std::string helo_verb_;   // empty: no EHLO/HELO yet
  bool esmtp_ = false;
  bool in_transaction_ = false;
  MailParams mail_;
  std::size_t recipients_ = 0;
  bool bdat_started_ = false;
  std::size_t lmtp_replies_left_ = 0;
  std::string pending_verb_;  // helo: verb awaiting the decision
  MailParams pending_mail_;   // mail: parameters awaiting the decision

  // Body reception.
  std::string body_;
  std::uint64_t body_size_ = 0;
  std::size_t line_len_ = 0;
  int data_state_ = 0;
  bool prev_cr_ = false;
  std::optional<Reply> doom_;
  // BDAT chunk in progress.
  std::uint64_t bdat_left_ = 0;
  std::uint64_t bdat_chunk_ = 0;
  bool bdat_last_ = false;
  bool bdat_discard_ = false;
  Reply bdat_discard_reply_;
  bool bdat_close_after_ = false;
};

}  // namespace tern::smtp
