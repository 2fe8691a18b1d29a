// The seam between SASL engines and whatever knows passwords: Authenticator (passwords, SCRAM
// credentials) and TokenValidator (OAuth 2.0 bearer tokens). A host may implement either.
//
// BLOCKING: every virtual call below may block — verify_password hashes (10-300 ms of CPU by design)
// and all of them may query a directory (file reload, LDAP). Servers run them on the worker pool and
// feed the verdict back into the sans-I/O SaslServer (sasl_server.hpp), which never calls them itself.
// DirectoryAuthenticator is thread-safe.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "tern/auth/scram.hpp"
#include "tern/directory/directory.hpp"

namespace tern::auth {

struct AuthVerdict {
  enum class Outcome {
    ok,               // identity is the logged-in mailbox
    bad_credentials,  // wrong user, password or token (the peer is not told which)
    disabled,         // right password, but the mailbox/user is disabled
    temporary,        // backend unavailable: try again later (454 4.7.0)
  };
  Outcome outcome = Outcome::bad_credentials;
  std::string identity;  // the mailbox address on ok
  std::string master;    // the master user who logged in as `identity` (empty if none)
  std::string reason;    // for logs only; never sent to the peer

  bool ok() const noexcept { return outcome == Outcome::ok; }
  static AuthVerdict success(std::string id) { return {Outcome::ok, std::move(id), {}, {}}; }
  static AuthVerdict failure(Outcome o, std::string why) { return {o, {}, {}, std::move(why)}; }
};

std::string_view to_string(AuthVerdict::Outcome o) noexcept;
std::ostream& operator<<(std::ostream& os, AuthVerdict::Outcome o);

struct PasswordCheck {
  std::string authzid;   // may be empty (RFC 4616 2)
  std::string authcid;   // login name; "user*master" for a master login
  std::string password;
};

// What SCRAM needs to verify a proof without ever seeing the password.
struct ScramAccount {
  std::string identity;  // mailbox address
  bool active = true;
  ScramCredentials credentials;
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // BLOCKING (CPU + directory). For PLAIN and LOGIN.
  virtual AuthVerdict verify_password(const PasswordCheck& check) = 0;
  // BLOCKING (directory; CPU if credentials must be derived). nullopt: unknown user or no SCRAM
  // credential; the SCRAM engine then continues with made-up credentials and fails at the end,
  // so the peer cannot tell unknown users from wrong passwords.
  virtual std::optional<ScramAccount> scram_account(std::string_view authcid) = 0;
};

class TokenValidator {
 public:
  virtual ~TokenValidator() = default;
  // BLOCKING (may call an introspection endpoint). `user` is what the client claimed (may be empty
  // for OAUTHBEARER without authzid); the validator decides the identity.
  virtual AuthVerdict validate_token(std::string_view user, std::string_view token) = 0;
};

struct DirectoryAuthenticatorOptions {
  bool master_users = false;     // Dovecot-style "user*master" logins (docker-mailserver master accounts)
  char master_separator = '*';
};

// Passwords checked against a Directory: login by mailbox address only, group members' passwords
// for group-owned mailboxes, LDAP bind credentials via Directory::verify_external, master users when
// enabled (also as PLAIN authzid=user authcid=master). Unknown users cost the same hashing time as
// known ones. SCRAM: {SCRAM-SHA-256} hashes are used as stored; {PLAIN} passwords are derived on the fly.
class DirectoryAuthenticator final : public Authenticator {
 public:
  DirectoryAuthenticator(directory::Directory& directory, DirectoryAuthenticatorOptions options = {});
  AuthVerdict verify_password(const PasswordCheck& check) override;
  std::optional<ScramAccount> scram_account(std::string_view authcid) override;

 private:
  AuthVerdict check_record(const Result<directory::LoginRecord>& rec, std::string_view password);
  directory::Directory& dir_;
  DirectoryAuthenticatorOptions opts_;
};

}  // namespace tern::auth
