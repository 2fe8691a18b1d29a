// The SMTP listener roles as a net::Service: smtp (MTA), submission (STARTTLS), submissions (implicit
// TLS) and lmtp (RFC 2033). Each connection runs one SmtpSession: a short coroutine that pumps bytes
// through the sans-I/O ServerEngine and answers its events with the built-in policy and the host's hooks.
//
// Built-in policy, in this order, before the host's hooks of the same stage:
//   auth       offered only over TLS or from internal_networks (RFC 4954 §4 "538 5.7.11"); never on the
//              smtp role unless [smtp] auth_on_mta; failures are delayed and locked out by AuthThrottle.
//   mail       submission roles require AUTH (530 5.7.0); an authenticated sender may only use its own
//              addresses (directory may_send_as, 553 5.7.1); unauthenticated mail from outside
//              internal_networks that claims a local domain is refused (550 5.7.1) unless the
//              `sender_domain_check` hook allows it (SPF arrives with the mail-authentication module).
//   rcpt       local domains: resolved through the directory (550 5.1.1 unknown, 550 5.2.1 inactive,
//              550 5.7.1 incoming disabled or members-only list); other domains only for authenticated
//              sessions or internal networks (554 5.7.1 relay denied); lmtp accepts local recipients only.
//   rate       (at mail and rcpt) messages and recipients per minute per client network (unauthenticated,
//              outside internal_networks) or per login: 451 4.7.1 with the time to wait.
//   greylist   (at rcpt, off by default) unauthenticated clients outside internal_networks: the first
//              attempt of a (network, sender, recipient) triplet gets 451 4.7.1.
//   data       loop detection by Received count (554 5.4.6); authenticated senders' From: header must be
//              theirs too (553 5.7.1).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tern/auth/auth_throttle.hpp"
#include "tern/auth/authenticator.hpp"
#include "tern/directory/directory.hpp"
#include "tern/mailauth/srs.hpp"
#include "tern/net/address.hpp"
#include "tern/net/listener.hpp"
#include "tern/net/service.hpp"
#include "tern/net/worker_pool.hpp"
#include "tern/smtp/greylist.hpp"
#include "tern/smtp/hooks.hpp"
#include "tern/smtp/message_sink.hpp"
#include "tern/smtp/rate_limiter.hpp"
#include "tern/smtp/server_engine.hpp"
#include "tern/smtp/smtp_settings.hpp"

namespace tern::smtp {

// Decides whether `ip` may send mail claiming `domain` (a local domain) without authenticating:
// true to allow. The default (none) refuses; the SPF module will provide one.
using SenderDomainCheck = std::function<asio::awaitable<bool>(const asio::ip::address& ip, std::string_view domain)>;

struct SmtpServiceDeps {
  std::string hostname;
  SmtpSettings settings;
  std::vector<net::IpNetwork> internal_networks;
  net::TlsProvider tls;  // may return nullptr: no STARTTLS
  net::WorkerPool* workers = nullptr;
  directory::Directory* directory = nullptr;
  auth::Authenticator* authenticator = nullptr;
  auth::AuthThrottle* throttle = nullptr;
  bool scram = false;  // offer SCRAM-SHA-256(-PLUS): see auth::scram_usable()
  std::shared_ptr<MessageSink> sink;
  std::shared_ptr<const Hooks> hooks;  // host hooks; may be null
  SenderDomainCheck sender_domain_check;
  RateLimiter* rate_limiter = nullptr;  // shared across listeners; null: no rate limits
  Greylist* greylist = nullptr;         // shared across listeners; null: no greylisting
  // SRS (docs/srs.md): mail forwarded to other domains leaves with a rewritten envelope sender, and
  // RCPT to SRS0/SRS1 addresses at srs_domain or a directory domain is reversed. Null: no SRS.
  std::shared_ptr<const mailauth::SrsCodec> srs;
  std::string srs_domain;  // "" = the domain of the forwarding alias or list
};

class SmtpService : public net::Service {
 public:
  SmtpService(Role role, SmtpServiceDeps deps);
  std::string_view name() const override;
  bool implicit_tls() const override { return role_ == Role::submissions; }
  asio::awaitable<void> serve(std::shared_ptr<net::Connection> connection) override;
  std::string refusal(net::RefusalReason why) const override;

  Role role() const noexcept { return role_; }
  const SmtpServiceDeps& deps() const noexcept { return deps_; }

 private:
  Role role_;
  SmtpServiceDeps deps_;
};

std::optional<Role> parse_role(std::string_view service) noexcept;

}  // namespace tern::smtp
