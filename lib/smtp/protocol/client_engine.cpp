// Sans-I/O SMTP/LMTP client engine (see the header for the RFCs it follows).
#include "tern/smtp/client_engine.hpp"

#include <algorithm>

#include "ascii.hpp"
#include "tern/core/base64.hpp"

namespace tern::smtp {

namespace {

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

// ---- replies -------------------------------------------------------------------------------

Reply ServerReply::reply() const {
  Reply r;
  r.code = code;
  r.enhanced = enhanced;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) r.text += '\n';
    r.text += lines[i];
  }
  return r;
}

std::optional<ServerReply> ReplyParser::next() {
  while (error_.empty()) {
    std::size_t nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) {
      if (buf_.size() - pos_ > max_line_) error_ = "reply line longer than " + std::to_string(max_line_) + " octets";
      if (pos_ > 0) {
        buf_.erase(0, pos_);
        pos_ = 0;
      }
      return std::nullopt;
    }
    std::string_view line(buf_.data() + pos_, nl - pos_);
    pos_ = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > max_line_) {
      error_ = "reply line longer than " + std::to_string(max_line_) + " octets";
      break;
    }
    // RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39, then SP or "-" (or nothing).
    if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' || line[2] < '0' ||
        line[2] > '9' || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      error_ = "malformed reply line";
      break;
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (partial_.code != 0 && code != partial_.code) {
      error_ = "reply code changed inside a multi-line reply";
      break;
    }
    partial_.code = code;
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view();
    std::string_view first = text.substr(0, text.find(' '));
    if (partial_.lines.empty()) {
      if (valid_enhanced_code(first, code)) partial_.enhanced = std::string(first);
    }
    if (!partial_.enhanced.empty() && first == partial_.enhanced) {
      text.remove_prefix(first.size());
      if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    }
    if (partial_.lines.size() >= max_lines_) {
      error_ = "reply has more than " + std::to_string(max_lines_) + " lines";
      break;
    }
    partial_.lines.emplace_back(text);
    if (line.size() == 3 || line[3] == ' ') {
      ServerReply done = std::move(partial_);
      partial_ = ServerReply{};
      return done;
    }
  }
  return std::nullopt;
}

Capabilities parse_capabilities(const std::vector<std::string>& lines) {
  Capabilities c;
  c.esmtp = true;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto w = words(lines[i]);
    if (w.empty()) continue;
    std::string kw = upper(w[0]);
    c.keywords.push_back(upper(lines[i]));
    if (kw == "PIPELINING") c.pipelining = true;
    else if (kw == "8BITMIME") c.eightbitmime = true;
    else if (kw == "SMTPUTF8") c.smtputf8 = true;
    else if (kw == "CHUNKING") c.chunking = true;
    else if (kw == "BINARYMIME") c.binarymime = true;
    else if (kw == "DSN") c.dsn = true;
    else if (kw == "STARTTLS") c.starttls = true;
    else if (kw == "ENHANCEDSTATUSCODES") c.enhancedstatuscodes = true;
    else if (kw == "REQUIRETLS") c.requiretls = true;
    else if (kw == "SIZE") {
      std::uint64_t n = 0;
      bool ok = w.size() >= 2 && !w[1].empty() && w[1].size() <= 19 &&
                std::all_of(w[1].begin(), w[1].end(), [](char ch) { return ch >= '0' && ch <= '9'; });
      if (ok) n = std::stoull(w[1]);
      c.size = n;
    } else if (kw == "AUTH" || kw.rfind("AUTH=", 0) == 0) {
      // "AUTH PLAIN LOGIN" and the old "AUTH=PLAIN LOGIN".
      std::vector<std::string> mechs(w.begin() + 1, w.end());
      if (kw.size() > 5) mechs.insert(mechs.begin(), kw.substr(5));
      for (auto& m : mechs) {
        m = upper(m);
        if (std::find(c.auth.begin(), c.auth.end(), m) == c.auth.end()) c.auth.push_back(m);
      }
    }
  }
  return c;
}

std::string_view to_string(ClientEventKind k) noexcept {
  switch (k) {
    case ClientEventKind::ready: return "ready";
    case ClientEventKind::tls_handshake: return "tls_handshake";
    case ClientEventKind::send_body: return "send_body";
    case ClientEventKind::message_result: return "message_result";
    case ClientEventKind::failed: return "failed";
    case ClientEventKind::closed: return "closed";
  }
  return "?";
}

// ---- engine --------------------------------------------------------------------------------

ClientEngine::ClientEngine(ClientConfig config)
    : config_(std::move(config)), parser_(config_.max_reply_line, config_.max_reply_lines), tls_(config_.tls_active) {
  expect_.push_back(Expect::greeting);
}

void ClientEngine::feed(std::string_view bytes) {
  if (state_ == State::closed) return;
  parser_.feed(bytes);
}

std::string ClientEngine::take_output() {
  std::string out;
  out.swap(out_);
  return out;
}

std::optional<ClientEvent> ClientEngine::next_event() {
  for (;;) {
    if (!events_.empty()) {
      ClientEvent e = std::move(events_.front());
      events_.pop_front();
      return e;
    }
    if (state_ == State::closed) return std::nullopt;
    auto r = parser_.next();
    if (!r) {
      if (parser_.failed() && state_ != State::failed) {
        fail({451, "4.5.0", "Invalid reply from the server: " + parser_.error()}, false);
        continue;
      }
      return std::nullopt;
    }
    handle(*r);
  }
}

void ClientEngine::send_line(std::string line, Expect e) {
  out_ += line;
  out_ += "\r\n";
  expect_.push_back(e);
}

void ClientEngine::fail(const Reply& r, bool send_quit) {
  if (txn_) {
    for (std::size_t i = 0; i < txn_->results.size(); ++i) {
      auto& res = txn_->results[i];
      if (!txn_->rcpt_done[i] || (res.accepted && !txn_->data_reply && !txn_->data_failed)) {
        res.reply = r;
        res.accepted = false;
      }
    }
    ClientEvent e{ClientEventKind::message_result};
    e.results = std::move(txn_->results);
    txn_.reset();
    events_.push_back(std::move(e));
  }
  expect_.clear();
  state_ = State::failed;
  if (send_quit) send_line("QUIT", Expect::quit);
  ClientEvent e{ClientEventKind::failed};
  e.reply = r;
  events_.push_back(std::move(e));
}

void ClientEngine::quit() {
  if (state_ == State::closed) return;
  if (state_ == State::transaction || state_ == State::body) return;
  if (std::find(expect_.begin(), expect_.end(), Expect::quit) != expect_.end()) return;
  state_ = State::failed;
  send_line("QUIT", Expect::quit);
}

void ClientEngine::tls_started() {
  if (tls_) return;
  tls_ = true;
  caps_ = Capabilities{};  // RFC 3207 4.2: forget what the server said before TLS
  send_line(std::string(config_.lmtp ? "LHLO " : "EHLO ") + config_.helo_name, Expect::ehlo);
}

void ClientEngine::after_hello() {
  if (!tls_ && !tls_tried_ && config_.tls != TlsPolicy::none && caps_.starttls) {
    tls_tried_ = true;
    send_line("STARTTLS", Expect::starttls);
    return;
  }
  if (!tls_ && config_.tls == TlsPolicy::required)
    return fail({530, "5.7.10", "TLS is required but the server does not offer STARTTLS"}, true);
  if (config_.auth && !authenticated_) return start_auth();
  state_ = State::idle;
  events_.push_back(ClientEvent{ClientEventKind::ready});
}

void ClientEngine::start_auth() {
  if (!tls_ && !config_.allow_plaintext_auth)
    return fail({530, "5.7.10", "Not sending credentials without TLS"}, true);
  const auto& m = caps_.auth;
  const auto& cred = *config_.auth;
  if (std::find(m.begin(), m.end(), "PLAIN") != m.end()) {
    std::string resp;
    resp += '\0';
    resp += cred.username;
    resp += '\0';
    resp += cred.password;
    send_line("AUTH PLAIN " + base64_encode(resp), Expect::auth_plain);
  } else if (std::find(m.begin(), m.end(), "LOGIN") != m.end()) {
    send_line("AUTH LOGIN", Expect::auth_login_user);
  } else {
    fail({530, "5.7.0", "The server offers no AUTH mechanism this client supports (PLAIN, LOGIN)"}, true);
  }
}

void ClientEngine::handle(const ServerReply& sr) {
  Reply r = sr.reply();
  if (expect_.empty()) {
    if (r.code == 421) {
      fail(r, false);
      state_ = State::closed;
      events_.push_back(ClientEvent{ClientEventKind::closed, r});
      return;
    }
    return fail({451, "4.5.0", "Unexpected reply from the server: " + std::to_string(r.code)}, false);
  }
  Expect e = expect_.front();
  expect_.pop_front();
  if (r.code == 421 && e != Expect::quit) {  // RFC 5321 3.8: the server is closing
    fail(r, false);
    state_ = State::closed;
    events_.push_back(ClientEvent{ClientEventKind::closed, r});
    return;
  }
  switch (e) {
    case Expect::greeting:
      greeting_ = sr;
      if (r.code != 220) return fail(r, r.code == 554);
      state_ = State::setup;
      send_line(std::string(config_.lmtp ? "LHLO " : "EHLO ") + config_.helo_name, Expect::ehlo);
      return;
    case Expect::ehlo:
      if (r.code == 250) {
        caps_ = parse_capabilities(sr.lines);
        return after_hello();
      }
      // RFC 5321 3.2: fall back to HELO when EHLO is not understood (never for LMTP).
      if (!config_.lmtp && r.permanent()) return send_line("HELO " + config_.helo_name, Expect::helo);
      return fail(r, true);
    case Expect::helo:
      if (r.code != 250) return fail(r, true);
      caps_ = Capabilities{};
      return after_hello();
    case Expect::starttls:
      if (r.code == 220) {
        events_.push_back(ClientEvent{ClientEventKind::tls_handshake});
        return;
      }
      if (config_.tls == TlsPolicy::required) return fail(r, true);
      return after_hello();  // opportunistic: carry on in plaintext
    case Expect::auth_plain:
    case Expect::auth_done:
      if (r.code == 334 && e == Expect::auth_plain) {
        // A server that ignores the initial response asks again (RFC 4954 4).
        std::string resp;
        resp += '\0';
        resp += config_.auth->username;
        resp += '\0';
        resp += config_.auth->password;
        return send_line(base64_encode(resp), Expect::auth_done);
      }
      if (r.code != 235) return fail(r, true);
      authenticated_ = true;
      state_ = State::idle;
      events_.push_back(ClientEvent{ClientEventKind::ready});
      return;
    case Expect::auth_login_user:
      if (r.code != 334) return fail(r, true);
      return send_line(base64_encode(config_.auth->username), Expect::auth_login_pass);
    case Expect::auth_login_pass:
      if (r.code != 334) return fail(r, true);
      return send_line(base64_encode(config_.auth->password), Expect::auth_done);
    case Expect::quit:
      state_ = State::closed;
      events_.push_back(ClientEvent{ClientEventKind::closed, r});
      return;
    case Expect::rset:
      if (!txn_ && state_ == State::transaction) state_ = State::idle;
      finish_transaction();
      return;
    default:
      return transaction_reply(e, r);
  }
}

// ---- transactions --------------------------------------------------------------------------

std::string ClientEngine::mail_command() const {
  const auto& m = txn_->msg;
  std::string s = "MAIL FROM:<" + m.reverse_path + ">";
  if (!caps_.esmtp) return s;
  if (caps_.size && m.size) s += " SIZE=" + std::to_string(*m.size);
  if (m.body == BodyType::eight_bit_mime) s += " BODY=8BITMIME";
  if (m.body == BodyType::binary_mime) s += " BODY=BINARYMIME";
  if (m.smtputf8) s += " SMTPUTF8";
  if (caps_.dsn) {
    if (m.ret == DsnRet::full) s += " RET=FULL";
    if (m.ret == DsnRet::hdrs) s += " RET=HDRS";
    if (m.envid) s += " ENVID=" + encode_xtext(*m.envid);
  }
  if (m.requiretls) s += " REQUIRETLS";
  return s;
}

std::string ClientEngine::rcpt_command(const OutboundRecipient& r) const {
  std::string s = "RCPT TO:<" + r.address + ">";
  if (caps_.esmtp && caps_.dsn) {
    if (r.notify.set) {
      std::string n;
      if (r.notify.never) n = "NEVER";
      else {
        if (r.notify.success) n += "SUCCESS";
        if (r.notify.failure) n += std::string(n.empty() ? "" : ",") + "FAILURE";
        if (r.notify.delay) n += std::string(n.empty() ? "" : ",") + "DELAY";
      }
      if (!n.empty()) s += " NOTIFY=" + n;
    }
    if (r.orcpt) s += " ORCPT=" + (r.orcpt_type ? *r.orcpt_type : std::string("rfc822")) + ";" + encode_xtext(*r.orcpt);
  }
  return s;
}

bool ClientEngine::send_message(OutboundMessage message) {
  if (state_ != State::idle) return false;
  Txn t;
  t.msg = std::move(message);
  for (auto& r : t.msg.recipients) t.results.push_back(RecipientResult{r.address, {}, false});
  t.rcpt_done.assign(t.results.size(), false);
  // Refusals decided from the capabilities, without a round trip.
  std::optional<Reply> refuse;
  const auto& m = t.msg;
  auto bad_address = [](std::string_view a) {
    return a.size() > 254 || std::any_of(a.begin(), a.end(), [](char ch) {
             auto u = static_cast<unsigned char>(ch);
             return u < 0x21 || u == 0x7f || ch == '<' || ch == '>';
           });
  };
  bool bad_rcpt = std::any_of(m.recipients.begin(), m.recipients.end(),
                              [&](const OutboundRecipient& r) { return r.address.empty() || bad_address(r.address); });
  if (m.recipients.empty()) refuse = Reply{554, "5.5.1", "No recipients"};
  // Never let envelope data carry CR/LF or brackets onto the wire (command injection).
  else if (bad_address(m.reverse_path)) refuse = Reply{553, "5.1.7", "Invalid sender address"};
  else if (bad_rcpt) refuse = Reply{553, "5.1.3", "Invalid recipient address"};
  else if (m.body == BodyType::eight_bit_mime && !caps_.eightbitmime)
    refuse = Reply{554, "5.6.3", "8-bit message not sent: the server does not offer 8BITMIME (RFC 6152)"};
  else if (m.body == BodyType::binary_mime && !(caps_.chunking && caps_.binarymime))
    refuse = Reply{554, "5.6.3", "Binary message not sent: the server does not offer BINARYMIME (RFC 3030)"};
  else if (m.smtputf8 && !caps_.smtputf8)
    refuse = Reply{553, "5.6.7", "Internationalized message not sent: the server does not offer SMTPUTF8 (RFC 6531)"};
  else if (m.size && caps_.size && *caps_.size > 0 && *m.size > *caps_.size)
    refuse = Reply{552, "5.3.4", "Message is larger than the server's limit of " + std::to_string(*caps_.size) +
                                     " octets (RFC 1870)"};
  else if (m.requiretls && (!tls_ || !caps_.requiretls))
    refuse = Reply{550, "5.7.30", "REQUIRETLS was requested but this server cannot honour it (RFC 8689)"};
  if (refuse) {
    ClientEvent e{ClientEventKind::message_result};
    for (auto& res : t.results) res.reply = *refuse;
    e.results = std::move(t.results);
    events_.push_back(std::move(e));
    return true;
  }
  t.pipelined = caps_.pipelining;
  t.use_bdat = caps_.chunking && (m.body == BodyType::binary_mime || config_.prefer_chunking);
  txn_ = std::move(t);
  state_ = State::transaction;
  at_bol_ = true;
  pending_cr_ = false;
  bdat_buf_.clear();
  send_line(mail_command(), Expect::mail);
  if (txn_->pipelined) {
    // RFC 2920 3.1: MAIL and RCPTs in one group, DATA last.
    for (std::size_t i = 0; i < txn_->msg.recipients.size(); ++i) send_rcpt(i);
    if (!txn_->use_bdat) send_line("DATA", Expect::data);
  }
  return true;
}

void ClientEngine::send_rcpt(std::size_t i) {
  txn_->next_rcpt = i + 1;
  send_line(rcpt_command(txn_->msg.recipients[i]), Expect::rcpt);
}

void ClientEngine::all_rcpt_replies_in() {
  auto& t = *txn_;
  if (t.pipelined && !t.use_bdat) return;  // DATA is already on its way
  if (t.accepted == 0) {
    if (t.mail_ok) return send_line("RSET", Expect::rset);
    return finish_transaction();
  }
  if (t.use_bdat) {
    state_ = State::body;
    t.body_open = true;
    events_.push_back(ClientEvent{ClientEventKind::send_body});
  } else {
    send_line("DATA", Expect::data);
  }
}

void ClientEngine::transaction_reply(Expect e, const Reply& r) {
  if (!txn_) return fail({451, "4.5.0", "Unexpected reply from the server"}, false);
  auto& t = *txn_;
  switch (e) {
    case Expect::mail:
      t.mail_ok = r.positive();
      if (!t.mail_ok) {
        for (std::size_t i = 0; i < t.results.size(); ++i) {
          t.results[i].reply = r;
          t.rcpt_done[i] = true;
        }
        if (!t.pipelined) return finish_transaction();
        return;  // the pipelined RCPT/DATA replies are still to come
      }
      if (!t.pipelined) send_rcpt(0);
      return;
    case Expect::rcpt: {
      std::size_t i = t.replies_seen++;
      if (i >= t.results.size()) return;
      if (t.mail_ok) {
        t.results[i].reply = r;
        t.rcpt_done[i] = true;
        if (r.positive()) {
          t.results[i].accepted = true;  // provisional until the data reply
          ++t.accepted;
        }
      }
      if (t.replies_seen < t.results.size()) {
        if (!t.pipelined) send_rcpt(t.next_rcpt);
        return;
      }
      return all_rcpt_replies_in();
    }
    case Expect::data:
      if (r.code == 354) {
        if (t.accepted == 0) {
          // RFC 2920 3.1: DATA accepted although no recipient was: send an empty message.
          t.data_failed = true;
          out_ += ".\r\n";
          expect_.push_back(Expect::dot);
          return;
        }
        state_ = State::body;
        t.body_open = true;
        events_.push_back(ClientEvent{ClientEventKind::send_body});
        return;
      }
      if (t.accepted > 0) {
        t.data_reply = r;
        for (auto& res : t.results)
          if (res.accepted) {
            res.reply = r;
            res.accepted = false;
          }
      }
      if (t.mail_ok) return send_line("RSET", Expect::rset);
      return finish_transaction();
    case Expect::dot:
    case Expect::bdat_last: {
      if (t.data_failed) {  // the empty message after a stray 354, or a chunk already refused
        if (t.mail_ok && !t.data_reply) return finish_transaction();
        if (t.mail_ok) return send_line("RSET", Expect::rset);
        return finish_transaction();
      }
      if (config_.lmtp) {
        // RFC 2033 4.2: one reply per accepted recipient, in RCPT order.
        while (t.lmtp_next < t.results.size() && !t.results[t.lmtp_next].accepted) ++t.lmtp_next;
        if (t.lmtp_next < t.results.size()) {
          auto& res = t.results[t.lmtp_next++];
          res.reply = r;
          res.accepted = r.positive();
        }
        std::size_t left = 0;
        for (std::size_t i = t.lmtp_next; i < t.results.size(); ++i) left += t.results[i].accepted;
        if (left > 0) {
          expect_.push_front(e);
          return;
        }
        return finish_transaction();
      }
      for (auto& res : t.results)
        if (res.accepted) {
          res.reply = r;
          res.accepted = r.positive();
        }
      t.data_reply = r;
      if (!r.positive() && e == Expect::bdat_last) return send_line("RSET", Expect::rset);
      return finish_transaction();
    }
    case Expect::bdat:
      --t.bdat_outstanding;
      if (!r.positive() && !t.data_failed) {
        t.data_failed = true;
        t.data_reply = r;
        for (auto& res : t.results)
          if (res.accepted) {
            res.reply = r;
            res.accepted = false;
          }
      }
      if (!t.pipelined && !t.data_failed && !t.held_chunks.empty()) {
        std::string next = std::move(t.held_chunks.front());
        t.held_chunks.pop_front();
        out_ += next;
        expect_.push_back(t.held_chunks.empty() && t.bdat_last_sent ? Expect::bdat_last : Expect::bdat);
        if (expect_.back() == Expect::bdat) ++t.bdat_outstanding;
        return;
      }
      if (t.data_failed && !t.body_open && t.bdat_outstanding == 0 &&
          std::find(expect_.begin(), expect_.end(), Expect::bdat_last) == expect_.end())
        return send_line("RSET", Expect::rset);
      return;
    default: return;
  }
}

void ClientEngine::finish_transaction() {
  if (!txn_) {
    if (state_ == State::transaction || state_ == State::body) state_ = State::idle;
    return;
  }
  for (std::size_t i = 0; i < txn_->results.size(); ++i)
    if (txn_->results[i].reply.code == 0) txn_->results[i].reply = Reply{451, "4.5.0", "No reply for this recipient"};
  ClientEvent e{ClientEventKind::message_result};
  e.results = std::move(txn_->results);
  txn_.reset();
  state_ = State::idle;
  events_.push_back(std::move(e));
}

// ---- body ----------------------------------------------------------------------------------

void ClientEngine::stuff(std::string_view bytes, bool dot_stuff, std::string& out) {
  for (char c : bytes) {
    if (pending_cr_) {
      pending_cr_ = false;
      out += "\r\n";  // a CR: with its LF, or a bare CR sent as CRLF
      at_bol_ = true;
      if (c == '\n') continue;
    }
    if (c == '\r') {
      pending_cr_ = true;
      continue;
    }
    if (c == '\n') {  // bare LF sent as CRLF
      out += "\r\n";
      at_bol_ = true;
      continue;
    }
    if (at_bol_ && c == '.' && dot_stuff) out += '.';  // RFC 5321 4.5.2
    at_bol_ = false;
    out += c;
  }
}

void ClientEngine::flush_bdat(bool last) {
  auto& t = *txn_;
  while (bdat_buf_.size() >= config_.bdat_chunk_size || (last && !t.bdat_last_sent)) {
    std::size_t n = std::min(bdat_buf_.size(), config_.bdat_chunk_size);
    bool this_last = last && n == bdat_buf_.size();
    std::string wire = "BDAT " + std::to_string(n) + (this_last ? " LAST" : "") + "\r\n";
    wire.append(bdat_buf_, 0, n);
    bdat_buf_.erase(0, n);
    if (this_last) t.bdat_last_sent = true;
    bool in_flight = t.bdat_outstanding > 0 ||
                     std::find(expect_.begin(), expect_.end(), Expect::bdat_last) != expect_.end();
    if (!t.pipelined && (in_flight || !t.held_chunks.empty())) {
      t.held_chunks.push_back(std::move(wire));
    } else {
      out_ += wire;
      expect_.push_back(this_last ? Expect::bdat_last : Expect::bdat);
      if (!this_last) ++t.bdat_outstanding;
    }
    if (this_last) break;
  }
}

void ClientEngine::write_body(std::string_view bytes) {
  if (!txn_ || !txn_->body_open) return;
  auto& t = *txn_;
  if (t.data_failed) return;  // a chunk was refused: the rest goes nowhere
  if (t.use_bdat) {
    if (t.msg.body == BodyType::binary_mime) bdat_buf_.append(bytes);
    else stuff(bytes, false, bdat_buf_);
    flush_bdat(false);
  } else {
    stuff(bytes, true, out_);
  }
}

void ClientEngine::end_body() {
  if (!txn_ || !txn_->body_open) return;
  auto& t = *txn_;
  t.body_open = false;
  if (t.use_bdat) {
    if (t.data_failed) {
      if (t.bdat_outstanding == 0) send_line("RSET", Expect::rset);
      return;
    }
    if (t.msg.body != BodyType::binary_mime) {
      if (pending_cr_ || !at_bol_) {
        pending_cr_ = false;
        bdat_buf_ += "\r\n";
      }
    }
    flush_bdat(true);
  } else {
    if (pending_cr_ || !at_bol_) out_ += "\r\n";
    pending_cr_ = false;
    at_bol_ = true;
    out_ += ".\r\n";
    expect_.push_back(Expect::dot);
  }
  state_ = State::transaction;
}

}  // namespace tern::smtp
