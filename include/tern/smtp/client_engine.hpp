// tern::smtp::ClientEngine — the sans-I/O SMTP/LMTP client for outbound delivery and relaying
// (RFC 5321, RFC 2033 LMTP, RFC 2920 PIPELINING, RFC 3030 CHUNKING/BINARYMIME, RFC 3207 STARTTLS,
// RFC 4954 AUTH PLAIN/LOGIN, RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN,
// RFC 8689 REQUIRETLS). Bytes from the server in, commands out; no socket, no clock (the caller
// owns timeouts: RFC 5321 4.5.3.2).
//
// The pump:
//
//   ClientEngine c(config);                          // after connect() (or the TLS handshake for
//   for (;;) {                                       // implicit TLS: config.tls_active)
//     c.feed(bytes_read);
//     while (auto ev = c.next_event()) switch (ev->kind) {
//       case ClientEventKind::ready:          c.send_message(envelope); break;      // or c.quit()
//       case ClientEventKind::tls_handshake:  write(c.take_output()); handshake(); c.tls_started(); break;
//       case ClientEventKind::send_body:      c.write_body(part)...; c.end_body(); break;
//       case ClientEventKind::message_result: record(ev->results); c.send_message(next) or c.quit(); break;
//       case ClientEventKind::failed:         // session unusable: ev->reply says why; close
//       case ClientEventKind::closed:         write(c.take_output()); close(); return;
//     }
//     socket.write(c.take_output());
//   }
//
// Events:
//   ready          the session is set up (greeting, EHLO/LHLO or HELO, STARTTLS, AUTH) and idle;
//                  emitted once. capabilities() tells what the server offers.
//   tls_handshake  the server accepted STARTTLS: flush take_output(), do the handshake, call
//                  tls_started() (EHLO is sent again, RFC 3207 4.2). On a failed handshake close.
//   send_body      the server takes the body now: write_body() any number of times, then end_body().
//                  For DATA the engine dot-stuffs (RFC 5321 4.5.2) and sends every bare CR or LF as
//                  CRLF, so no "\n.\n" smuggling can leave this client; with BODY=BINARYMIME the body
//                  goes out unchanged in BDAT chunks.
//   message_result the transaction is over: one RecipientResult per recipient, in order (for LMTP
//                  each with its own post-data reply, RFC 2033 4.2). The session is idle again.
//                  Results produced without talking to the server (8-bit body to a server without
//                  8BITMIME: 554 5.6.3; SMTPUTF8 without SMTPUTF8: 553 5.6.7; SIZE over the server's
//                  limit: 552 5.3.4; REQUIRETLS unavailable: 550 5.7.30) come the same way.
//   failed         the session cannot continue (greeting refused, EHLO and HELO refused, TLS
//                  required but not offered or refused, AUTH failed, 421, malformed reply); any
//                  message in progress gets its message_result first, with this reply.
//   closed         the server answered QUIT or closed the channel with 421; close the socket.
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

// One reply as read from a server.
struct ServerReply {
  int code = 0;
  std::string enhanced;            // from the first line, if it had a valid one ("5.1.1")
  std::vector<std::string> lines;  // texts after "ddd-"/"ddd " with the enhanced code removed
  // Code, enhanced code and the lines joined with '\n'.
  Reply reply() const;
};

// Incremental, bounded reply parser (RFC 5321 4.2). Lines longer than `max_line` octets, replies
// of more than `max_lines` lines, malformed codes and changing codes inside one reply are errors.
class ReplyParser {
 public:
  explicit ReplyParser(std::size_t max_line = 4096, std::size_t max_lines = 200)
      : max_line_(max_line), max_lines_(max_lines) {}
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // The next complete reply, or nullopt (need more bytes, or failed()).
  std::optional<ServerReply> next();
  bool failed() const noexcept { return !error_.empty(); }
  const std::string& error() const noexcept { return error_; }
  std::size_t buffered() const noexcept { return buf_.size() - pos_; }

 private:
  std::size_t max_line_;
  std::size_t max_lines_;
  std::string buf_;
  std::size_t pos_ = 0;
  ServerReply partial_;
  std::string error_;
};

// What an EHLO reply offered (RFC 5321 4.1.1.1).
struct Capabilities {
  bool esmtp = false;  // EHLO/LHLO worked (false after a HELO fallback)
  bool pipelining = false, eightbitmime = false, smtputf8 = false, chunking = false, binarymime = false,
       dsn = false, starttls = false, enhancedstatuscodes = false, requiretls = false;
  std::optional<std::uint64_t> size;  // SIZE; 0 means "no fixed limit" (RFC 1870 4)
  std::vector<std::string> auth;      // AUTH mechanisms, upper case
  std::vector<std::string> keywords;  // every keyword line, upper-cased keyword first
};
// Parses the lines of a 250 EHLO reply (the first line, the server's name, is skipped).
Capabilities parse_capabilities(const std::vector<std::string>& lines);

enum class TlsPolicy {
  none,           // never STARTTLS
  opportunistic,  // STARTTLS when offered; carry on in plaintext if it is not offered or refused
  required,       // STARTTLS or fail (smart hosts, MTA-STS enforce, DANE, REQUIRETLS)
};

struct ClientCredentials {
  std::string username;
  std::string password;
};

struct ClientConfig {
  std::string helo_name = "localhost";  // our name in EHLO/LHLO/HELO
  bool lmtp = false;                    // LHLO and per-recipient replies (RFC 2033)
  TlsPolicy tls = TlsPolicy::opportunistic;
  bool tls_active = false;              // the connection is TLS already (implicit TLS, port 465)
  std::optional<ClientCredentials> auth;  // AUTH PLAIN (preferred) or LOGIN; only ever sent over TLS
                                          // unless allow_plaintext_auth
  bool allow_plaintext_auth = false;
  bool prefer_chunking = false;         // BDAT even for text bodies when CHUNKING is offered
  std::size_t bdat_chunk_size = 256 * 1024;
  std::size_t max_reply_line = 4096;
  std::size_t max_reply_lines = 200;
};

struct OutboundRecipient {
  std::string address;                  // forward-path without brackets
  DsnNotify notify;                     // passed through when the server offers DSN
  std::optional<std::string> orcpt_type;  // e.g. "rfc822"
  std::optional<std::string> orcpt;       // unencoded original recipient
};

struct OutboundMessage {
  std::string reverse_path;             // without brackets; empty for the null path "<>"
  std::vector<OutboundRecipient> recipients;
  std::optional<std::uint64_t> size;    // SIZE= when the server offers SIZE
  BodyType body = BodyType::seven_bit;  // eight_bit_mime / binary_mime need the server's support
  bool smtputf8 = false;                // UTF-8 envelope or headers (RFC 6531)
  DsnRet ret = DsnRet::unspecified;     // passed through when the server offers DSN
  std::optional<std::string> envid;
  bool requiretls = false;              // RFC 8689: refuse unless TLS and the server offers it
};

struct RecipientResult {
  std::string address;
  Reply reply;          // the RCPT rejection, or the reply after the data (LMTP: this recipient's)
  bool accepted = false;  // the server took responsibility for this recipient
};

enum class ClientEventKind { ready, tls_handshake, send_body, message_result, failed, closed };
std::string_view to_string(ClientEventKind k) noexcept;

struct ClientEvent {
  ClientEventKind kind = ClientEventKind::ready;
  Reply reply;                          // failed/closed: the reason
  std::vector<RecipientResult> results; // message_result
};

class ClientEngine {
 public:
  explicit ClientEngine(ClientConfig config);

  void feed(std::string_view bytes);
  std::optional<ClientEvent> next_event();
  std::string take_output();

  // After the ready event or a message_result: start a transaction. False if the session is
  // not idle (nothing is done then).
  bool send_message(OutboundMessage message);
  // After send_body: body octets (CRLF line endings expected; bare CR/LF are sent as CRLF).
  void write_body(std::string_view bytes);
  void end_body();
  // Sends QUIT (when idle or failed); the closed event follows the server's 221.
  void quit();
  // The TLS handshake after STARTTLS completed.
  void tls_started();

  bool idle() const noexcept { return state_ == State::idle; }
  bool tls_active() const noexcept { return tls_; }
  const Capabilities& capabilities() const noexcept { return caps_; }
  // The greeting and EHLO lines, for logs ("220 mx.example ESMTP Postfix").
  const ServerReply& greeting() const noexcept { return greeting_; }

 private:
  enum class State { greeting, setup, idle, transaction, body, failed, closed };
  enum class Expect { greeting, ehlo, helo, starttls, auth_plain, auth_login_user, auth_login_pass, auth_done,
                      mail, rcpt, data, dot, bdat, bdat_last, rset, quit };
  struct Txn {
    OutboundMessage msg;
    std::vector<RecipientResult> results;
    std::vector<bool> rcpt_done;
    bool pipelined = false;
    bool use_bdat = false;
    bool mail_ok = false;
    std::size_t next_rcpt = 0;   // non-pipelined: the next RCPT to send
    std::size_t replies_seen = 0;
    std::size_t accepted = 0;
    std::size_t lmtp_next = 0;   // LMTP: index of the next accepted recipient to get a reply
    bool data_failed = false;
    std::optional<Reply> data_reply;
    bool body_open = false;
    bool discard_body = false;
    std::size_t bdat_outstanding = 0;
    bool bdat_last_sent = false;
    std::deque<std::string> held_chunks;  // BDAT without PIPELINING: one chunk in flight at a time
  };

  void handle(const ServerReply& r);
  void send_line(std::string line, Expect e);
  void after_hello();
  void start_auth();
  void fail(const Reply& r, bool send_quit);
  void finish_transaction();
  void transaction_reply(Expect e, const Reply& r);
  void all_rcpt_replies_in();
  void send_rcpt(std::size_t i);
  std::string mail_command() const;
  std::string rcpt_command(const OutboundRecipient& r) const;
  void stuff(std::string_view bytes, bool dot_stuff, std::string& out);
  void flush_bdat(bool last);

  ClientConfig config_;
  ReplyParser parser_;
  State state_ = State::greeting;
  bool tls_ = false;
  bool tls_tried_ = false;
  bool authenticated_ = false;
  Capabilities caps_;
  ServerReply greeting_;
  std::deque<Expect> expect_;
  std::deque<ClientEvent> events_;
  std::string out_;
  std::optional<Txn> txn_;
  // Body encoding state.
  bool at_bol_ = true;
  bool pending_cr_ = false;
  std::string bdat_buf_;
};

}  // namespace tern::smtp
