// Sans-I/O SMTP/LMTP server engine: RFC 5321, RFC 2033, RFC 2920, RFC 3030, RFC 3207, RFC 4954.
#include "tern/smtp/server_engine.hpp"

#include <algorithm>

#include "ascii.hpp"
#include "tern/core/base64.hpp"

namespace tern::smtp {

namespace {

bool istarts_with(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  return upper(s.substr(0, prefix.size())) == prefix;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The reply to a path lib/mime refused. RFC 5321 4.5.3.1 ("501 Path too long") and 4.1.2 (syntax: 501);
// RFC 3463: X.1.7 for the sender, X.1.3 for a recipient; RFC 6531 3.5 (553 5.6.7) for UTF-8 without SMTPUTF8.
Reply path_error(mime::AddressError e, bool sender) {
  const std::string who = sender ? "sender" : "recipient";
  const char* enhanced = sender ? "5.1.7" : "5.1.3";
  switch (e) {
    case mime::AddressError::too_long:
      return {501, enhanced, (sender ? "Sender" : "Recipient") + std::string(" address is too long (RFC 5321 4.5.3.1: "
                                                                             "local part 64, domain 255, path 256 octets)")};
    case mime::AddressError::utf8_not_allowed:
      return {553, "5.6.7", sender ? "Non-ASCII sender address requires SMTPUTF8"
                                   : "Non-ASCII recipient address requires MAIL FROM with SMTPUTF8 (RFC 6531 3.4)"};
    case mime::AddressError::bad_literal:
      return {501, enhanced, "Bad " + who + " address literal (RFC 5321 4.1.3)"};
    case mime::AddressError::bad_idna:
      return {553, "5.1.2", "Bad internationalized domain name in the " + who + " address"};
    default:
      return {501, enhanced, "Bad " + who + " address syntax"};
  }
}

Reply with_text(Reply r, std::string_view fallback) {
  if (r.text.empty()) r.text = std::string(fallback);
  return r;
}

// Splits parameters separated by one or more spaces.
std::vector<std::string_view> split_params(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

enum DataState { bol, text, cr, dot, dot_cr };

const Reply bare_line_ending{550, "5.6.0",
                             "Message rejected: bare CR or LF in message data; lines must end with CRLF "
                             "(RFC 5321 2.3.8)"};

}  // namespace

std::string_view to_string(EventKind k) noexcept {
  switch (k) {
    case EventKind::connect: return "connect";
    case EventKind::helo: return "helo";
    case EventKind::starttls: return "starttls";
    case EventKind::tls_handshake: return "tls_handshake";
    case EventKind::auth: return "auth";
    case EventKind::auth_response: return "auth_response";
    case EventKind::auth_aborted: return "auth_aborted";
    case EventKind::mail: return "mail";
    case EventKind::rcpt: return "rcpt";
    case EventKind::data_start: return "data_start";
    case EventKind::body: return "body";
    case EventKind::message_end: return "message_end";
    case EventKind::message_aborted: return "message_aborted";
    case EventKind::reset: return "reset";
    case EventKind::vrfy: return "vrfy";
    case EventKind::close: return "close";
  }
  return "?";
}

ServerEngine::ServerEngine(ServerConfig config, bool tls_active) : config_(std::move(config)), tls_(tls_active) {}

void ServerEngine::feed(std::string_view bytes) {
  if (closed_ || phase_ == Phase::tls_wait) return;  // CVE-2011-0411: nothing survives STARTTLS
  in_.append(bytes);
}

bool ServerEngine::wants_input() const noexcept {
  return !closed_ && phase_ != Phase::tls_wait && in_.size() - in_pos_ < config_.max_buffered_input;
}

std::string ServerEngine::take_output() {
  std::string out;
  out.swap(out_);
  return out;
}

void ServerEngine::set_auth_mechanisms(std::vector<std::string> mechanisms) {
  for (auto& m : mechanisms) m = upper(m);
  auth_mechanisms_ = std::move(mechanisms);
}

std::optional<Event> ServerEngine::next_event() {
  for (;;) {
    if (!events_.empty()) {
      Event e = std::move(events_.front());
      events_.pop_front();
      return e;
    }
    if (pending_ != Pending::none || closed_) return std::nullopt;
    if (in_pos_ > 0 && (in_pos_ == in_.size() || in_pos_ > 8192)) {
      in_.erase(0, in_pos_);
      in_pos_ = 0;
    }
    if (!step()) return std::nullopt;
  }
}

bool ServerEngine::step() {
  switch (phase_) {
    case Phase::start:
      phase_ = Phase::command;
      pending_ = Pending::connect;
      push(Event{EventKind::connect});
      return true;
    case Phase::command: {
      std::string_view line;
      bool too_long = false, bare_lf = false;
      if (!take_line(config_.max_command_line, line, too_long, bare_lf)) return false;
      if (too_long)
        send_error({500, "5.5.2", "Line too long: command lines are limited to " +
                                      std::to_string(config_.max_command_line) + " octets (RFC 5321 4.5.3.1.4)"});
      else if (bare_lf)
        send_error({500, "5.5.2", "Command lines must end with CRLF, not a bare LF"});
      else
        handle_command(line);
      return true;
    }
    case Phase::data: return handle_data();
    case Phase::bdat: return handle_bdat();
    case Phase::auth: {
      std::string_view line;
      bool too_long = false, bare_lf = false;
      if (!take_line(config_.max_auth_line + 2, line, too_long, bare_lf)) return false;
      phase_ = Phase::command;
      if (too_long || bare_lf) {
        send_error({500, "5.5.6", "Authentication exchange line is too long or not CRLF-terminated"});
        push(Event{EventKind::auth_aborted});
      } else {
        handle_auth_line(line);
      }
      return true;
    }
    case Phase::tls_wait:
      in_.clear();
      in_pos_ = 0;
      return false;
    case Phase::closed: return false;
  }
  return false;
}

bool ServerEngine::take_line(std::size_t limit, std::string_view& line, bool& too_long, bool& bare_lf) {
  std::size_t nl = in_.find('\n', in_pos_);
  if (discarding_line_) {
    if (nl == std::string::npos) {
      in_pos_ = in_.size();
      return false;
    }
    in_pos_ = nl + 1;
    discarding_line_ = false;
    too_long = true;
    return true;
  }
  if (nl == std::string::npos) {
    if (in_.size() - in_pos_ >= limit) {  // the line will exceed `limit` with its CRLF
      discarding_line_ = true;
      in_pos_ = in_.size();
    }
    return false;
  }
  std::size_t len = nl + 1 - in_pos_;
  if (len > limit) {
    in_pos_ = nl + 1;
    too_long = true;
    return true;
  }
  if (len < 2 || in_[nl - 1] != '\r') {
    in_pos_ = nl + 1;
    bare_lf = true;
    return true;
  }
  line = std::string_view(in_).substr(in_pos_, len - 2);
  in_pos_ = nl + 1;
  return true;
}

// ---- replies -------------------------------------------------------------------------------

void ServerEngine::send(const Reply& r) { out_ += format_reply(r, true); }

void ServerEngine::send_error(const Reply& r) {
  send(r);
  if (++errors_ >= config_.max_errors && !closed_)
    close_with({421, "4.7.0", config_.hostname + " Too many errors; closing connection"});
}

bool ServerEngine::count_junk() {
  if (in_transaction_) return false;
  if (++junk_ > config_.max_junk_commands) {
    close_with({421, "4.7.0", config_.hostname + " Too many commands without a mail transaction; closing connection"});
    return true;
  }
  return false;
}

void ServerEngine::close_now() {
  if (closed_) return;
  closed_ = true;
  phase_ = Phase::closed;
  pending_ = Pending::none;
  in_.clear();
  in_pos_ = 0;
  Event e{EventKind::close};
  push(std::move(e));
}

void ServerEngine::close_with(const Reply& r) {
  if (closed_) return;
  send(r);
  close_now();
  events_.back().reply = r;
}

void ServerEngine::reset_transaction(bool emit) {
  if (in_transaction_ && emit) push(Event{EventKind::reset});
  in_transaction_ = false;
  mail_ = MailParams{};
  recipients_ = 0;
  bdat_started_ = false;
  body_.clear();
  doom_.reset();
}

void ServerEngine::send_ehlo_reply(const Reply& r) {
  std::vector<std::string> lines;
  lines.push_back(r.text.empty() ? config_.hostname : config_.hostname + " " + r.text);
  for (auto& c : lines[0])
    if (c == '\r' || c == '\n') c = ' ';
  if (lines[0].size() > 400) lines[0].resize(400);
  if (config_.pipelining) lines.emplace_back("PIPELINING");
  lines.push_back("SIZE " + std::to_string(config_.max_message_size));
  if (config_.eightbitmime) lines.emplace_back("8BITMIME");
  if (config_.smtputf8) lines.emplace_back("SMTPUTF8");
  if (config_.starttls && !tls_) lines.emplace_back("STARTTLS");
  if (!auth_mechanisms_.empty() && !authenticated_) {
    std::string a = "AUTH";
    for (auto& m : auth_mechanisms_) a += " " + m;
    lines.push_back(std::move(a));
  }
  if (config_.chunking) lines.emplace_back("CHUNKING");
  if (config_.chunking && config_.binarymime) lines.emplace_back("BINARYMIME");
  if (config_.dsn) lines.emplace_back("DSN");
  lines.emplace_back("ENHANCEDSTATUSCODES");
  if (config_.requiretls && tls_) lines.emplace_back("REQUIRETLS");
  if (config_.deliverby > 0) lines.push_back("DELIVERBY " + std::to_string(config_.deliverby));
  lines.emplace_back("HELP");
  // RFC 2034 3: no enhanced codes on the EHLO reply.
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out_ += (i + 1 < lines.size()) ? "250-" : "250 ";
    out_ += lines[i];
    out_ += "\r\n";
  }
}

bool ServerEngine::reply(const Reply& r) {
  if (pending_ == Pending::none || closed_) return false;
  Pending p = pending_;
  pending_ = Pending::none;
  if (r.code == 421 && !(p == Pending::message_end && config_.role == Role::lmtp)) {
    close_with(with_text(r, config_.hostname + " Service not available, closing transmission channel"));
    return true;
  }
  switch (p) {
    case Pending::none: break;
    case Pending::connect:
      if (r.positive()) {
        // RFC 2034 3: the greeting carries no enhanced code.
        out_ += format_reply(Reply{220, "", r.text.empty() ? config_.hostname + (config_.role == Role::lmtp
                                                                                     ? " LMTP Tern ready"
                                                                                     : " ESMTP Tern ready")
                                                           : r.text},
                             false);
      } else if (r.code == 554) {
        greeting_rejected_ = true;  // RFC 5321 3.1: wait for QUIT, refuse everything else
        send(with_text(r, "Service refused"));
      } else {
        close_with(r);
      }
      break;
    case Pending::helo:
      if (r.positive()) {
        helo_verb_ = pending_verb_;
        esmtp_ = pending_verb_ != "HELO";
        if (esmtp_) send_ehlo_reply(r);
        else out_ += format_reply(Reply{250, "", r.text.empty() ? config_.hostname : config_.hostname + " " + r.text}, false);
      } else {
        send_error(r);
      }
      break;
    case Pending::starttls:
      if (r.code == 220) {
        send(Reply{220, "2.0.0", r.text.empty() ? "Ready to start TLS" : r.text});
        Event e{EventKind::tls_handshake};
        e.discarded = in_.size() - in_pos_;  // pipelined after STARTTLS: thrown away (CVE-2011-0411)
        in_.clear();
        in_pos_ = 0;
        discarding_line_ = false;
        phase_ = Phase::tls_wait;
        push(std::move(e));
      } else {
        send_error(with_text(r, "TLS not available"));
      }
      break;
    case Pending::auth:
      if (r.code == 334) {
        out_ += "334 " + base64_encode(r.text) + "\r\n";
        phase_ = Phase::auth;
      } else if (r.positive()) {
        authenticated_ = true;
        send(Reply{235, r.enhanced.empty() ? "2.7.0" : r.enhanced, r.text.empty() ? "Authentication successful" : r.text});
      } else {
        send_error(with_text(r, "Authentication failed"));
      }
      break;
    case Pending::mail:
      if (r.positive()) {
        in_transaction_ = true;
        mail_ = std::move(pending_mail_);
        recipients_ = 0;
        junk_ = 0;
        send(Reply{250, r.enhanced.empty() ? "2.1.0" : r.enhanced, r.text.empty() ? "Sender OK" : r.text});
      } else {
        send_error(with_text(r, "Sender rejected"));
      }
      break;
    case Pending::rcpt:
      if (r.positive()) {
        ++recipients_;
        send(Reply{r.code, r.enhanced.empty() ? "2.1.5" : r.enhanced, r.text.empty() ? "Recipient OK" : r.text});
      } else {
        send_error(with_text(r, "Recipient rejected"));
      }
      break;
    case Pending::data_start:
      if (bdat_started_) {
        if (r.positive()) {
          phase_ = Phase::bdat;
        } else {
          bdat_discard_ = true;
          bdat_discard_reply_ = with_text(r, "Message refused");
          reset_transaction(true);
          phase_ = Phase::bdat;
        }
      } else if (r.positive()) {
        out_ += format_reply(Reply{354, "", r.code == 354 && !r.text.empty() ? r.text : "End data with <CR><LF>.<CR><LF>"}, false);
        begin_body();
        phase_ = Phase::data;
      } else {
        send_error(with_text(r, "Message refused"));
      }
      break;
    case Pending::message_end: {
      send(with_text(r, r.positive() ? "Message accepted" : "Message rejected"));
      if (lmtp_replies_left_ > 1) {
        --lmtp_replies_left_;
        pending_ = Pending::message_end;  // RFC 2033 4.2: one reply per accepted recipient
      } else {
        lmtp_replies_left_ = 0;
        reset_transaction(false);
      }
      break;
    }
    case Pending::vrfy:
      if (r.positive()) send(r);
      else send_error(r);
      break;
  }
  return true;
}

// ---- commands ------------------------------------------------------------------------------

void ServerEngine::handle_command(std::string_view line) {
  if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos) {
    send_error({501, "5.5.2", "Invalid characters in command line"});
    return;
  }
  std::size_t sp = line.find(' ');
  std::string verb = upper(line.substr(0, sp));
  std::string_view args = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  while (!args.empty() && args.back() == ' ') args.remove_suffix(1);

  if (greeting_rejected_) {
    if (verb == "QUIT") {
      send({221, "2.0.0", config_.hostname + " closing connection"});
      close_now();
    } else {
      send_error({503, "5.5.1", "Service refused; only QUIT is accepted"});
    }
    return;
  }
  if (verb == "EHLO" || verb == "HELO" || verb == "LHLO") return cmd_helo(verb, args);
  if (verb == "MAIL") return cmd_mail(args);
  if (verb == "RCPT") return cmd_rcpt(args);
  if (verb == "DATA") return cmd_data(args);
  if (verb == "BDAT") return cmd_bdat(args);
  if (verb == "AUTH") return cmd_auth(args);
  if (verb == "RSET") {
    if (!args.empty()) return send_error({501, "5.5.4", "Syntax: RSET (no parameters)"});
    if (count_junk()) return;
    reset_transaction(true);
    return send({250, "2.0.0", "Reset state"});
  }
  if (verb == "NOOP") {
    if (count_junk()) return;
    return send({250, "2.0.0", "OK"});
  }
  if (verb == "QUIT") {
    send({221, "2.0.0", config_.hostname + " closing connection"});
    return close_now();
  }
  if (verb == "VRFY") {
    if (count_junk()) return;
    if (args.empty()) return send_error({501, "5.5.4", "Syntax: VRFY address"});
    if (!config_.vrfy)
      return send({252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery"});
    Event e{EventKind::vrfy};
    e.argument = std::string(args);
    pending_ = Pending::vrfy;
    return push(std::move(e));
  }
  if (verb == "EXPN") {
    if (count_junk()) return;
    return send_error({502, "5.5.1", "EXPN is not supported"});
  }
  if (verb == "HELP") {
    if (count_junk()) return;
    return send({214, "2.0.0",
                 "Commands: " + std::string(config_.role == Role::lmtp ? "LHLO" : "EHLO HELO") +
                     " MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH\nSee RFC 5321"});
  }
  if (verb == "STARTTLS") {
    if (!config_.starttls) return send_error({502, "5.5.1", "STARTTLS is not offered"});
    if (tls_) return send_error({503, "5.5.1", "TLS is already active"});
    if (!args.empty()) return send_error({501, "5.5.4", "Syntax: STARTTLS (no parameters)"});
    if (in_transaction_) return send_error({503, "5.5.1", "STARTTLS is not permitted during a mail transaction"});
    pending_ = Pending::starttls;
    return push(Event{EventKind::starttls});
  }
  if (verb == "GET" || verb == "POST" || verb == "HEAD" || verb == "PUT" || verb == "CONNECT") {
    // A web request sent to the mail port (cross-protocol attack): no dialogue.
    send({500, "5.5.1", "This is an SMTP server, not an HTTP server; closing connection"});
    return close_now();
  }
  if (count_junk()) return;
  send_error({500, "5.5.1", "Command unrecognized"});
}

void ServerEngine::cmd_helo(std::string_view verb, std::string_view args) {
  bool lmtp = config_.role == Role::lmtp;
  if (lmtp && verb != "LHLO") return send_error({500, "5.5.1", "This is an LMTP server; use LHLO (RFC 2033 4.1)"});
  if (!lmtp && verb == "LHLO") {
    if (count_junk()) return;
    return send_error({500, "5.5.1", "Command unrecognized"});
  }
  std::string_view name = args.substr(0, args.find(' '));
  if (name.empty()) return send_error({501, "5.5.4", "Syntax: " + std::string(verb) + " hostname"});
  if (count_junk()) return;
  reset_transaction(true);  // RFC 5321 4.1.4
  pending_verb_ = std::string(verb);
  Event e{EventKind::helo};
  e.verb = pending_verb_;
  e.argument = std::string(name);
  pending_ = Pending::helo;
  push(std::move(e));
}

std::optional<Reply> ServerEngine::parse_mail_params(std::string_view s, MailParams& p) const {
  auto tokens = split_params(s);
  if (!tokens.empty() && !esmtp_) return Reply{555, "5.5.4", "MAIL parameters are not allowed after HELO; use EHLO"};
  bool seen_body = false, seen_ret = false, seen_smtputf8 = false, seen_by = false;
  for (auto tok : tokens) {
    std::size_t eq = tok.find('=');
    std::string key = upper(tok.substr(0, eq));
    bool has_value = eq != std::string_view::npos;
    std::string_view value = has_value ? tok.substr(eq + 1) : std::string_view();
    auto dup = [&](const std::string& k) { return Reply{501, "5.5.4", "Duplicate " + k + " parameter"}; };
    if (key == "SIZE") {
      if (p.size) return dup(key);
      if (!has_value || !all_digits(value) || value.size() > 19)
        return Reply{501, "5.5.4", "Syntax: SIZE=<octets> (RFC 1870)"};
      p.size = std::stoull(std::string(value));
    } else if (key == "BODY") {
      if (seen_body) return dup(key);
      seen_body = true;
      std::string v = upper(value);
      if (v == "7BIT") p.body = BodyType::seven_bit;
      else if (v == "8BITMIME" && config_.eightbitmime) p.body = BodyType::eight_bit_mime;
      else if (v == "BINARYMIME" && config_.chunking && config_.binarymime) p.body = BodyType::binary_mime;
      else return Reply{501, "5.5.4", "Unsupported BODY type; use 7BIT, 8BITMIME or BINARYMIME"};
    } else if (key == "SMTPUTF8" && config_.smtputf8) {
      if (seen_smtputf8) return dup(key);
      if (has_value) return Reply{501, "5.5.4", "SMTPUTF8 takes no value (RFC 6531 3.4)"};
      seen_smtputf8 = true;
      p.smtputf8 = true;
    } else if (key == "RET" && config_.dsn) {
      if (seen_ret) return dup(key);
      seen_ret = true;
      std::string v = upper(value);
      if (v == "FULL") p.ret = DsnRet::full;
      else if (v == "HDRS") p.ret = DsnRet::hdrs;
      else return Reply{501, "5.5.4", "Syntax: RET=FULL or RET=HDRS (RFC 3461 4.3)"};
    } else if (key == "ENVID" && config_.dsn) {
      if (p.envid) return dup(key);
      auto d = decode_xtext(value);
      if (!has_value || !d || d->empty() || d->size() > 100)
        return Reply{501, "5.5.4", "Syntax: ENVID=<xtext, at most 100 characters> (RFC 3461 4.4)"};
      p.envid = std::move(*d);
    } else if (key == "REQUIRETLS" && config_.requiretls && tls_) {
      if (p.requiretls) return dup(key);
      if (has_value) return Reply{501, "5.5.4", "REQUIRETLS takes no value (RFC 8689 4)"};
      p.requiretls = true;
    } else if (key == "AUTH") {
      if (p.auth) return dup(key);
      auto d = decode_xtext(value);
      if (!has_value || !d || d->empty()) return Reply{501, "5.5.4", "Syntax: AUTH=<mailbox or <>> (RFC 4954 5)"};
      p.auth = std::move(*d);
    } else if (key == "BY" && config_.deliverby > 0) {
      // RFC 2852 4: by-value = [+-]digits ";" ("R" / "N") ["T"]
      if (seen_by) return dup(key);
      seen_by = true;
      std::size_t semi = value.find(';');
      std::string_view num = value.substr(0, semi);
      std::string mode = semi == std::string_view::npos ? "" : upper(value.substr(semi + 1));
      bool neg = !num.empty() && (num[0] == '-' || num[0] == '+');
      std::string_view digits = neg ? num.substr(1) : num;
      if (!all_digits(digits) || digits.size() > 9 || mode.empty() || mode.size() > 2 ||
          (mode[0] != 'R' && mode[0] != 'N') || (mode.size() == 2 && mode[1] != 'T'))
        return Reply{501, "5.5.4", "Syntax: BY=<seconds>;R|N[T] (RFC 2852 4)"};
      std::int64_t v = std::stoll(std::string(digits));
      p.deliver_by = num[0] == '-' ? -v : v;
      p.deliver_by_mode = mode[0];
      p.deliver_by_trace = mode.size() == 2;
      if (p.deliver_by_mode == 'R' && *p.deliver_by < static_cast<std::int64_t>(config_.deliverby))
        return Reply{553, "5.7.0", "BY time is shorter than the minimum of " + std::to_string(config_.deliverby) +
                                       " seconds (RFC 2852 4.1)"};
    } else {
      std::string shown(tok.substr(0, std::min<std::size_t>(eq, 40)));
      return Reply{555, "5.5.4", "Unsupported MAIL parameter " + shown};
    }
  }
  return std::nullopt;
}

std::optional<Reply> ServerEngine::parse_rcpt_params(std::string_view s, RcptParams& p) const {
  auto tokens = split_params(s);
  if (!tokens.empty() && !esmtp_) return Reply{555, "5.5.4", "RCPT parameters are not allowed after HELO; use EHLO"};
  for (auto tok : tokens) {
    std::size_t eq = tok.find('=');
    std::string key = upper(tok.substr(0, eq));
    bool has_value = eq != std::string_view::npos;
    std::string_view value = has_value ? tok.substr(eq + 1) : std::string_view();
    if (key == "NOTIFY" && config_.dsn) {
      if (p.notify.set) return Reply{501, "5.5.4", "Duplicate NOTIFY parameter"};
      p.notify.set = true;
      std::string v = upper(value);
      std::size_t i = 0;
      bool ok = has_value && !v.empty();
      while (ok && i <= v.size()) {
        std::size_t j = v.find(',', i);
        if (j == std::string::npos) j = v.size();
        std::string item = v.substr(i, j - i);
        bool* flag = item == "NEVER" ? &p.notify.never : item == "SUCCESS" ? &p.notify.success
                     : item == "FAILURE"                 ? &p.notify.failure
                     : item == "DELAY"                   ? &p.notify.delay
                                                         : nullptr;
        if (!flag || *flag) ok = false;
        else *flag = true;
        i = j + 1;
      }
      if (ok && p.notify.never && (p.notify.success || p.notify.failure || p.notify.delay)) ok = false;
      if (!ok) return Reply{501, "5.5.4", "Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY (RFC 3461 4.1)"};
    } else if (key == "ORCPT" && config_.dsn) {
      if (p.orcpt) return Reply{501, "5.5.4", "Duplicate ORCPT parameter"};
      std::size_t semi = value.find(';');
      bool ok = has_value && semi != std::string_view::npos && semi > 0;
      if (ok) {
        std::string_view type = value.substr(0, semi);
        ok = std::all_of(type.begin(), type.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        });
        auto d = decode_xtext(value.substr(semi + 1));
        ok = ok && d && !d->empty() && d->size() <= 500;
        if (ok) {
          p.orcpt_type = std::string(type);
          p.orcpt = std::move(*d);
        }
      }
      if (!ok) return Reply{501, "5.5.4", "Syntax: ORCPT=<address-type>;<xtext> (RFC 3461 4.2)"};
    } else {
      std::string shown(tok.substr(0, std::min<std::size_t>(eq, 40)));
      return Reply{555, "5.5.4", "Unsupported RCPT parameter " + shown};
    }
  }
  return std::nullopt;
}

void ServerEngine::cmd_mail(std::string_view args) {
  if (helo_verb_.empty())
    return send_error({503, "5.5.1", config_.role == Role::lmtp ? "Send LHLO first" : "Send EHLO or HELO first"});
  if (in_transaction_) return send_error({503, "5.5.1", "Sender already specified; send RSET to start over"});
  if (config_.require_auth && !authenticated_) return send_error({530, "5.7.0", "Authentication required"});
  if (!istarts_with(args, "FROM:")) return send_error({501, "5.5.4", "Syntax: MAIL FROM:<address> [parameters]"});
  std::string_view rest = args.substr(5);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);  // tolerated: "FROM: <a@b>"
  bool utf8_ok = esmtp_ && config_.smtputf8;
  mime::PathOptions po;
  po.allow_null = true;
  po.allow_utf8 = utf8_ok;
  auto pp = mime::parse_smtp_path(rest, po);
  if (!pp) return send_error(path_error(pp.error, true));
  rest.remove_prefix(pp.consumed);
  if (!rest.empty() && rest.front() != ' ')
    return send_error({501, "5.5.4", "Syntax: MAIL FROM:<address> [parameters]"});
  MailParams params;
  if (auto err = parse_mail_params(rest, params)) return send_error(*err);
  if (!params.smtputf8 && !pp.value.null && pp.value.mailbox.needs_smtputf8())
    return send_error({553, "5.6.7", "Non-ASCII sender address requires the SMTPUTF8 parameter (RFC 6531 3.4)"});
  if (params.size && *params.size > config_.max_message_size)
    return send_error({552, "5.3.4", "Message size exceeds the fixed maximum of " +
                                         std::to_string(config_.max_message_size) + " octets"});
  pending_mail_ = params;
  Event e{EventKind::mail};
  e.path = std::move(pp.value);
  e.mail_params = std::move(params);
  pending_ = Pending::mail;
  push(std::move(e));
}

void ServerEngine::cmd_rcpt(std::string_view args) {
  if (!in_transaction_) return send_error({503, "5.5.1", "Need MAIL before RCPT"});
  if (bdat_started_) return send_error({503, "5.5.1", "RCPT is not permitted after BDAT (RFC 3030 3)"});
  if (!istarts_with(args, "TO:")) return send_error({501, "5.5.4", "Syntax: RCPT TO:<address> [parameters]"});
  std::string_view rest = args.substr(3);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  mime::PathOptions po;
  po.allow_postmaster = true;  // RFC 5321 4.5.1: "<Postmaster>" without a domain
  po.allow_utf8 = mail_.smtputf8;
  auto pp = mime::parse_smtp_path(rest, po);
  if (!pp) return send_error(path_error(pp.error, false));
  rest.remove_prefix(pp.consumed);
  if (!rest.empty() && rest.front() != ' ')
    return send_error({501, "5.5.4", "Syntax: RCPT TO:<address> [parameters]"});
  RcptParams params;
  if (auto err = parse_rcpt_params(rest, params)) return send_error(*err);
  if (recipients_ >= config_.max_recipients)
    return send({452, "4.5.3", "Too many recipients; send the rest in another transaction (RFC 5321 4.5.3.1.10)"});
  Event e{EventKind::rcpt};
  e.path = std::move(pp.value);
  e.rcpt_params = std::move(params);
  pending_ = Pending::rcpt;
  push(std::move(e));
}

void ServerEngine::cmd_data(std::string_view args) {
  if (!args.empty()) return send_error({501, "5.5.4", "Syntax: DATA (no parameters)"});
  if (!in_transaction_) return send_error({503, "5.5.1", "Need MAIL and RCPT before DATA"});
  if (bdat_started_) return send_error({503, "5.5.1", "DATA is not permitted after BDAT (RFC 3030 3)"});
  if (recipients_ == 0) return send_error({554, "5.5.1", "No valid recipients"});
  if (mail_.body == BodyType::binary_mime)
    return send_error({503, "5.5.1", "BODY=BINARYMIME requires BDAT, not DATA (RFC 3030 3)"});
  Event e{EventKind::data_start};
  pending_ = Pending::data_start;
  push(std::move(e));
}

void ServerEngine::cmd_bdat(std::string_view args) {
  // The octet count frames what follows: without a valid one the stream cannot be resynchronised.
  std::string_view size_s = args.substr(0, args.find(' '));
  std::string_view tail = size_s.size() < args.size() ? args.substr(size_s.size() + 1) : std::string_view();
  while (!tail.empty() && tail.front() == ' ') tail.remove_prefix(1);
  bool last = false;
  bool ok = all_digits(size_s) && size_s.size() <= 18;
  if (ok && !tail.empty()) {
    if (upper(tail) == "LAST") last = true;
    else ok = false;
  }
  if (!ok) {
    send({501, "5.5.4", "Syntax: BDAT chunk-size [LAST]; closing connection since chunk framing is lost"});
    return close_now();
  }
  std::uint64_t size = std::stoull(std::string(size_s));
  bdat_left_ = size;
  bdat_chunk_ = size;
  bdat_last_ = last;
  std::optional<Reply> refuse;
  if (!config_.chunking) refuse = Reply{502, "5.5.1", "BDAT is not offered (no CHUNKING)"};
  else if (!in_transaction_) refuse = Reply{503, "5.5.1", "Need MAIL and RCPT before BDAT"};
  else if (recipients_ == 0) refuse = Reply{554, "5.5.1", "No valid recipients"};
  else if (body_size_ * bdat_started_ + size > config_.max_message_size)
    refuse = Reply{552, "5.3.4", "Message size exceeds the fixed maximum of " +
                                     std::to_string(config_.max_message_size) + " octets"};
  if (refuse) {
    if (refuse->code == 552) reset_transaction(true);
    bdat_discard_ = true;
    bdat_discard_reply_ = *refuse;
    phase_ = Phase::bdat;
    return;
  }
  if (!bdat_started_) {
    bdat_started_ = true;
    begin_body();
    Event e{EventKind::data_start};
    e.bdat = true;
    pending_ = Pending::data_start;
    return push(std::move(e));
  }
  phase_ = Phase::bdat;
}

void ServerEngine::cmd_auth(std::string_view args) {
  if (auth_mechanisms_.empty()) return send_error({503, "5.5.1", "Authentication is not available"});
  if (!esmtp_) return send_error({503, "5.5.1", "Send EHLO first"});
  if (authenticated_) return send_error({503, "5.5.1", "Already authenticated (RFC 4954 4)"});
  if (in_transaction_) return send_error({503, "5.5.1", "AUTH is not permitted during a mail transaction"});
  std::size_t sp = args.find(' ');
  std::string mech = upper(args.substr(0, sp));
  if (mech.empty()) return send_error({501, "5.5.4", "Syntax: AUTH mechanism [initial-response]"});
  if (std::find(auth_mechanisms_.begin(), auth_mechanisms_.end(), mech) == auth_mechanisms_.end())
    return send_error({504, "5.5.4", "Unrecognized authentication mechanism"});
  Event e{EventKind::auth};
  e.argument = mech;
  if (sp != std::string_view::npos) {
    std::string_view initial = args.substr(sp + 1);
    if (initial.find(' ') != std::string_view::npos)
      return send_error({501, "5.5.4", "Syntax: AUTH mechanism [initial-response]"});
    e.has_data = true;
    if (initial != "=") {  // RFC 4954 4: "=" is an empty initial response
      auto d = base64_decode(initial);
      if (!d || initial.empty()) return send_error({501, "5.5.2", "Invalid base64 in initial response"});
      e.data = std::move(*d);
    }
  }
  pending_ = Pending::auth;
  push(std::move(e));
}

void ServerEngine::handle_auth_line(std::string_view line) {
  if (line == "*") {  // RFC 4954 4: the client cancels
    send_error({501, "5.0.0", "Authentication cancelled"});
    return push(Event{EventKind::auth_aborted});
  }
  auto d = base64_decode(line);
  if (!d) {
    send_error({501, "5.5.2", "Invalid base64 in authentication response"});
    return push(Event{EventKind::auth_aborted});
  }
  Event e{EventKind::auth_response};
  e.data = std::move(*d);
  e.has_data = true;
  pending_ = Pending::auth;
  push(std::move(e));
}

// ---- message bodies ------------------------------------------------------------------------

void ServerEngine::begin_body() {
  body_.clear();
  body_size_ = 0;
  line_len_ = 0;
  data_state_ = bol;
  prev_cr_ = false;
  doom_.reset();
}

void ServerEngine::doom(const Reply& r) {
  if (!doom_) doom_ = r;
  body_.clear();
}

void ServerEngine::put_body(char c) {
  if (doom_) return;
  if (++body_size_ > config_.max_message_size)
    return doom({552, "5.3.4", "Message exceeds the fixed maximum size of " +
                                   std::to_string(config_.max_message_size) + " octets"});
  body_ += c;
}

void ServerEngine::emit_body() {
  if (body_.empty() || doom_) return;
  Event e{EventKind::body};
  e.data.swap(body_);
  e.bdat = bdat_started_;
  push(std::move(e));
  body_.clear();
}

bool ServerEngine::handle_data() {
  bool progress = false;
  const Reply long_line{500, "5.5.2", "Message rejected: a line is longer than " +
                                          std::to_string(config_.max_text_line_tolerated) +
                                          " octets (RFC 5321 4.5.3.1.6)"};
  while (in_pos_ < in_.size()) {
    char c = in_[in_pos_++];
    progress = true;
    // Each byte is looked at once; `again` re-dispatches it after a state change.
    for (bool again = true; again;) {
      again = false;
      switch (data_state_) {
        case bol:
          if (c == '.') { data_state_ = dot; break; }
          data_state_ = text;
          again = true;
          break;
        case text:
          if (c == '\r') data_state_ = cr;
          else if (c == '\n') doom(bare_line_ending);  // bare LF: not a line end, no dot detection
          else {
            put_body(c);
            if (++line_len_ > config_.max_text_line_tolerated) doom(long_line);
          }
          break;
        case cr:
          if (c == '\n') {
            put_body('\r');
            put_body('\n');
            line_len_ = 0;
            data_state_ = bol;
          } else {
            doom(bare_line_ending);  // bare CR
            data_state_ = text;
            again = true;
          }
          break;
        case dot:
          if (c == '\r') data_state_ = dot_cr;
          else if (c == '\n') { doom(bare_line_ending); data_state_ = text; }
          else { data_state_ = text; again = true; }  // RFC 5321 4.5.2: drop the leading dot
          break;
        case dot_cr:
          if (c == '\n') {  // <CRLF>.<CRLF>
            emit_body();
            finish_message();
            return true;
          }
          doom(bare_line_ending);
          data_state_ = text;
          again = true;
          break;
      }
    }
    if (body_.size() >= config_.body_chunk_size) emit_body();
  }
  emit_body();
  return progress;
}

bool ServerEngine::handle_bdat() {
  std::uint64_t avail = in_.size() - in_pos_;
  std::uint64_t n = std::min<std::uint64_t>(avail, bdat_left_);
  if (!bdat_discard_) {
    const bool binary = mail_.body == BodyType::binary_mime;
    const Reply long_line{500, "5.5.2", "Message rejected: a line is longer than " +
                                            std::to_string(config_.max_text_line_tolerated) + " octets"};
    for (std::uint64_t k = 0; k < n; ++k) {
      char c = in_[in_pos_ + k];
      if (!binary) {
        if ((prev_cr_ && c != '\n') || (c == '\n' && !prev_cr_)) doom(bare_line_ending);
        prev_cr_ = c == '\r';
        if (c == '\n') line_len_ = 0;
        else if (++line_len_ > config_.max_text_line_tolerated + 1) doom(long_line);
      }
      put_body(c);
      if (body_.size() >= config_.body_chunk_size) emit_body();
    }
    emit_body();
  }
  in_pos_ += n;
  bdat_left_ -= n;
  if (bdat_left_ > 0) return n > 0;
  phase_ = Phase::command;
  if (bdat_discard_) {
    bdat_discard_ = false;
    send_error(bdat_discard_reply_);
    return true;
  }
  if (bdat_last_) {
    if (prev_cr_ && mail_.body != BodyType::binary_mime) doom(bare_line_ending);
    finish_message();
  } else {
    send({250, "2.0.0", std::to_string(bdat_chunk_) + " octets received"});
  }
  return true;
}

void ServerEngine::finish_message() {
  phase_ = Phase::command;
  const bool lmtp = config_.role == Role::lmtp;
  if (doom_) {
    Reply r = *doom_;
    // RFC 2033 4.2: one reply per accepted recipient, even for a rejection.
    std::size_t n = lmtp ? std::max<std::size_t>(recipients_, 1) : 1;
    for (std::size_t i = 1; i < n; ++i) send(r);
    Event e{EventKind::message_aborted};
    e.reply = r;
    e.bdat = bdat_started_;
    reset_transaction(false);
    push(std::move(e));
    send_error(r);
    return;
  }
  Event e{EventKind::message_end};
  e.bdat = bdat_started_;
  e.size = body_size_;
  e.recipients = recipients_;
  lmtp_replies_left_ = lmtp ? recipients_ : 1;
  pending_ = Pending::message_end;
  push(std::move(e));
}

void ServerEngine::tls_started() {
  if (phase_ != Phase::tls_wait) return;
  // RFC 3207 4.2: discard all knowledge obtained from the client; EHLO again.
  tls_ = true;
  helo_verb_.clear();
  esmtp_ = false;
  authenticated_ = false;
  reset_transaction(false);
  in_.clear();
  in_pos_ = 0;
  junk_ = 0;
  phase_ = Phase::command;
}

}  // namespace tern::smtp
