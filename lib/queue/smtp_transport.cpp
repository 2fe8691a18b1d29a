#include "tern/queue/smtp_transport.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "tern/core/log.hpp"
#include "tern/core/text.hpp"
#include "tern/queue/dane.hpp"
#include "tern/smtp/client_engine.hpp"

namespace tern::queue {
namespace {

bool parse_port(std::string_view s, std::uint16_t& out) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  out = static_cast<std::uint16_t>(v);
  return true;
}

bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > 255) return false;
  for (char c : h)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':')) return false;
  return true;
}

}  // namespace

Result<Route> parse_route(std::string_view v) {
  if (v.size() > 512) return fail(ErrorCategory::invalid_argument, "transport map entry longer than 512 octets");
  auto bad = [&](const std::string& why) {
    return fail(ErrorCategory::invalid_argument, "transport \"" + std::string(v) + "\": " + why);
  };
  Route r;
  if (v == "mx") return r;
  auto colon = v.find(':');
  if (colon == std::string_view::npos) return bad("expected mx, smtp:host[:port], lmtp:host:port or relay:NAME");
  auto kind = v.substr(0, colon);
  auto rest = v.substr(colon + 1);
  if (kind == "relay") {
    if (rest.empty() || rest.size() > 64) return bad("relay name missing or too long");
    r.kind = RouteKind::relay;
    r.relay = std::string(rest);
    return r;
  }
  if (kind == "smtp") r.kind = RouteKind::smtp;
  else if (kind == "lmtp") r.kind = RouteKind::lmtp;
  else return bad("unknown transport \"" + std::string(kind) + "\"");
  std::string_view host, port;
  if (!rest.empty() && rest.front() == '[') {  // "[::1]:24" or "[host]"
    auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("unbalanced [");
    host = rest.substr(1, close - 1);
    auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("expected :port after ]");
      port = after.substr(1);
      if (port.empty()) return bad("empty port");
    }
  } else {
    auto c = rest.rfind(':');
    if (c == std::string_view::npos) {
      host = rest;
    } else {
      host = rest.substr(0, c);
      port = rest.substr(c + 1);
      if (port.empty()) return bad("empty port");
      if (host.find(':') != std::string_view::npos) return bad("write IPv6 addresses in brackets: [::1]:25");
    }
  }
  if (!valid_host(host)) return bad("invalid host");
  r.host = ascii_lower(host);
  if (!port.empty() && !parse_port(port, r.port)) return bad("invalid port");
  if (r.kind == RouteKind::lmtp && r.port == 0) return bad("lmtp needs a port (lmtp:host:port)");
  return r;
}

Status parse_delivery_config(ConfigSection& root, DeliveryConfig& out) {
  auto& diag = root.diagnostics();
  if (auto d = root.table("delivery")) {
    d->get("helo_name", out.helo_name);
    int port = out.mx_port;
    if (d->get("mx_port", port, 1, 65535)) out.mx_port = static_cast<std::uint16_t>(port);
    d->get_duration("connect_timeout", out.connect_timeout);
    d->get_duration("command_timeout", out.command_timeout);
    d->get_duration("reuse_idle", out.reuse_idle);
    d->get_path("tls_ca_file", out.tls_ca_file);
    d->get("mta_sts", out.mta_sts);
    int sts_port = out.mta_sts_port;
    if (d->get("mta_sts_port", sts_port, 1, 65535)) out.mta_sts_port = static_cast<std::uint16_t>(sts_port);
    d->finish();
  }
  for (auto& r : root.tables("relay")) {
    RelayConfig rc;
    if (!r.get("name", rc.name) || rc.name.empty()) r.error("name", "every [[relay]] needs a name");
    if (!r.get("host", rc.host) || rc.host.empty()) r.error("host", "every [[relay]] needs a host");
    std::string tls = "starttls";
    r.get("tls", tls);
    if (tls == "starttls") rc.tls = RelayTls::starttls;
    else if (tls == "implicit") rc.tls = RelayTls::implicit;
    else if (tls == "none") rc.tls = RelayTls::none;
    else r.error("tls", "expected \"starttls\", \"implicit\" or \"none\"");
    int port = rc.tls == RelayTls::implicit ? 465 : 587;
    r.get("port", port, 1, 65535);
    rc.port = static_cast<std::uint16_t>(port);
    r.get("tls_verify", rc.tls_verify);
    r.get("username", rc.username);
    r.get("password", rc.password);
    std::filesystem::path pf;
    if (r.get_path("password_file", pf)) {
      std::ifstream in(pf);
      if (!in || !std::getline(in, rc.password)) r.error("password_file", "cannot read " + pf.string());
      while (!rc.password.empty() && (rc.password.back() == '\r' || rc.password.back() == '\n')) rc.password.pop_back();
    }
    if (!rc.username.empty() && rc.password.empty()) r.error("password", "username set without password or password_file");
    for (const auto& o : out.relays)
      if (o.name == rc.name) r.error("name", "duplicate relay name \"" + rc.name + "\"");
    r.finish();
    out.relays.push_back(std::move(rc));
  }
  if (auto t = root.table("transport")) {
    for (const auto& key : t->keys()) {
      std::string value;
      if (!t->get(key, value)) continue;  // wrong type: reported by get()
      auto route = parse_route(value);
      if (!route) {
        t->error(key, route.error().message);
        continue;
      }
      if (route->kind == RouteKind::relay &&
          std::none_of(out.relays.begin(), out.relays.end(), [&](const RelayConfig& r) { return r.name == route->relay; }))
        t->error(key, "no [[relay]] named \"" + route->relay + "\"");
      out.transport[ascii_lower(key)] = *route;
    }
    t->finish();
  }
  if (!diag.ok()) return fail(diag.to_error());
  return {};
}

Route route_for(const DeliveryConfig& config, std::string_view domain_in) {
  std::string domain = ascii_lower(domain_in);
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (auto it = config.transport.find(domain); it != config.transport.end()) return it->second;
  for (auto dot = domain.find('.'); dot != std::string::npos; dot = domain.find('.', dot + 1))
    if (auto it = config.transport.find(domain.substr(dot)); it != config.transport.end()) return it->second;
  if (auto it = config.transport.find("*"); it != config.transport.end()) return it->second;
  return Route{};
}

std::vector<std::string> order_mx(std::vector<dns::MxRecord> records, std::mt19937& rng) {
  // RFC 5321 5.1: lowest preference first; equal preferences in random order to spread the load.
  std::shuffle(records.begin(), records.end(), rng);
  std::stable_sort(records.begin(), records.end(),
                   [](const dns::MxRecord& a, const dns::MxRecord& b) { return a.preference < b.preference; });
  std::vector<std::string> hosts;
  for (auto& r : records)
    if (!r.exchange.empty() && std::find(hosts.begin(), hosts.end(), r.exchange) == hosts.end())
      hosts.push_back(std::move(r.exchange));
  return hosts;
}

// ---------------------------------------------------------------------------------------------

// One host to try, with the session settings its route asks for.
struct SmtpTransport::Target {
  std::string host;
  std::uint16_t port = 25;
  bool lmtp = false;
  smtp::TlsPolicy tls = smtp::TlsPolicy::opportunistic;
  bool implicit_tls = false;
  bool verify = false;  // the certificate must verify against `host`
  bool dnssec_mx = false;  // the MX RRset was DNSSEC-secure: look for TLSA (RFC 7672 2.2)
  std::optional<smtp::ClientCredentials> auth;
  bool allow_plaintext_auth = false;
  std::string key() const {
    return std::string(lmtp ? "lmtp:" : "smtp:") + host + ":" + std::to_string(port) + (implicit_tls ? ":tls" : "") +
           (auth ? ":" + auth->username : "") + (tls == smtp::TlsPolicy::required ? ":req" : "") + (verify ? ":v" : "") + (dnssec_mx ? ":dane" : "");
  }
};

struct SmtpTransport::Session : std::enable_shared_from_this<SmtpTransport::Session> {
  Session(const asio::any_io_executor& ex, smtp::ClientConfig cc) : sock(ex), timer(ex), engine(std::move(cc)) {}
  asio::ip::tcp::socket sock;
  asio::steady_timer timer;
  std::unique_ptr<asio::ssl::context> ssl_ctx;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls;
  smtp::ClientEngine engine;
  std::string key, host, peer;
  bool verify_required = false;
  std::vector<dns::TlsaRecord> tlsa;  // secure, usable TLSA records: DANE decides instead of PKIX
  bool verified = false;
  bool timed_out = false;
  std::uint64_t bytes_in = 0;
  std::chrono::steady_clock::time_point idle_since;

  void arm(std::chrono::milliseconds t) {
    timed_out = false;
    timer.expires_after(t);
    std::weak_ptr<Session> w = weak_from_this();
    timer.async_wait([w](const std::error_code& ec) {
      if (ec) return;
      if (auto s = w.lock()) {
        s->timed_out = true;
        std::error_code ignored;
        s->sock.close(ignored);
      }
    });
  }
  void disarm() { timer.cancel(); }
  void close() {
    std::error_code ignored;
    timer.cancel();
    sock.close(ignored);
  }
  std::string why(const std::error_code& ec) const { return timed_out ? std::string("timed out") : ec.message(); }

  asio::awaitable<Result<std::size_t>> read_some(char* buf, std::size_t n, std::chrono::milliseconds t) {
    std::error_code ec;
    std::size_t got = 0;
    arm(t);
    if (tls) got = co_await tls->async_read_some(asio::buffer(buf, n), asio::redirect_error(asio::use_awaitable, ec));
    else got = co_await sock.async_read_some(asio::buffer(buf, n), asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    if (ec == asio::error::eof || (ec && tls && ec == asio::ssl::error::stream_truncated)) co_return std::size_t{0};
    if (ec) co_return fail(ErrorCategory::io, "reading from " + peer + ": " + why(ec));
    bytes_in += got;
    co_return got;
  }

  asio::awaitable<Status> write(const std::string& data, std::chrono::milliseconds t) {
    if (data.empty()) co_return Status{};
    std::error_code ec;
    arm(t);
    if (tls) co_await asio::async_write(*tls, asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
    else co_await asio::async_write(sock, asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    if (ec) co_return fail(ErrorCategory::io, "writing to " + peer + ": " + why(ec));
    co_return Status{};
  }

  // Client TLS handshake. The certificate is always checked (so `verified` is known for REQUIRETLS),
  // but only refused when verify_required (RFC 7435: opportunistic TLS takes any certificate).
  asio::awaitable<Status> handshake(std::chrono::milliseconds t, const std::filesystem::path& ca_file) {
    ssl_ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    std::error_code ec;
    ssl_ctx->set_default_verify_paths(ec);
    if (!ca_file.empty()) ssl_ctx->load_verify_file(ca_file.string(), ec);
    ssl_ctx->set_verify_mode(asio::ssl::verify_peer);
    tls = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(sock, *ssl_ctx);
    SSL_set_tlsext_host_name(tls->native_handle(), host.c_str());
    auto ok = std::make_shared<bool>(true);
    bool required = verify_required && tlsa.empty();
    asio::ssl::host_name_verification check(host);
    tls->set_verify_callback([ok, required, check](bool preverified, asio::ssl::verify_context& ctx) mutable {
      bool good = check(preverified, ctx);
      if (!good) *ok = false;
      return required ? good : true;
    });
    arm(t);
    co_await tls->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    if (ec)
      co_return fail(ErrorCategory::tls, "TLS handshake with " + peer + " failed: " + why(ec) +
                                             (required && !*ok ? " (certificate not valid for " + host + ")" : ""));
    verified = *ok;
    if (!tlsa.empty()) {
      // RFC 7672 2.2/3: with usable secure TLSA records the chain must match one of them.
      std::vector<X509*> chain;
      if (STACK_OF(X509)* sk = SSL_get_peer_cert_chain(tls->native_handle()))
        for (int i = 0; i < sk_X509_num(sk); ++i) chain.push_back(sk_X509_value(sk, i));
      auto verdict = dane_verify(tlsa, chain, host);
      if (verdict == DaneVerdict::no_match)
        co_return fail(ErrorCategory::tls, "DANE: the certificate of " + peer + " matches no TLSA record");
      verified = verdict == DaneVerdict::match || verified;
    }
    co_return Status{};
  }
};

namespace {

using SessionPtr = std::shared_ptr<SmtpTransport::Session>;

// Why a hop did not work out, in the words a DSN shows.
struct Failure {
  int code = 451;
  std::string enhanced = "4.4.1";
  std::string text;
  std::string mta;
  bool tls = false;  // TLS could not be had (for REQUIRETLS's 5.7.30)
};

RecipientStatus status_of(const Failure& f) {
  RecipientStatus st;
  st.outcome = f.code >= 500 ? RecipientOutcome::failed : RecipientOutcome::deferred;
  st.code = f.code;
  st.enhanced = f.enhanced;
  st.text = f.text;
  st.remote_mta = f.mta;
  return st;
}

std::vector<RecipientStatus> all(const DeliveryRequest& req, const Failure& f) {
  return std::vector<RecipientStatus>(req.recipients.size(), status_of(f));
}

smtp::DsnNotify parse_notify(std::string_view s) {
  smtp::DsnNotify n;
  if (s.empty()) return n;
  n.set = true;
  std::string u = ascii_lower(s);
  n.never = u.find("never") != std::string::npos;
  n.success = u.find("success") != std::string::npos;
  n.failure = u.find("failure") != std::string::npos;
  n.delay = u.find("delay") != std::string::npos;
  return n;
}

smtp::OutboundMessage outbound(const DeliveryRequest& req) {
  smtp::OutboundMessage m;
  m.reverse_path = req.return_path;
  for (const auto& r : req.recipients) {
    smtp::OutboundRecipient o;
    o.address = r.address;
    o.notify = parse_notify(r.notify);
    if (auto semi = r.orcpt.find(';'); semi != std::string::npos) {
      o.orcpt_type = r.orcpt.substr(0, semi);
      o.orcpt = r.orcpt.substr(semi + 1);
    }
    m.recipients.push_back(std::move(o));
  }
  m.size = req.message_size;
  m.body = req.eightbit ? smtp::BodyType::eight_bit_mime : smtp::BodyType::seven_bit;
  m.smtputf8 = req.smtputf8;
  if (req.ret == "FULL" || req.ret == "full") m.ret = smtp::DsnRet::full;
  else if (req.ret == "HDRS" || req.ret == "hdrs") m.ret = smtp::DsnRet::hdrs;
  if (!req.envid.empty()) m.envid = req.envid;
  m.requiretls = req.requiretls;
  return m;
}

}  // namespace

// The next event a caller decides on (ready, message_result, failed, closed); STARTTLS handshakes and
// the body are handled here. Errors are connection problems (closed, timed out, TLS failed).
static asio::awaitable<Result<smtp::ClientEvent>> pump(SmtpTransport::Session& s, const DeliveryConfig& cfg,
                                                      const DeliveryRequest* body) {
  std::vector<char> buf(16 * 1024);
  for (;;) {
    while (auto ev = s.engine.next_event()) {
      if (ev->kind == smtp::ClientEventKind::tls_handshake) {
        auto out = s.engine.take_output();
        if (auto st = co_await s.write(out, cfg.command_timeout); !st) co_return fail(st.error());
        auto hs = co_await s.handshake(cfg.command_timeout, cfg.tls_ca_file);
        if (!hs) co_return fail(hs.error());
        s.engine.tls_started();
        continue;
      }
      if (ev->kind == smtp::ClientEventKind::send_body) {
        if (body == nullptr) co_return fail(ErrorCategory::internal, "the server asked for a body outside a transaction");
        // message_size octets from message_offset: the queue file starts with the queue's record.
        const auto& file = body->message_file;
        std::ifstream in(file, std::ios::binary);
        if (!in || !in.seekg(static_cast<std::streamoff>(body->message_offset)))
          co_return fail(ErrorCategory::io, "cannot read the spooled message " + file.string());
        std::string chunk(64 * 1024, '\0');
        std::uint64_t left = body->message_size;
        while (left > 0) {
          auto want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), left));
          in.read(chunk.data(), static_cast<std::streamsize>(want));
          auto n = static_cast<std::size_t>(in.gcount());
          if (n == 0) break;
          left -= n;
          s.engine.write_body(std::string_view(chunk.data(), n));
          if (left == 0) break;  // the last chunk leaves with the end-of-data line, in one write
          auto out = s.engine.take_output();
          if (auto st = co_await s.write(out, cfg.command_timeout); !st) co_return fail(st.error());
        }
        // A short file must not become a short message: the connection is dropped before the end-of-data line.
        if (left > 0) co_return fail(ErrorCategory::io, "the spooled message " + file.string() + " is shorter than its record says");
        s.engine.end_body();
        continue;
      }
      auto out = s.engine.take_output();
      if (auto st = co_await s.write(out, cfg.command_timeout); !st) co_return fail(st.error());
      co_return std::move(*ev);
    }
    auto out = s.engine.take_output();
    if (auto st = co_await s.write(out, cfg.command_timeout); !st) co_return fail(st.error());
    auto n = co_await s.read_some(buf.data(), buf.size(), cfg.command_timeout);
    if (!n) co_return fail(n.error());
    if (*n == 0) co_return fail(ErrorCategory::io, s.peer + " closed the connection");
    s.engine.feed(std::string_view(buf.data(), *n));
  }
}

// QUIT, wait briefly for the 221, close.
static asio::awaitable<void> say_goodbye(const SessionPtr& s) {
  s->engine.quit();
  auto out = s->engine.take_output();
  if (auto st = co_await s->write(out, std::chrono::seconds(5)); st) {
    char buf[512];
    auto n = co_await s->read_some(buf, sizeof buf, std::chrono::seconds(2));
    (void)n;
  }
  s->close();
}

SmtpTransport::SmtpTransport(DeliveryConfig config, dns::Resolver& resolver)
    : config_(std::move(config)), resolver_(resolver), rng_(std::random_device{}()) {}

SmtpTransport::~SmtpTransport() { close_idle(); }

void SmtpTransport::close_idle() {
  std::lock_guard lock(mutex_);
  for (auto& s : idle_) s->close();
  idle_.clear();
}

std::size_t SmtpTransport::idle_sessions() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

SessionPtr SmtpTransport::take_idle(const std::string& key, const asio::any_io_executor& ex) {
  std::lock_guard lock(mutex_);
  auto now = std::chrono::steady_clock::now();
  SessionPtr found;
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& s = *it;
    if (now - s->idle_since > config_.reuse_idle || !s->sock.is_open()) {
      s->close();
      it = idle_.erase(it);
      continue;
    }
    if (!found && s->key == key && s->sock.get_executor() == ex) {
      found = std::move(s);
      it = idle_.erase(it);
      continue;
    }
    ++it;
  }
  return found;
}

void SmtpTransport::put_idle(SessionPtr s) {
  s->idle_since = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(s));
}

asio::awaitable<std::vector<RecipientStatus>> SmtpTransport::deliver(const DeliveryRequest& request) {
  auto route = route_for(config_, request.domain);
  std::vector<Target> targets;
  Target base;
  base.port = config_.mx_port;
  if (request.requiretls) {  // RFC 8689 4.2.1: only a hop with TLS and a verified certificate
    base.tls = smtp::TlsPolicy::required;
    base.verify = true;
  }
  const std::string cache_key = ascii_lower(request.domain) + (request.requiretls ? " requiretls" : "");
  if (route.kind == RouteKind::mx && config_.reuse_idle.count() > 0) {
    std::shared_ptr<const std::vector<Target>> cached;
    {
      std::lock_guard lock(mutex_);
      if (auto it = route_cache_.find(cache_key); it != route_cache_.end()) {
        if (it->second.expires > std::chrono::steady_clock::now()) cached = it->second.targets;
        else route_cache_.erase(it);
      }
    }
    if (cached) co_return co_await deliver_to(request, *cached);
  }
  switch (route.kind) {
    case RouteKind::mx: {
      auto mx = co_await resolver_.mx(request.domain);
      if (mx) {
        bool null_mx = mx->records.size() == 1 && mx->records[0].exchange.empty();
        if (null_mx)  // RFC 7505 3: the domain accepts no mail
          co_return all(request, Failure{556, "5.1.10", "Recipient domain " + request.domain +
                                                            " does not accept mail (null MX, RFC 7505)", ""});
        std::vector<std::string> ordered;
        {
          std::lock_guard lock(mutex_);  // deliver() may run on several threads at once
          ordered = order_mx(mx->records, rng_);
        }
        for (auto& h : ordered) {
          Target t = base;
          t.host = h;
          t.dnssec_mx = mx->secure;
          targets.push_back(std::move(t));
        }
        if (targets.empty())
          co_return all(request, Failure{451, "4.4.4", "No usable MX host for " + request.domain, ""});
        if (config_.mta_sts) {
          const std::string sts_domain = ascii_lower(request.domain);  // named: no temporaries in co_await (GCC 12)
          auto policy = co_await mta_sts_policy(sts_domain);
          if (policy && policy->mode != MtaStsMode::none) {
            // RFC 8461 4.1/5: only MX hosts matching the policy, with TLS verified against the MX name.
            std::vector<Target> matching;
            for (const auto& t : targets) {
              bool ok = std::any_of(policy->mx.begin(), policy->mx.end(),
                                    [&](const std::string& p) { return mta_sts_mx_matches(p, t.host); });
              if (!ok) log::warn("delivery.mta_sts_mismatch", {{"domain", request.domain}, {"mx", t.host},
                                                               {"mode", policy->mode == MtaStsMode::enforce ? "enforce" : "testing"}});
              if (ok || policy->mode == MtaStsMode::testing) matching.push_back(t);
            }
            if (policy->mode == MtaStsMode::enforce) {
              if (matching.empty())
                co_return all(request, Failure{451, "4.7.5", "MTA-STS: no MX host of " + request.domain +
                                                                 " matches its enforced policy", ""});
              for (auto& t : matching) {
                t.tls = smtp::TlsPolicy::required;
                t.verify = true;
              }
            }
            targets = std::move(matching);
          }
        }
        if (config_.reuse_idle.count() > 0) {
          std::lock_guard lock(mutex_);
          route_cache_[cache_key] = CachedRoute{std::make_shared<const std::vector<Target>>(targets),
                                                std::chrono::steady_clock::now() + config_.reuse_idle};
        }
      } else if (dns::is_nxdomain(mx.error())) {
        co_return all(request, Failure{550, "5.1.2", "Recipient domain " + request.domain + " does not exist (NXDOMAIN)", ""});
      } else if (dns::is_no_data(mx.error())) {
        Target t = base;  // RFC 5321 5.1: no MX, the domain itself is the implicit MX
        t.host = ascii_lower(request.domain);
        targets.push_back(std::move(t));
      } else {
        co_return all(request, Failure{451, "4.4.3", "MX lookup for " + request.domain + " failed: " + mx.error().message, ""});
      }
      break;
    }
    case RouteKind::smtp: {
      Target t = base;
      t.host = route.host;
      if (route.port != 0) t.port = route.port;
      targets.push_back(std::move(t));
      break;
    }
    case RouteKind::lmtp: {
      Target t = base;
      t.host = route.host;
      t.port = route.port;
      t.lmtp = true;
      if (!request.requiretls) t.tls = smtp::TlsPolicy::none;
      targets.push_back(std::move(t));
      break;
    }
    case RouteKind::relay: {
      auto it = std::find_if(config_.relays.begin(), config_.relays.end(),
                             [&](const RelayConfig& r) { return r.name == route.relay; });
      if (it == config_.relays.end())
        co_return all(request, Failure{451, "4.3.5", "No relay named \"" + route.relay + "\" is configured", ""});
      Target t = base;
      t.host = it->host;
      t.port = it->port;
      t.implicit_tls = it->tls == RelayTls::implicit;
      if (it->tls == RelayTls::starttls) t.tls = smtp::TlsPolicy::required;
      else if (it->tls == RelayTls::implicit) t.tls = smtp::TlsPolicy::none;  // already TLS
      else if (!request.requiretls) t.tls = smtp::TlsPolicy::none;
      if (it->tls != RelayTls::none) t.verify = t.verify || it->tls_verify;
      if (!it->username.empty()) t.auth = smtp::ClientCredentials{it->username, it->password};
      t.allow_plaintext_auth = it->tls == RelayTls::none;
      targets.push_back(std::move(t));
      break;
    }
  }
  co_return co_await deliver_to(request, targets);
}

// RFC 8461 3.3: GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt with a verified certificate, no
// redirects, 200 and text/plain; the body (at most 64 KiB) is returned.
asio::awaitable<Result<std::string>> SmtpTransport::fetch_mta_sts(const std::string& domain) {
  auto ex = co_await asio::this_coro::executor;
  const std::string host = "mta-sts." + domain;
  std::vector<asio::ip::address> addrs;
  auto v6 = co_await resolver_.aaaa(host);
  auto v4 = co_await resolver_.a(host);
  if (v6) addrs.insert(addrs.end(), v6->records.begin(), v6->records.end());
  if (v4) addrs.insert(addrs.end(), v4->records.begin(), v4->records.end());
  if (addrs.empty()) co_return fail(ErrorCategory::not_found, "no address for " + host);
  std::string last = "no address for " + host;
  for (const auto& addr : addrs) {
    auto s = std::make_shared<Session>(ex, smtp::ClientConfig{});
    s->host = host;
    s->peer = host + " [" + addr.to_string() + "]:" + std::to_string(config_.mta_sts_port);
    s->verify_required = true;
    std::error_code ec;
    s->arm(config_.connect_timeout);
    const asio::ip::tcp::endpoint ep(addr, config_.mta_sts_port);
    co_await s->sock.async_connect(ep,
                                   asio::redirect_error(asio::use_awaitable, ec));
    s->disarm();
    if (ec) {
      last = "connection to " + s->peer + " failed: " + s->why(ec);
      continue;
    }
    if (auto hs = co_await s->handshake(config_.connect_timeout, config_.tls_ca_file); !hs) {
      last = hs.error().message;
      s->close();
      continue;
    }
    // HTTP/1.0 so the body is never chunked.
    std::string req = "GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: " + host + "\r\nUser-Agent: tern\r\n\r\n";
    if (auto st = co_await s->write(req, config_.connect_timeout); !st) {
      last = st.error().message;
      s->close();
      continue;
    }
    std::string resp;
    char buf[8192];
    bool ok = true;
    for (;;) {
      auto n = co_await s->read_some(buf, sizeof buf, config_.connect_timeout);
      if (!n) {
        ok = false;
        last = n.error().message;
        break;
      }
      if (*n == 0) break;
      resp.append(buf, *n);
      if (resp.size() > 64 * 1024 + 16 * 1024) {
        ok = false;
        last = "MTA-STS policy from " + host + " is larger than 64 KiB";
        break;
      }
    }
    s->close();
    if (!ok) continue;
    auto head_end = resp.find("\r\n\r\n");
    if (head_end == std::string::npos) co_return fail(ErrorCategory::protocol, "malformed HTTP response from " + host);
    std::string head = ascii_lower(resp.substr(0, head_end));
    if (head.rfind("http/1.", 0) != 0 || head.size() < 12 || head.compare(9, 3, "200") != 0)
      co_return fail(ErrorCategory::protocol, "MTA-STS policy fetch from " + host + ": " + resp.substr(0, resp.find('\r')));
    if (head.find("\r\ncontent-type: text/plain") == std::string::npos)
      co_return fail(ErrorCategory::protocol, "MTA-STS policy from " + host + " is not text/plain");
    co_return resp.substr(head_end + 4);
  }
  co_return fail(ErrorCategory::temporary, last);
}

asio::awaitable<std::optional<MtaStsPolicy>> SmtpTransport::mta_sts_policy(const std::string& domain) {
  auto now = std::chrono::steady_clock::now();
  std::optional<CachedPolicy> cached;
  {
    std::lock_guard lock(mutex_);
    if (auto it = sts_cache_.find(domain); it != sts_cache_.end() && it->second.expires > now) cached = it->second;
  }
  const std::string txt_name = "_mta-sts." + domain;
  auto txt = co_await resolver_.txt(txt_name);
  std::optional<std::string> id;
  if (txt)
    for (const auto& r : txt->records)
      if (auto i = parse_mta_sts_record(r)) {
        if (id) {  // RFC 8461 3.1: more than one record: no policy
          id.reset();
          break;
        }
        id = i;
      }
  // RFC 8461 5.1: without a (new) record, a cached unexpired policy stays in force.
  if (!id || (cached && cached->id == *id)) co_return cached ? std::optional<MtaStsPolicy>(cached->policy) : std::nullopt;
  auto body = co_await fetch_mta_sts(domain);
  std::optional<MtaStsPolicy> policy;
  if (body) {
    auto parsed = parse_mta_sts_policy(*body);
    if (parsed) policy = *parsed;
    else log::warn("delivery.mta_sts_invalid", {{"domain", domain}, {"error", parsed.error().message}});
  } else {
    log::warn("delivery.mta_sts_fetch_failed", {{"domain", domain}, {"error", body.error().message}});
  }
  if (!policy) co_return cached ? std::optional<MtaStsPolicy>(cached->policy) : std::nullopt;
  {
    std::lock_guard lock(mutex_);
    sts_cache_[domain] = CachedPolicy{*id, *policy, now + policy->max_age};
  }
  log::info("delivery.mta_sts_policy", {{"domain", domain}, {"id", *id}, {"mx", policy->mx.size()}});
  co_return policy;
}

asio::awaitable<std::vector<RecipientStatus>> SmtpTransport::deliver_to(const DeliveryRequest& request,
                                                                      const std::vector<Target>& targets) {
  auto ex = co_await asio::this_coro::executor;
  const auto message = outbound(request);
  Failure last{451, "4.4.1", "No host to deliver to for " + request.domain, ""};
  bool all_tls_failures = true;
  bool any_failure = false;

  // One transaction on an open, ready session. nullopt: the session died before the server said anything
  // about this message (a stale reused session: try a fresh one); `failure` is filled then.
  auto transact = [&](const SessionPtr& s, Failure& failure) -> asio::awaitable<std::optional<std::vector<RecipientStatus>>> {
    auto before = s->bytes_in;
    smtp::OutboundMessage m = message;
    if (!s->engine.send_message(std::move(m))) {
      failure = Failure{451, "4.4.2", "session with " + s->peer + " was not idle", s->host};
      s->close();
      co_return std::nullopt;
    }
    for (;;) {
      auto ev = co_await pump(*s, config_, &request);
      if (!ev) {
        s->close();
        failure = Failure{451, "4.4.2", "Connection to " + s->peer + " lost during the transaction: " + ev.error().message, s->host};
        if (s->bytes_in == before) co_return std::nullopt;
        co_return all(request, failure);
      }
      if (ev->kind == smtp::ClientEventKind::message_result) {
        std::vector<RecipientStatus> out;
        for (std::size_t i = 0; i < request.recipients.size(); ++i) {
          RecipientStatus st;
          st.remote_mta = s->host;
          if (i >= ev->results.size()) {
            st.code = 451;
            st.enhanced = "4.4.2";
            st.text = "No reply from " + s->peer + " for this recipient";
          } else {
            const auto& r = ev->results[i];
            st.code = r.reply.code;
            st.enhanced = r.reply.enhanced;
            st.text = r.reply.text;
            st.outcome = r.accepted ? RecipientOutcome::delivered
                         : r.reply.permanent() ? RecipientOutcome::failed
                                               : RecipientOutcome::deferred;
          }
          out.push_back(std::move(st));
        }
        log::info("delivery.attempt", {{"queue_id", request.queue_id}, {"peer", s->peer},
                                       {"tls", s->tls ? (s->verified ? "verified" : "unverified") : "none"},
                                       {"recipients", request.recipients.size()}});
        if (s->engine.idle() && config_.reuse_idle.count() > 0) put_idle(s);
        else co_await say_goodbye(s);
        co_return out;
      }
      // failed/closed/ready outside a transaction: the session is over.
      s->close();
      failure = Failure{451, "4.4.2", "Session with " + s->peer + " ended: " + std::to_string(ev->reply.code) + " " + ev->reply.text, s->host};
      if (s->bytes_in == before) co_return std::nullopt;
      co_return all(request, failure);
    }
  };

  for (const auto& t : targets) {
    const std::string key = t.key();
    std::vector<dns::TlsaRecord> tlsa;
    if (t.dnssec_mx) {
      // RFC 7672 2.2: TLSA at _port._tcp.host; a failed lookup (SERVFAIL, bogus) makes the host unusable.
      std::string owner = "_" + std::to_string(t.port) + "._tcp." + t.host;
      auto answer = co_await resolver_.tlsa(owner);
      if (!answer && dns::is_temporary(answer.error())) {
        any_failure = true;
        all_tls_failures = false;
        last = Failure{451, "4.7.5", "TLSA lookup for " + owner + " failed: " + answer.error().message, t.host, true};
        continue;
      }
      if (answer && answer->secure)
        for (const auto& r : answer->records)
          if ((r.usage == 2 || r.usage == 3) && r.selector <= 1 && r.matching <= 2) tlsa.push_back(r);
    }
    if (auto s = take_idle(key, ex)) {
      Failure f;
      auto r = co_await transact(s, f);
      if (r) co_return std::move(*r);
    }
    // Addresses: IPv6 first, then IPv4 (RFC 5321 5.1 asks to try them all).
    std::vector<asio::ip::address> addrs;
    std::error_code lit_ec;
    auto literal = asio::ip::make_address(t.host, lit_ec);
    bool no_such_host = false;
    if (!lit_ec) {
      addrs.push_back(literal);
    } else {
      auto v6 = co_await resolver_.aaaa(t.host);
      auto v4 = co_await resolver_.a(t.host);
      if (v6) addrs.insert(addrs.end(), v6->records.begin(), v6->records.end());
      if (v4) addrs.insert(addrs.end(), v4->records.begin(), v4->records.end());
      if (addrs.empty()) {
        bool temp = (!v6 && dns::is_temporary(v6.error())) || (!v4 && dns::is_temporary(v4.error()));
        no_such_host = !temp;
        any_failure = true;
        all_tls_failures = false;
        last = Failure{451, temp ? "4.4.3" : "4.4.4",
                       "No address for " + t.host + (temp ? ": DNS lookup failed temporarily" : ""), ""};
        // RFC 5321 5.1: no MX and the domain has no address either: nothing can ever be delivered.
        if (no_such_host && targets.size() == 1 && t.host == ascii_lower(request.domain) && !t.lmtp)
          last = Failure{550, "5.1.2", "Recipient domain " + request.domain + " has no MX and no address", ""};
        continue;
      }
    }
    for (const auto& addr : addrs) {
      smtp::ClientConfig cc;
      cc.helo_name = config_.helo_name.empty() ? std::string("localhost") : config_.helo_name;
      cc.lmtp = t.lmtp;
      cc.tls = tlsa.empty() ? t.tls : smtp::TlsPolicy::required;  // RFC 7672 2.2: TLS is mandatory
      cc.tls_active = t.implicit_tls;
      cc.auth = t.auth;
      cc.allow_plaintext_auth = t.allow_plaintext_auth;
      auto s = std::make_shared<Session>(ex, cc);
      s->key = key;
      s->host = t.host;
      s->verify_required = t.verify;
      s->tlsa = tlsa;
      asio::ip::tcp::endpoint ep(addr, t.port);
      s->peer = t.host + " [" + addr.to_string() + "]:" + std::to_string(t.port);
      any_failure = true;
      std::error_code ec;
      s->arm(config_.connect_timeout);
      co_await s->sock.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
      s->disarm();
      ++opened_;
      // Commands are already batched by the engine (PIPELINING); Nagle would only hold back the small
      // last segment (".\r\n", QUIT) until the peer's delayed ACK, ~40 ms per message.
      if (!ec) {
        std::error_code ignored;  // an optimisation only
        s->sock.set_option(asio::ip::tcp::no_delay(true), ignored);
      }
      if (ec) {
        all_tls_failures = false;
        last = Failure{451, "4.4.1", "Connection to " + s->peer + " failed: " + s->why(ec), t.host};
        s->close();
        continue;
      }
      if (t.implicit_tls) {
        auto hs = co_await s->handshake(config_.command_timeout, config_.tls_ca_file);
        if (!hs) {
          last = Failure{451, "4.7.5", hs.error().message, t.host, true};
          s->close();
          continue;
        }
      }
      auto ev = co_await pump(*s, config_, nullptr);
      if (!ev) {
        bool tls_failed = ev.error().category == ErrorCategory::tls;
        if (!tls_failed) all_tls_failures = false;
        last = Failure{451, tls_failed ? "4.7.5" : "4.4.2", ev.error().message, t.host, tls_failed};
        s->close();
        continue;
      }
      if (ev->kind != smtp::ClientEventKind::ready) {
        // Greeting, EHLO, STARTTLS or AUTH refused: RFC 5321 5.1, try the next host; deferred in the end.
        bool tls_failed = ev->reply.enhanced.rfind("5.7.10", 0) == 0;
        if (!tls_failed) all_tls_failures = false;
        auto out = s->engine.take_output();
        (void)co_await s->write(out, std::chrono::seconds(5));
        s->close();
        last = Failure{451, ev->reply.code >= 500 ? "4.4.2" : (ev->reply.enhanced.empty() ? "4.4.2" : ev->reply.enhanced),
                       s->peer + " refused the session: " + std::to_string(ev->reply.code) + " " +
                           (ev->reply.enhanced.empty() ? "" : ev->reply.enhanced + " ") + ev->reply.text,
                       t.host, tls_failed};
        continue;
      }
      if (request.requiretls && !(s->tls && s->verified)) {
        // RFC 8689 4.2.1: REQUIRETLS needs TLS with a verified certificate on every hop.
        last = Failure{451, "4.7.30", s->peer + " offers no verified TLS", t.host, true};
        co_await say_goodbye(s);
        continue;
      }
      Failure f;
      auto r = co_await transact(s, f);
      if (r) co_return std::move(*r);
      last = f;
      all_tls_failures = false;
    }
  }
  if (request.requiretls && any_failure && all_tls_failures)
    co_return all(request, Failure{550, "5.7.30", "REQUIRETLS: no MX host of " + request.domain +
                                                      " offers TLS with a verified certificate (RFC 8689). Last: " + last.text,
                                   last.mta});
  co_return all(request, last);
}

}  // namespace tern::queue
