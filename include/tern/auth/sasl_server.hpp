// SASL server mechanisms as one sans-I/O state machine shared by SMTP AUTH (RFC 4954), IMAP
// AUTHENTICATE (RFC 9051 6.2.2), POP3 AUTH (RFC 5034) and ManageSieve AUTHENTICATE (RFC 5804):
// PLAIN (RFC 4616), LOGIN, SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677, channel
// binding RFC 5929 tls-server-end-point / RFC 9266 tls-exporter), XOAUTH2 (Google) and OAUTHBEARER
// (RFC 7628).
//
// The protocol layer decodes base64 and handles "*" (cancel); the engine sees raw bytes. Whenever a
// credential must be checked the engine returns a request (check_password / lookup_scram /
// check_token) and waits: the caller runs the matching Authenticator/TokenValidator call on the
// worker pool — possibly much later — and passes the verdict to password_checked / scram_found /
// token_checked. Nothing in this class blocks, hashes a password or reads a clock; SCRAM's final
// proof check is three HMACs. Use run_sasl_sync() for a blocking one-shot drive (tests, tools).
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/auth/authenticator.hpp"
#include "tern/auth/password_scheme.hpp"

namespace tern::auth {

enum class SaslMechanism { plain, login, scram_sha256, scram_sha256_plus, xoauth2, oauthbearer };
std::string_view mechanism_name(SaslMechanism m) noexcept;            // "SCRAM-SHA-256-PLUS"
std::optional<SaslMechanism> parse_mechanism(std::string_view name) noexcept;  // case-insensitive

struct ChannelBinding {
  std::string type;  // "tls-exporter" (TLS 1.3, RFC 9266) or "tls-server-end-point" (RFC 5929)
  std::string data;  // the binding data from the TLS layer
};

struct SaslOptions {
  // TLS is active, or the client is on a network marked internal: plaintext mechanisms
  // (PLAIN, LOGIN) and bearer tokens may be used.
  bool plaintext_allowed = false;
  bool oauth = false;                            // a TokenValidator is configured
  // SCRAM needs stored SCRAM credentials (or clear text); with one-way hashes (SHA512-CRYPT, ARGON2)
  // offering it only makes clients that prefer it (mbsync) fail. See scram_usable().
  bool scram = true;
  std::vector<ChannelBinding> channel_bindings;  // empty: no -PLUS
  std::size_t max_response = 16384;              // longest client message accepted
  std::string oauth_scope;                       // sent in the XOAUTH2/OAUTHBEARER error challenge
  // The server's part of the SCRAM nonce (printable, no ','); default: base64 of 18 random bytes.
  // Injected only by tests that replay fixed vectors (RFC 7677 3).
  std::function<std::string()> scram_nonce;
};

// Whether accounts can be expected to have SCRAM credentials: new passwords are stored as
// SCRAM-SHA-256 or in clear text ([auth] password_scheme).
bool scram_usable(PasswordScheme new_password_scheme) noexcept;

// Mechanisms to advertise, strongest first.
std::vector<SaslMechanism> offered_mechanisms(const SaslOptions& options);

enum class SaslFailure {
  none,
  malformed,        // the client broke the mechanism's syntax        SMTP 501 5.5.2
  cancelled,        // the client sent "*"                            SMTP 501 5.0.0
  too_weak,         // mechanism not allowed here (plaintext w/o TLS)  SMTP 538 5.7.11
  unsupported,      // unknown mechanism                               SMTP 504 5.5.4
  bad_credentials,  // wrong user/password/token                       SMTP 535 5.7.8
  disabled,         // account disabled                                SMTP 535 5.7.8 (same text)
  temporary,        // backend down                                    SMTP 454 4.7.0
  authz_refused,    // authorization identity not allowed              SMTP 535 5.7.8
};

std::string_view to_string(SaslFailure f) noexcept;
std::ostream& operator<<(std::ostream& os, SaslFailure f);

struct SmtpAuthReply {
  int code;
  std::string enhanced;
  std::string text;
};
// RFC 4954 6 replies for a failure.
SmtpAuthReply smtp_reply(SaslFailure f);

struct SaslStep {
  enum class Kind {
    challenge,       // send `data` to the client, feed its answer to step()
    check_password,  // run Authenticator::verify_password(password_check), then password_checked()
    lookup_scram,    // run Authenticator::scram_account(scram_user), then scram_found()
    check_token,     // run TokenValidator::validate_token(token_user, token), then token_checked()
    success,         // `identity` is logged in; `data` (SCRAM server-final) must reach the client: as
                     // "additional data with success" where the protocol allows (IMAP, RFC 4954's 235
                     // does not), otherwise as one more challenge answered with an empty response
    failure,         // `failure`; `reason` is for logs only
  };
  Kind kind = Kind::failure;
  std::string data;
  PasswordCheck password_check;
  std::string scram_user;
  std::string token_user;
  std::string token;
  std::string identity;
  std::string master;
  SaslFailure failure = SaslFailure::none;
  std::string reason;
};

std::string_view to_string(SaslStep::Kind k) noexcept;
std::ostream& operator<<(std::ostream& os, SaslStep::Kind k);

class SaslServer {
 public:
  explicit SaslServer(SaslOptions options);
  ~SaslServer();
  SaslServer(const SaslServer&) = delete;
  SaslServer& operator=(const SaslServer&) = delete;

  // Begins an exchange. `initial` is the decoded initial response (RFC 4954 / RFC 4959 SASL-IR);
  // nullopt when the client sent none, "" for an empty one ("=").
  SaslStep start(SaslMechanism mechanism, std::optional<std::string_view> initial = std::nullopt);
  SaslStep start(std::string_view mechanism_name, std::optional<std::string_view> initial = std::nullopt);
  // The client's (decoded) answer to a challenge.
  SaslStep step(std::string_view response);
  // The client sent "*".
  SaslStep cancel();

  SaslStep password_checked(const AuthVerdict& verdict);
  SaslStep scram_found(std::optional<ScramAccount> account);
  SaslStep token_checked(const AuthVerdict& verdict);

  bool finished() const noexcept;
  std::string_view mechanism() const noexcept;  // for logs
  // The login name the client claimed (for failure logs and throttling); may be empty.
  const std::string& claimed_user() const noexcept;

 private:
  struct Impl;
  Impl* impl_;
};

// Drives an exchange synchronously: `responses` are the client's messages after the initial
// response. BLOCKING (calls the authenticator/validator inline). For tests and command-line tools.
SaslStep run_sasl_sync(SaslServer& server, SaslMechanism mechanism, std::optional<std::string_view> initial,
                       const std::vector<std::string>& responses, Authenticator& authenticator,
                       TokenValidator* tokens = nullptr);

}  // namespace tern::auth
