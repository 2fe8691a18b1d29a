// The network side of an IMAP session: greeting, the read loop, STARTTLS, LOGIN/AUTHENTICATE, IDLE,
// LOGOUT; everything else is dispatched to the synchronous command bodies on the worker pool.
#include "imap_session.hpp"

#include <algorithm>

#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "tern/auth/sasl_server.hpp"
#include "tern/core/base64.hpp"
#include "tern/mime/smtp_address.hpp"

namespace tern::imap {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Commands allowed in each state (RFC 9051 §6).
enum class Needs { any, not_authenticated, authenticated, selected };

Needs needs_of(std::string_view name) {
  static const std::pair<std::string_view, Needs> table[] = {
      {"CAPABILITY", Needs::any},        {"NOOP", Needs::any},
      {"LOGOUT", Needs::any},            {"ID", Needs::any},
      {"STARTTLS", Needs::not_authenticated}, {"LOGIN", Needs::not_authenticated},
      {"AUTHENTICATE", Needs::not_authenticated},
      {"ENABLE", Needs::authenticated},  {"SELECT", Needs::authenticated},
      {"EXAMINE", Needs::authenticated}, {"CREATE", Needs::authenticated},
      {"DELETE", Needs::authenticated},  {"RENAME", Needs::authenticated},
      {"SUBSCRIBE", Needs::authenticated}, {"UNSUBSCRIBE", Needs::authenticated},
      {"LIST", Needs::authenticated},    {"LSUB", Needs::authenticated},
      {"NAMESPACE", Needs::authenticated}, {"STATUS", Needs::authenticated},
      {"APPEND", Needs::authenticated},  {"IDLE", Needs::authenticated},
      {"GETQUOTA", Needs::authenticated}, {"GETQUOTAROOT", Needs::authenticated},
      {"SETQUOTA", Needs::authenticated},
      {"CLOSE", Needs::selected},        {"UNSELECT", Needs::selected},
      {"EXPUNGE", Needs::selected},      {"SEARCH", Needs::selected},
      {"FETCH", Needs::selected},        {"STORE", Needs::selected},
      {"COPY", Needs::selected},         {"MOVE", Needs::selected},
      {"SORT", Needs::selected},         {"THREAD", Needs::selected},
      {"UID", Needs::selected},          {"CHECK", Needs::selected},
      {"COMPRESS", Needs::authenticated}, {"UNAUTHENTICATE", Needs::authenticated},
  };
  for (const auto& [n, s] : table)
    if (n == name) return s;
  return Needs::any;  // unknown: answered BAD by execute()
}

bool known_command(std::string_view name) {
  for (auto n : {"CAPABILITY", "NOOP", "LOGOUT", "ID", "STARTTLS", "LOGIN", "AUTHENTICATE", "ENABLE", "SELECT",
                 "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB", "NAMESPACE",
                 "STATUS", "APPEND", "IDLE", "GETQUOTA", "GETQUOTAROOT", "SETQUOTA", "CLOSE", "UNSELECT", "EXPUNGE",
                 "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "SORT", "THREAD", "UID", "CHECK", "COMPRESS",
                 "UNAUTHENTICATE"})
    if (name == n) return true;
  return false;
}

}  // namespace

std::uint32_t SelectedMailbox::seq_of(std::uint32_t uid) const {
  const auto& list = *messages_;
  auto it = std::lower_bound(list.begin(), list.end(), uid,
                             [](const store::MessageInfo& m, std::uint32_t u) { return m.uid < u; });
  if (it == list.end() || it->uid != uid) return 0;
  return static_cast<std::uint32_t>(it - list.begin()) + 1;
}

ImapSession::ImapSession(const ImapService& service, std::shared_ptr<net::Connection> connection)
    : svc_(service), d_(service.deps()), conn_(std::move(connection)), log_(conn_->log()),
      signal_(std::make_shared<ChangeSignal>()) {
  CommandParserLimits limits;
  limits.max_line = d_.settings.max_line;
  limits.max_literal = d_.settings.append_limit;
  parser_.set_limits(limits);
  // The store's change callback runs on another thread: it only flags and wakes an IDLE read.
  std::weak_ptr<net::Connection> weak = conn_;
  auto ex = conn_->executor();
  signal_->wake = [weak, ex] {
    asio::post(ex, [weak] {
      if (auto c = weak.lock()) c->interrupt_idle_read();
    });
  };
}

ImapSession::~ImapSession() {
  if (subscription_) subscription_->cancel();
}

bool ImapSession::plaintext_allowed() const {
  return conn_->tls_active() || net::in_networks(d_.internal_networks, conn_->remote_address());
}

std::string ImapSession::capabilities() const {
  std::string caps = "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE";
  if (state_ == SessionState::not_authenticated) {
    if (!conn_->tls_active() && d_.tls && d_.tls()) caps += " STARTTLS";
    if (!plaintext_allowed()) caps += " LOGINDISABLED";
    auth::SaslOptions o;
    o.plaintext_allowed = plaintext_allowed();
    o.scram = d_.scram;
    if (!conn_->tls_exporter_binding().empty()) o.channel_bindings.push_back({"tls-exporter", "x"});
    for (auto m : auth::offered_mechanisms(o)) caps += fmt::format(" AUTH={}", auth::mechanism_name(m));
    return caps;
  }
  caps += " NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE"
          " MULTIAPPEND CATENATE BINARY UNAUTHENTICATE ESEARCH SEARCHRES WITHIN SORT SORT=DISPLAY"
          " THREAD=REFERENCES THREAD=ORDEREDSUBJECT I18NLEVEL=1 CONDSTORE QRESYNC QUOTA QUOTA=RES-STORAGE"
          " QUOTA=RES-MESSAGE STATUS=SIZE UTF8=ACCEPT SAVEDATE OBJECTID";
  caps += fmt::format(" APPENDLIMIT={}", d_.settings.append_limit);
  if (d_.settings.compress && !deflate_) caps += " COMPRESS=DEFLATE";
  return caps;
}

void ImapSession::untagged(std::string_view line) {
  out_ += "* ";
  out_ += line;
  out_ += "\r\n";
}

asio::awaitable<bool> ImapSession::flush() {
  if (out_.empty()) co_return true;
  std::string data = std::move(out_);
  out_.clear();
  if (deflate_) data = deflate_->compress(data);
  auto st = co_await conn_->write(data);
  co_return static_cast<bool>(st);
}

asio::awaitable<Result<std::size_t>> ImapSession::receive(net::ReadMode mode) {
  // Small reads while idle keep an idle connection cheap; big ones while a literal streams in.
  std::vector<char> buf(deflate_ ? 4096 : mode == net::ReadMode::idle ? 2048 : 64 * 1024);
  auto n = co_await conn_->read_some(buf, mode);
  if (!n || *n == 0) co_return n;
  if (!deflate_) {
    parser_.feed(std::string_view(buf.data(), *n));
    co_return n;
  }
  auto plain = deflate_->decompress(std::string_view(buf.data(), *n));
  if (!plain) co_return fail(plain.error());
  parser_.feed(*plain);
  co_return std::max<std::size_t>(1, plain->size());  // compressed input may yield no bytes yet
}

// ---- COMPRESS (RFC 4978) ---------------------------------------------------------------------------

asio::awaitable<void> ImapSession::cmd_compress(const Command& cmd) {
  if (cmd.args.size() != 1 || !cmd.args[0].is_keyword("DEFLATE")) {
    out_ += cmd.tag + " BAD Only COMPRESS DEFLATE is supported\r\n";
    co_return;
  }
  if (deflate_) {
    out_ += cmd.tag + " NO [COMPRESSIONACTIVE] DEFLATE is already active\r\n";
    co_return;
  }
  if (!d_.settings.compress) {
    out_ += cmd.tag + " NO Compression is disabled on this server\r\n";
    co_return;
  }
  out_ += cmd.tag + " OK DEFLATE active\r\n";
  if (!co_await flush()) {
    close_after_ = true;
    co_return;
  }
  // Whatever the client sent after the command is already compressed.
  std::string pending;
  if (parser_.buffered() > 0) {
    // The parser holds raw bytes the client compressed: take them back out and inflate them.
    pending = parser_.take_buffered();
  }
  deflate_ = std::make_unique<DeflateStream>();
  if (!pending.empty()) {
    auto plain = deflate_->decompress(pending);
    if (!plain) {
      close_after_ = true;
      co_return;
    }
    parser_.feed(*plain);
  }
}

asio::awaitable<void> ImapSession::run() {
  // RFC 9051 §5.4: the autologout timer is at least 30 minutes.
  conn_->timeouts().idle = std::max(conn_->timeouts().idle, d_.settings.autologout);
  out_ = fmt::format("* OK [CAPABILITY {}] {} Tern IMAP ready\r\n", capabilities(), d_.hostname);
  log_.info("imap.connect", {{"remote", conn_->remote_address().to_string()}, {"tls", conn_->tls_active()}});
  if (!co_await flush()) co_return;
  for (;;) {
    while (auto ev = parser_.next()) {
      using K = CommandParser::Event::Kind;
      if (ev->kind == K::continuation) {
        out_ += "+ OK\r\n";
        if (!co_await flush()) co_return;
        continue;
      }
      if (ev->kind == K::error) {
        std::string code = ev->code.empty() ? "" : "[" + ev->code + "] ";
        // RFC 7889 §4: a literal over APPENDLIMIT is refused with a tagged NO [TOOBIG]; syntax is BAD.
        const char* kind = ev->code == "TOOBIG" && !ev->fatal ? " NO " : " BAD ";
        if (ev->tag.empty()) out_ += "*" + std::string(kind) + code + ev->message + "\r\n";
        else out_ += ev->tag + kind + code + ev->message + "\r\n";
        if (ev->fatal) {
          out_ += "* BYE Too many errors in the command stream; closing the connection\r\n";
          co_await flush();
          co_return;
        }
        continue;
      }
      if (!co_await handle(ev->command)) {
        co_await flush();
        co_return;
      }
      if (!co_await flush()) co_return;
    }
    if (!co_await flush()) co_return;
    if (conn_->draining() && !parser_.mid_command()) {
      out_ = "* BYE Server shutting down\r\n";
      co_await flush();
      co_return;
    }
    auto n = co_await receive(parser_.mid_command() ? net::ReadMode::transfer : net::ReadMode::idle);
    if (!n) {
      if (n.error().code == EINTR) continue;  // a change notification woke an idle read; nothing to say
      if (n.error().code == ETIMEDOUT) out_ = "* BYE Autologout; idle for too long\r\n";
      else if (n.error().code == ESHUTDOWN) out_ = "* BYE Server shutting down\r\n";
      co_await flush();
      co_return;
    }
    if (*n == 0) co_return;
  }
}

asio::awaitable<bool> ImapSession::handle(const Command& cmd) {
  const std::string& tag = cmd.tag;
  if (!known_command(cmd.name)) {
    out_ += tag + " BAD Unknown command " + cmd.name.substr(0, 40) + "\r\n";
    co_return true;
  }
  Needs needs = needs_of(cmd.name);
  if (needs == Needs::not_authenticated && state_ != SessionState::not_authenticated) {
    out_ += tag + " BAD " + cmd.name + " is only valid before login\r\n";
    co_return true;
  }
  if (needs == Needs::authenticated && state_ == SessionState::not_authenticated) {
    out_ += tag + " BAD Log in first (" + cmd.name + " needs an authenticated session)\r\n";
    co_return true;
  }
  if (needs == Needs::selected && state_ != SessionState::selected) {
    out_ += tag + " BAD No mailbox selected (" + cmd.name + " needs SELECT or EXAMINE first)\r\n";
    co_return true;
  }
  if (cmd.name == "LOGOUT") {
    out_ += "* BYE Logging out\r\n" + tag + " OK Logout completed\r\n";
    log_.info("imap.logout", {{"user", user_name_}});
    co_return false;
  }
  if (cmd.name == "STARTTLS") {
    co_await cmd_starttls(cmd);
    co_return !close_after_;
  }
  if (cmd.name == "LOGIN") {
    co_await cmd_login(cmd);
    co_return !close_after_;
  }
  if (cmd.name == "AUTHENTICATE") {
    co_await cmd_authenticate(cmd);
    co_return !close_after_;
  }
  if (cmd.name == "IDLE") co_return co_await cmd_idle(cmd);
  if (cmd.name == "UNAUTHENTICATE") {
    // RFC 8437 §3: back to the not-authenticated state. TLS and COMPRESS stay; the user's state goes,
    // including what ENABLE turned on.
    log_.info("imap.unauthenticate", {{"user", user_name_}});
    if (selected_) close_selected();
    subscription_.reset();
    user_.reset();
    user_name_.clear();
    condstore_ = qresync_ = utf8_ = rev2_ = false;
    state_ = SessionState::not_authenticated;
    out_ += tag + " OK Unauthenticated\r\n";
    co_return true;
  }
  if (cmd.name == "COMPRESS") {
    co_await cmd_compress(cmd);
    co_return !close_after_;
  }
  // Everything else touches the store (or is cheap enough not to care): run it on a worker.
  auto* session = this;
  co_await d_.workers->run([&]() -> Status {
    session->execute(cmd);
    return {};
  });
  co_return !close_after_;
}

// ---- STARTTLS (RFC 9051 §6.2.1) -------------------------------------------------------------------

asio::awaitable<void> ImapSession::cmd_starttls(const Command& cmd) {
  auto contexts = d_.tls ? d_.tls() : nullptr;
  if (conn_->tls_active()) {
    out_ += cmd.tag + " BAD TLS is already active\r\n";
    co_return;
  }
  if (!contexts) {
    out_ += cmd.tag + " NO TLS is not configured on this server\r\n";
    co_return;
  }
  // Anything the client pipelined after STARTTLS was sent in clear text: drop it (CVE-2011-0411 class).
  parser_.discard_buffered();
  out_ += cmd.tag + " OK Begin TLS negotiation now\r\n";
  if (!co_await flush()) {
    close_after_ = true;
    co_return;
  }
  auto st = co_await conn_->start_tls(contexts);
  if (!st) {
    log_.warn("imap.tls_failed", {{"error", st.error().message}});
    close_after_ = true;
    co_return;
  }
  auto info = conn_->tls_info();
  log_.info("imap.tls", {{"version", info.version}, {"cipher", info.cipher}});
}

// ---- LOGIN / AUTHENTICATE -------------------------------------------------------------------------

asio::awaitable<std::optional<std::string>> ImapSession::read_line() {
  for (;;) {
    if (auto line = parser_.take_line()) {
      if (line->too_long) co_return std::nullopt;
      co_return line->text;
    }
    auto n = co_await receive(net::ReadMode::transfer);
    if (!n || *n == 0) co_return std::nullopt;
  }
}

namespace {
std::string failure_text(auth::SaslFailure f) {
  using F = auth::SaslFailure;
  switch (f) {
    case F::malformed: return "BAD Invalid SASL response";
    case F::cancelled: return "BAD Authentication cancelled";
    case F::too_weak: return "NO [PRIVACYREQUIRED] Plaintext authentication is not allowed without TLS";
    case F::unsupported: return "NO [CANNOT] Unsupported authentication mechanism";
    case F::temporary: return "NO [UNAVAILABLE] Authentication is temporarily unavailable; try again later";
    default: return "NO [AUTHENTICATIONFAILED] Authentication failed";
  }
}
}  // namespace

asio::awaitable<void> ImapSession::cmd_login(const Command& cmd) {
  if (cmd.args.size() != 2 || !cmd.args[0].is_astring() || !cmd.args[1].is_astring()) {
    out_ += cmd.tag + " BAD LOGIN needs a user name and a password\r\n";
    co_return;
  }
  if (!plaintext_allowed()) {
    out_ += cmd.tag + " NO [PRIVACYREQUIRED] Plaintext authentication is not allowed without TLS; use STARTTLS\r\n";
    co_return;
  }
  // LOGIN is SASL PLAIN without the encoding: one code path for both (throttling, logs, master users).
  std::string initial;
  initial.push_back('\0');
  initial += cmd.args[0].value;
  initial.push_back('\0');
  initial += cmd.args[1].value;
  Command as_auth;
  as_auth.tag = cmd.tag;
  as_auth.name = "LOGIN";
  Arg mech;
  mech.value = "PLAIN";
  Arg ir;
  ir.value = base64_encode(initial);
  as_auth.args = {mech, ir};
  co_await cmd_authenticate(as_auth);
}

asio::awaitable<void> ImapSession::cmd_authenticate(const Command& cmd) {
  const std::string& tag = cmd.tag;
  if (cmd.args.empty() || !cmd.args[0].is_atom() || cmd.args.size() > 2) {
    out_ += tag + " BAD AUTHENTICATE needs a mechanism name and at most an initial response\r\n";
    co_return;
  }
  auto gate = d_.throttle->check(conn_->remote_address(), "", auth::Clock::now());
  if (!gate.allowed) {
    log_.warn("auth.locked", {{"remote", conn_->remote_address().to_string()}, {"reason", gate.reason}});
    out_ += tag + " NO [UNAVAILABLE] Too many failed authentication attempts; try again later\r\n";
    co_return;
  }
  auth::SaslOptions options;
  options.plaintext_allowed = plaintext_allowed();
  options.scram = d_.scram;
  auto binding = conn_->tls_exporter_binding();
  if (!binding.empty()) options.channel_bindings.push_back({"tls-exporter", binding});
  auth::SaslServer sasl(options);
  std::optional<std::string> initial;
  if (cmd.args.size() == 2) {  // RFC 4959 SASL-IR: "=" is an empty initial response
    if (cmd.args[1].value == "=") initial = std::string();
    else {
      auto decoded = base64_decode(cmd.args[1].value);
      if (!decoded) {
        out_ += tag + " BAD Invalid base64 in the initial response\r\n";
        co_return;
      }
      initial = std::move(*decoded);
    }
  }
  std::optional<std::string_view> initial_view;
  if (initial) initial_view = *initial;
  auth::SaslStep step = sasl.start(cmd.args[0].value, initial_view);
  using K = auth::SaslStep::Kind;
  for (;;) {
    switch (step.kind) {
      case K::challenge:
      case K::success:
        if (step.kind == K::success && step.data.empty()) {
          std::string identity = step.identity;
          std::string mechanism(sasl.mechanism());
          if (!co_await logged_in(tag, identity, mechanism)) close_after_ = true;
          co_return;
        }
        {
          // RFC 9051 §6.2.2: challenges (and SCRAM's server-final data) go in "+ " lines; the client
          // answers the final one with an empty line.
          out_ += "+ " + base64_encode(step.data) + "\r\n";
          if (!co_await flush()) {
            close_after_ = true;
            co_return;
          }
          auto line = co_await read_line();
          if (!line) {
            close_after_ = true;
            co_return;
          }
          if (step.kind == K::success) {
            std::string identity = step.identity;
            std::string mechanism(sasl.mechanism());
            if (!co_await logged_in(tag, identity, mechanism)) close_after_ = true;
            co_return;
          }
          if (*line == "*") {
            step = sasl.cancel();
            continue;
          }
          auto decoded = base64_decode(*line);
          if (!decoded) {
            out_ += tag + " BAD Invalid base64 in the SASL response\r\n";
            co_return;
          }
          step = sasl.step(*decoded);
        }
        continue;
      case K::check_password: {
        auto check = step.password_check;
        auto* a = d_.authenticator;
        auto verdict = co_await d_.workers->run([&]() -> Result<auth::AuthVerdict> { return a->verify_password(check); });
        step = sasl.password_checked(verdict ? *verdict
                                             : auth::AuthVerdict::failure(auth::AuthVerdict::Outcome::temporary,
                                                                          verdict.error().message));
        continue;
      }
      case K::lookup_scram: {
        auto name = step.scram_user;
        auto* a = d_.authenticator;
        auto account = co_await d_.workers->run([&]() -> Result<std::optional<auth::ScramAccount>> {
          return a->scram_account(name);
        });
        step = sasl.scram_found(account ? *account : std::nullopt);
        continue;
      }
      case K::check_token:
        step = sasl.token_checked(auth::AuthVerdict::failure(auth::AuthVerdict::Outcome::bad_credentials,
                                                             "no OAuth token validator configured"));
        continue;
      case K::failure: {
        auto decision = d_.throttle->record_failure(conn_->remote_address(), sasl.claimed_user(), "imap",
                                                    auth::Clock::now(), step.reason);
        log_.info("auth.failure", {{"protocol", "imap"}, {"user", sasl.claimed_user()}, {"reason", step.reason}});
        if (decision.delay.count() > 0) {  // the guesser waits; no thread is held meanwhile
          asio::steady_timer t(conn_->executor(), decision.delay);
          asio::error_code ec;
          co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        out_ += tag + " " + failure_text(step.failure) + "\r\n";
        if (++auth_failures_ >= 3) {  // Dovecot disconnects after a few failures too
          out_ += "* BYE Too many failed authentication attempts\r\n";
          close_after_ = true;
        }
        co_return;
      }
    }
  }
}

asio::awaitable<bool> ImapSession::logged_in(const std::string& tag, const std::string& identity,
                                              std::string_view mechanism) {
  auto* store = d_.store.get();
  std::string name = identity;
  auto limits = quota_limits_for(name);
  auto user = co_await d_.workers->run(
      [&]() -> Result<std::shared_ptr<store::UserMailbox>> { return store->open_user(name, limits); });
  if (!user) {
    log_.error("imap.open_failed", {{"user", name}, {"error", user.error().message}});
    out_ += tag + " NO [UNAVAILABLE] Your mailbox cannot be opened right now; try again later\r\n";
    co_return true;
  }
  d_.throttle->record_success(conn_->remote_address(), identity, auth::Clock::now());
  user_ = std::move(*user);
  user_name_ = name;
  state_ = SessionState::authenticated;
  std::weak_ptr<ChangeSignal> weak = signal_;
  subscription_ = user_->subscribe_changes([weak](const store::ChangeEvent& ev) {
    auto s = weak.lock();
    if (!s || ev.kind == store::ChangeEvent::Kind::mailbox_list_changed) return;
    {
      std::lock_guard lock(s->mutex);
      if (s->mailbox != ev.mailbox) return;
    }
    s->dirty = true;
    s->wake();
  });
  log_.info("auth.success", {{"protocol", "imap"}, {"user", identity}, {"mechanism", std::string(mechanism)}});
  out_ += tag + " OK [CAPABILITY " + capabilities() + "] Logged in\r\n";
  co_return true;
}

store::QuotaLimits ImapSession::quota_limits_for(const std::string& mailbox) const {
  store::QuotaLimits limits;
  auto parts = mime::split_address(mailbox);
  if (auto snap = d_.directory->snapshot(); snap && parts) {
    if (const auto* m = (*snap)->find_mailbox(parts->local, parts->domain))
      limits = {m->quota.bytes, m->quota.messages};
  }
  return limits;
}

// ---- IDLE (RFC 2177, RFC 9051 §6.3.13) -------------------------------------------------------------

asio::awaitable<bool> ImapSession::cmd_idle(const Command& cmd) {
  if (!cmd.args.empty()) {
    out_ += cmd.tag + " BAD IDLE takes no arguments\r\n";
    co_return true;
  }
  out_ += "+ idling\r\n";
  for (;;) {
    if (state_ == SessionState::selected && signal_->dirty.exchange(false)) {
      auto* session = this;
      co_await d_.workers->run([&]() -> Status {
        session->sync(true);
        return {};
      });
    }
    if (!co_await flush()) co_return false;
    if (auto line = parser_.take_line()) {
      if (!line->too_long && upper(line->text) == "DONE") {
        out_ += cmd.tag + " OK IDLE terminated\r\n";
        co_return true;
      }
      out_ += cmd.tag + " BAD Expected DONE to end IDLE\r\n";
      co_return true;
    }
    if (conn_->draining()) {
      out_ += "* BYE Server shutting down\r\n";
      co_return false;
    }
    auto n = co_await receive(net::ReadMode::idle);
    if (!n) {
      if (n.error().code == EINTR) continue;
      if (n.error().code == ETIMEDOUT) out_ += "* BYE Autologout; idle for too long\r\n";
      else if (n.error().code == ESHUTDOWN) out_ += "* BYE Server shutting down\r\n";
      co_return false;
    }
    if (*n == 0) co_return false;
  }
}

// ---- service ---------------------------------------------------------------------------------------

ImapService::ImapService(bool implicit_tls, ImapServiceDeps deps) : implicit_tls_(implicit_tls), deps_(std::move(deps)) {}

std::string ImapService::refusal(net::RefusalReason why) const {
  switch (why) {
    case net::RefusalReason::too_many_connections_from_ip:
      return "* BYE [UNAVAILABLE] Too many connections from your address; try again later\r\n";
    case net::RefusalReason::too_many_connections:
      return "* BYE [UNAVAILABLE] Too many connections; try again later\r\n";
    case net::RefusalReason::shutting_down:
      return "* BYE [UNAVAILABLE] Server shutting down; try again later\r\n";
  }
  return {};
}

asio::awaitable<void> ImapService::serve(std::shared_ptr<net::Connection> connection) {
  ImapSession session(*this, connection);
  co_await session.run();
}

Status parse_imap_config(ConfigSection& s, ImapSettings& out) {
  s.get_size("append_limit", out.append_limit);
  s.get_duration("autologout", out.autologout);
  if (out.autologout < std::chrono::minutes(30)) s.error("autologout", "must be at least 30m (RFC 9051 section 5.4)");
  std::uint64_t line = out.max_line;
  if (s.get_size("max_line", line)) {
    if (line < 1024 || line > 16 * 1024 * 1024) s.error("max_line", "must be between 1 KiB and 16 MiB");
    else out.max_line = static_cast<std::size_t>(line);
  }
  s.get("compress", out.compress);
  s.finish();
  return {};
}

}  // namespace tern::imap
