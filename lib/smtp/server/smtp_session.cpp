// One SMTP/LMTP connection: pumps bytes through the sans-I/O ServerEngine and answers its events with the
// built-in policy (see smtp_service.hpp for the order) and the host's hooks. Blocking work (directory,
// password hashing, fsync) goes to the worker pool; the I/O thread only shuffles bytes and waits.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <ctime>
#include <map>
#include <set>

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "tern/auth/sasl_server.hpp"
#include "tern/mime/address.hpp"
#include "tern/mime/date.hpp"
#include "tern/mime/message.hpp"
#include "tern/mime/smtp_address.hpp"
#include "tern/smtp/smtp_service.hpp"

namespace tern::smtp {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// RFC 5322 §3.3 date-time in local time, e.g. "Mon, 23 Nov 2026 10:00:00 +0000".
std::string rfc5322_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  return mime::format_date_time(mime::date_time_from_unix(t, static_cast<int>(tm.tm_gmtoff / 60)));
}

std::string new_message_id(const std::string& session) {
  static std::atomic<unsigned> n{0};
  return fmt::format("{}.{}", session, n.fetch_add(1) + 1);
}

// The header block of a message (up to and including the empty line), or all of it if there is none.
std::size_t header_end(std::string_view msg) {
  if (msg.rfind("\r\n", 0) == 0) return 2;
  auto p = msg.find("\r\n\r\n");
  return p == std::string_view::npos ? msg.size() : p + 4;
}

// Unfolded values of every field named `name` (case-insensitive) in the header block (lib/mime's parser).
std::vector<std::string> header_values(std::string_view msg, std::string_view name) {
  std::vector<std::string> out;
  mime::Message m = mime::parse(msg.substr(0, header_end(msg)));
  for (const auto& h : m.root().headers)
    if (mime::iequals(h.name, name)) out.push_back(h.unfolded());
  return out;
}

// The canonical domain (A-labels, lower case) of a stored "local@domain" address (lib/mime).
std::string domain_of(std::string_view address) { return mime::address_domain(address); }

class SmtpSession {
 public:
  SmtpSession(const SmtpService& service, std::shared_ptr<net::Connection> c)
      : svc_(service), d_(service.deps()), conn_(std::move(c)), log_(conn_->log()),
        engine_(engine_config(), conn_->tls_active()) {
    info_.session_id = log_.id();
    info_.service = std::string(service.name());
    info_.remote_address = conn_->remote_address();
    info_.remote_port = conn_->remote_port();
    info_.internal_network = net::in_networks(d_.internal_networks, conn_->remote_address());
    update_tls();
  }

  asio::awaitable<void> run() {
    char buf[16 * 1024];
    for (;;) {
      while (auto ev = engine_.next_event()) {
        if (!co_await handle(*ev)) {
          co_await flush();
          co_return;
        }
      }
      if (!co_await flush()) co_return;
      if (engine_.closed()) co_return;
      if (conn_->draining() && !in_transaction_ && !engine_.awaiting_reply()) {
        engine_.close_with({421, "4.3.2", d_.hostname + " Service shutting down, please try again later"});
        co_await flush();
        co_return;
      }
      if (!engine_.wants_input()) continue;  // a decision is pending: nothing to read yet
      auto n = co_await conn_->read_some(buf, in_transaction_ ? net::ReadMode::transfer : net::ReadMode::idle);
      if (!n) {
        if (n.error().code == ESHUTDOWN)
          engine_.close_with({421, "4.3.2", d_.hostname + " Service shutting down, please try again later"});
        else if (n.error().code == ETIMEDOUT)
          engine_.close_with({421, "4.4.2", d_.hostname + " Timeout: closing the connection"});
        else
          co_return;
        log_.info("smtp.closed", {{"reason", n.error().message}});
        co_await flush();
        co_return;
      }
      if (*n == 0) co_return;
      engine_.feed(std::string_view(buf, *n));
    }
  }

 private:
  ServerConfig engine_config() const {
    ServerConfig c = d_.settings.protocol;
    c.role = svc_.role();
    c.hostname = d_.hostname;
    c.starttls = svc_.role() != Role::submissions && d_.tls && d_.tls() != nullptr;
    c.require_auth = c.require_auth || svc_.role() == Role::submission || svc_.role() == Role::submissions;
    return c;
  }

  void update_tls() {
    auto tls = conn_->tls_info();
    info_.tls = tls.active;
    info_.tls_version = tls.version;
    info_.tls_cipher = tls.cipher;
  }

  bool authenticated() const { return !info_.login.empty(); }

  // AUTH is only for TLS sessions or internal networks (RFC 4954 §4: no plaintext passwords in clear),
  // and not on the MTA role unless configured.
  bool auth_allowed() const {
    if (svc_.role() == Role::lmtp) return false;
    if (svc_.role() == Role::smtp && !d_.settings.auth_on_mta) return false;
    return conn_->tls_active() || info_.internal_network;
  }

  auth::SaslOptions sasl_options() const {
    auth::SaslOptions o;
    o.plaintext_allowed = conn_->tls_active() || info_.internal_network;
    o.scram = d_.scram;
    auto binding = conn_->tls_exporter_binding();
    if (!binding.empty()) o.channel_bindings.push_back({"tls-exporter", binding});
    return o;
  }

  asio::awaitable<bool> flush() {
    if (!engine_.has_output()) co_return true;
    std::string out = engine_.take_output();
    auto st = co_await conn_->write(out);
    co_return static_cast<bool>(st);
  }

  // Blocking work (directory, hashing, fsync) on the worker pool. Jobs capture by reference only: the
  // coroutine frame outlives the co_await, and GCC 12 corrupts closures with non-trivial captures built
  // inside a co_await expression (see docs/architecture.md).
  template <class F>
  auto blocking(F fn) {
    return d_.workers->run(std::move(fn));
  }

  // Directory reads: from the snapshot in memory on this thread when the directory has one ready (the file
  // and LDAP backends between reloads; a lookup takes ~1 us), else on the worker pool. A worker costs two
  // thread hand-offs per lookup, several per message (directory.hpp: snapshot_if_ready).
  asio::awaitable<Result<std::shared_ptr<const directory::DirectorySnapshot>>> dir_snapshot() {
    auto* dir = d_.directory;
    if (auto snap = dir->snapshot_if_ready()) co_return snap;
    co_return co_await blocking([&]() { return dir->snapshot(); });
  }
  asio::awaitable<Result<directory::Resolution>> dir_resolve(const std::string& addr, std::optional<std::string_view> sender) {
    auto* dir = d_.directory;
    if (auto snap = dir->snapshot_if_ready()) co_return directory::resolve(*snap, addr, dir->options(), sender);
    co_return co_await blocking([&]() { return dir->resolve(addr, sender); });
  }
  asio::awaitable<Result<directory::SendAsVerdict>> dir_may_send_as(const std::string& login, const std::string& from) {
    auto* dir = d_.directory;
    if (auto snap = dir->snapshot_if_ready()) co_return directory::may_send_as(*snap, login, from, dir->options());
    co_return co_await blocking([&]() { return dir->may_send_as(login, from); });
  }

  void reply(int code, std::string enhanced, std::string text) { engine_.reply({code, std::move(enhanced), std::move(text)}); }
  void reply(const Verdict& v, int default_code) {
    int code = v.code ? v.code : default_code;
    std::string enhanced = v.enhanced.empty() ? (code >= 500 ? "5.7.1" : "4.7.1") : v.enhanced;
    std::string text = v.text.empty() ? "Rejected by policy" : v.text;
    engine_.reply({code, enhanced, text});
  }
  // Applies a refusing verdict; returns true when it decided (reply sent).
  bool refused(const Verdict& v) {
    if (v.kind == Verdict::Kind::reject) { reply(v, 550); return true; }
    if (v.kind == Verdict::Kind::tempfail) { reply(v, 451); return true; }
    return false;
  }

  template <class Chain, class... Args>
  asio::awaitable<Verdict> run_hooks(const Chain Hooks::*chain, Args&... args) {
    if (!d_.hooks) co_return Verdict::next();
    for (const auto& h : (*d_.hooks).*chain) {
      Verdict v = co_await h.hook(info_, args...);
      for (auto& e : v.header_edits) header_edits_.push_back(e);
      if (v.decides()) {
        log_.info("smtp.hook", {{"hook", h.name}, {"verdict", static_cast<int>(v.kind)}, {"code", v.code}});
        co_return v;
      }
    }
    co_return Verdict::next();
  }

  asio::awaitable<bool> handle(const Event& ev) {
    switch (ev.kind) {
      case EventKind::connect: {
        // Pregreet test: RFC 5321 §3.1 has the client wait for the greeting; bots that don't are refused.
        if (svc_.role() == Role::smtp && !info_.internal_network &&
            co_await conn_->peer_spoke_within(d_.settings.pregreet_wait)) {
          log_.warn("smtp.pregreet", {{"remote", conn_->remote_address().to_string()}});
          engine_.close_with({554, "5.5.1", d_.hostname + " Protocol error: you talked before my greeting"});
          co_return true;
        }
        auto v = co_await run_hooks(&Hooks::connect);
        if (v.kind == Verdict::Kind::reject) reply(v.code ? v.code : 554, v.enhanced.empty() ? "5.7.1" : v.enhanced,
                                                   v.text.empty() ? "Connection refused by policy" : v.text);
        else if (v.kind == Verdict::Kind::tempfail) engine_.close_with({421, v.enhanced.empty() ? "4.7.0" : v.enhanced,
                                                                       d_.hostname + " " + (v.text.empty() ? "Try again later" : v.text)});
        else reply(220, "", d_.hostname + " ESMTP Tern");
        co_return true;
      }
      case EventKind::helo: co_await on_helo(ev); co_return true;
      case EventKind::starttls:
        if (d_.tls && !conn_->tls_active() && d_.tls()) reply(220, "2.0.0", "Ready to start TLS");
        else reply(454, "4.7.0", "TLS not available");
        co_return true;
      case EventKind::tls_handshake: {
        if (!co_await flush()) co_return false;
        if (ev.discarded) log_.warn("smtp.starttls_injection", {{"discarded_octets", ev.discarded}});
        auto st = co_await conn_->start_tls(d_.tls());
        if (!st) {
          log_.info("tls.handshake_failed", {{"error", st.error().message}});
          co_return false;
        }
        engine_.tls_started();
        update_tls();
        log_.info("tls.established", {{"version", info_.tls_version}, {"cipher", info_.tls_cipher}});
        co_return true;
      }
      case EventKind::auth: co_await on_auth(ev); co_return true;
      case EventKind::auth_response: co_await on_auth_response(ev); co_return true;
      case EventKind::auth_aborted: sasl_.reset(); co_return true;
      case EventKind::mail: co_await on_mail(ev); co_return true;
      case EventKind::rcpt: co_await on_rcpt(ev); co_return true;
      case EventKind::data_start:
        message_.clear();
        if (ev.bdat) reply(250, "2.0.0", "Receiving chunks");
        else reply(354, "", "Start mail input; end with <CRLF>.<CRLF>");
        co_return true;
      case EventKind::body: message_ += ev.data; co_return true;
      case EventKind::message_end: co_await on_message_end(ev); co_return true;
      case EventKind::message_aborted:
        log_.info("smtp.message_rejected", {{"code", ev.reply.code}, {"enhanced", ev.reply.enhanced}, {"reason", ev.reply.text}});
        message_.clear();
        co_return true;
      case EventKind::reset: reset_transaction(); co_return true;
      case EventKind::vrfy: co_await on_vrfy(ev); co_return true;
      case EventKind::close: co_return false;
    }
    co_return true;
  }

  void reset_transaction() {
    in_transaction_ = false;
    env_ = Envelope{};
    rcpts_.clear();
    message_.clear();
    header_edits_.clear();
  }

  asio::awaitable<void> on_helo(const Event& ev) {
    reset_transaction();
    info_.helo = ev.argument;
    std::string helo = ev.argument;
    auto v = co_await run_hooks(&Hooks::helo, helo);
    if (refused(v)) co_return;
    std::vector<std::string> mechs;
    if (auth_allowed())
      for (auto m : auth::offered_mechanisms(sasl_options())) mechs.emplace_back(auth::mechanism_name(m));
    engine_.set_auth_mechanisms(std::move(mechs));
    reply(250, "", "Hello " + helo);
  }

  // ---- AUTH ---------------------------------------------------------------------------------------

  asio::awaitable<void> on_auth(const Event& ev) {
    if (!auth_allowed()) {
      reply(538, "5.7.11", "Encryption required for requested authentication mechanism");
      co_return;
    }
    auto gate = d_.throttle->check(conn_->remote_address(), "", auth::Clock::now());
    if (!gate.allowed) {
      log_.warn("auth.locked", {{"remote", conn_->remote_address().to_string()}, {"reason", gate.reason}});
      reply(454, "4.7.0", "Too many failed authentication attempts; try again later");
      co_return;
    }
    sasl_ = std::make_unique<auth::SaslServer>(sasl_options());
    std::optional<std::string_view> initial;
    if (ev.has_data) initial = ev.data;
    co_await drive(sasl_->start(ev.argument, initial));
  }

  asio::awaitable<void> on_auth_response(const Event& ev) {
    if (!sasl_) {
      reply(503, "5.5.1", "No authentication in progress");
      co_return;
    }
    if (pending_identity_) {  // the client acknowledged SCRAM's server-final message
      auto id = std::move(*pending_identity_);
      pending_identity_.reset();
      co_await login_succeeded(id);
      co_return;
    }
    co_await drive(sasl_->step(ev.data));
  }

  asio::awaitable<void> drive(const auth::SaslStep& first) {
    using K = auth::SaslStep::Kind;
    auth::SaslStep step = first;
    for (;;) {
      switch (step.kind) {
        case K::challenge:
          reply(334, "", step.data);
          co_return;
        case K::check_password: {
          auto check = step.password_check;
          auto* a = d_.authenticator;
          auto verdict = co_await blocking([&]() -> Result<auth::AuthVerdict> { return a->verify_password(check); });
          step = sasl_->password_checked(verdict ? *verdict
                                                 : auth::AuthVerdict::failure(auth::AuthVerdict::Outcome::temporary,
                                                                              verdict.error().message));
          continue;
        }
        case K::lookup_scram: {
          auto user = step.scram_user;
          auto* a = d_.authenticator;
          auto account = co_await blocking([&]() -> Result<std::optional<auth::ScramAccount>> {
            return a->scram_account(user);
          });
          step = sasl_->scram_found(account ? *account : std::nullopt);
          continue;
        }
        case K::check_token:
          step = sasl_->token_checked(auth::AuthVerdict::failure(auth::AuthVerdict::Outcome::bad_credentials,
                                                                 "no OAuth token validator configured"));
          continue;
        case K::success:
          if (!step.data.empty()) {  // RFC 4954 §4: server-final data goes in a 334, answered empty
            pending_identity_ = step.identity;
            reply(334, "", step.data);
            co_return;
          }
          co_await login_succeeded(step.identity);
          co_return;
        case K::failure: {
          auto decision = d_.throttle->record_failure(conn_->remote_address(), sasl_->claimed_user(), "smtp",
                                                      auth::Clock::now(), step.reason);
          sasl_.reset();
          if (decision.delay.count() > 0) {  // the attacker waits; no thread is held while it does
            asio::steady_timer t(conn_->executor(), decision.delay);
            asio::error_code ec;
            co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          }
          auto r = auth::smtp_reply(step.failure);
          reply(r.code, r.enhanced, r.text);
          co_return;
        }
      }
    }
  }

  asio::awaitable<void> login_succeeded(const std::string& identity) {
    std::string who = identity;
    auto v = co_await run_hooks(&Hooks::auth, who);
    if (refused(v)) {
      sasl_.reset();
      co_return;
    }
    d_.throttle->record_success(conn_->remote_address(), identity, auth::Clock::now());
    info_.login = identity;
    log_.info("auth.success", {{"protocol", "smtp"}, {"user", identity}, {"mechanism", sasl_->mechanism()}});
    sasl_.reset();
    reply(235, "2.7.0", "Authentication successful");
  }

  // ---- MAIL / RCPT ----------------------------------------------------------------------------------

  asio::awaitable<void> on_mail(const Event& ev) {
    reset_transaction();
    env_.mail_from = ev.path.null ? std::string() : ev.path.mailbox.address();
    env_.declared_size = ev.mail_params.size.value_or(0);
    env_.smtputf8 = ev.mail_params.smtputf8;
    env_.requiretls = ev.mail_params.requiretls;
    env_.body_type = ev.mail_params.body == BodyType::eight_bit_mime ? "8BITMIME"
                     : ev.mail_params.body == BodyType::binary_mime  ? "BINARYMIME"
                     : ev.mail_params.body == BodyType::seven_bit    ? "7BIT"
                                                                     : "";
    env_.envid = ev.mail_params.envid.value_or("");
    env_.ret = ev.mail_params.ret == DsnRet::full ? "FULL" : ev.mail_params.ret == DsnRet::hdrs ? "HDRS" : "";
    if (authenticated() && !ev.path.null) {
      auto login = info_.login, from = env_.mail_from;
      auto verdict = co_await dir_may_send_as(login, from);
      if (!verdict) {
        reply(451, "4.3.0", "Cannot check the sender address now; try again later");
        co_return;
      }
      if (!verdict->allowed) {
        log_.warn("smtp.spoof_refused", {{"login", login}, {"mail_from", from}, {"reason", verdict->reason}});
        reply(553, "5.7.1", fmt::format("Sender address <{}> is not yours ({} may not send as it)", from, login));
        co_return;
      }
    } else if (!authenticated() && !info_.internal_network && !ev.path.null && svc_.role() == Role::smtp) {
      // Mail that claims one of our own domains must come from someone who logged in, unless the
      // domain's SPF allows this client (alternate MX, Cloudron's rule).
      std::string domain = domain_of(env_.mail_from);
      auto snap = co_await dir_snapshot();
      if (snap && (*snap)->find_domain(domain) != nullptr) {
        bool allowed = d_.sender_domain_check && co_await d_.sender_domain_check(conn_->remote_address(), domain);
        if (!allowed) {
          log_.warn("smtp.local_sender_refused", {{"mail_from", env_.mail_from}});
          reply(550, "5.7.1", fmt::format("Sender address <{}> is in a domain of this server: log in (submission) to "
                                          "send as it", env_.mail_from));
          co_return;
        }
      }
    }
    if (auto wait = rate_limited(false); wait.count() > 0) {
      reply(451, "4.7.1", fmt::format("Too many messages from {} in the last minute; try again in {} seconds",
                                      rate_subject(), wait.count()));
      co_return;
    }
    auto v = co_await run_hooks(&Hooks::mail_from, env_);
    if (refused(v)) co_return;
    in_transaction_ = true;
    log_.info("smtp.mail", {{"from", env_.mail_from}, {"size", env_.declared_size}});
    reply(250, "2.1.0", "Sender OK");
  }

  // Rate limits: per login when authenticated, else per client network outside internal_networks;
  // LMTP clients are trusted MTAs. Returns how long to wait (0: go on, counted).
  std::chrono::seconds rate_limited(bool recipient) {
    if (!d_.rate_limiter || svc_.role() == Role::lmtp) return std::chrono::seconds{0};
    auto now = RateLimiter::Clock::now();
    std::chrono::seconds wait{0};
    if (authenticated())
      wait = recipient ? d_.rate_limiter->take_recipient_from_user(info_.login, now)
                       : d_.rate_limiter->take_message_from_user(info_.login, now);
    else if (!info_.internal_network)
      wait = recipient ? d_.rate_limiter->take_recipient_from_ip(conn_->remote_address(), now)
                       : d_.rate_limiter->take_message_from_ip(conn_->remote_address(), now);
    if (wait.count() > 0)
      log_.warn("smtp.rate_limited", {{"what", recipient ? "recipients" : "messages"}, {"subject", rate_subject()},
                                      {"retry_after", wait.count()}});
    return wait;
  }
  std::string rate_subject() const {
    return authenticated() ? info_.login : net::network_key(conn_->remote_address(), 32, 64);
  }

  struct AcceptedRecipient {
    Recipient recipient;
    std::vector<std::string> mailboxes;  // local targets
    std::vector<std::string> forwards;   // external targets (relay or forwarding)
    std::uint64_t size_limit = 0;        // the recipient domain's own size limit (0: none)
    bool forwarded = false;              // forwards come from an alias/list or an SRS bounce: SRS applies
  };

  // Whether the directory serves `domain`. BLOCKING part on the worker pool.
  asio::awaitable<bool> served_here(const std::string& domain) {
    auto snap = co_await dir_snapshot();
    co_return snap && (*snap)->find_domain(domain) != nullptr;
  }

  // The return path for forwards of `a`: the SRS form of the sender (docs/srs.md), unless there is no
  // SRS, the sender is null, or the sender's domain is served here (SPF passes for our own domains).
  std::string forward_return_path(const AcceptedRecipient& a, bool sender_local) const {
    if (!a.forwarded || !d_.srs || env_.mail_from.empty() || sender_local) return env_.mail_from;
    std::string srs_domain = d_.srs_domain.empty() ? domain_of(a.recipient.address) : d_.srs_domain;
    auto rewritten = d_.srs->forward(env_.mail_from, srs_domain, static_cast<std::int64_t>(std::time(nullptr)));
    if (!rewritten) {
      log_.warn("smtp.srs_failed", {{"from", env_.mail_from}, {"error", rewritten.error().message}});
      return env_.mail_from;  // forwarded unrewritten rather than lost
    }
    return *rewritten;
  }

  asio::awaitable<void> on_rcpt(const Event& ev) {
    Recipient r;
    r.address = ev.path.postmaster ? "postmaster@" + d_.hostname : ev.path.mailbox.address();
    if (ev.rcpt_params.notify.set) {
      const auto& n = ev.rcpt_params.notify;
      if (n.never) r.notify = "NEVER";
      else {
        std::vector<std::string> parts;
        if (n.success) parts.push_back("SUCCESS");
        if (n.failure) parts.push_back("FAILURE");
        if (n.delay) parts.push_back("DELAY");
        r.notify = fmt::format("{}", fmt::join(parts, ","));
      }
    }
    if (ev.rcpt_params.orcpt) r.orcpt = ev.rcpt_params.orcpt_type.value_or("rfc822") + ";" + *ev.rcpt_params.orcpt;
    std::string addr = r.address, sender = env_.mail_from;
    bool srs_bounce = false;
    auto rcpt_parts = mime::split_address(addr);
    if (d_.srs && svc_.role() != Role::lmtp && rcpt_parts && mailauth::SrsCodec::is_srs(rcpt_parts->local)) {
      // A bounce to an address we rewrote with SRS: deliver it to the original sender if the hash and age
      // are right (docs/srs.md). SRS addresses are recognised at [srs] domain and at our own domains.
      std::string rcpt_domain = domain_of(addr);
      bool ours = rcpt_domain == mime::canonical_domain(d_.srs_domain);
      if (!ours) ours = co_await served_here(rcpt_domain);
      if (ours) {
        auto reversed = d_.srs->reverse(addr, static_cast<std::int64_t>(std::time(nullptr)));
        if (!reversed) {
          log_.info("smtp.srs_refused", {{"rcpt", addr}, {"error", reversed.error().message}});
          reply(550, "5.1.1", fmt::format("<{}> is not a valid bounce address here: {}", addr,
                                          reversed.error().message));
          co_return;
        }
        log_.info("smtp.srs_reversed", {{"rcpt", addr}, {"to", *reversed}});
        addr = *reversed;
        srs_bounce = true;
      }
    }
    auto res = co_await dir_resolve(addr, sender);
    if (!res) {
      log_.warn("smtp.rcpt_lookup_failed", {{"rcpt", addr}, {"error", res.error().message}});
      reply(451, "4.3.0", "Cannot look up the recipient now; try again later");
      co_return;
    }
    AcceptedRecipient accepted{r, {}, {}};
    using S = directory::ResolveStatus;
    if (res->status == S::deliver) {
      accepted.mailboxes = res->mailboxes();
      accepted.forwards = res->forwards();
      accepted.forwarded = true;
    } else if (res->status == S::not_local) {
      if (svc_.role() == Role::lmtp) {
        reply(550, "5.1.2", fmt::format("<{}> is not in a domain served here", addr));
        co_return;
      }
      if (!authenticated() && !info_.internal_network && !srs_bounce) {
        log_.warn("smtp.relay_denied", {{"rcpt", addr}, {"remote", conn_->remote_address().to_string()}});
        reply(554, "5.7.1", fmt::format("Relay access denied: <{}> is not a local address; log in to send "
                                        "mail to other domains", addr));
        co_return;
      }
      accepted.forwards.push_back(addr);
      accepted.forwarded = srs_bounce;
    } else {
      auto rr = res->reply();
      log_.info("smtp.rcpt_refused", {{"rcpt", addr}, {"status", std::string(directory::to_string(res->status))}});
      reply(rr.code, rr.enhanced, rr.text);
      co_return;
    }
    if (res->status == S::deliver) {
      // A domain may have its own size limit (below the server's): the declared SIZE is checked now
      // (RFC 1870 §6.2), the real size at the end of data.
      std::string domain = domain_of(addr);
      auto snap = co_await dir_snapshot();
      if (snap)
        if (const auto* dom = (*snap)->find_domain(domain)) accepted.size_limit = dom->max_message_size;
      if (accepted.size_limit && env_.declared_size > accepted.size_limit) {
        reply(552, "5.3.4", fmt::format("Message too big for {}: it accepts at most {} bytes", domain, accepted.size_limit));
        co_return;
      }
    }
    if (!accepted.mailboxes.empty() && accepted.forwards.empty() && d_.sink) {
      // RFC 5321 §4.2.5 / RFC 3463 5.2.2: refuse for a full mailbox before the body is sent (for an alias,
      // only when every mailbox behind it is full: the others still get their copy).
      auto* sink = d_.sink.get();
      std::uint64_t size = env_.declared_size;
      std::size_t full = 0;
      for (const auto& mailbox : accepted.mailboxes) {
        LocalDelivery target{mailbox};
        auto st = co_await blocking([&]() -> Status { return sink->check_local(target, size); });
        if (!st && st.error().category == ErrorCategory::limit) ++full;
      }
      if (full == accepted.mailboxes.size()) {
        log_.info("smtp.rcpt_refused", {{"rcpt", addr}, {"status", "mailbox_full"}});
        reply(552, "5.2.2", fmt::format("Mailbox of <{}> is full; it cannot take more mail now", addr));
        co_return;
      }
    }
    if (auto wait = rate_limited(true); wait.count() > 0) {
      reply(451, "4.7.1", fmt::format("Too many recipients from {} in the last minute; try again in {} seconds",
                                      rate_subject(), wait.count()));
      co_return;
    }
    if (d_.greylist && svc_.role() == Role::smtp && !authenticated() && !info_.internal_network) {
      auto wait = d_.greylist->check(conn_->remote_address(), env_.mail_from, addr, Greylist::Clock::now());
      if (wait.count() > 0) {
        log_.info("smtp.greylisted", {{"rcpt", addr}, {"from", env_.mail_from}, {"retry_after", wait.count()}});
        reply(451, "4.7.1", fmt::format("Greylisted: this server accepts mail from new senders on a retry; "
                                        "please try again in {} seconds", wait.count()));
        co_return;
      }
    }
    auto v = co_await run_hooks(&Hooks::rcpt, env_, r);
    if (refused(v)) co_return;
    env_.recipients.push_back(r);
    rcpts_.push_back(std::move(accepted));
    log_.info("smtp.rcpt", {{"rcpt", addr}});
    reply(250, "2.1.5", "Recipient OK");
  }

  asio::awaitable<void> on_vrfy(const Event& ev) {
    std::string addr = ev.argument;
    if (!addr.empty() && addr.front() == '<' && addr.back() == '>') addr = addr.substr(1, addr.size() - 2);
    auto res = co_await dir_resolve(addr, std::nullopt);
    if (res && res->status == directory::ResolveStatus::deliver) reply(250, "2.1.5", "<" + addr + ">");
    else if (res && res->status == directory::ResolveStatus::not_local)
      reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
    else reply(550, "5.1.1", "No such user here");
  }

  // ---- end of message -------------------------------------------------------------------------------

  std::string protocol_name() const {
    // RFC 3848 "with" protocol types.
    std::string p = svc_.role() == Role::lmtp ? "LMTP" : "ESMTP";
    if (info_.helo.empty()) p = "SMTP";
    if (conn_->tls_active()) p += "S";
    if (authenticated()) p += "A";
    if (env_.smtputf8) p = "UTF8" + p;
    return p;
  }

  std::string received_header(const std::string& id) const {
    // RFC 5321 §4.4 trace field; TLS and authentication as comments.
    std::string h = fmt::format("Received: from {} ({})\r\n\tby {} (Tern) with {}", info_.helo.empty() ? "unknown" : info_.helo,
                                "[" + conn_->remote_address().to_string() + "]", d_.hostname, protocol_name());
    if (info_.tls) h += fmt::format("\r\n\t(version={} cipher={})", info_.tls_version, info_.tls_cipher);
    if (authenticated()) h += fmt::format("\r\n\t(authenticated as {})", info_.login);
    h += fmt::format("\r\n\tid {}", id);
    if (env_.recipients.size() == 1) h += fmt::format("\r\n\tfor <{}>", env_.recipients.front().address);
    h += "; " + rfc5322_now() + "\r\n";
    return h;
  }

  std::string apply_header_edits(std::string msg) const {
    std::string added;
    for (const auto& e : header_edits_) {
      if (e.op != HeaderEdit::Op::add) {
        // Remove every field of that name from the header block.
        std::size_t end = header_end(msg), pos = 0;
        std::string want = lower(e.name) + ":";
        std::string out;
        bool skipping = false;
        while (pos < end) {
          auto eol = msg.find("\r\n", pos);
          if (eol == std::string::npos || eol + 2 > end) eol = end - 2;
          std::string_view line(msg.data() + pos, eol + 2 - pos);
          bool cont = !line.empty() && (line[0] == ' ' || line[0] == '\t');
          if (!cont) skipping = lower(line.substr(0, want.size())) == want;
          if (!skipping) out.append(line);
          pos = eol + 2;
        }
        msg = out + msg.substr(std::min(end, msg.size()));
      }
      if (e.op != HeaderEdit::Op::remove) added += e.name + ": " + e.value + "\r\n";
    }
    return added + msg;
  }

  asio::awaitable<void> on_message_end(const Event& ev) {
    std::string id = new_message_id(log_.id());
    std::size_t replies = svc_.role() == Role::lmtp ? ev.recipients : 1;
    auto refuse_all = [&](int code, std::string enhanced, std::string text) {
      for (std::size_t i = 0; i < replies; ++i) reply(code, enhanced, text);
      in_transaction_ = false;
      message_.clear();
    };
    // Loop detection (RFC 5321 §6.3).
    auto hops = header_values(message_, "Received").size();
    if (hops >= d_.settings.max_hops) {
      log_.warn("smtp.loop", {{"id", id}, {"received_headers", hops}});
      refuse_all(554, "5.4.6", fmt::format("Too many hops ({} Received headers): mail loop?", hops));
      co_return;
    }
    // An authenticated sender's From: must be theirs too (anti-spoofing of what users see).
    if (authenticated()) {
      std::vector<std::string> senders;
      for (const auto& value : header_values(message_, "From"))
        for (const auto& mailbox : mime::parse_address_list(value).all_mailboxes()) senders.push_back(mailbox.address());
      {
        for (const auto& from : senders) {
          auto login = info_.login;
          auto verdict = co_await dir_may_send_as(login, from);
          if (!verdict || !verdict->allowed) {
            log_.warn("smtp.spoof_refused", {{"login", login}, {"header_from", from}});
            refuse_all(553, "5.7.1", fmt::format("From: address <{}> is not yours ({} may not send as it)", from, login));
            co_return;
          }
        }
      }
    }
    if (svc_.role() != Role::lmtp) {
      // One reply for all recipients: a message too big for one recipient's domain is refused as a whole.
      for (const auto& a : rcpts_)
        if (a.size_limit && message_.size() > a.size_limit) {
          refuse_all(552, "5.3.4", fmt::format("Message too big for <{}>: its domain accepts at most {} bytes",
                                               a.recipient.address, a.size_limit));
          co_return;
        }
    }
    MessageView view{message_};
    auto v = co_await run_hooks(&Hooks::data, env_, view);
    if (v.kind == Verdict::Kind::reject || v.kind == Verdict::Kind::tempfail) {
      int code = v.code ? v.code : (v.kind == Verdict::Kind::reject ? 550 : 451);
      refuse_all(code, v.enhanced.empty() ? (code >= 500 ? "5.7.1" : "4.7.1") : v.enhanced,
                 v.text.empty() ? "Message refused by policy" : v.text);
      co_return;
    }
    if (v.kind == Verdict::Kind::discard) {
      log_.info("smtp.discarded", {{"id", id}});
      refuse_all(250, "2.0.0", fmt::format("Message accepted ({})", id));
      co_return;
    }
    bool junk = v.kind == Verdict::Kind::quarantine;
    if (authenticated() && svc_.role() != Role::smtp) {
      // RFC 6409 §8.2, §8.3: the MSA completes a message whose client left out Date or Message-ID.
      std::string added;
      if (header_values(message_, "Date").empty()) added += "Date: " + rfc5322_now() + "\r\n";
      if (header_values(message_, "Message-ID").empty()) added += "Message-ID: <" + id + "@" + d_.hostname + ">\r\n";
      if (!added.empty()) message_.insert(0, added);
    }
    std::string body = received_header(id) + apply_header_edits(std::move(message_));
    message_.clear();
    std::string return_path = "Return-Path: <" + env_.mail_from + ">\r\n";
    std::string local_copy = return_path + body;

    // One copy per mailbox even when several recipients (aliases, lists) lead to it.
    std::set<std::string> delivered;
    std::map<std::string, std::vector<QueuedRecipient>> outbound;  // by return path (SRS may change it)
    bool sender_local = false;
    if (d_.srs && !env_.mail_from.empty() &&
        std::any_of(rcpts_.begin(), rcpts_.end(), [](const AcceptedRecipient& a) { return a.forwarded && !a.forwards.empty(); })) {
      std::string sender_domain = domain_of(env_.mail_from);
      sender_local = co_await served_here(sender_domain);
    }
    auto sink = d_.sink;
    std::vector<Reply> per_rcpt;
    bool temp_failure = false;
    for (const auto& a : rcpts_) {
      Reply result{250, "2.0.0", fmt::format("Message accepted ({})", id)};
      if (a.size_limit && local_copy.size() > a.size_limit) {  // LMTP: this recipient only
        per_rcpt.push_back({552, "5.3.4", fmt::format("Message too big for <{}>: its domain accepts at most {} bytes",
                                                      a.recipient.address, a.size_limit)});
        continue;
      }
      for (const auto& mbox : a.mailboxes) {
        if (!delivered.insert(lower(mbox)).second) continue;
        LocalDelivery target{mbox, "INBOX", junk};
        auto st = co_await blocking([&]() -> Status { return sink->deliver_local(target, local_copy); });
        if (!st) {
          log_.warn("smtp.delivery_failed", {{"id", id}, {"mailbox", mbox}, {"error", st.error().message}});
          if (st.error().category == ErrorCategory::limit)
            result = {552, "5.2.2", fmt::format("Mailbox of <{}> is full", a.recipient.address)};
          else if (st.error().category == ErrorCategory::not_found)
            result = {550, "5.1.1", fmt::format("Mailbox of <{}> is gone", a.recipient.address)};
          else {
            result = {451, "4.3.0", "Temporary failure storing the message; try again later"};
            temp_failure = true;
          }
          delivered.erase(lower(mbox));
        } else {
          log_.info("smtp.delivered", {{"id", id}, {"mailbox", mbox}, {"folder", junk ? "Junk" : "INBOX"}});
        }
      }
      if (!a.forwards.empty()) {
        auto& group = outbound[forward_return_path(a, sender_local)];
        for (const auto& f : a.forwards) group.push_back({f, a.recipient.notify, a.recipient.orcpt});
      }
      per_rcpt.push_back(result);
    }
    for (const auto& [return_path, recipients] : outbound) {
      QueuedEnvelope out{return_path, env_.envid, env_.ret, env_.requiretls, env_.smtputf8, recipients};
      // Signed and written on a worker; the wait for the disk (group commit) holds no thread.
      auto queued = co_await sink->enqueue_async(out, body, *d_.workers);
      if (!queued) {
        log_.warn("smtp.queue_failed", {{"id", id}, {"error", queued.error().message}});
        for (auto& r : per_rcpt)
          if (r.positive()) r = {451, "4.3.0", "Temporary failure queueing the message; try again later"};
        temp_failure = true;
        break;
      }
      if (return_path != env_.mail_from)
        log_.info("smtp.queued", {{"id", id}, {"queue_id", *queued}, {"recipients", recipients.size()},
                                  {"srs_from", return_path}});
      else
        log_.info("smtp.queued", {{"id", id}, {"queue_id", *queued}, {"recipients", recipients.size()}});
    }
    in_transaction_ = false;
    if (svc_.role() == Role::lmtp) {
      for (const auto& r : per_rcpt) engine_.reply(r);  // RFC 2033 §4.2: one reply per recipient, in order
    } else {
      // SMTP has one reply for all: success only if every recipient's copy is stored or queued.
      auto worst = std::find_if(per_rcpt.begin(), per_rcpt.end(), [](const Reply& r) { return !r.positive(); });
      if (worst == per_rcpt.end()) engine_.reply({250, "2.0.0", fmt::format("Message accepted ({})", id)});
      else if (temp_failure) engine_.reply({451, "4.3.0", "Temporary failure storing the message; try again later"});
      else engine_.reply(*worst);
    }
    log_.info("smtp.message", {{"id", id}, {"from", env_.mail_from}, {"size", ev.size},
                               {"recipients", env_.recipients.size()}, {"tls", info_.tls ? info_.tls_version : "none"}});
    if (d_.hooks)
      for (const auto& h : d_.hooks->delivered) h.hook(info_, env_, id);
  }

  const SmtpService& svc_;
  const SmtpServiceDeps& d_;
  std::shared_ptr<net::Connection> conn_;
  const log::SessionLog& log_;
  ServerEngine engine_;
  SessionInfo info_;
  Envelope env_;
  std::vector<AcceptedRecipient> rcpts_;
  std::vector<HeaderEdit> header_edits_;
  std::string message_;
  bool in_transaction_ = false;
  std::unique_ptr<auth::SaslServer> sasl_;
  std::optional<std::string> pending_identity_;
};

}  // namespace

std::optional<Role> parse_role(std::string_view s) noexcept {
  if (s == "smtp") return Role::smtp;
  if (s == "submission") return Role::submission;
  if (s == "submissions") return Role::submissions;
  if (s == "lmtp") return Role::lmtp;
  return std::nullopt;
}

SmtpService::SmtpService(Role role, SmtpServiceDeps deps) : role_(role), deps_(std::move(deps)) {}

std::string_view SmtpService::name() const {
  switch (role_) {
    case Role::smtp: return "smtp";
    case Role::submission: return "submission";
    case Role::submissions: return "submissions";
    case Role::lmtp: return "lmtp";
  }
  return "smtp";
}

std::string SmtpService::refusal(net::RefusalReason why) const {
  switch (why) {
    case net::RefusalReason::too_many_connections_from_ip:
      return "421 4.7.0 " + deps_.hostname + " Too many connections from your address; try again later\r\n";
    case net::RefusalReason::too_many_connections:
      return "421 4.7.0 " + deps_.hostname + " Too many connections; try again later\r\n";
    case net::RefusalReason::shutting_down:
      return "421 4.3.2 " + deps_.hostname + " Service shutting down; try again later\r\n";
  }
  return {};
}

asio::awaitable<void> SmtpService::serve(std::shared_ptr<net::Connection> connection) {
  SmtpSession session(*this, std::move(connection));
  co_await session.run();
}

}  // namespace tern::smtp
