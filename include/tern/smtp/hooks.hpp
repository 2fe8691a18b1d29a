// The embedding API on the SMTP message path: a host registers typed hooks for connect, helo, auth,
// mail-from, rcpt, data and queued/delivered; each returns a Verdict. Hooks run in registration order
// within a stage; the first verdict other than `next` decides. Built-in policies (relay control,
// anti-spoofing, recipient resolution, size limits) are hooks in the same chain, registered first, in the
// order documented in docs/smtp.md. Hooks are coroutines, so they may complete asynchronously (a
// database lookup, an HTTP call); they run on the session's I/O thread and must not block it — use
// co_await on asynchronous I/O or WorkerPool::run for blocking work.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>

namespace tern::smtp {

// A change to the message header, applied before delivery (in order).
struct HeaderEdit {
  enum class Op { add, replace, remove } op = Op::add;
  std::string name;
  std::string value;  // unfolded; folded on output
};

struct Verdict {
  enum class Kind {
    next,        // no opinion: ask the next hook
    accept,      // accept now; later hooks of this stage are skipped
    reject,      // permanent refusal (5xx)
    tempfail,    // temporary refusal (4xx)
    discard,     // accept but deliver nowhere (data stage)
    quarantine,  // accept and deliver to the recipient's Junk folder (data stage)
  };
  Kind kind = Kind::next;
  int code = 0;          // reply code for reject/tempfail (default 550 / 451)
  std::string enhanced;  // RFC 3463 status, e.g. "5.7.1"
  std::string text;      // a sentence the sender's user can understand
  std::vector<HeaderEdit> header_edits;

  static Verdict next() { return {}; }
  static Verdict accept() { return {Kind::accept}; }
  static Verdict reject(int code, std::string enhanced, std::string text) {
    return {Kind::reject, code, std::move(enhanced), std::move(text)};
  }
  static Verdict tempfail(int code, std::string enhanced, std::string text) {
    return {Kind::tempfail, code, std::move(enhanced), std::move(text)};
  }
  static Verdict discard() { return {Kind::discard}; }
  static Verdict quarantine() { return {Kind::quarantine}; }
  static Verdict add_header(std::string name, std::string value) {
    Verdict v;
    v.header_edits.push_back({HeaderEdit::Op::add, std::move(name), std::move(value)});
    return v;
  }
  bool decides() const noexcept { return kind != Kind::next; }
};

// What a hook knows about the session so far.
struct SessionInfo {
  std::string session_id;
  std::string service;  // "smtp", "submission", "submissions", "lmtp"
  asio::ip::address remote_address;
  std::uint16_t remote_port = 0;
  std::string helo;
  bool tls = false;
  std::string tls_version, tls_cipher;
  std::string login;  // authenticated identity, empty if none
  bool internal_network = false;
};

struct Recipient {
  std::string address;  // as given in RCPT TO, without <>
  std::string notify;   // RFC 3461 NOTIFY, ORCPT carried to the queue
  std::string orcpt;
};

struct Envelope {
  std::string mail_from;  // empty for the null reverse-path <>
  std::uint64_t declared_size = 0;
  std::string body_type;  // 7BIT, 8BITMIME, BINARYMIME
  bool smtputf8 = false;
  bool requiretls = false;
  std::string ret, envid;  // RFC 3461
  std::vector<Recipient> recipients;  // accepted so far
};

// The message as received (header and body, CRLF line ends, dot-unstuffed), available to data hooks.
struct MessageView {
  std::string_view bytes;
};

using ConnectHook = std::function<asio::awaitable<Verdict>(const SessionInfo&)>;
using HeloHook = std::function<asio::awaitable<Verdict>(const SessionInfo&, std::string_view helo)>;
using AuthHook = std::function<asio::awaitable<Verdict>(const SessionInfo&, std::string_view login)>;
using MailFromHook = std::function<asio::awaitable<Verdict>(const SessionInfo&, const Envelope&)>;
using RcptHook = std::function<asio::awaitable<Verdict>(const SessionInfo&, const Envelope&, const Recipient&)>;
using DataHook = std::function<asio::awaitable<Verdict>(const SessionInfo&, const Envelope&, const MessageView&)>;
// After the message was stored or queued (notification only).
using DeliveredHook = std::function<void(const SessionInfo&, const Envelope&, std::string_view message_id)>;

class Hooks {
 public:
  void on_connect(std::string name, ConnectHook h) { connect.push_back({std::move(name), std::move(h)}); }
  void on_helo(std::string name, HeloHook h) { helo.push_back({std::move(name), std::move(h)}); }
  void on_auth(std::string name, AuthHook h) { auth.push_back({std::move(name), std::move(h)}); }
  void on_mail_from(std::string name, MailFromHook h) { mail_from.push_back({std::move(name), std::move(h)}); }
  void on_rcpt(std::string name, RcptHook h) { rcpt.push_back({std::move(name), std::move(h)}); }
  void on_data(std::string name, DataHook h) { data.push_back({std::move(name), std::move(h)}); }
  void on_delivered(std::string name, DeliveredHook h) { delivered.push_back({std::move(name), std::move(h)}); }

  template <class H>
  struct Named {
    std::string name;
    H hook;
  };
  std::vector<Named<ConnectHook>> connect;
  std::vector<Named<HeloHook>> helo;
  std::vector<Named<AuthHook>> auth;
  std::vector<Named<MailFromHook>> mail_from;
  std::vector<Named<RcptHook>> rcpt;
  std::vector<Named<DataHook>> data;
  std::vector<Named<DeliveredHook>> delivered;
};

}  // namespace tern::smtp
